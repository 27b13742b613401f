"""Tests of the correction sweep as a function: values, adjoints, gradients."""

import numpy as np
import numpy_reference
import pytest
import tensorflow as tf

from sdn_tf.layers import correction

# The two ways a row's neighbour products are computed (see
# correction.CONVOLUTION_MIN_FEATURES), each forced at the tests' small F
# and short rows: the thresholds of features and of length.
NEIGHBOUR_PRODUCTS = {"matmul": (10**9, 10**9), "convolution": (1, 1)}


@pytest.fixture(params=sorted(NEIGHBOUR_PRODUCTS))
def neighbour_products(request, monkeypatch):
    min_features, min_length = NEIGHBOUR_PRODUCTS[request.param]
    monkeypatch.setattr(correction, "CONVOLUTION_MIN_FEATURES", min_features)
    monkeypatch.setattr(correction, "CONVOLUTION_MIN_LENGTH", min_length)
    return request.param


def test_convolutions_for_many_features_along_long_rows_only():
    chosen = {
        (f, length): correction.products_by_convolution(f, length)
        for f, length in [(200, 32), (64, 16), (200, 8), (32, 32), (200, None)]
    }
    assert list(chosen.values()) == [True, True, False, False, True], chosen
    # Their adjoint in the backward: also along rows of many values.
    transposed = {
        (f, batch, length): correction.transpose_by_convolution(f, batch, length)
        for f, batch, length in [(200, 32, 4), (32, 32, 32), (32, 32, 16), (8, 8, 32)]
    }
    assert list(transposed.values()) == [False, True, False, False], transposed


@pytest.mark.parametrize("correct_first_row", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
def test_sweep_matches_numpy(reverse, correct_first_row, neighbour_products):
    features, kernel, bias, u, c = numpy_reference.random_sweep_inputs()
    out = correction.correction_sweep(
        features,
        kernel,
        bias,
        u,
        c,
        reverse=reverse,
        correct_first_row=correct_first_row,
    )
    # The NumPy reference takes [B, H, W, F] with "down"/"up" along H.
    image = features.transpose(1, 0, 2, 3)
    expected = numpy_reference.correction_sweep(
        image, kernel, u, bias, c, "up" if reverse else "down", correct_first_row
    )
    np.testing.assert_allclose(
        np.asarray(out), expected.transpose(1, 0, 2, 3), atol=1e-12
    )


@pytest.mark.parametrize("correct_first_row", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
def test_hand_written_gradient_matches_finite_differences(
    reverse, correct_first_row, neighbour_products
):
    features, kernel, bias, u, c = numpy_reference.random_sweep_inputs(
        steps=4, length=3, f=2
    )
    inputs = [tf.constant(v) for v in (features, kernel, bias, u, c)]
    weights = tf.constant(np.random.default_rng(1).normal(size=features.shape))

    def loss(features, kernel, bias, u, c):
        out = correction.correction_sweep(
            features,
            kernel,
            bias,
            u,
            c,
            reverse=reverse,
            correct_first_row=correct_first_row,
        )
        return tf.reduce_sum(out * weights)

    # Each finite difference evaluates the sweep: as one graph, not op by op.
    loss = tf.function(loss, autograph=False)
    theoretical, numerical = tf.test.compute_gradient(loss, inputs, delta=1e-6)
    for t, n in zip(theoretical, numerical):
        np.testing.assert_allclose(t, n, atol=1e-8)


@pytest.mark.parametrize("correct_first_row", [True, False])
def test_gradient_of_a_single_row_sweep_and_of_length_one_rows(correct_first_row):
    # Uncorrected, a single row is the identity: its weights get zeros.
    for shape in [(1, 2, 5, 3), (4, 2, 1, 3)]:
        inputs = [tf.constant(v) for v in numpy_reference.random_sweep_inputs(*shape)]
        theoretical, numerical = tf.test.compute_gradient(
            tf.function(
                lambda *a: tf.reduce_sum(
                    tf.sin(
                        correction.correction_sweep(
                            *a, correct_first_row=correct_first_row
                        )
                    )
                ),
                autograph=False,
            ),
            inputs,
            delta=1e-6,
        )
        for t, n in zip(theoretical, numerical):
            np.testing.assert_allclose(t, n, atol=1e-8)


@pytest.mark.parametrize("matmul_dtype", [None, "float16", "bfloat16"])
@pytest.mark.parametrize("reverse", [False, True])
def test_uncorrected_first_row_keeps_its_values_exactly(reverse, matmul_dtype):
    inputs = numpy_reference.random_sweep_inputs(dtype="float32")
    features = inputs[0]
    out = correction.correction_sweep(
        *inputs, reverse=reverse, matmul_dtype=matmul_dtype, correct_first_row=False
    ).numpy()
    first = -1 if reverse else 0
    np.testing.assert_array_equal(out[first], features[first])
    corrected = correction.correction_sweep(
        *inputs, reverse=reverse, matmul_dtype=matmul_dtype
    ).numpy()
    assert np.abs(corrected[first] - features[first]).max() > 1e-3


@pytest.mark.parametrize("correct_first_row", [True, False])
def test_sweep_is_the_same_eagerly_in_a_graph_and_under_xla(
    correct_first_row, neighbour_products
):
    inputs = [
        tf.constant(v) for v in numpy_reference.random_sweep_inputs(dtype="float32")
    ]

    def sweep_and_gradients(*inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            out = correction.correction_sweep(
                *inputs, reverse=True, correct_first_row=correct_first_row
            )
            loss = tf.reduce_sum(tf.sin(out))
        return [out, *tape.gradient(loss, inputs)]

    eager = sweep_and_gradients(*inputs)
    graph = tf.function(sweep_and_gradients)(*inputs)
    xla = tf.function(sweep_and_gradients, jit_compile=True)(*inputs)
    for e, g, x in zip(eager, graph, xla):
        np.testing.assert_allclose(g.numpy(), e.numpy(), atol=1e-6)
        np.testing.assert_allclose(x.numpy(), e.numpy(), atol=1e-5)


@pytest.mark.parametrize("by_convolution", [True, False])
def test_neighbours_transpose_product_is_the_adjoint(by_convolution, monkeypatch):
    min_values = 0 if by_convolution else 10**9
    monkeypatch.setattr(correction, "TRANSPOSE_CONVOLUTION_MIN_VALUES", min_values)
    assert correction.transpose_by_convolution(4, 3, 5) == by_convolution
    rng = np.random.default_rng(0)
    rows = tf.constant(rng.normal(size=(3, 5, 4)))
    grads = tf.constant(rng.normal(size=(3, 5, 12)))
    kernel = tf.constant(rng.normal(size=(12, 12)))
    forward = tf.einsum("blk,kg->blg", correction.neighbours(rows), kernel)
    lhs = tf.reduce_sum(forward * grads)
    rhs = tf.reduce_sum(rows * correction.neighbours_transpose_product(grads, kernel))
    np.testing.assert_allclose(lhs.numpy(), rhs.numpy(), rtol=1e-12)


def test_half_precision_matmuls_keep_a_float32_state(neighbour_products):
    inputs = numpy_reference.random_sweep_inputs(steps=24, f=8, dtype="float32")
    full = correction.correction_sweep(*inputs)
    for dtype, tol in [("float16", 1e-2), ("bfloat16", 6e-2)]:
        half = correction.correction_sweep(*inputs, matmul_dtype=dtype)
        assert half.dtype == tf.float32
        np.testing.assert_allclose(half.numpy(), full.numpy(), atol=tol)


@pytest.mark.parametrize("reverse", [False, True])
def test_forward_chains_give_the_same_sweep_and_gradients(reverse):
    inputs = [tf.constant(v) for v in numpy_reference.random_sweep_inputs(batch=4, f=3)]
    weights = tf.constant(np.random.default_rng(1).normal(size=inputs[0].shape))

    def sweep_and_gradients(chains):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            out = correction.correction_sweep(
                *inputs, reverse=reverse, correct_first_row=False, chains=chains
            )
            loss = tf.reduce_sum(out * weights)
        return [out, *tape.gradient(loss, inputs)]

    one = sweep_and_gradients(1)
    for chains in (2, 4):
        for a, b in zip(sweep_and_gradients(chains), one):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)
    # Two loops for rows whose products are a matmul (few features or short
    # rows), big enough rows and an even batch only.
    chosen = {
        shape: correction.forward_chains(tf.zeros(shape))
        for shape in [
            (2, 16, 16, 16),
            (2, 15, 16, 16),
            (2, 8, 8, 8),
            (2, 16, 16, 64),
            (2, 16, 8, 64),
        ]
    }
    assert list(chosen.values()) == [2, 1, 1, 1, 2], chosen


@pytest.mark.parametrize(
    "chains, message",
    [
        (0, "a positive integer, got 0"),
        (2.0, "a positive integer, got 2.0"),
        (3, "a divisor of the statically known batch size 4, got 3"),
    ],
)
def test_chains_that_are_not_a_divisor_of_the_batch_raise(chains, message):
    inputs = numpy_reference.random_sweep_inputs(batch=4)
    with pytest.raises(ValueError, match=rf"`chains`, expected {message}\."):
        correction.correction_sweep(*inputs, chains=chains)
