"""Tests of the checkerboard measure, against NumPy's FFT and loops."""

import numpy as np
import pytest

from sdn_tf.metrics import checkerboard


def _pattern(height, width):
    i, j = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return (-1.0) ** (i + j)


def _smooth_images(count, size, rng):
    """Low-pass images: white noise blurred by a wide Gaussian in frequency."""
    spectrum = np.fft.fft2(rng.normal(size=(count, size, size, 1)), axes=(1, 2))
    f = np.fft.fftfreq(size)
    spectrum *= np.exp(-(f[:, None] ** 2 + f[None, :] ** 2) / 0.01)[None, :, :, None]
    return np.fft.ifft2(spectrum, axes=(1, 2)).real


@pytest.mark.parametrize("shape", [(3, 8, 8, 3), (2, 6, 10, 1)])
def test_amplitude_is_the_dft_coefficient_at_the_highest_frequency(shape):
    images = np.random.default_rng(0).uniform(-1, 1, shape)
    height, width = shape[1:3]
    spectrum = np.fft.fft2(images, axes=(1, 2))  # even sizes: (pi, pi) exists
    expected = spectrum[:, height // 2, width // 2, :].real / (height * width)
    np.testing.assert_allclose(
        checkerboard.checkerboard_amplitude(images), expected, atol=1e-12
    )


def test_power_spectrum_is_the_mean_squared_dft_by_explicit_sums():
    images = np.random.default_rng(1).normal(size=(2, 4, 6, 2))
    height, width = 4, 6
    centred = images - images.mean(axis=(1, 2), keepdims=True)
    expected = np.zeros((height, width))
    for u in range(height):
        for v in range(width):
            for n in range(2):
                for c in range(2):
                    total = sum(
                        centred[n, y, x, c]
                        * np.exp(-2j * np.pi * (u * y / height + v * x / width))
                        for y in range(height)
                        for x in range(width)
                    )
                    expected[u, v] += abs(total) ** 2 / 4 / (height * width)
    np.testing.assert_allclose(
        checkerboard.power_spectrum(images), expected, atol=1e-10
    )


def test_high_frequencies_are_the_outer_band_without_the_peak():
    high = checkerboard.high_frequencies(8, 8)
    assert not high[0, 0] and not high[1, 1] and not high[4, 4]
    assert high[2, 0] and high[0, 6] and high[4, 3] and high[7, 2]
    # |w| >= pi / 2 in either axis: 5 of 8 frequencies per axis (2..6).
    assert high.sum() == 8 * 8 - 3 * 3 - 1


def test_white_noise_peaks_at_one_and_natural_images_below_it():
    rng = np.random.default_rng(2)
    noise = rng.normal(size=(256, 16, 16, 3))
    assert checkerboard.checkerboard_peak(noise) == pytest.approx(1.0, abs=0.15)
    smooth = _smooth_images(64, 16, rng)
    assert checkerboard.checkerboard_peak(smooth) < 0.1


def test_a_faint_pattern_shows_over_smooth_images_and_not_under_noise():
    rng = np.random.default_rng(3)
    smooth = _smooth_images(64, 16, rng)
    faint = smooth + 0.02 * _pattern(16, 16)[None, :, :, None]
    assert checkerboard.checkerboard_peak(faint) > 10
    # The same pattern under strong per-pixel noise is no peak.
    noisy = faint + rng.normal(scale=1.0, size=faint.shape)
    assert checkerboard.checkerboard_peak(noisy) < 1.3


@pytest.mark.parametrize(
    "function, images, message",
    [
        ("checkerboard_amplitude", np.zeros((8, 8, 3)), r"`images`, expected images"),
        ("checkerboard_amplitude", np.zeros((2, 1, 8, 3)), r"got \(2, 1, 8, 3\)"),
        ("checkerboard_peak", np.zeros((2, 7, 8, 3)), r"even H and W .*got \(2, 7"),
    ],
)
def test_bad_images_are_named(function, images, message):
    with pytest.raises(ValueError, match=message):
        getattr(checkerboard, function)(images)
