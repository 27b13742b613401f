"""Tests of the circles datasets."""

import colorsys

import numpy as np
import pytest
import tensorflow_datasets as tfds
import tfds_test_util

import sdn_tf  # noqa: F401 (registers the builders)
from sdn_tf.data import Circles, SdnCircles, circles


def _centre_of_mass(image):
    weight = image.astype(np.float64).sum(-1)
    rows, cols = np.indices(weight.shape)
    return ((cols + 0.5) * weight).sum() / weight.sum(), (
        (rows + 0.5) * weight
    ).sum() / weight.sum()


@pytest.mark.parametrize("variant", circles.VARIANTS)
def test_circle_sits_at_its_position_with_its_size(variant):
    data = Circles(variant, resolution=8)
    factors = data.sample_factors(6, np.random.default_rng(0))
    images = data.render(factors)
    values = data.values_of(factors)
    for image, value in zip(images, values):
        named = dict(zip(data.factor_names, value))
        x = named.get("x_position", data.fixed.get("x_position"))
        y = named.get("y_position", data.fixed.get("y_position"))
        cx, cy = _centre_of_mass(image)
        assert abs(cx - 64 * x) < 0.05 and abs(cy - 64 * y) < 0.05
        # Coverage integrates to the disc's area (anti-aliased edges).
        alpha = image.astype(np.float64).max(-1) / 255.0
        area = np.pi * (32 * data.fixed["diameter"]) ** 2
        assert abs(alpha.sum() - area) < 0.02 * area + 1.0


def test_colours_follow_the_colour_factors():
    xh = Circles("xh", resolution=8)
    factors = np.array([[3, 0], [3, 7]])
    for image, hue in zip(xh.render(factors), xh.values_of(factors)[:, 1]):
        r, g, b = image[32, 32] / 255.0
        assert abs(colorsys.rgb_to_hsv(r, g, b)[0] - hue) < 0.01
    rg = Circles("rg", resolution=5)
    image = rg.render(np.array([[4, 0]]))[0]  # red 0.8, green 0.4
    np.testing.assert_allclose(image[32, 32] / 255.0, [0.8, 0.4, 1.0], atol=0.01)
    white = Circles("xy").render(np.array([[16, 16]]))[0]
    assert white[32, 32].tolist() == [255, 255, 255] and white[0, 0].tolist() == [
        0,
        0,
        0,
    ]


@pytest.mark.parametrize("hole", ["centre", "corner"])
def test_dependent_variants_hold_out_a_quarter(hole, tmp_path):
    data = Circles("xy", resolution=8, hole=hole)
    everything = data.all_factors()
    assert len(everything) == 64 - 16
    builder = tfds_test_util.build_tiny(
        SdnCircles,
        tmp_path,
        num_train=60,
        num_test=20,
        variant="xy",
        resolution=8,
        hole=hole,
    )
    inside = Circles("xy", resolution=8, hole=hole)._in_hole
    for split, expect_hole in [("train", False), ("test", False), ("heldout", True)]:
        labels = np.array(
            [
                [e["label_x_position"], e["label_y_position"]]
                for e in tfds_test_util.examples(builder, split)
            ]
        )
        assert np.all(inside(labels) == expect_hole), split
    held = np.array(
        [
            [e["label_x_position"], e["label_y_position"]]
            for e in tfds_test_util.examples(builder, "heldout")
        ]
    )
    low = 2 if hole == "centre" else 4  # resolution 8: [2, 6) or [4, 8)
    assert held.min() >= low and held.max() < low + 4


def test_builds_with_declared_features_and_is_reproducible(tmp_path):
    kwargs = dict(variant="xyh_small", resolution=16)
    first = tfds_test_util.build_tiny(SdnCircles, tmp_path / "a", **kwargs)
    second = tfds_test_util.build_tiny(SdnCircles, tmp_path / "b", **kwargs)
    other_seed = tfds_test_util.build_tiny(SdnCircles, tmp_path / "c", seed=1, **kwargs)
    assert first.info.splits["train"].num_examples == 24
    assert first.info.splits["test"].num_examples == 8
    train = tfds_test_util.examples(first, "train")
    for example in train:
        assert (
            example["image"].shape == (64, 64, 3) and example["image"].dtype == np.uint8
        )
        for name, low, high in [
            ("x_position", 0.2, 0.8),
            ("y_position", 0.2, 0.8),
            ("hue", 0.2, 0.8),
        ]:
            assert low - 1e-6 <= example[f"value_{name}"] <= high + 1e-6
            assert 0 <= example[f"label_{name}"] < 16
    np.testing.assert_array_equal(
        np.stack([e["image"] for e in train]),
        np.stack([e["image"] for e in tfds_test_util.examples(second, "train")]),
    )
    assert not np.array_equal(
        np.stack([e["image"] for e in train]),
        np.stack([e["image"] for e in tfds_test_util.examples(other_seed, "train")]),
    )
    # Labels and rendering agree: re-rendering an example's labels gives it.
    data = Circles(**kwargs)
    labels = np.array([[e[f"label_{n}"] for n in data.factor_names] for e in train[:4]])
    np.testing.assert_array_equal(
        data.render(labels), np.stack([e["image"] for e in train[:4]])
    )


def test_registered_configs_and_laptop_sized_defaults():
    builder = tfds.builder("sdn_circles/xy")
    assert isinstance(builder, SdnCircles)
    configs = {c.name: c for c in SdnCircles.BUILDER_CONFIGS}
    for variant in circles.VARIANTS:
        assert configs[variant].num_train == 4_000
        assert configs[f"{variant}_full"].num_train is None
    for name in ("xy_hole_centre", "xh_hole_corner", "rg_hole_centre"):
        assert name in configs
    assert Circles("xy").factor_sizes == (32, 32)
    assert len(Circles("xyh_tiny").all_factors()) == 32**3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(variant="xz"), "argument `variant`"),
        (dict(hole="middle"), "argument `hole`"),
        (dict(resolution=2), "argument `resolution`"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Circles(**kwargs)


def test_bad_factors_raise():
    data = Circles("xy", resolution=8)
    with pytest.raises(ValueError, match="expected an integer array \\[N, 2\\]"):
        data.render(np.zeros((3, 3), int))
    with pytest.raises(ValueError, match="indices must lie in"):
        data.render(np.array([[0, 8]]))
    with pytest.raises(ValueError, match="integer factor indices"):
        data.render(np.zeros((2, 2)))


@pytest.mark.parametrize("hole", [None, "corner"])
def test_images_from_the_rendered_grid_equal_fresh_renders(hole):
    # Small factor spaces are rendered once and indexed (the metrics' speed),
    # once as many images as the grid holds were asked for.
    data = Circles("xy", hole=hole)
    grid_size = np.prod(data.factor_sizes)
    assert grid_size <= data.CACHE_LIMIT
    rng = np.random.default_rng(3)
    factors = data.sample_factors(50, rng)
    fresh = data._render(factors)
    np.testing.assert_array_equal(data.render(factors), fresh)
    assert getattr(data, "_grid_images", None) is None  # 50 images: no grid
    data.render(data.sample_factors(grid_size - 50, rng))
    assert data._grid_images is not None
    np.testing.assert_array_equal(data.render(factors), fresh)
