"""The distributions setup.py makes: a wheel that installs no generic
top-level name, and that works beside a user's own models.py and train.py."""

import os
import subprocess
import sys
import zipfile

import command_batch
import pytest
from markdown_blocks import code_blocks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = ("density", "disentangle", "evaluate", "export")


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """The wheel and sdist `python -m build` makes of this checkout."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        # Without isolation: the build needs only setuptools and wheel, which
        # the test install has, and no index.
        [sys.executable, "-m", "build", "--no-isolation", f"--outdir={out}", ROOT],
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheel = next(out.glob("sdn_tf-*.whl"))
    sdist = next(out.glob("sdn_tf-*.tar.gz"))
    return wheel, sdist


def _wheel_names(wheel):
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_installs_sdn_tf_alone(dist):
    wheel, _ = dist
    names = _wheel_names(wheel)
    top_level = {name.split("/")[0] for name in names}
    assert {t for t in top_level if not t.endswith(".dist-info")} == {"sdn_tf"}
    for path in (
        "sdn_tf/models/sdn_vae.py",
        "sdn_tf/train/density.py",
        "sdn_tf/train/configs/density.py",
        "sdn_tf/native/correction_sweep.cc",
    ):
        assert path in names


def test_the_wheel_is_versioned_as_sdn_tf_says(dist):
    wheel, _ = dist
    with open(os.path.join(ROOT, "sdn_tf", "__init__.py"), encoding="utf-8") as f:
        version = next(
            line.split('"')[1] for line in f if line.startswith("__version__ =")
        )
    assert os.path.basename(wheel).startswith(f"sdn_tf-{version}-")


def test_the_sdist_keeps_the_repository_layout(dist):
    import tarfile

    _, sdist = dist
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[-1] for name in archive.getnames()}
    assert {"setup.py", "README.md", "models/sdn_vae.py", "train/density.py"} <= names
    assert "sdn_tf/native/correction_sweep.cc" in names


@pytest.fixture(scope="module")
def user_project(dist, tmp_path_factory):
    """A virtual environment with the wheel installed (its dependencies from
    this interpreter's site-packages), and a project directory holding the
    user's own models.py and train.py."""
    wheel, _ = dist
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
        check=True,
        timeout=120,
    )
    python = str(venv / "bin" / "python")
    # --force-reinstall: an sdn_tf already in the site-packages the venv sees
    # (a developer's `pip install -e .`) would otherwise satisfy the wheel.
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
        + ["--force-reinstall", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    project = tmp_path_factory.mktemp("project")
    (project / "models.py").write_text('OWNER = "the user"\n')
    (project / "train.py").write_text('OWNER = "the user"\n')
    return python, venv, project


def _run(python, project, *arguments):
    # Without PYTHONPATH: a checkout on it (a developer's, a worktree's)
    # would put its sdn_tf before the wheel's.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [python, *arguments],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_readme_snippet_runs_beside_the_users_own_modules(user_project):
    python, venv, project = user_project
    (_, snippet), *_ = [
        block
        for block in code_blocks("python")
        if "from sdn_tf.models import SDNVAE" in block[1]
    ]
    # The user's modules by the names they take (not an import statement:
    # they are no dependency of this test).
    check = (
        "\nowners = [__import__(name).OWNER for name in ('models', 'train')]\n"
        "assert owners == ['the user'] * 2, owners\n"
        "print(__import__('sdn_tf.models').models.__file__)\n"
    )
    done = _run(python, project, "-c", snippet + check)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1].startswith(str(venv))


@pytest.fixture(scope="module")
def helps(user_project):
    """{command: `python -m sdn_tf.train.<command> --help` finished}, run
    from the user's project by the installed wheel, the four in one process
    (command_batch: a child each, TensorFlow imported once)."""
    python, _, project = user_project
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # as _run
    done = command_batch.run(
        [(f"sdn_tf.train.{command}", "--help") for command in COMMANDS],
        env=env,
        cwd=project,
        python=python,
    )
    return dict(zip(COMMANDS, done))


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_runs_under_its_installed_name(helps, command):
    done = helps[command]
    assert "--output_dir" in done.stdout, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
