"""The code of the README and of the documentation site (docs/) works as
written.

* Every ```python block runs as pasted: each in a fresh namespace (what it
  uses it imports or defines itself), one after another in one process with
  a time limit each, in a fresh TFDS data directory (the offline datasets
  they load are built there on first use). A block that chooses Keras'
  backend (sets KERAS_BACKEND) runs alone in a process of its own, since
  Keras reads that choice once per process.
* Every `python -m train.<command> ...` (in ```bash blocks and in the
  prose; `sdn_tf.train.<command>`, as the wheel installs it, alike) names a
  command of train/ and flags that command defines, with values its flags
  accept. Bash blocks are not run.
"""

import json
import os
import re
import shlex
import subprocess
import sys

import pytest
from absl import flags
from markdown_blocks import code_blocks

from sdn_tf.train import density, disentangle, evaluate, export

# The commands, by the name `python -m` runs them with in a checkout
# (train.density) and where the wheel is installed (sdn_tf.train.density).
COMMANDS = {
    name: m
    for m in (density, disentangle, evaluate, export)
    for name in (m.__name__, m.__name__.removeprefix("sdn_tf."))
}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK_SECONDS = 180  # the limit of one block (they take seconds to a minute)


def markdown_files():
    """README.md and the site's pages, relative to the repository."""
    pages = [
        os.path.relpath(os.path.join(directory, name), ROOT)
        for directory, _, names in os.walk(os.path.join(ROOT, "docs"))
        for name in names
        if name.endswith(".md")
    ]
    return ["README.md"] + sorted(pages)


def _text(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def command_lines(text=None):
    """Every `python -m train.<command> ...` of the README and the site's
    pages (or of `text`), as argv lists from "python" on: the lines of
    ```bash blocks (one shell command per `&&`, `;` or `|`) and the inline
    code of the prose."""
    if text is None:
        text = "\n".join(_text(path) for path in markdown_files())
    found = []
    for _, block in code_blocks("bash", text):
        for line in block.replace("\\\n", " ").splitlines():
            command = []
            for token in shlex.split(line, comments=True) + [";"]:
                if token in ("&&", "||", ";", "|"):
                    found.append(command)
                    command = []
                else:
                    command.append(token)
    for span in re.findall(r"`(python -m (?:sdn_tf\.)?train\.[^`]+)`", text):
        found.append(shlex.split(span.replace("\n", " ")))
    return [
        c
        for c in found
        if c[:2] == ["python", "-m"]
        and len(c) > 2
        and c[2].startswith(("train.", "sdn_tf.train."))
    ]


_RUNNER = r"""
import json, signal, sys, time, traceback

blocks = json.load(open(sys.argv[1]))
results_path, limit = sys.argv[2], int(sys.argv[3])


def over_time(signum, frame):
    raise TimeoutError(f"the block ran over {limit} s")


signal.signal(signal.SIGALRM, over_time)
results = {}
for where, code in blocks:
    start, error = time.monotonic(), None
    signal.alarm(limit)
    try:
        code = compile(code, f"{where} (a block)", "exec")
        exec(code, {"__name__": "__main__"})  # a fresh namespace
    except BaseException:
        error = traceback.format_exc()
    finally:
        signal.alarm(0)
    results[where] = {"error": error, "seconds": round(time.monotonic() - start, 1)}
    with open(results_path, "w") as f:  # after each block: a kill keeps them
        json.dump(results, f)
"""

# ("path:line" of the block's first line, code)
PYTHON_BLOCKS = [
    (f"{path}:{line}", code)
    for path in markdown_files()
    for line, code in code_blocks("python", _text(path))
]


def _chooses_backend(code):
    return re.search(r"""os\.environ\[["']KERAS_BACKEND["']\]""", code) is not None


def _run_blocks(blocks, directory, env, number):
    """Runs `blocks` in order in one fresh process; (results, process)."""
    blocks_path = directory / f"blocks_{number}.json"
    results_path = directory / f"results_{number}.json"
    blocks_path.write_text(json.dumps(blocks))
    process = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(blocks_path), str(results_path)]
        + [str(BLOCK_SECONDS)],
        cwd=directory,  # what a block writes stays out of the checkout
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_SECONDS * len(blocks) + 60,
    )
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    return results, process


@pytest.fixture(scope="module")
def block_results(tmp_path_factory):
    """{"path:line": {"error": traceback or None, "seconds": s}} of the
    Python blocks, and {"path:line": the process that ran it}: the blocks in
    order in one fresh process, each block that chooses Keras' backend in
    one of its own."""
    directory = tmp_path_factory.mktemp("readme")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [ROOT, os.environ.get("PYTHONPATH")])
        ),
        "TFDS_DATA_DIR": str(directory / "tensorflow_datasets"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TQDM_DISABLE": "1",
    }
    shared = [block for block in PYTHON_BLOCKS if not _chooses_backend(block[1])]
    groups = [shared] + [[b] for b in PYTHON_BLOCKS if _chooses_backend(b[1])]
    results, processes = {}, {}
    for number, blocks in enumerate(filter(None, groups)):
        group_results, process = _run_blocks(blocks, directory, env, number)
        results.update(group_results)
        processes.update({where: process for where, _ in blocks})
    return results, processes


def test_the_readme_and_the_guides_have_python_blocks():
    assert any(where.startswith("README.md:") for where, _ in PYTHON_BLOCKS)
    assert len(PYTHON_BLOCKS) >= 5


@pytest.mark.parametrize(
    "where, code", PYTHON_BLOCKS, ids=[where for where, _ in PYTHON_BLOCKS]
)
def test_python_block_runs_as_pasted(where, code, block_results):
    results, processes = block_results
    process = processes[where]
    assert where in results, (
        f"The runner ended before the block at {where} "
        f"(exit code {process.returncode}):\n{process.stderr[-3000:]}"
    )
    assert results[where]["error"] is None, results[where]["error"]


def _defined_flags(module):
    """The FlagValues that `python -m <module>` parses, less absl's own."""
    flag_values = flags.FlagValues()
    module.define_flags(flag_values)
    return flag_values


def _absl_flag_names():
    """--verbosity, --helpfull, ...: the flags absl gives every program."""
    names = set()
    for module, defined in flags.FLAGS.flags_by_module_dict().items():
        if module.startswith("absl."):
            names.update(n for f in defined for n in (f.name, f.short_name) if n)
    return names


COMMAND_LINES = command_lines()


def test_the_readme_has_command_lines():
    modules = {argv[2].removeprefix("sdn_tf.") for argv in COMMAND_LINES}
    assert {"train.density", "train.disentangle", "train.evaluate"} <= modules


@pytest.mark.parametrize(
    "argv", COMMAND_LINES, ids=[shlex.join(a) for a in COMMAND_LINES]
)
def test_command_line_names_a_command_and_its_flags(argv):
    name, arguments = argv[2], argv[3:]
    path = os.path.join(ROOT, *name.removeprefix("sdn_tf.").split(".")) + ".py"
    assert os.path.exists(path), f"no module {name}"
    assert name in COMMANDS, f"{name} is no command here (or add it to COMMANDS)"
    defined = _defined_flags(COMMANDS[name])
    absl_names = _absl_flag_names()
    known = []
    for argument in arguments:
        assert argument.startswith("--"), f"{argument!r} is not a flag"
        flag = argument[2:].split("=", 1)[0]
        if flag not in defined and flag.startswith("no") and flag[2:] in defined:
            flag = flag[2:]  # --noexport
            assert isinstance(defined[flag], flags.BooleanFlag), argument
        if flag in defined:
            known.append(argument)
        else:
            assert flag in absl_names, f"{name} defines no flag --{flag}"
    defined([name, *known])  # the values parse (a bad one raises)
