"""Tests of the [-1, 1] grid convention."""

import numpy as np
import pytest
import tensorflow as tf

from sdn_tf.distributions import quantization


@pytest.mark.parametrize("bits", [1, 3, 5, 8])
def test_grid_spans_minus_one_to_one_with_even_steps(bits):
    g = quantization.grid(bits)
    assert len(g) == 2**bits and g[0] == -1.0 and g[-1] == 1.0
    np.testing.assert_allclose(
        np.diff(g), 2 * quantization.half_bin_width(bits), atol=1e-6
    )


@pytest.mark.parametrize("bits", range(1, 9))
def test_uint8_round_trip(bits):
    pixels = np.arange(256, dtype=np.uint8)
    values = quantization.from_uint8(pixels, bits).numpy()
    # Dropping the low bits is the reduction to num_bits.
    np.testing.assert_array_equal(values, quantization.grid(bits)[pixels >> (8 - bits)])
    # Grid values survive a trip to uint8 and back.
    back = quantization.from_uint8(quantization.to_uint8(values, bits), bits).numpy()
    np.testing.assert_array_equal(back, values)
    # Extremes map to black and white.
    assert quantization.to_uint8(tf.constant([-1.0, 1.0]), bits).numpy().tolist() == [
        0,
        255,
    ]


def test_quantize_is_idempotent_and_nearest():
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(-1.3, 1.3, size=1000).astype("float32"))
    q = quantization.quantize(x, 5)
    np.testing.assert_array_equal(quantization.quantize(q, 5).numpy(), q.numpy())
    g = quantization.grid(5)
    nearest = g[np.abs(np.clip(x.numpy(), -1, 1)[:, None] - g[None]).argmin(axis=1)]
    np.testing.assert_allclose(q.numpy(), nearest, atol=1e-6)


@pytest.mark.parametrize("bits", [0, 17, 2.0, True])
def test_invalid_num_bits_raise(bits):
    with pytest.raises(ValueError, match="argument `num_bits`"):
        quantization.grid(bits)


def test_more_than_8_bits_from_uint8_raises():
    with pytest.raises(ValueError, match="8-bit pixels carry at most 8 bits"):
        quantization.from_uint8(np.zeros(3, np.uint8), 10)


def test_quantize_keeps_nan_and_levels_refuse_it():
    values = tf.constant([np.nan, -0.2, 3.0, -np.inf])
    np.testing.assert_array_equal(
        quantization.quantize(values, 8).numpy(),
        [np.nan, quantization.quantize(tf.constant([-0.2]), 8).numpy()[0], 1.0, -1.0],
    )
    with pytest.raises(
        tf.errors.InvalidArgumentError, match="NaN values have no level"
    ):
        quantization.to_uint8(values, 8)


def test_numpy_integers_are_valid_bit_counts_and_integers_convert_as_pixels():
    np.testing.assert_array_equal(quantization.grid(np.int64(3)), quantization.grid(3))
    pixels = np.array([0, 37, 255], np.uint8)
    np.testing.assert_array_equal(
        quantization.as_grid_values(pixels, 4), quantization.from_uint8(pixels, 4)
    )
    np.testing.assert_array_equal(
        quantization.as_grid_values(np.array([0.5], np.float64)), [0.5]
    )
