"""Circles: the Spatial Broadcast paper's datasets (appendix A.3, Table 3).

64x64 RGB images of one anti-aliased circle on black (5x5 supersampling,
the paper's anti-aliasing factor). Continuous factors are put on a grid of
`resolution` values each, so the ground truth stays discrete:

  variant    factors (ranges)           fixed                  colour
  xy         x, y (0.2-0.8)             diameter 0.2           white
  xh         x, hue (0.2-0.8)           y 0.5, diameter 0.3    HSV(hue, 1, 1)
  rg         red, green (0.4-0.8)       x, y 0.5, diameter 0.5 RGB(red, green, 1)
  xyh_small  x, y, hue (0.2-0.8)        diameter 0.1           HSV(hue, 1, 1)
  xyh_tiny   x, y, hue (0.2-0.8)        diameter 0.075         HSV(hue, 1, 1)

Positions and diameters are fractions of the frame; y runs down from the
top edge, like image rows. With `hole="centre"` or `hole="corner"` a
quarter of the space of the first two factors is held out (the
intersection of half of each range: its middle, or its upper corner), as
in the paper's dependent-factor datasets; the held-out region is its own
`heldout` split.
"""

import numpy as np

from sdn_tf.data import factor_builder, rendering
from sdn_tf.data.ground_truth import GroundTruthDataset

IMAGE_SIZE = 64
SUPERSAMPLE = 5

_VARIANTS = {
    # name: (factor ranges {factor: (low, high)}, fixed {x, y, diameter}, colour model)
    "xy": (
        {"x_position": (0.2, 0.8), "y_position": (0.2, 0.8)},
        {"diameter": 0.2},
        "white",
    ),
    "xh": (
        {"x_position": (0.2, 0.8), "hue": (0.2, 0.8)},
        {"y_position": 0.5, "diameter": 0.3},
        "hsv",
    ),
    "rg": (
        {"red": (0.4, 0.8), "green": (0.4, 0.8)},
        {"x_position": 0.5, "y_position": 0.5, "diameter": 0.5},
        "rgb",
    ),
    "xyh_small": (
        {"x_position": (0.2, 0.8), "y_position": (0.2, 0.8), "hue": (0.2, 0.8)},
        {"diameter": 0.1},
        "hsv",
    ),
    "xyh_tiny": (
        {"x_position": (0.2, 0.8), "y_position": (0.2, 0.8), "hue": (0.2, 0.8)},
        {"diameter": 0.075},
        "hsv",
    ),
}
VARIANTS = tuple(_VARIANTS)
HOLES = (None, "centre", "corner")


class Circles(GroundTruthDataset):
    """One circle on black; see the module docstring for the variants.

    Args:
      variant: "xy", "xh", "rg", "xyh_small" or "xyh_tiny".
      resolution: number of grid values of each factor.
      hole: None, "centre" or "corner": hold out a quarter of the space of
        the first two factors.
    """

    image_shape = (IMAGE_SIZE, IMAGE_SIZE, 3)

    def __init__(self, variant="xy", resolution=32, hole=None):
        if variant not in _VARIANTS:
            raise ValueError(
                "Received an invalid value for argument `variant`, expected one "
                f"of {VARIANTS}, got {variant!r}."
            )
        if hole not in HOLES:
            raise ValueError(
                "Received an invalid value for argument `hole`, expected one of "
                f"{HOLES}, got {hole!r}."
            )
        if (
            isinstance(resolution, bool)
            or not isinstance(resolution, int)
            or resolution < 4
        ):
            raise ValueError(
                "Received an invalid value for argument `resolution`, expected an "
                f"integer >= 4, got {resolution!r}."
            )
        ranges, self.fixed, self.colour = _VARIANTS[variant]
        self.variant, self.resolution, self.hole = variant, resolution, hole
        self.factor_names = tuple(ranges)
        self.factor_values = tuple(
            np.linspace(low, high, resolution) for low, high in ranges.values()
        )

    @property
    def has_heldout(self):
        return self.hole is not None

    def _in_hole(self, factors):
        n = self.resolution
        first, second = factors[:, 0], factors[:, 1]
        if self.hole == "centre":
            low, high = n // 4, n // 4 + n // 2
            return (first >= low) & (first < high) & (second >= low) & (second < high)
        return (first >= n - n // 2) & (second >= n - n // 2)

    def allowed(self, factors):
        if self.hole is None:
            return np.ones(len(factors), bool)
        return ~self._in_hole(np.asarray(factors))

    def sample_heldout(self, num, rng):
        """Factors [num, F] drawn uniformly from the held-out quarter."""
        if self.hole is None:
            raise ValueError("This Circles dataset has no hole to sample from.")
        rng = np.random.default_rng(rng)
        out = np.empty((0, self.num_factors), np.int64)
        while len(out) < num:
            draw = np.stack(
                [rng.integers(0, s, size=4 * num) for s in self.factor_sizes], 1
            )
            out = np.concatenate([out, draw[self._in_hole(draw)]])
        return out[:num]

    def _attribute(self, name, values):
        if name in self.factor_names:
            return values[:, self.factor_names.index(name)]
        return np.full(len(values), self.fixed[name])

    def _render(self, factors):
        values = self.values_of(factors).astype(np.float64)
        x = self._attribute("x_position", values)[:, None, None]
        y = self._attribute("y_position", values)[:, None, None]
        radius = self.fixed["diameter"] / 2.0
        u, v = rendering.sample_coordinates(IMAGE_SIZE, SUPERSAMPLE)
        inside = (u - x) ** 2 + (v - y) ** 2 <= radius**2  # [N, n, n]
        alpha = rendering.coverage(inside, IMAGE_SIZE, SUPERSAMPLE)  # [N, 64, 64]
        if self.colour == "white":
            colour = np.ones((len(values), 3))
        elif self.colour == "hsv":
            colour = rendering.hsv_to_rgb(self._attribute("hue", values), 1.0, 1.0)
        else:
            colour = np.stack(
                [
                    self._attribute("red", values),
                    self._attribute("green", values),
                    np.ones(len(values)),
                ],
                axis=1,
            )
        return rendering.to_uint8(alpha[..., None] * colour[:, None, None, :])


def _configs():
    configs = []
    for variant in VARIANTS:
        configs.append(
            factor_builder.FactorDatasetConfig(
                name=variant,
                description=f"{variant}: 4,000 train / 1,000 test circles.",
                dataset_kwargs=dict(variant=variant),
                num_train=4_000,
                num_test=1_000,
            )
        )
    for variant in ("xy", "xh", "rg"):
        for hole in ("centre", "corner"):
            configs.append(
                factor_builder.FactorDatasetConfig(
                    name=f"{variant}_hole_{hole}",
                    description=(
                        f"{variant} with a quarter of factor space held out "
                        f"({hole}); the held-out region is the `heldout` split."
                    ),
                    dataset_kwargs=dict(variant=variant, hole=hole),
                    num_train=4_000,
                    num_test=1_000,
                )
            )
    for variant in VARIANTS:
        configs.append(
            factor_builder.FactorDatasetConfig(
                name=f"{variant}_full",
                description=f"{variant}: the full factor grid.",
                dataset_kwargs=dict(variant=variant),
                num_train=None,
            )
        )
    return configs


class SdnCircles(factor_builder.FactorDatasetBuilder):
    """TFDS `sdn_circles`: the Spatial Broadcast paper's circles datasets."""

    GROUND_TRUTH = Circles
    BUILDER_CONFIGS = _configs()
    DESCRIPTION = __doc__
