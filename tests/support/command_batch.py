"""`python -m <module> <flags>` commands run one after another in one
process, each as if in a process of its own, for the price of one start.

    with command_batch.Batch(["train.density", "train.evaluate"]) as batch:
        trained = batch.run("train.density", "--output_dir=x", "--steps=4")
        assert trained.returncode == 0, trained.stderr
        evaluated = batch.run("train.evaluate", "--output_dir=x")

    first, second = command_batch.run([("train.evaluate", "--output_dir=x"),
                                       ("train.export", "--output_dir=x")])

Starting Python with TensorFlow costs seconds a process; most of a short
command (a refusal, --help) is that start. Here one process (the parent)
imports the commands' modules, TensorFlow with them, once; then for each
command it forks a child, which runs the module as `python -m` does
(runpy, as `__main__`, with the command's argv and a fresh absl flag
registry, since the parent defined no flags), its stdout and stderr going
to files of its own, and ends with the command's exit code. What a command
could leave behind in its process (flags, TensorFlow's state, warnings
printed once) dies with its child; what it writes to disk stays for the
next, as between two processes.

What this does not give is a command's start itself: the lines TensorFlow
prints while it is first imported are printed once, by the parent, and
show up in no result. Tests of the start (startup_test.py, the first run in
density_test.py) start a process of their own.
"""

import json
import os
import select
import signal
import subprocess
import sys
import tempfile

# argv[1]: a directory for the outputs, argv[2:]: the modules to import.
# Reads a JSON list [module, flag, ...] a line from stdin, runs it in a
# child, writes its exit code a line to stdout.
_PARENT = r"""
import importlib, json, os, runpy, sys, traceback

sys.path[0] = os.getcwd()  # as `python -m` has it
directory, modules = sys.argv[1], sys.argv[2:]
for module in modules:
    importlib.import_module(module)  # TensorFlow and the rest, once
replies = os.fdopen(os.dup(1), "w")
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the parent prints nothing
for number, line in enumerate(sys.stdin):
    module, *flags = json.loads(line)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            for fd, stream in ((1, "stdout"), (2, "stderr")):
                path = os.path.join(directory, f"{number}.{stream}")
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
            sys.argv = [module, *flags]  # runpy sets argv[0] to the file
            sys.orig_argv = [sys.executable, "-m", module, *flags]
            sys.modules.pop(module, None)  # run afresh, as `python -m` does
            try:
                runpy.run_module(module, run_name="__main__", alter_sys=True)
                code = 0
            except SystemExit as exit:
                if exit.code is None or isinstance(exit.code, int):
                    code = exit.code or 0
                else:
                    print(exit.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status), file=replies, flush=True)
"""


class Batch:
    """A parent process that runs commands in children, one at a time.

    Args:
      modules: the modules of the commands to come, imported before the
        first (a command of another module imports it in its child).
      env: the environment; defaults to this one's with TensorFlow's C++
        logging off.
      cwd: the working directory (sys.path[0], as for `python -m`).
      python: the interpreter.
      timeout: seconds for a command (the parent's start included in the
        first); then the parent and its child are killed.
    """

    def __init__(self, modules, env=None, cwd=None, python=sys.executable, timeout=600):
        if env is None:
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        self._python, self._timeout, self._count = python, timeout, 0
        self._directory = tempfile.TemporaryDirectory()
        self._log = os.path.join(self._directory.name, "parent.stderr")
        with open(self._log, "w") as log:
            self._parent = subprocess.Popen(
                [python, "-c", _PARENT, self._directory.name, *modules],
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,  # its child is killed with it
            )

    def run(self, module, *flags):
        """The finished `python -m module *flags`, a CompletedProcess."""
        number, self._count = self._count, self._count + 1
        self._parent.stdin.write(json.dumps([module, *flags]) + "\n")
        self._parent.stdin.flush()
        ready, _, _ = select.select([self._parent.stdout], [], [], self._timeout)
        reply = self._parent.stdout.readline() if ready else ""
        if not reply:
            self._kill()
            with open(self._log) as f:
                raise RuntimeError(
                    f"no exit code for `{module} {' '.join(flags)}` within "
                    f"{self._timeout} s; the parent's stderr:\n{f.read()[-3000:]}"
                )
        output = {}
        for stream in ("stdout", "stderr"):
            path = os.path.join(self._directory.name, f"{number}.{stream}")
            with open(path, encoding="utf-8", errors="replace") as f:
                output[stream] = f.read()
        return subprocess.CompletedProcess(
            [self._python, "-m", module, *flags],
            int(reply),
            output["stdout"],
            output["stderr"],
        )

    def _kill(self):
        if self._parent.poll() is None:
            os.killpg(self._parent.pid, signal.SIGKILL)
            self._parent.wait()

    def close(self):
        if self._parent.poll() is None:
            self._parent.stdin.close()
            try:
                self._parent.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._kill()
        self._directory.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if exc_info[0] is not None:
            self._kill()  # a test failed: no waiting for the parent
        self.close()


def run(commands, **kwargs):
    """[CompletedProcess] of each (module, *flags) in `commands`, run one
    after another in one Batch (keyword arguments: Batch's)."""
    commands = [tuple(c) for c in commands]
    with Batch(dict.fromkeys(c[0] for c in commands), **kwargs) as batch:
        return [batch.run(*command) for command in commands]
