"""Tests of the checkerboard measure, against NumPy's FFT."""

import numpy as np
import pytest

from sdn_tf.metrics import checkerboard


@pytest.mark.parametrize("shape", [(3, 8, 8, 3), (2, 6, 10, 1)])
def test_amplitude_is_the_dft_coefficient_at_the_highest_frequency(shape):
    images = np.random.default_rng(0).uniform(-1, 1, shape)
    height, width = shape[1:3]
    spectrum = np.fft.fft2(images, axes=(1, 2))  # even sizes: (pi, pi) exists
    expected = spectrum[:, height // 2, width // 2, :].real / (height * width)
    np.testing.assert_allclose(
        checkerboard.checkerboard_amplitude(images), expected, atol=1e-12
    )


def test_a_pure_checkerboard_has_its_amplitude_and_smooth_images_none():
    i, j = np.meshgrid(np.arange(8), np.arange(6), indexing="ij")
    pattern = 0.25 * (-1.0) ** (i + j)
    ramp = np.linspace(-1, 1, 8)[:, None] * np.ones((8, 6))
    images = np.stack([pattern + ramp, ramp])[..., None]
    amplitude = checkerboard.checkerboard_amplitude(images)
    np.testing.assert_allclose(amplitude[:, 0], [0.25, 0.0], atol=1e-12)
    assert checkerboard.checkerboard_energy(images) == pytest.approx(0.25**2 / 2)
    reference = np.stack([ramp + 0.01 * (-1.0) ** (i + j)])[..., None]
    assert checkerboard.checkerboard_ratio(images, reference) == pytest.approx(
        (0.25**2 / 2) / 0.01**2
    )


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((8, 8, 3)), r"`images`, expected images \[N, H, W, C\]"),
        (np.zeros((2, 1, 8, 3)), r"H, W > 1, got \(2, 1, 8, 3\)"),
    ],
)
def test_bad_images_are_named(images, message):
    with pytest.raises(ValueError, match=message):
        checkerboard.checkerboard_amplitude(images)
