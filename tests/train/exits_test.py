"""Tests of how the commands end on an error a user should read: one line
on stderr and an exit code, a traceback only for the unexpected."""

import command_batch
import pytest

from sdn_tf.train import config as config_lib
from sdn_tf.train import exits, runs
from sdn_tf.train.configs import density


def _assert_one_line(result, exit_code, *texts):
    assert result.returncode == exit_code, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for text in texts:
        assert text in lines[0]


def _tiny(output_dir, **settings):
    config = config_lib.with_settings(
        density.tiny(), {"run.output_dir": str(output_dir), **settings}
    )
    return runs.with_image_shape(config)


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """({name: finished command}, their directory) of the refused commands
    the tests below read, run one after another in one process
    (command_batch: a child process each, TensorFlow imported once)."""
    tmp_path = tmp_path_factory.mktemp("refusals")
    a_file = tmp_path / "results"
    a_file.write_text("")
    run = ["train.density", "--config=tiny", f"--data_dir={tmp_path / 'data'}"]
    # A run of other settings: its checkpoints' names are enough to refuse it.
    other = tmp_path / "other"
    runs.write(
        str(other), runs.describe("density", _tiny(other, **{"model.h_size": 9}))
    )
    (other / "checkpoints").mkdir()
    for name in ("ckpt-2.index", "ckpt-2.data-00000-of-00001"):
        (other / "checkpoints" / name).write_text("")
    # A run with no checkpoint.
    empty = tmp_path / "empty"
    runs.write(str(empty), runs.describe("density", _tiny(empty)))
    commands = {
        "seed": (*run, f"--output_dir={tmp_path / 'run'}", "--config.run.seed=-1"),
        "a_file": (*run, f"--output_dir={a_file}"),
        "other": (*run, f"--output_dir={other}"),
        "evaluate": ("train.evaluate", f"--output_dir={empty}"),
        "export": ("train.export", f"--output_dir={empty}"),
    }
    results = command_batch.run(commands.values())
    return dict(zip(commands, results)), tmp_path


def test_settings_refused_at_start_are_one_line_with_exit_code_2(refusals):
    results, tmp_path = refusals
    _assert_one_line(
        results["seed"], 2, "argument `seed`, expected a non-negative integer, got -1"
    )
    _assert_one_line(results["a_file"], 2, "`output_dir`", "(a file)")
    _assert_one_line(
        results["other"],
        2,
        "holds checkpoints of a different run (model.h_size: 9 -> 8)",
    )
    assert not (tmp_path / "data").exists()  # no work started


def test_a_run_with_no_checkpoint_is_refused_by_evaluate_and_export(refusals):
    results, tmp_path = refusals
    for module in ("evaluate", "export"):
        _assert_one_line(
            results[module],
            2,
            f"`output_dir`: {tmp_path / 'empty'} holds no checkpoint to restore",
        )


def test_only_expected_errors_lose_their_traceback():
    def refuses(argv):
        with exits.refusing():
            raise ValueError("Received an invalid value for argument `x`.")

    with pytest.raises(SystemExit) as ended:
        exits.one_line_errors(refuses)([])
    assert ended.value.code == 2

    def fails(argv):
        raise ValueError("a bug")  # not a check before work

    with pytest.raises(ValueError, match="a bug"):
        exits.one_line_errors(fails)([])
