"""Tests of the native sweep kernel against the graph path, and of its choice.

The kernel builds at first use (once per cache, behind a lock, so the
suite's workers share one build); the tests skip only where no C++ compiler
exists.
"""

import shutil
import warnings

import keras
import numpy as np
import numpy_reference
import pytest
import tensorflow as tf

import sdn_test_case
from sdn_tf import native
from sdn_tf.layers import (
    ResSpatialDependency,
    SpatialDependency,
    correction,
    correction_native,
)

pytestmark = pytest.mark.skipif(
    shutil.which(native.library.compiler()) is None,
    reason="no C++ compiler to build the native kernel with",
)

ALL_DIRECTIONS = ("down", "up", "right", "left")
# Kernel against graph path, relative to each tensor's largest value (the
# gradients are sums that cancel, accumulated in another order): float64 to
# 1e-12, float32 to round-off, 1e-5 (Eigen's sigmoid and tanh differ from
# TensorFlow's by a few ulp).
TOLERANCES = {"float64": 1e-12, "float32": 1e-5}
# [steps, batch, length, F]: square-ish, one row, batch 1 and one column,
# and a batch split unevenly among threads.
SHAPES = [(5, 2, 4, 3), (1, 2, 5, 3), (4, 1, 1, 3), (6, 3, 7, 5)]
SWEEP_OP = b"SdnCorrectionSweep"


def _sweep_and_gradients(sweep, inputs, reverse, correct_first_row):
    upstream = tf.constant(
        np.random.default_rng(1).normal(size=inputs[0].shape), inputs[0].dtype
    )
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        out = sweep(*inputs, reverse=reverse, correct_first_row=correct_first_row)
        loss = tf.reduce_sum(out * upstream)
    return [out, *tape.gradient(loss, inputs)]


def _graph_ops(function, *args):
    """The op types of `function`'s graph and of the functions it calls."""
    graph = function.get_concrete_function(*args).graph.as_graph_def()
    types = {node.op for node in graph.node}
    for f in graph.library.function:
        types.update(node.op for node in f.node_def)
    return types


# --- The ops against the graph path ----------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("correct_first_row", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kernel_matches_the_graph_path(dtype, reverse, correct_first_row, shape):
    inputs = [
        tf.constant(v) for v in numpy_reference.random_sweep_inputs(*shape, dtype=dtype)
    ]
    kernel = _sweep_and_gradients(
        correction_native.correction_sweep, inputs, reverse, correct_first_row
    )
    graph = _sweep_and_gradients(
        correction.correction_sweep, inputs, reverse, correct_first_row
    )
    names = ["outputs", "d_features", "d_kernel", "d_bias", "d_u", "d_c"]
    for name, k, g in zip(names, kernel, graph):
        assert k.dtype == dtype, name
        tolerance = TOLERANCES[dtype]
        np.testing.assert_allclose(
            k, g, rtol=tolerance, atol=tolerance * np.abs(g).max(), err_msg=name
        )


@pytest.mark.parametrize("correct_first_row", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
def test_gradient_matches_finite_differences(reverse, correct_first_row):
    features, kernel, bias, u, c = numpy_reference.random_sweep_inputs(
        steps=4, length=3, f=2
    )
    inputs = [tf.constant(v) for v in (features, kernel, bias, u, c)]
    weights = tf.constant(np.random.default_rng(1).normal(size=features.shape))

    def loss(*inputs):
        out = correction_native.correction_sweep(
            *inputs, reverse=reverse, correct_first_row=correct_first_row
        )
        return tf.reduce_sum(tf.sin(out) * weights)

    theoretical, numerical = tf.test.compute_gradient(loss, inputs, delta=1e-6)
    for t, n in zip(theoretical, numerical):
        np.testing.assert_allclose(t, n, atol=1e-8)


def test_weights_in_another_dtype_are_cast_and_half_precision_is_refused():
    features, *weights = numpy_reference.random_sweep_inputs(dtype="float32")
    weights64 = [w.astype("float64") for w in weights]
    out = correction_native.correction_sweep(features, *weights64)
    np.testing.assert_allclose(
        out, correction.correction_sweep(features, *weights), rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ValueError, match=r"`features`, expected float32 or float64"):
        correction_native.correction_sweep(features.astype("float16"), *weights)


def test_shape_mismatches_raise():
    features, kernel, bias, u, c = numpy_reference.random_sweep_inputs(f=3)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"kernel must be \[3F"):
        correction_native.correction_sweep(features, kernel[:6], bias, u, c)
    with pytest.raises(tf.errors.InvalidArgumentError, match="recurrent_kernel"):
        correction_native.correction_sweep(features, kernel, bias, u[:2], c)


# --- Through the layers ----------------------------------------------------


def _layer_pair(x, **kwargs):
    """The same layer twice, kernel and graph path, with the same weights."""
    layers = []
    for native_kernel in (True, False):
        layer = SpatialDependency(native_kernel=native_kernel, **kwargs)
        layer.build(x.shape)
        layers.append(layer)
    sdn_test_case.randomize_biases(layers[1])
    layers[0].set_weights(layers[1].get_weights())
    return layers


@pytest.mark.parametrize("correct_first_row", [True, False])
@pytest.mark.parametrize(
    "kwargs, input_shape",
    [
        (dict(directions=ALL_DIRECTIONS), (2, 4, 7, 3)),
        (
            dict(directions=("left", "up"), kernel_size=4, strides=2, transpose=True),
            (1, 3, 2, 3),
        ),
        (dict(directions=("right", "down")), (3, 1, 5, 2)),
        (dict(directions=("down", "left")), (1, 6, 1, 2)),
    ],
)
def test_every_direction_through_the_layer_matches(
    kwargs, input_shape, correct_first_row
):
    x = sdn_test_case.random_inputs(input_shape)
    kernel_layer, graph_layer = _layer_pair(
        x, filters=4, num_features=5, correct_first_row=correct_first_row, **kwargs
    )
    out = np.asarray(kernel_layer(x))
    np.testing.assert_allclose(out, graph_layer(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        out, numpy_reference.spatial_dependency(x, graph_layer), atol=1e-5
    )


def test_float64_layer_matches_numpy_and_finite_differences():
    x = tf.constant(sdn_test_case.random_inputs((1, 3, 4, 2), dtype="float64"))
    layer = SpatialDependency(
        2,
        3,
        directions=ALL_DIRECTIONS,
        kernel_size=2,
        dtype="float64",
        native_kernel=True,
    )
    layer.build(x.shape)
    sdn_test_case.randomize_biases(layer)
    np.testing.assert_allclose(
        layer(x), numpy_reference.spatial_dependency(x.numpy(), layer), atol=1e-12
    )
    function = tf.function(layer, autograph=False)
    assert "SdnCorrectionSweep" in _graph_ops(function, x)
    theoretical, numerical = tf.test.compute_gradient(function, [x], delta=1e-6)
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-7)


def test_eager_and_tf_function_agree_and_auto_takes_the_kernel_on_cpu():
    x = sdn_test_case.random_inputs((2, 5, 6, 3))
    layer = SpatialDependency(4, 5, directions=ALL_DIRECTIONS)
    graph_layer = SpatialDependency.from_config(
        {**layer.get_config(), "native_kernel": False}
    )
    layer.build(x.shape)
    graph_layer.build(x.shape)
    graph_layer.set_weights(layer.get_weights())

    def gradients(layer, x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.sin(layer(x)))
        return [loss, *tape.gradient(loss, layer.trainable_variables)]

    eager = gradients(layer, x)
    function = tf.function(gradients)
    traced = function(layer, x)
    reference = gradients(graph_layer, x)
    assert "SdnCorrectionSweep" in _graph_ops(function, layer, x)
    assert "SdnCorrectionSweep" not in _graph_ops(function, graph_layer, x)
    for e, t, r in zip(eager, traced, reference):
        np.testing.assert_allclose(t, e, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(e, r, rtol=1e-4, atol=1e-5)


def _fit_losses(x, native_kernel, strategy=None):
    keras.utils.set_random_seed(0)
    scope = strategy.scope() if strategy else keras.name_scope("fit")
    with scope:
        inputs = keras.Input(x.shape[1:])
        outputs = ResSpatialDependency(
            3, 4, directions=("down", "left"), native_kernel=native_kernel
        )(inputs)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="mse", jit_compile=False)
    history = model.fit(x, x, batch_size=8, epochs=3, verbose=0, shuffle=False)
    return history.history["loss"]


def test_fit_trains_the_same_as_the_graph_path():
    x = sdn_test_case.random_inputs((8, 6, 5, 3))
    np.testing.assert_allclose(_fit_losses(x, True), _fit_losses(x, False), rtol=1e-4)


def test_fit_under_mirrored_strategy(two_cpu_strategy):
    x = sdn_test_case.random_inputs((8, 6, 5, 3))
    kernel = _fit_losses(x, True, two_cpu_strategy)
    graph = _fit_losses(x, False, two_cpu_strategy)
    assert np.all(np.isfinite(kernel))
    np.testing.assert_allclose(kernel, graph, rtol=1e-4)


def test_mixed_bfloat16_sweeps_run_in_float32():
    x = sdn_test_case.random_inputs((2, 6, 6, 3))
    full = SpatialDependency(4, 8, directions=ALL_DIRECTIONS)
    full.build(x.shape)
    keras.config.set_dtype_policy("mixed_bfloat16")
    half = SpatialDependency.from_config(full.get_config() | {"dtype": None})
    half.build(x.shape)
    half.set_weights(full.get_weights())
    out = half(x)
    assert out.dtype == "bfloat16"
    assert "SdnCorrectionSweep" in _graph_ops(tf.function(half), x)
    np.testing.assert_allclose(np.asarray(out, "float32"), full(x), atol=5e-2)


# --- Where the graph path runs instead -------------------------------------


def test_xla_takes_the_graph_path_and_true_under_xla_raises():
    x = sdn_test_case.random_inputs((2, 4, 4, 3))
    layer = SpatialDependency(3, 4)
    layer.build(x.shape)
    compiled = tf.function(layer, jit_compile=True)
    np.testing.assert_allclose(compiled(x), layer(x), rtol=1e-5, atol=1e-5)
    assert "SdnCorrectionSweep" not in _graph_ops(compiled, x)
    sweep_xla = SpatialDependency.from_config(
        {**layer.get_config(), "jit_compile": True}
    )
    sweep_xla.build(x.shape)
    assert "SdnCorrectionSweep" not in _graph_ops(tf.function(sweep_xla), x)
    required = SpatialDependency(3, 4, jit_compile=True, native_kernel=True)
    with pytest.raises(RuntimeError, match="XLA"):
        required(x)


def test_disabled_and_the_environment_variable_choose_the_path(monkeypatch):
    x = sdn_test_case.random_inputs((1, 3, 3, 2))
    kernel_layer = SpatialDependency(2, 3, native_kernel=True)
    graph_layer = SpatialDependency(2, 3, native_kernel=False)

    def uses_kernel(layer):
        return "SdnCorrectionSweep" in _graph_ops(tf.function(layer), x)

    assert uses_kernel(kernel_layer) and not uses_kernel(graph_layer)
    with native.disabled():
        assert not uses_kernel(kernel_layer)
    monkeypatch.setenv("SDN_TF_NATIVE", "0")
    assert not uses_kernel(kernel_layer)
    monkeypatch.setenv("SDN_TF_NATIVE", "1")
    assert uses_kernel(graph_layer)
    monkeypatch.setenv("SDN_TF_NATIVE", "yes")
    with pytest.raises(ValueError, match="`SDN_TF_NATIVE`, expected one of"):
        kernel_layer(x)


def test_exported_saved_models_hold_the_graph_path(tmp_path):
    x = sdn_test_case.random_inputs((2, 5, 4, 3))
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, SpatialDependency(2, 3, native_kernel=True)(inputs))
    expected = np.asarray(model(x))
    path = tmp_path / "exported"
    model.export(str(path), verbose=False)
    assert SWEEP_OP not in (path / "saved_model.pb").read_bytes()
    reloaded = tf.saved_model.load(str(path))
    np.testing.assert_allclose(reloaded.serve(x), expected, rtol=1e-5, atol=1e-6)


def test_unsupported_dtype_warns_once_and_true_raises(monkeypatch):
    monkeypatch.setattr(correction_native, "_warned", set())
    with pytest.warns(RuntimeWarning, match="float32 and float64 sweeps, not"):
        assert not correction_native.use_kernel("auto", tf.float16, xla=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second time: no warning
        assert not correction_native.use_kernel("auto", tf.float16, xla=False)
    with pytest.raises(RuntimeError, match="required .* cannot run"):
        correction_native.use_kernel(True, tf.float16, xla=False)
    assert correction_native.use_kernel("auto", tf.float32, xla=False)


# --- The argument ----------------------------------------------------------


@pytest.mark.parametrize("cls", [SpatialDependency, ResSpatialDependency])
def test_native_kernel_is_validated_and_in_the_config(cls):
    with pytest.raises(
        ValueError,
        match=r"`native_kernel`, expected True, False or 'auto', got 'yes'",
    ):
        cls(2, 3, native_kernel="yes")
    layer = cls(2, 3, native_kernel=False)
    config = layer.get_config()
    assert config["native_kernel"] is False
    del config["native_kernel"]  # a config from before the argument
    assert cls.from_config(config).get_config()["native_kernel"] == "auto"
