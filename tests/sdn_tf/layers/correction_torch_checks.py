"""Checks of the PyTorch correction sweep: values, gradients, TensorFlow's twin.

The sweep is plain PyTorch, independent of Keras' backend. backends_test.py
runs this file in its torch subprocess (with `backend_checks.py`); without
PyTorch installed it is skipped. Gradients are checked in float64 against
finite differences of the whole Jacobian (torch.autograd.gradcheck).
"""

import numpy as np
import numpy_reference
import pytest
import tensorflow as tf

torch = pytest.importorskip("torch", reason="PyTorch is not installed")

from sdn_tf.layers import correction, correction_torch  # noqa: E402

# Every device this PyTorch offers: the sweep names none, so it must run on
# each as it runs on the CPU.
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _tensorflow_sweep_and_gradients(inputs, cotangent, **kwargs):
    """correction.correction_sweep and the gradients of sum(out * cotangent)."""
    inputs = [tf.constant(v) for v in inputs]
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        out = correction.correction_sweep(*inputs, **kwargs)
        loss = tf.reduce_sum(out * cotangent)
    return [out.numpy()] + [g.numpy() for g in tape.gradient(loss, inputs)]


def _torch_sweep_and_gradients(inputs, cotangent, device="cpu", **kwargs):
    inputs = [torch.tensor(v, device=device, requires_grad=True) for v in inputs]
    out = correction_torch.correction_sweep(*inputs, **kwargs)
    loss = (out * torch.as_tensor(cotangent, dtype=out.dtype, device=device)).sum()
    grads = torch.autograd.grad(loss, inputs)
    return [t.detach().cpu().numpy() for t in (out, *grads)]


def _assert_gradient_is_finite_differences(inputs, **kwargs):
    """The hand-written backward against central differences of every
    output with respect to every input value (float64)."""
    tensors = [torch.tensor(v, requires_grad=True) for v in inputs]
    assert torch.autograd.gradcheck(
        lambda *t: correction_torch.correction_sweep(*t, **kwargs),
        tensors,
        eps=1e-6,
        atol=1e-9,
        rtol=1e-7,
    )


@pytest.mark.parametrize("correct_first_row", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
def test_sweep_matches_numpy_tensorflow_and_finite_differences(
    reverse, correct_first_row
):
    inputs = numpy_reference.random_sweep_inputs(steps=4, length=3)
    cotangent = np.random.default_rng(1).normal(size=inputs[0].shape)
    kwargs = dict(reverse=reverse, correct_first_row=correct_first_row)
    values, *grads = _torch_sweep_and_gradients(inputs, cotangent, **kwargs)
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
    _assert_gradient_is_finite_differences(inputs, **kwargs)
    tf_values, *tf_grads = _tensorflow_sweep_and_gradients(inputs, cotangent, **kwargs)
    np.testing.assert_allclose(values, tf_values, atol=1e-12)
    for g, tf_g in zip(grads, tf_grads):
        np.testing.assert_allclose(g, tf_g, atol=1e-12)


@pytest.mark.parametrize(
    "shape, correct_first_row",
    [
        ((1, 2, 5, 3), False),  # a single row, uncorrected: an empty loop
        ((1, 2, 5, 3), True),
        ((4, 2, 1, 3), True),  # rows of length one: no neighbours but P[j]
    ],
)
def test_edge_shapes_match_tensorflow(shape, correct_first_row):
    inputs = numpy_reference.random_sweep_inputs(*shape)
    cotangent = np.random.default_rng(1).normal(size=shape)
    kwargs = dict(correct_first_row=correct_first_row)
    for a, b in zip(
        _torch_sweep_and_gradients(inputs, cotangent, **kwargs),
        _tensorflow_sweep_and_gradients(inputs, cotangent, **kwargs),
    ):
        np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_sweep_on_each_device_matches_tensorflow(device):
    inputs = numpy_reference.random_sweep_inputs(steps=6, length=5, dtype="float32")
    cotangent = np.random.default_rng(1).normal(size=inputs[0].shape)
    cotangent = cotangent.astype("float32")
    kwargs = dict(reverse=True)
    ours = _torch_sweep_and_gradients(inputs, cotangent, device, **kwargs)
    theirs = _tensorflow_sweep_and_gradients(inputs, cotangent, **kwargs)
    assert all(a.dtype == np.float32 for a in ours)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, atol=1e-5 * np.abs(b).max())


def test_neighbours_transpose_product_is_the_adjoint():
    rng = np.random.default_rng(0)
    rows = torch.tensor(rng.normal(size=(3, 5, 4)))
    grads = torch.tensor(rng.normal(size=(3, 5, 12)))
    kernel = torch.tensor(rng.normal(size=(12, 12)))
    forward = correction_torch.neighbours(rows) @ kernel
    lhs = torch.sum(forward * grads)
    rhs = torch.sum(rows * correction_torch.neighbours_transpose_product(grads, kernel))
    np.testing.assert_allclose(lhs.item(), rhs.item(), rtol=1e-12)


def test_half_precision_matmuls_keep_a_float32_state():
    inputs = [
        torch.tensor(v)
        for v in numpy_reference.random_sweep_inputs(steps=24, f=8, dtype="float32")
    ]
    full = correction_torch.correction_sweep(*inputs)
    for matmul_dtype, tol in [("float16", 1e-2), (torch.bfloat16, 6e-2)]:
        half = correction_torch.correction_sweep(*inputs, matmul_dtype=matmul_dtype)
        assert half.dtype == torch.float32
        np.testing.assert_allclose(half.numpy(), full.numpy(), atol=tol)
    # The gradient flows in the state dtype through half-precision matmuls.
    weights = [w.clone().requires_grad_() for w in inputs[1:]]
    out = correction_torch.correction_sweep(
        inputs[0], *weights, matmul_dtype="bfloat16"
    )
    grads = torch.autograd.grad(out.square().sum(), weights)
    assert all(g.dtype == torch.float32 and g.isfinite().all() for g in grads)
    # An uncorrected first row stays bit for bit what it was.
    kept = correction_torch.correction_sweep(
        *inputs, matmul_dtype="bfloat16", correct_first_row=False
    )
    np.testing.assert_array_equal(kept[0].numpy(), inputs[0][0].numpy())


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(features=np.zeros((4, 2, 3), "float64")), "argument `features`"),
        (dict(features=np.zeros((4, 2, 3, 3), "float16")), "argument `features`"),
        (dict(kernel=np.zeros((9, 6))), r"argument `kernel`, expected shape \(9, 9\)"),
        (dict(recurrent_kernel=np.zeros((9, 9))), "argument `recurrent_kernel`"),
        (dict(matmul_dtype="int32"), "argument `matmul_dtype`"),
        (dict(matmul_dtype="half_float"), "argument `matmul_dtype`"),
    ],
)
def test_bad_arguments_raise_naming_them(change, message):
    names = ("features", "kernel", "bias", "recurrent_kernel", "recurrent_bias")
    inputs = dict(zip(names, numpy_reference.random_sweep_inputs()))
    with pytest.raises(ValueError, match=message):
        correction_torch.correction_sweep(**{**inputs, **change})
