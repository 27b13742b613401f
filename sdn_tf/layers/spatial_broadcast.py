"""The spatial broadcast of Watters et al. (2019), Algorithm 1.

The latent vector is tiled over a height x width grid and two coordinate
channels are appended, so an unstrided convolutional decoder can render
positions as simple functions of the coordinates.
"""

import keras
import numpy as np
from keras import ops

from sdn_tf import arguments

COORDINATES = ("linear", "shuffled")


def coordinate_channels(height, width, coordinates="linear", seed=0):
    """[height, width, 2] float32: x over the width and y over the height.

    "linear": x = linspace(-1, 1, width) along each row and y = linspace(-1,
    1, height) along each column. "shuffled": the same (x, y) pairs randomly
    permuted over the grid once, with `seed` (the paper's ablation, appendix B).
    """
    x = np.linspace(-1.0, 1.0, width, dtype=np.float32)
    y = np.linspace(-1.0, 1.0, height, dtype=np.float32)
    xx, yy = np.meshgrid(x, y)  # [height, width] each; x varies along width
    grid = np.stack([xx, yy], axis=-1)
    if coordinates == "shuffled":
        flat = grid.reshape(-1, 2)
        grid = flat[np.random.default_rng(seed).permutation(len(flat))].reshape(
            grid.shape
        )
    return grid


@keras.saving.register_keras_serializable(package="sdn_tf")
class SpatialBroadcast(keras.layers.Layer):
    """Tiles a latent vector over space and appends x, y coordinate channels.

    The Spatial Broadcast decoder's first operation (Watters et al. 2019,
    Algorithm 1): z of shape [B, D] becomes [B, height, width, D + 2], the
    latent repeated at every position followed by the x coordinate (a
    linspace(-1, 1) over the width) and the y coordinate (a linspace(-1, 1)
    over the height). Non-square outputs are correct: x runs over width, y
    over height (the paper's pseudo-code uses the width for both).

    Args:
      height: positive int, output height.
      width: positive int, output width.
      coordinates: "linear" (default) or "shuffled", the appendix-B ablation
        whose coordinate pairs are permuted over the grid once.
      seed: int, the permutation's seed for "shuffled". Defaults to 0.
      **kwargs: base Layer arguments.

    Input shape:
      2D tensor `(batch, latent_dim)` with a known latent_dim.

    Output shape:
      4D tensor `(batch, height, width, latent_dim + 2)`.

    Raises:
      ValueError: for a non-positive height or width, an unknown
        `coordinates`, or an input that is not [batch, latent_dim].

    Example:

    >>> layer = SpatialBroadcast(height=2, width=3)
    >>> layer(np.zeros((4, 10), "float32")).shape
    TensorShape([4, 2, 3, 12])
    """

    def __init__(self, height, width, coordinates="linear", seed=0, **kwargs):
        super().__init__(**kwargs)
        height = arguments.positive_integer(height, "height")
        width = arguments.positive_integer(width, "width")
        arguments.check(
            coordinates in COORDINATES,
            "coordinates",
            f"one of {COORDINATES}",
            coordinates,
        )
        self.height, self.width = height, width
        self.coordinates, self.seed = coordinates, int(seed)
        self._grid = coordinate_channels(height, width, coordinates, self.seed)

    def _check_input_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(
                "Received an invalid value for argument `inputs`, expected a "
                f"2D input (batch, latent_dim) with known latent_dim, got shape "
                f"{input_shape}."
            )
        return input_shape

    def build(self, input_shape):
        input_shape = self._check_input_shape(input_shape)
        self.input_spec = keras.layers.InputSpec(ndim=2, axes={-1: input_shape[-1]})

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        tiled = ops.broadcast_to(
            inputs[:, None, None, :], (batch, self.height, self.width, inputs.shape[-1])
        )  # [B, height, width, D]
        grid = ops.cast(ops.convert_to_tensor(self._grid), inputs.dtype)
        grid = ops.broadcast_to(grid[None], (batch, self.height, self.width, 2))
        return ops.concatenate([tiled, grid], axis=-1)  # [B, height, width, D + 2]

    def compute_output_shape(self, input_shape):
        input_shape = self._check_input_shape(input_shape)
        return (input_shape[0], self.height, self.width, input_shape[-1] + 2)

    def get_config(self):
        config = super().get_config()
        config.update(
            height=self.height,
            width=self.width,
            coordinates=self.coordinates,
            seed=self.seed,
        )
        return config
