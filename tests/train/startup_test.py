"""Tests of train/startup.py: which processes start quietly, and how."""

import os
import subprocess
import sys

import pytest

from sdn_tf.train import startup


@pytest.mark.parametrize(
    "argv, verbosity, level",
    [
        (["prog", "--output_dir=x"], None, "3"),
        (["prog", "--verbosity=1"], 1, "0"),
        (["prog", "--verbosity", "0"], 0, "0"),
        (["prog", "-v=-1"], -1, "1"),
        (["prog", "-v", "-2", "--steps=4"], -2, "2"),
        (["prog", "--v=-5"], -5, "3"),
        (["prog", "--verbosity=debug"], None, "3"),  # absl refuses it later
        (["prog", "--", "--verbosity=1"], None, "3"),
    ],
)
def test_the_verbosity_flag_sets_tensorflows_cpp_log_level(argv, verbosity, level):
    assert startup.verbosity_argument(argv) == verbosity
    assert startup.tensorflow_log_level(verbosity) == level


@pytest.mark.parametrize(
    "orig_argv, expected",
    [
        (["python", "-m", "train.density", "--steps=4"], True),
        (["python", "-m", "sdn_tf.train.evaluate"], True),
        (["python3", "-X", "dev", "-mtrain.export"], True),
        (["python", "-u", "-m", "sdn_tf.train.disentangle"], True),
        (["python", "-m", "pytest", "-m", "train.density"], False),
        (["python", "-m", "trainer.density"], False),
        (["python", "my_script.py", "-m", "train.density"], False),
        (["python", "-c", "import sdn_tf", "-m", "train.density"], False),
        (["python"], False),
    ],
)
def test_a_command_is_told_from_the_interpreters_own_arguments(orig_argv, expected):
    assert startup.started_as_a_command(orig_argv) is expected


def _run(*python_arguments, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",)}
    done = subprocess.run(
        [sys.executable, *python_arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done


def test_a_command_starts_without_tensorflows_start_up_lines(tmp_path):
    # Run from a directory outside the checkout under the installed name, as
    # a user of the wheel does: sdn_tf/__init__.py loads TensorFlow before
    # any line of the command runs.
    done = _run("-m", "sdn_tf.train.export", "--help", cwd=tmp_path)
    assert "--output_dir" in done.stdout  # absl's usage (exit code 1)
    for text in ("InitializeLog", "cuda drivers", "cpu_feature_guard", "cuInit"):
        assert text not in done.stderr


def test_a_program_importing_sdn_tf_keeps_tensorflows_own_logging(tmp_path):
    # Only the commands are quietened: a user's program sees what
    # TensorFlow prints at its own level (here: its INFO start-up lines).
    done = _run(
        "-c",
        "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '0'; import sdn_tf",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "cpu_feature_guard" in done.stderr or "InitializeLog" in done.stderr
