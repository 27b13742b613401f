"""Tests of the dSprites-like sprites."""

import colorsys

import numpy as np
import tensorflow_datasets as tfds
import tfds_test_util

import sdn_tf  # noqa: F401
from sdn_tf.data import SdnSprites, Sprites

DSPRITES_FEATURES = {
    "image",
    "label_shape",
    "label_scale",
    "label_orientation",
    "label_x_position",
    "label_y_position",
    "value_shape",
    "value_scale",
    "value_orientation",
    "value_x_position",
    "value_y_position",
}


def _area(image):
    return image.astype(np.float64).sum() / 255.0


def test_same_features_as_tfds_dsprites_and_builds(tmp_path):
    builder = tfds_test_util.build_tiny(SdnSprites, tmp_path)
    assert set(builder.info.features) == DSPRITES_FEATURES
    examples = tfds_test_util.examples(builder, "train")
    assert len(examples) == 24
    for example in examples:
        assert (
            example["image"].shape == (64, 64, 1) and example["image"].dtype == np.uint8
        )
        assert example["value_shape"] in (1.0, 2.0, 3.0)
        assert 0.5 <= example["value_scale"] <= 1.0
        assert 0.0 <= example["value_orientation"] < 2 * np.pi
        assert 0.0 <= example["value_x_position"] <= 1.0
    assert Sprites().factor_sizes == (3, 6, 40, 32, 32)
    assert len(Sprites().all_factors()) == 737_280


def test_scale_position_and_orientation_act_as_named():
    data = Sprites()
    # shape, scale, orientation, x, y
    small, large = data.render(np.array([[2, 0, 0, 16, 16], [2, 5, 0, 16, 16]]))
    assert _area(large) > 3.0 * _area(small)  # area ~ scale^2 = 4x
    xs = data.render(np.array([[0, 3, 0, x, 16] for x in (0, 10, 20, 31)]))
    centres = [(np.indices(im.shape[:2])[1] * im[..., 0]).sum() / im.sum() for im in xs]
    assert np.all(np.diff(centres) > 0)
    square = data.render(
        np.array([[0, 5, 0, 16, 16], [0, 5, 10, 16, 16], [0, 5, 5, 16, 16]])
    )
    # A square is the same after a quarter turn (index 10 of 40), not after 1/8.
    np.testing.assert_allclose(square[0].astype(int), square[1].astype(int), atol=2)
    assert np.abs(square[0].astype(int) - square[2].astype(int)).max() > 100
    # Half a turn (index 20 of 40) turns the heart upside down: its centre of
    # mass moves to the other side of the sprite's centre.
    heart = data.render(np.array([[2, 5, 0, 16, 16], [2, 5, 20, 16, 16]]))
    centre = (0.2 + 0.6 * 16 / 31) * 64
    offsets = [(np.indices((64, 64))[0] + 0.5) * im[..., 0] for im in heart]
    offsets = [o.sum() / im.sum() - centre for o, im in zip(offsets, heart)]
    assert abs(offsets[0]) > 1.0
    assert abs(offsets[0] + offsets[1]) < 0.2
    shapes = data.render(np.array([[s, 5, 3, 16, 16] for s in range(3)]))
    assert len({_area(im).round(1) for im in shapes}) == 3


def test_coloured_variant_paints_the_colour_factors(tmp_path):
    data = Sprites(colored=True)
    assert data.image_shape == (64, 64, 3) and data.num_factors == 8
    factors = np.array([[1, 5, 0, 16, 16, 3, 0, 3], [1, 5, 0, 16, 16, 8, 3, 1]])
    for image, value in zip(data.render(factors), data.values_of(factors)):
        r, g, b = image[34, 34] / 255.0  # the ellipse's centre
        h, s, v = colorsys.rgb_to_hsv(r, g, b)
        np.testing.assert_allclose([h, s, v], value[5:], atol=0.02)
    builder = tfds_test_util.build_tiny(SdnSprites, tmp_path, colored=True)
    example = tfds_test_util.examples(builder, "test")[0]
    assert example["image"].shape == (64, 64, 3)
    assert 0.3 <= example["value_color_saturation"] <= 0.7


def test_registered_with_laptop_sized_defaults():
    assert isinstance(tfds.builder("sdn_sprites"), SdnSprites)
    configs = {c.name: c for c in SdnSprites.BUILDER_CONFIGS}
    assert configs["default"].num_train == 10_000 and configs["full"].num_train is None
