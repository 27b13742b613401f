"""Tests of the IAF step: autoregressive structure and log-determinant."""

import numpy as np
import pytest
import tensorflow as tf

import sdn_test_case
from sdn_tf.models import iaf


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


# --- The standard layer tests ---------------------------------------------


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_masked_conv2d_standard_layer_test(mask_type, tmp_path):
    sdn_test_case.run_layer_test(
        iaf.MaskedConv2D,
        dict(filters=4, mask_type=mask_type, name="masked"),
        input_shape=(2, 5, 6, 3),
        expected_output_shape=(2, 5, 6, 4),
        expected_num_trainable_weights=3,  # kernel, bias, g
        tmp_path=tmp_path,
    )


def test_iaf_step_standard_layer_test(tmp_path):
    sdn_test_case.run_layer_test(
        iaf.IAFStep,
        dict(z_size=2, context_size=4, num_layers=2, name="iaf"),
        input_shape=((2, 5, 5, 2), (2, 5, 5, 4)),  # z0, context
        expected_output_shape=((2, 5, 5, 2), (2,)),  # z, log-det term
        expected_num_trainable_weights=3 * 3,  # 3 masked convolutions
        tmp_path=tmp_path,
        call_fn=lambda step, inputs: step.flow(*inputs),
        mixed_output_dtype="float32",  # z stays float32 for log q(z)
    )


@pytest.mark.parametrize("cls", [iaf.MaskedConv2D, iaf.IAFStep])
def test_docstring_example_runs(cls):
    sdn_test_case.run_docstring_example(cls)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(mask_type="C"), "argument `mask_type`, expected 'A' or 'B', got 'C'"),
        (dict(kernel_size=4), "argument `kernel_size`, expected an odd size"),
        (dict(kernel_size=(3, 5)), "argument `kernel_size`"),
        (dict(padding="valid"), "argument `padding`"),
    ],
)
def test_masked_conv2d_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        iaf.MaskedConv2D(**dict(dict(filters=2, mask_type="A"), **kwargs))


def test_masked_conv2d_applies_its_activation():
    x = sdn_test_case.random_inputs((1, 4, 4, 2))
    plain = iaf.MaskedConv2D(3, "B")
    relu = iaf.MaskedConv2D.from_config(dict(plain.get_config(), activation="relu"))
    plain(x), relu(x)
    relu.set_weights(plain.get_weights())
    np.testing.assert_allclose(
        np.asarray(relu(x)), np.maximum(np.asarray(plain(x)), 0.0), atol=1e-6
    )
