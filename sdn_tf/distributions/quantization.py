"""The pixel convention shared by the data pipeline and the distributions.

Images with `num_bits` bits per channel have K = 2**num_bits levels
k = 0, ..., K - 1. The models see them as values on a uniform grid in
[-1, 1]:

    x_k = 2 k / (K - 1) - 1,      bin of x_k: [x_k - h, x_k + h],  h = 1 / (K - 1)

so the lowest level is -1, the highest +1, and neighbouring values are 2h
apart. 8-bit pixels p = 0..255 are reduced to num_bits by dropping low bits,
k = floor(p / 2**(8 - num_bits)), as in Glow and the SDN reference.
"""

import numpy as np
import tensorflow as tf

from sdn_tf import arguments


def check_num_bits(num_bits):
    """num_bits as an int, or the ValueError for an integer from 1 to 16."""
    return arguments.integer_in_range(num_bits, "num_bits", 1, 16)


def num_levels(num_bits):
    """K = 2**num_bits."""
    return 2 ** check_num_bits(num_bits)


def half_bin_width(num_bits):
    """h = 1 / (K - 1), half the distance between neighbouring grid values."""
    return 1.0 / (num_levels(num_bits) - 1)


def grid(num_bits):
    """The K grid values in [-1, 1], lowest first, as float32.

    Computed with the same float32 expression as `from_uint8`, so the two
    agree bit for bit.
    """
    levels = num_levels(num_bits)
    k = np.arange(levels, dtype=np.float32)
    return k * np.float32(2.0 / (levels - 1)) - np.float32(1.0)


def from_uint8(pixels, num_bits=8, dtype=tf.float32):
    """8-bit pixels (0..255) -> grid values in [-1, 1] at num_bits <= 8 bits."""
    levels = num_levels(num_bits)
    if num_bits > 8:
        raise ValueError(
            "Received an invalid value for argument `num_bits`: 8-bit pixels "
            f"carry at most 8 bits, got {num_bits}."
        )
    k = tf.math.floordiv(tf.cast(pixels, tf.int32), 2 ** (8 - num_bits))
    values = tf.cast(k, tf.float32) * np.float32(2.0 / (levels - 1)) - np.float32(1.0)
    return tf.cast(values, dtype)


def as_grid_values(images, num_bits=8):
    """Images as float32 for the distributions and models: integer images
    are 8-bit pixels, converted exactly as `from_uint8` does; float images
    are taken to be on the grid already (only cast)."""
    images = tf.convert_to_tensor(images)
    if images.dtype.is_integer:
        return from_uint8(images, num_bits)
    return tf.cast(images, tf.float32)


def to_uint8(values, num_bits=8):
    """Grid values in [-1, 1] (or anything in between) -> 8-bit pixels.

    Values are clipped to [-1, 1], rounded to the nearest of the K levels,
    and the level is spread over 0..255, so from_uint8(to_uint8(x)) == x for
    every grid value x at num_bits <= 8. NaN has no pixel value: it raises
    (InvalidArgumentError) rather than becoming a plausible colour.
    """
    levels = num_levels(num_bits)
    k = quantize_levels(values, num_bits)
    return tf.cast(tf.round(tf.cast(k, tf.float32) * (255.0 / (levels - 1))), tf.uint8)


def _nearest_level(values, num_bits):
    """The level k of the grid value nearest to each value, as float32 (NaN
    for NaN: casting NaN to an integer gives garbage, not an error)."""
    levels = num_levels(num_bits)
    values = tf.clip_by_value(tf.cast(values, tf.float32), -1.0, 1.0)
    return tf.round((values + 1.0) * (0.5 * (levels - 1)))


def quantize_levels(values, num_bits):
    """The level k (int32) of the grid value nearest to each value.

    Raises:
      InvalidArgumentError: for NaN values, which have no level.
    """
    k = _nearest_level(values, num_bits)
    k = tf.debugging.assert_all_finite(k, "NaN values have no level on the grid")
    return tf.cast(k, tf.int32)


def quantize(values, num_bits):
    """The grid value nearest to each value (values clipped to [-1, 1]).

    NaN stays NaN: a diverged decoder gives NaN images, not plausible ones.
    """
    levels = num_levels(num_bits)
    k = _nearest_level(values, num_bits)
    grid_values = k * np.float32(2.0 / (levels - 1)) - np.float32(1.0)
    return tf.cast(grid_values, values.dtype)
