"""Tests of the active-latents count (Burda et al. 2016's active units)."""

import numpy as np
import pytest

from sdn_tf.metrics import active_latents


def _reference(means, threshold):
    """A_u = Var_x(E_q[z_u | x]) > threshold, written out latent by latent."""
    count, variances = 0, []
    for u in range(means.shape[1]):
        column = means[:, u]
        variance = np.sum((column - np.sum(column) / len(column)) ** 2) / len(column)
        variances.append(variance)
        count += int(variance > threshold)
    return count, variances


@pytest.mark.parametrize("threshold", [0.01, 0.1, 0.001])
def test_active_latents_match_the_reference(threshold):
    rng = np.random.default_rng(0)
    # Latents with standard deviations from 0 (collapsed) to 1 across data.
    scales = np.array([0.0, 0.01, 0.05, 0.09, 0.11, 0.3, 1.0])
    means = rng.normal(size=(500, len(scales))) * scales + rng.normal(size=len(scales))
    result = active_latents(means, threshold=threshold)
    count, variances = _reference(means, threshold)
    assert result["num_active"] == count
    np.testing.assert_allclose(result["variances"], variances, rtol=1e-10, atol=1e-20)


def test_a_collapsed_posterior_has_no_active_latent():
    means = np.tile(np.linspace(-1, 1, 10), (64, 1))  # the same for every x
    result = active_latents(means)
    assert result["num_active"] == 0
    np.testing.assert_allclose(result["variances"], np.zeros(10), atol=1e-20)
    assert active_latents(means.astype("float32"))["num_active"] == 0


@pytest.mark.parametrize(
    "means, threshold, message",
    [
        (np.zeros((1, 3)), 0.01, "argument `means`"),
        (np.zeros(5), 0.01, "argument `means`"),
        (np.zeros((4, 3)), -1.0, "argument `threshold`"),
    ],
)
def test_bad_arguments_raise(means, threshold, message):
    with pytest.raises(ValueError, match=message):
        active_latents(means, threshold=threshold)
