"""Sprites: a dSprites-like dataset (Matthey et al. 2017), rendered locally.

64x64 images of one sprite (square, ellipse or heart) with the dSprites
factors and feature names: shape (3), scale (6 values in [0.5, 1]),
orientation (40 values in [0, 2 pi)), x and y position (32 values each in
[0, 1], mapped into the frame so the sprite stays visible). Edges are
anti-aliased (4x4 supersampling), where dSprites is binary.

The coloured variant (the Spatial Broadcast paper's coloured sprites)
multiplies the sprite by a colour from HSV, with hue in [0, 1] and
saturation and value in [0.3, 0.7]; these are three more factors (10, 4
and 4 grid values; hue stops at 0.9 so the wrap-around does not repeat).
"""

import numpy as np

from sdn_tf.data import factor_builder, rendering
from sdn_tf.data.ground_truth import GroundTruthDataset

IMAGE_SIZE = 64
SUPERSAMPLE = 4
SHAPES = ("square", "ellipse", "heart")
# Half-extent of a scale-1 sprite and the margin positions 0 and 1 map to,
# as fractions of the frame.
HALF_EXTENT = 0.17
MARGIN = 0.2


def _inside(shape, a, b):
    """Inside-test in sprite coordinates (a right, b down, unit half-extent)."""
    if shape == 0:  # square
        return np.maximum(np.abs(a), np.abs(b)) <= 0.8
    if shape == 1:  # ellipse, 2:1
        return a**2 + (b / 0.5) ** 2 <= 1.0
    # Heart: the curve (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, y up.
    x, y = 1.15 * a, -1.15 * b + 0.12
    return (x**2 + y**2 - 1.0) ** 3 - x**2 * y**3 <= 0.0


class Sprites(GroundTruthDataset):
    """dSprites-like sprites; see the module docstring.

    Args:
      colored: multiply by an HSV colour (three more factors); grayscale
        images otherwise.
    """

    def __init__(self, colored=False):
        self.colored = bool(colored)
        names = ["shape", "scale", "orientation", "x_position", "y_position"]
        values = [
            np.array([1.0, 2.0, 3.0]),  # dSprites' shape values
            np.linspace(0.5, 1.0, 6),
            np.arange(40) * (2 * np.pi / 40),
            np.linspace(0.0, 1.0, 32),
            np.linspace(0.0, 1.0, 32),
        ]
        if self.colored:
            names += ["color_hue", "color_saturation", "color_value"]
            values += [
                np.linspace(0.0, 0.9, 10),
                np.linspace(0.3, 0.7, 4),
                np.linspace(0.3, 0.7, 4),
            ]
        self.factor_names = tuple(names)
        self.factor_values = tuple(values)
        self.image_shape = (IMAGE_SIZE, IMAGE_SIZE, 3 if self.colored else 1)

    def _render(self, factors):
        values = self.values_of(factors).astype(np.float64)
        scale, angle = values[:, 1, None, None], values[:, 2, None, None]
        cx = (MARGIN + values[:, 3] * (1 - 2 * MARGIN))[:, None, None]
        cy = (MARGIN + values[:, 4] * (1 - 2 * MARGIN))[:, None, None]
        u, v = rendering.sample_coordinates(IMAGE_SIZE, SUPERSAMPLE)
        # Rotate the frame by -angle (counter-clockwise on screen), then
        # normalize by the sprite's half-extent.
        du, dv = (u - cx), (v - cy)
        a = (np.cos(angle) * du - np.sin(angle) * dv) / (HALF_EXTENT * scale)
        b = (np.sin(angle) * du + np.cos(angle) * dv) / (HALF_EXTENT * scale)
        inside = np.zeros(a.shape, bool)
        for shape in range(3):
            rows = factors[:, 0] == shape
            if rows.any():
                inside[rows] = _inside(shape, a[rows], b[rows])
        alpha = rendering.coverage(inside, IMAGE_SIZE, SUPERSAMPLE)[..., None]
        if not self.colored:
            return rendering.to_uint8(alpha)
        colour = rendering.hsv_to_rgb(values[:, 5], values[:, 6], values[:, 7])
        return rendering.to_uint8(alpha * colour[:, None, None, :])


class SdnSprites(factor_builder.FactorDatasetBuilder):
    """TFDS `sdn_sprites`: dSprites-like sprites, binary or coloured."""

    GROUND_TRUTH = Sprites
    BUILDER_CONFIGS = [
        factor_builder.FactorDatasetConfig(
            name="default",
            description="Grayscale sprites, 10,000 train / 2,000 test.",
            dataset_kwargs=dict(colored=False),
        ),
        factor_builder.FactorDatasetConfig(
            name="colored",
            description="Coloured sprites, 10,000 train / 2,000 test.",
            dataset_kwargs=dict(colored=True),
        ),
        factor_builder.FactorDatasetConfig(
            name="full",
            description="Grayscale sprites, all 737,280 factor combinations.",
            dataset_kwargs=dict(colored=False),
            num_train=None,
        ),
    ]
    DESCRIPTION = __doc__
