"""Vectorized NumPy rasterization shared by the procedural datasets.

Shapes are described by inside-tests on continuous image coordinates
u (left to right) and v (top to bottom), both in [0, 1]. A pixel's value is
the fraction of its sub-samples (supersample x supersample of them) that
fall inside: anti-aliased edges, exactly reproducible.
"""

import numpy as np


def sample_coordinates(size, supersample):
    """u [1, 1, n] and v [1, n, 1] of the n = size * supersample sub-samples."""
    n = size * supersample
    coords = (np.arange(n, dtype=np.float64) + 0.5) / n
    return coords[None, None, :], coords[None, :, None]


def downsample(values, size, supersample):
    """Averages [N, n, n, ...] sub-sample values into [N, size, size, ...]."""
    n_batch = values.shape[0]
    rest = values.shape[3:]
    blocks = values.reshape(n_batch, size, supersample, size, supersample, *rest)
    return blocks.mean(axis=(2, 4))


def coverage(inside, size, supersample):
    """Pixel coverage [N, size, size] of a boolean sub-sample mask [N, n, n]."""
    return downsample(inside.astype(np.float32), size, supersample)


def hsv_to_rgb(hue, saturation, value):
    """Vectorized HSV -> RGB, all in [0, 1]; returns [..., 3]."""
    hue = np.asarray(hue, np.float64) % 1.0
    saturation = np.broadcast_to(np.asarray(saturation, np.float64), hue.shape)
    value = np.broadcast_to(np.asarray(value, np.float64), hue.shape)
    sector = np.floor(hue * 6.0).astype(int) % 6
    f = hue * 6.0 - np.floor(hue * 6.0)
    p = value * (1.0 - saturation)
    q = value * (1.0 - saturation * f)
    t = value * (1.0 - saturation * (1.0 - f))
    choices = [
        (value, t, p),
        (q, value, p),
        (p, value, t),
        (p, q, value),
        (t, p, value),
        (value, p, q),
    ]
    rgb = np.zeros(hue.shape + (3,))
    for s, (r, g, b) in enumerate(choices):
        mask = sector == s
        rgb[mask] = np.stack([r[mask], g[mask], b[mask]], axis=-1)
    return rgb


def to_uint8(intensities):
    """[0, 1] floats -> uint8 pixels (rounded)."""
    return np.clip(np.round(np.asarray(intensities) * 255.0), 0, 255).astype(np.uint8)
