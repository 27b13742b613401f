"""Checks of the JAX correction sweep: values, gradients, TensorFlow's twin.

The sweep is plain JAX, independent of Keras' backend. backends_test.py runs
this file in its JAX subprocess, where XLA compiles fast (see there);
float64 needs jax_enable_x64, on for this module.
"""

import jax
import numpy as np
import numpy_reference
import pytest
import tensorflow as tf

from sdn_tf.layers import correction, correction_jax


@pytest.fixture(scope="module", autouse=True)
def _float64():
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


def _tensorflow_sweep_and_gradients(inputs, cotangent, **kwargs):
    """correction.correction_sweep and the gradients of sum(out * cotangent)."""
    inputs = [tf.constant(v) for v in inputs]
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        out = correction.correction_sweep(*inputs, **kwargs)
        loss = tf.reduce_sum(out * cotangent)
    return [out.numpy()] + [g.numpy() for g in tape.gradient(loss, inputs)]


def _jax_sweep_and_gradients(inputs, cotangent, **kwargs):
    def loss(*inputs):
        out = correction_jax.correction_sweep(*inputs, **kwargs)
        return (out * cotangent).sum(), out

    grad_fn = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3, 4), has_aux=True))
    grads, out = grad_fn(*inputs)
    return [np.asarray(out)] + [np.asarray(g) for g in grads]


def _assert_directional_derivatives(inputs, cotangent, grads, eps=1e-6, **kwargs):
    """<grad, v> against (L(w + eps v) - L(w - eps v)) / 2 eps for a random
    direction v of each input, L = sum(sweep * cotangent)."""
    rng = np.random.default_rng(2)

    def loss(*inputs):
        out = correction_jax.correction_sweep(*inputs, **kwargs)
        return float(np.sum(np.asarray(out) * cotangent))

    for i, (value, grad) in enumerate(zip(inputs, grads)):
        v = rng.normal(size=value.shape)
        up, down = list(inputs), list(inputs)
        up[i], down[i] = value + eps * v, value - eps * v
        numeric = (loss(*up) - loss(*down)) / (2 * eps)
        np.testing.assert_allclose(np.sum(grad * v), numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("correct_first_row", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
def test_sweep_matches_numpy_tensorflow_and_finite_differences(
    reverse, correct_first_row
):
    inputs = numpy_reference.random_sweep_inputs(steps=4, length=3)
    cotangent = np.random.default_rng(1).normal(size=inputs[0].shape)
    kwargs = dict(reverse=reverse, correct_first_row=correct_first_row)
    values, *grads = _jax_sweep_and_gradients(inputs, cotangent, **kwargs)
    # The NumPy reference takes [B, H, W, F] with "down"/"up" along H.
    features, kernel, bias, u, c = inputs
    expected = numpy_reference.correction_sweep(
        features.transpose(1, 0, 2, 3),
        kernel,
        u,
        bias,
        c,
        "up" if reverse else "down",
        correct_first_row,
    )
    np.testing.assert_allclose(values, expected.transpose(1, 0, 2, 3), atol=1e-12)
    # The hand-written gradient: against finite differences, and equal to
    # TensorFlow's hand-written one.
    _assert_directional_derivatives(inputs, cotangent, grads, **kwargs)
    tf_values, *tf_grads = _tensorflow_sweep_and_gradients(inputs, cotangent, **kwargs)
    np.testing.assert_allclose(values, tf_values, atol=1e-12)
    for g, tf_g in zip(grads, tf_grads):
        np.testing.assert_allclose(g, tf_g, atol=1e-12)


@pytest.mark.parametrize(
    "shape, correct_first_row",
    [
        ((1, 2, 5, 3), False),  # a single row, uncorrected: an empty scan
        ((1, 2, 5, 3), True),
        ((4, 2, 1, 3), True),  # rows of length one: no neighbours but P[j]
    ],
)
def test_edge_shapes_match_tensorflow(shape, correct_first_row):
    inputs = numpy_reference.random_sweep_inputs(*shape)
    cotangent = np.random.default_rng(1).normal(size=shape)
    kwargs = dict(correct_first_row=correct_first_row)
    for a, b in zip(
        _jax_sweep_and_gradients(inputs, cotangent, **kwargs),
        _tensorflow_sweep_and_gradients(inputs, cotangent, **kwargs),
    ):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_neighbours_transpose_product_is_the_adjoint():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(3, 5, 4))
    grads = rng.normal(size=(3, 5, 12))
    kernel = rng.normal(size=(12, 12))
    forward = np.einsum("blk,kg->blg", correction_jax.neighbours(rows), kernel)
    lhs = np.sum(forward * grads)
    rhs = np.sum(rows * correction_jax.neighbours_transpose_product(grads, kernel))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


def test_half_precision_matmuls_keep_a_float32_state():
    inputs = numpy_reference.random_sweep_inputs(steps=24, f=8, dtype="float32")
    full = np.asarray(correction_jax.correction_sweep(*inputs))
    for matmul_dtype, tol in [("float16", 1e-2), ("bfloat16", 6e-2)]:
        half = correction_jax.correction_sweep(*inputs, matmul_dtype=matmul_dtype)
        assert half.dtype == np.float32
        np.testing.assert_allclose(np.asarray(half), full, atol=tol)
    # An uncorrected first row stays bit for bit what it was.
    kept = correction_jax.correction_sweep(
        *inputs, matmul_dtype="bfloat16", correct_first_row=False
    )
    np.testing.assert_array_equal(np.asarray(kept)[0], inputs[0][0])
