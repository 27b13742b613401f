"""Tests of the 3D-Shapes-like scenes."""

import colorsys

import numpy as np
import tensorflow_datasets as tfds
import tfds_test_util

import sdn_tf  # noqa: F401
from sdn_tf.data import SdnShapes, Shapes

SHAPES3D_FEATURES = {
    "image",
    "label_floor_hue",
    "label_wall_hue",
    "label_object_hue",
    "label_scale",
    "label_shape",
    "label_orientation",
    "value_floor_hue",
    "value_wall_hue",
    "value_object_hue",
    "value_scale",
    "value_shape",
    "value_orientation",
}


def _hue(pixel):
    r, g, b = pixel / 255.0
    return colorsys.rgb_to_hsv(r, g, b)[0]


def test_same_features_as_tfds_shapes3d_and_builds(tmp_path):
    builder = tfds_test_util.build_tiny(SdnShapes, tmp_path, num_train=16, num_test=4)
    assert set(builder.info.features) == SHAPES3D_FEATURES
    for example in tfds_test_util.examples(builder, "train"):
        assert (
            example["image"].shape == (64, 64, 3) and example["image"].dtype == np.uint8
        )
        assert -30.0 <= example["value_orientation"] <= 30.0
        assert 0.75 <= example["value_scale"] <= 1.25
    assert Shapes().factor_sizes == (10, 10, 10, 8, 4, 15)


def test_floor_wall_and_object_carry_their_hues():
    data = Shapes()
    # floor, wall, object hue indices; scale; shape; orientation
    factors = np.array([[1, 4, 7, 7, shape, 7] for shape in range(4)])
    for image in data.render(factors):
        assert abs(_hue(image[60, 2]) - data.factor_values[0][1]) < 0.02  # floor
        assert abs(_hue(image[4, 4]) - data.factor_values[1][4]) < 0.02  # wall
        assert abs(_hue(image[44, 32]) - data.factor_values[2][7]) < 0.02  # object


def test_scale_shape_and_orientation_change_the_image():
    data = Shapes()

    def object_area(image, hue=0.7):
        hues = np.array([[_hue(p) for p in row] for row in image])
        return (np.abs(hues - hue) < 0.02).sum()

    small, large = data.render(np.array([[0, 3, 7, 0, 2, 7], [0, 3, 7, 7, 2, 7]]))
    assert object_area(large) > 1.8 * object_area(small)  # (1.25 / 0.75)^2 = 2.8
    left, right = data.render(np.array([[0, 3, 7, 4, 0, 0], [0, 3, 7, 4, 0, 14]]))
    assert np.abs(left.astype(int) - right.astype(int)).mean() > 5
    shapes = data.render(np.array([[0, 3, 7, 4, s, 7] for s in range(4)]))
    areas = [object_area(im) for im in shapes]
    assert len(set(areas)) == 4


def test_registered_with_laptop_sized_defaults():
    assert isinstance(tfds.builder("sdn_shapes"), SdnShapes)
    configs = {c.name: c for c in SdnShapes.BUILDER_CONFIGS}
    assert configs["default"].num_train == 10_000 and configs["full"].num_train is None
    assert len(Shapes().all_factors()) == 480_000
