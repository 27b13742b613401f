"""How much of an image is the pixel-level checkerboard (-1)^(i+j).

Decoders whose last layer is a stride-2 transposed convolution, or whose
output is read off a mixture pixel by pixel, can produce images in which
every other pixel is lighter: a pattern at the highest spatial frequency,
(pi, pi), that natural images hardly contain. Its amplitude in an image x
[H, W] is the image's projection on that pattern,

    a = mean_ij x_ij (-1)^(i+j),

that is its 2-D DFT coefficient at (pi, pi) divided by H * W. Its energy
a^2 is compared with that of real images of the same data: a ratio near 1
means the pattern is as faint as in the data.
"""

import numpy as np

from sdn_tf import arguments


def _checked_images(images, name):
    images = np.asarray(images, np.float64)
    arguments.check(
        images.ndim == 4 and images.shape[1] > 1 and images.shape[2] > 1,
        name,
        "images [N, H, W, C] with H, W > 1",
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
    images = _checked_images(images, "images")
    height, width = images.shape[1:3]
    signs = (-1.0) ** np.add.outer(np.arange(height), np.arange(width))
    return np.einsum("nhwc,hw->nc", images, signs) / (height * width)


def checkerboard_energy(images):
    """The mean of a^2 over images and channels."""
    return float(np.mean(checkerboard_amplitude(images) ** 2))


def checkerboard_ratio(images, reference):
    """checkerboard_energy(images) / checkerboard_energy(reference): how many
    times stronger the pattern is in `images` (samples, reconstructions)
    than in `reference` (real images of the same data)."""
    reference = _checked_images(reference, "reference")
    return checkerboard_energy(images) / max(checkerboard_energy(reference), 1e-30)
