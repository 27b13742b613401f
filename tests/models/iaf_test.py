"""Tests of the IAF step: autoregressive structure and log-determinant."""

import numpy as np
import tensorflow as tf

from models import iaf


def _random_flow(z_size=2, size=3, context_size=6, seed=0):
    rng = np.random.default_rng(seed)
    step = iaf.IAFStep(z_size, context_size, num_layers=2)
    z0 = tf.constant(rng.normal(size=(1, size, size, z_size)), tf.float32)
    context = tf.constant(rng.normal(size=(1, size, size, context_size)), tf.float32)
    step.flow(z0, context)  # creates the weights
    # Larger weights than the initialization, so that every connection the
    # masks allow carries a visible dependency.
    for variable in step.trainable_variables:
        variable.assign(rng.normal(size=variable.shape) * 0.5)
    return step, z0, context


def _jacobian(step, z0, context):
    with tf.GradientTape() as tape:
        tape.watch(z0)
        z, log_det_term = step.flow(z0, context)
    jacobian = tape.jacobian(z, z0).numpy()
    n = int(np.prod(z0.shape))
    # Raster order: pixel by pixel, channels inside a pixel.
    return jacobian.reshape(n, n), float(log_det_term[0])


def test_raster_mask_sees_only_earlier_pixels():
    a = iaf.raster_mask(3, 1, 1, "A")[:, :, 0, 0]
    b = iaf.raster_mask(3, 1, 1, "B")[:, :, 0, 0]
    np.testing.assert_array_equal(a, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(b, [[1, 1, 1], [1, 1, 0], [0, 0, 0]])


def test_jacobian_is_triangular_in_raster_order():
    step, z0, context = _random_flow()
    jacobian, _ = _jacobian(step, z0, context)
    channels = z0.shape[-1]
    pixel = np.arange(jacobian.shape[0]) // channels
    later = pixel[None, :] > pixel[:, None]  # output pixel i, input pixel j > i
    np.testing.assert_array_equal(jacobian[later], 0.0)
    # Within a pixel the block is diagonal: dz_c / dz0_c' = 0 for c != c'.
    same = (pixel[None, :] == pixel[:, None]) & ~np.eye(len(pixel), dtype=bool)
    np.testing.assert_array_equal(jacobian[same], 0.0)
    # And some earlier pixel does influence later ones (not trivially diagonal).
    assert np.abs(jacobian[pixel[None, :] < pixel[:, None]]).max() > 1e-3


def test_log_determinant_matches_the_jacobian():
    step, z0, context = _random_flow(seed=1)
    jacobian, log_det_term = _jacobian(step, z0, context)
    sign, log_abs_det = np.linalg.slogdet(jacobian.astype(np.float64))
    assert sign != 0
    # z = (z0 - m) / exp(s): log|det dz/dz0| = -sum(s), and the step returns
    # sum(s), the term that log q(z) = log q(z0) + sum(s) adds.
    np.testing.assert_allclose(log_abs_det, -log_det_term, rtol=1e-4, atol=1e-4)
