"""How strongly images hold the pixel-level checkerboard (-1)^(i+j).

Decoders whose last layer is a stride-2 transposed convolution can draw
images in which every other pixel is lighter: a pattern at the highest
spatial frequency, (pi, pi). Its amplitude in an image x [H, W] is the
image's projection on that pattern,

    a = mean_ij x_ij (-1)^(i+j),

the 2-D DFT coefficient at (pi, pi) divided by H * W.

A pattern must be told apart from per-pixel noise, which also puts power
at (pi, pi): white noise spreads its power evenly over all frequencies.
So the measure is a *peak*: the power at (pi, pi) over the mean power of
the other high frequencies (those with max(|w_y|, |w_x|) >= pi / 2),

    peak = P(pi, pi) / mean_{high} P(w),   P = mean over images and
                                            channels of |DFT(x)|^2.

White noise gives 1 (in expectation), natural images well below 1 (their
power falls with frequency), a drawn checkerboard far above 1.
"""

import numpy as np

from sdn_tf import arguments
from sdn_tf.metrics import utils


def _checked_even(images, name):
    images = utils.checked_images(images, name)
    arguments.check(
        images.shape[1] % 2 == 0 and images.shape[2] % 2 == 0,
        name,
        "images [N, H, W, C] with even H and W (so that (pi, pi) is a frequency)",
        images.shape,
    )
    return images


def checkerboard_amplitude(images):
    """a = mean_ij x_ij (-1)^(i+j) per image and channel.

    Args:
      images: [N, H, W, C] array, H and W > 1.

    Returns:
      float64 [N, C].
    """
    images = utils.checked_images(images, "images")
    height, width = images.shape[1:3]
    signs = (-1.0) ** np.add.outer(np.arange(height), np.arange(width))
    return np.einsum("nhwc,hw->nc", images, signs) / (height * width)


def power_spectrum(images):
    """P(w) = mean over images and channels of |DFT(x)|^2 / (H W), [H, W]
    with w = 0 at [0, 0] (NumPy's FFT order); each image's mean is taken
    off first, so P(0) = 0."""
    images = utils.checked_images(images, "images")
    centred = images - images.mean(axis=(1, 2), keepdims=True)
    spectrum = np.fft.fft2(centred, axes=(1, 2))
    height, width = images.shape[1:3]
    return np.mean(np.abs(spectrum) ** 2, axis=(0, 3)) / (height * width)


def high_frequencies(height, width):
    """Boolean [H, W] (FFT order): max(|w_y|, |w_x|) >= pi / 2, without
    (pi, pi) itself."""
    w_y = np.abs(np.fft.fftfreq(height))[:, None]  # cycles per pixel; 0.5 = pi
    w_x = np.abs(np.fft.fftfreq(width))[None, :]
    high = np.maximum(w_y, w_x) >= 0.25
    high[height // 2, width // 2] = False
    return high


def checkerboard_peak(images):
    """P(pi, pi) / mean power of the other high frequencies (module
    docstring): about 1 for white noise, below 1 for natural images, far
    above 1 for images that hold the pattern.

    Args:
      images: [N, H, W, C] array, H and W even.

    Returns:
      float.
    """
    images = _checked_even(images, "images")
    height, width = images.shape[1:3]
    power = power_spectrum(images)
    high = power[high_frequencies(height, width)].mean()
    return float(power[height // 2, width // 2] / max(high, 1e-30))
