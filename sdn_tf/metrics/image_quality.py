"""Whether a density model's pictures show what it learned.

Two numbers that a glance at a sheet of samples and reconstructions
answers roughly, made exact so that a run can be checked by a script:

  local_contrast            the mean absolute difference of neighbouring
                            pixels (horizontal and vertical pairs): how
                            much edge and texture an image holds. Compare
                            samples with real images of the same data.
  reconstruction_distance   mean |x' - x| of reconstructions from their
                            own inputs, and from another input of the
                            batch: a model that ignores its latents
                            reconstructs every image about as far from its
                            own input as from any other.

Images are on one scale for all arguments (the project's [-1, 1]).
"""

import numpy as np

from sdn_tf import arguments
from sdn_tf.metrics import utils


def local_contrast(images):
    """Mean |x[i, j] - x[i, j+1]| and |x[i, j] - x[i+1, j]| over all pairs.

    Args:
      images: [N, H, W, C] array, H and W > 1.

    Returns:
      float.
    """
    images = utils.checked_images(images, "images")
    across = np.abs(np.diff(images, axis=2))
    down = np.abs(np.diff(images, axis=1))
    return float((across.sum() + down.sum()) / (across.size + down.size))


def reconstruction_distance(reconstructions, inputs):
    """(mean |x'_k - x_k|, mean |x'_k - x_{k-1}|): the reconstructions'
    distance from their own inputs and from the previous input of the
    batch (cyclically).

    Args:
      reconstructions: [N, H, W, C] array, N >= 2.
      inputs: [N, H, W, C] array of the reconstructions' shape.

    Returns:
      (float, float).
    """
    reconstructions = utils.checked_images(reconstructions, "reconstructions", 2)
    inputs = utils.checked_images(inputs, "inputs", 2)
    arguments.check(
        reconstructions.shape == inputs.shape,
        "inputs",
        f"the reconstructions' shape {reconstructions.shape}",
        inputs.shape,
    )
    own = np.abs(reconstructions - inputs).mean()
    other = np.abs(reconstructions - np.roll(inputs, 1, axis=0)).mean()
    return float(own), float(other)
