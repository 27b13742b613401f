"""Shapes: a 3D-Shapes-like scene (Burgess & Kim 2018), rendered in NumPy.

A room (floor and two walls meeting in a corner) with one object in front
of the camera, with the factors and feature names of TFDS's shapes3d:
floor_hue, wall_hue, object_hue (10 values in [0, 0.9]), scale (8 values
in [0.75, 1.25]), shape (4: cube, cylinder, sphere, capsule) and
orientation (15 camera angles in [-30, 30] degrees). The camera turns
around the object: the corner of the room moves across the image, the cube
shows more of one side, and the light (from the front right) shades walls,
floor and object. 64x64 RGB, 2x2 supersampled.
"""

import numpy as np

from sdn_tf.data import factor_builder, rendering
from sdn_tf.data.ground_truth import GroundTruthDataset

IMAGE_SIZE = 64
SUPERSAMPLE = 2
SHAPES = ("cube", "cylinder", "sphere", "capsule")
_HORIZON = 0.42  # height of the room's corner on the floor
_FLOOR_SLOPE = 0.32  # floor-wall lines fall away from the corner
_BASE = 0.82  # where the object stands
_LIGHT = np.array([0.45, -0.35, 0.82])  # right, up, towards the camera


def _lambert(nx, ny, nz, ambient=0.3):
    light = _LIGHT / np.linalg.norm(_LIGHT)
    return ambient + (1 - ambient) * np.clip(
        nx * light[0] + ny * light[1] + nz * light[2], 0, 1
    )


def _object(shape, u, v, w, t):
    """(mask, shade) of one object kind; w half-width, t = angle / 30 deg."""
    du = u - 0.5
    if shape == "cube":
        angle = np.deg2rad(30.0 * t)
        front = 2 * w * np.cos(angle)
        side = 2 * w * np.abs(np.sin(angle)) + 1e-9
        left = 0.5 - (front + side) / 2
        top = _BASE - 2 * w
        lid = 0.4 * w  # apparent depth of the top face
        # Front face, the side face on the side the camera turns to, and the
        # top face skewed towards that side.
        front_left = np.where(t >= 0, left, left + side)
        in_front = (
            (u >= front_left) & (u <= front_left + front) & (v >= top) & (v <= _BASE)
        )
        side_left = np.where(t >= 0, left + front, left)
        in_side = (
            (u >= side_left) & (u <= side_left + side) & (v >= top - lid) & (v <= _BASE)
        )
        skew = np.where(t >= 0, 1.0, -1.0) * (top - v) / lid * side
        in_top = (
            (v >= top - lid)
            & (v < top)
            & (u >= front_left + skew)
            & (u <= front_left + front + skew)
        )
        mask = in_front | in_side | in_top
        shade = np.where(in_top, 1.0, np.where(in_front, 0.78, 0.52))
        return mask, shade
    if shape == "cylinder":
        top = _BASE - 2.2 * w
        ry = 0.3 * w
        nx = np.clip(du / w, -1, 1)
        body = (np.abs(du) <= w) & (v >= top) & (v <= _BASE)
        bottom = du**2 / w**2 + (v - _BASE) ** 2 / ry**2 <= 1
        lid = du**2 / w**2 + (v - top) ** 2 / ry**2 <= 1
        side_shade = _lambert(nx, 0.0, np.sqrt(1 - nx**2))
        return body | bottom | lid, np.where(lid, 0.95, side_shade)
    if shape == "sphere":
        cy = _BASE - w
        nx, ny = du / w, (v - cy) / w
        inside = nx**2 + ny**2 <= 1
        nz = np.sqrt(np.clip(1 - nx**2 - ny**2, 0, 1))
        return inside, _lambert(nx, -ny, nz)
    # capsule: a vertical segment swept by a disc
    radius = 0.75 * w
    low, high = _BASE - radius, _BASE - 2.6 * w + radius
    nearest = np.clip(v, high, low)
    inside = du**2 + (v - nearest) ** 2 <= radius**2
    nx = np.clip(du / radius, -1, 1)
    ny = np.clip((v - nearest) / radius, -1, 1)
    nz = np.sqrt(np.clip(1 - nx**2 - ny**2, 0, 1))
    return inside, _lambert(nx, -ny, nz)


class Shapes(GroundTruthDataset):
    """The 3D-Shapes-like scene; see the module docstring."""

    image_shape = (IMAGE_SIZE, IMAGE_SIZE, 3)
    factor_names = (
        "floor_hue",
        "wall_hue",
        "object_hue",
        "scale",
        "shape",
        "orientation",
    )
    factor_values = (
        np.linspace(0.0, 0.9, 10),
        np.linspace(0.0, 0.9, 10),
        np.linspace(0.0, 0.9, 10),
        np.linspace(0.75, 1.25, 8),
        np.arange(4, dtype=np.float64),
        np.linspace(-30.0, 30.0, 15),
    )

    def _render(self, factors, chunk=64):
        return np.concatenate(
            [
                self._render_chunk(factors[i : i + chunk])
                for i in range(0, len(factors), chunk)
            ]
        )

    def _render_chunk(self, factors):
        values = self.values_of(factors).astype(np.float64)
        floor_rgb = rendering.hsv_to_rgb(values[:, 0], 1.0, 1.0)[:, None, None, :]
        wall_rgb = rendering.hsv_to_rgb(values[:, 1], 1.0, 1.0)[:, None, None, :]
        object_rgb = rendering.hsv_to_rgb(values[:, 2], 1.0, 1.0)[:, None, None, :]
        w = (0.1 * values[:, 3])[:, None, None]
        t = (values[:, 5] / 30.0)[:, None, None]
        u, v = rendering.sample_coordinates(IMAGE_SIZE, SUPERSAMPLE)
        # The room: the corner moves against the camera's turn.
        corner = 0.5 - 0.3 * t
        floor = v >= _HORIZON + _FLOOR_SLOPE * np.abs(u - corner)
        floor_shade = 0.45 + 0.55 * np.clip((v - _HORIZON) / (1 - _HORIZON), 0, 1)
        wall_shade = np.where(u < corner, 0.68 + 0.1 * t, 0.95 - 0.1 * t)
        image = np.where(
            floor[..., None],
            floor_shade[..., None] * floor_rgb,
            wall_shade[..., None] * wall_rgb,
        )
        shadow = (
            (u - 0.5 - 0.6 * w) ** 2 / (1.6 * w) ** 2
            + (v - _BASE) ** 2 / (0.35 * w) ** 2
            <= 1
        ) & floor
        image = np.where(shadow[..., None], 0.55 * image, image)
        for index, shape in enumerate(SHAPES):
            rows = factors[:, 4] == index
            if not rows.any():
                continue
            mask, shade = _object(shape, u, v, w[rows], t[rows])
            mask = np.broadcast_to(mask, (rows.sum(), *mask.shape[1:]))
            shade = np.broadcast_to(shade, mask.shape)
            image[rows] = np.where(
                mask[..., None], shade[..., None] * object_rgb[rows], image[rows]
            )
        return rendering.to_uint8(rendering.downsample(image, IMAGE_SIZE, SUPERSAMPLE))


class SdnShapes(factor_builder.FactorDatasetBuilder):
    """TFDS `sdn_shapes`: the 3D-Shapes-like scene."""

    GROUND_TRUTH = Shapes
    BUILDER_CONFIGS = [
        factor_builder.FactorDatasetConfig(
            name="default", description="10,000 train / 2,000 test scenes."
        ),
        factor_builder.FactorDatasetConfig(
            name="full", description="All 480,000 factor combinations.", num_train=None
        ),
    ]
    DESCRIPTION = __doc__
