"""Tests of train.evaluate's settings (the full run is in density_test)."""

import os

import command_batch
import pytest

from sdn_tf.train import evaluate, runs
from sdn_tf.train.configs import disentangle

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}

GOOD = dict(
    num_images=8,
    iw_samples=4,
    iw_chunk=2,
    iw_images=2,
    layer=1,
    temperature=0.8,
    temperatures=[1.0, 0.7],
)


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("num_images", 3, "integer >= 8"),
        ("iw_samples", -1, "non-negative integer"),
        ("iw_chunk", 0, "positive integer"),
        ("iw_images", 0, "positive integer"),
        ("layer", -1, "non-negative integer"),
        ("temperature", float("nan"), "finite, non-negative"),
        ("temperatures", [1.0, -0.5], "finite, non-negative"),
        ("temperatures", [], "temperatures"),
    ],
)
def test_bad_settings_are_refused_before_any_work(name, value, expected):
    with pytest.raises(ValueError, match=f"`{name}`, expected .*{expected}"):
        evaluate.validate_settings(dict(GOOD, **{name: value}))
    evaluate.validate_settings(dict(GOOD, num_images=None))  # all images


def test_evaluate_refuses_bad_settings_before_reading_data():
    # No model, config or directory is touched before the check.
    with pytest.raises(ValueError, match="`num_images`.*got 3"):
        evaluate.evaluate(None, None, "/nonexistent/eval", dict(GOOD, num_images=3))


def test_a_disentangle_run_or_a_file_for_eval_dir_is_refused_before_restoring(
    tmp_path,
):
    # No checkpoints: a refusal that came after the restore would name them.
    runs.write(str(tmp_path), runs.describe("disentangle", disentangle.quick()))
    a_file = tmp_path / "notes.txt"
    a_file.write_text("")
    # Both commands in one process, a child each (command_batch).
    refused, refused_eval_dir = command_batch.run(
        [
            ("train.evaluate", f"--output_dir={tmp_path}"),
            ("train.evaluate", f"--output_dir={tmp_path}", f"--eval_dir={a_file}"),
        ],
        env=ENV,
    )
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert refused.stderr.strip() == (
        f"Error: Received an invalid value for argument `output_dir`: {tmp_path} "
        "is a train.disentangle run (its run_config.json says so); "
        "train.evaluate takes train.density runs."
    )
    refused = refused_eval_dir
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert "argument `eval_dir`, expected a directory" in refused.stderr
    assert "Restoring" not in refused.stdout and "Traceback" not in refused.stderr
