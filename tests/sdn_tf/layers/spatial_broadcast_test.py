"""Tests of SpatialBroadcast."""

import numpy as np
import pytest

import sdn_test_case
from sdn_tf.layers import SpatialBroadcast


def test_coordinate_channels_of_a_2x3_output():
    z = np.array([[0.5, -2.0]], "float32")
    out = np.asarray(SpatialBroadcast(height=2, width=3)(z))
    assert out.shape == (1, 2, 3, 4)
    # x runs over the width, y over the height, each a linspace(-1, 1).
    np.testing.assert_array_equal(out[0, ..., 2], [[-1, 0, 1], [-1, 0, 1]])
    np.testing.assert_array_equal(out[0, ..., 3], [[-1, -1, -1], [1, 1, 1]])
    # The latent is tiled at every position.
    np.testing.assert_array_equal(out[0, ..., :2], np.broadcast_to(z[0], (2, 3, 2)))


def test_tiling_keeps_each_examples_latent():
    z = np.random.default_rng(0).normal(size=(5, 7)).astype("float32")
    out = np.asarray(SpatialBroadcast(4, 6)(z))
    for i in range(5):
        np.testing.assert_array_equal(out[i, ..., :7], np.broadcast_to(z[i], (4, 6, 7)))


def test_shuffled_coordinates_permute_the_same_pairs():
    linear = np.asarray(SpatialBroadcast(4, 5)(np.zeros((1, 1), "float32")))[0, ..., 1:]
    layer = SpatialBroadcast(4, 5, coordinates="shuffled", seed=3)
    shuffled = np.asarray(layer(np.zeros((1, 1), "float32")))[0, ..., 1:]
    assert not np.array_equal(linear, shuffled)
    sort = lambda g: sorted(map(tuple, g.reshape(-1, 2)))  # noqa: E731
    assert sort(linear) == sort(shuffled)


def test_standard_layer_test(tmp_path):
    sdn_test_case.run_layer_test(
        SpatialBroadcast,
        dict(height=3, width=5),
        input_shape=(2, 4),
        expected_output_shape=(2, 3, 5, 6),
        expected_num_trainable_weights=0,
        run_fit=False,
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(height=0, width=3), "argument `height`"),
        (dict(height=2, width=-1), "argument `width`"),
        (dict(height=2.0, width=3), "argument `height`"),
        (dict(height=2, width=3, coordinates="polar"), "argument `coordinates`"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpatialBroadcast(**kwargs)


@pytest.mark.parametrize("shape", [(2, 3, 4), (5,), (2, None)])
def test_bad_input_rank_raises(shape):
    with pytest.raises(ValueError, match="expected a 2D input"):
        SpatialBroadcast(2, 3).build(shape)
