"""Tests of train.evaluate's settings (the full run is in density_test)."""

import pytest

from sdn_tf.train import evaluate

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
