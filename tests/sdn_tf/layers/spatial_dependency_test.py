"""Tests of SpatialDependency and ResSpatialDependency."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import numpy_reference
import pytest
import tensorflow as tf

import sdn_test_case
from sdn_tf.layers import ResSpatialDependency, SpatialDependency, correction

ALL_DIRECTIONS = ("down", "up", "right", "left")


def _randomize_biases(layer, seed=3):
    """Zero-initialized biases would hide bias-handling mistakes."""
    rng = np.random.default_rng(seed)
    for v in layer.weights:
        if "bias" in v.path:
            v.assign(rng.normal(scale=0.5, size=v.shape).astype(v.dtype))


# --- Equality with the NumPy reference -----------------------------------


@pytest.mark.parametrize("correct_first_row", [True, False])
@pytest.mark.parametrize("direction", ALL_DIRECTIONS)
def test_each_direction_matches_numpy(direction, correct_first_row):
    x = sdn_test_case.random_inputs((2, 5, 4, 3))
    layer = SpatialDependency(
        4, 6, directions=(direction,), correct_first_row=correct_first_row
    )
    layer.build(x.shape)
    _randomize_biases(layer)
    expected = numpy_reference.spatial_dependency(x, layer)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, atol=1e-5)


def test_sweeps_in_two_forward_loops_match_numpy():
    # Rows big enough for two forward loops (correction.forward_chains: a
    # sweep-major [16, 16, 16, 16] here), eagerly and in a graph.
    x = sdn_test_case.random_inputs((16, 16, 16, 3))
    layer = SpatialDependency(16, 16, directions=("down", "left"))
    layer.build(x.shape)
    _randomize_biases(layer)
    assert correction.forward_chains(tf.zeros((16, 16, 16, 16))) == 2
    expected = numpy_reference.spatial_dependency(x, layer)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, atol=1e-5)
    graph = tf.function(lambda x: layer(x))(x)
    np.testing.assert_allclose(np.asarray(graph), expected, atol=1e-5)


@pytest.mark.parametrize("correct_first_row", [True, False])
def test_four_directions_on_non_square_input_match_numpy(correct_first_row):
    # With correct_first_row=False too: unlike the authors' code, which takes
    # every sweep's length from the height, the sweeps span the whole width.
    x = sdn_test_case.random_inputs((2, 4, 7, 3))
    layer = SpatialDependency(
        5,
        6,
        directions=("up", "left", "down", "right"),
        correct_first_row=correct_first_row,
    )
    layer.build(x.shape)
    _randomize_biases(layer)
    expected = numpy_reference.spatial_dependency(x, layer)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, input_shape, output_hw",
    [
        (dict(kernel_size=4, strides=2, transpose=True), (2, 3, 4, 3), (6, 8)),
        (
            dict(kernel_size=3, strides=2, transpose=True, padding="valid"),
            (1, 3, 2, 2),
            (7, 5),
        ),
        (dict(kernel_size=3, strides=2), (2, 7, 6, 3), (4, 3)),
        (
            dict(kernel_size=(3, 2), strides=(1, 2), padding="valid"),
            (1, 6, 5, 2),
            (4, 2),
        ),
    ],
)
def test_strided_and_transposed_project_in_match_numpy(kwargs, input_shape, output_hw):
    x = sdn_test_case.random_inputs(input_shape)
    layer = SpatialDependency(3, 4, directions=("right", "up"), **kwargs)
    layer.build(x.shape)
    _randomize_biases(layer)
    out = np.asarray(layer(x))
    assert out.shape == (input_shape[0], *output_hw, 3)
    np.testing.assert_allclose(
        out, numpy_reference.spatial_dependency(x, layer), atol=1e-5
    )


def test_numpy_transposed_conv_reference_agrees_with_keras():
    # The reference's own convolutions are checked against Keras once, so a
    # mistake there cannot hide a mistake in the layer.
    x = sdn_test_case.random_inputs((2, 3, 5, 2))
    for padding in ("same", "valid"):
        conv = keras.layers.Conv2DTranspose(4, 3, strides=2, padding=padding)
        out = np.asarray(conv(x))
        ref = numpy_reference.conv2d_transpose(
            x, np.asarray(conv.kernel), np.asarray(conv.bias), (2, 2), padding
        )
        np.testing.assert_allclose(out, ref, atol=1e-5)


def test_weights_of_a_keras_gru_cell_load_directly():
    """The documented GRU layout: a Keras GRUCell, gates reordered, loads."""
    f = 4
    x = sdn_test_case.random_inputs((2, 5, 6, 3))
    layer = SpatialDependency(2, f, directions=("down",))
    layer.build(x.shape)
    cell = keras.layers.GRUCell(f, reset_after=True, bias_initializer="random_normal")
    cell.build((None, 3 * f))

    def zrh_to_rzn(m):
        z, r, h = np.split(np.asarray(m), 3, axis=-1)
        return np.concatenate([r, z, h], axis=-1)

    bias = np.asarray(cell.bias)  # [2, 3F]: input bias, recurrent bias
    correction = layer.corrections[0]
    correction.kernel.assign(zrh_to_rzn(cell.kernel))
    correction.recurrent_kernel.assign(zrh_to_rzn(cell.recurrent_kernel))
    correction.input_bias.assign(zrh_to_rzn(bias[0]))
    correction.recurrent_bias.assign(zrh_to_rzn(bias[1]))

    # Reference: the GRU cell applied row by row to the 3 neighbours.
    features = np.asarray(layer.project_in(x))  # [B, H, W, F]
    previous = np.zeros_like(features[:, 0])
    rows = []
    for i in range(features.shape[1]):
        padded = np.pad(previous, [(0, 0), (1, 1), (0, 0)])
        nb = np.concatenate([padded[:, :-2], padded[:, 1:-1], padded[:, 2:]], -1)
        new_row, _ = cell(nb.reshape(-1, 3 * f), [features[:, i].reshape(-1, f)])
        previous = np.asarray(new_row).reshape(features[:, i].shape)
        rows.append(previous)
    expected = layer.project_out(np.stack(rows, axis=1))
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(expected), atol=1e-5)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("direction", ["down", "up"])
def test_uncorrected_first_row_is_the_project_in_output(direction, jit_compile):
    # The authors' sweep (lib/nn.py of djordjemila/sdn, loops from the
    # second row): the first row keeps I = tanh(conv(X)) bit for bit.
    x = sdn_test_case.random_inputs((2, 5, 6, 3))
    layer = SpatialDependency(
        4, 6, directions=(direction,), correct_first_row=False, kernel_size=3
    )
    layer.build(x.shape)
    _randomize_biases(layer)
    features = tf.transpose(layer.project_in(x), [1, 0, 2, 3])  # [H, B, W, F]
    corrected = np.asarray(
        layer.corrections[0].correct(features, "float32", jit_compile)
    )
    first = 0 if direction == "down" else -1
    np.testing.assert_array_equal(corrected[first], np.asarray(features)[first])
    assert np.abs(corrected - np.asarray(features)).max() > 1e-3


# --- Execution modes and gradients ---------------------------------------


@pytest.mark.parametrize("correct_first_row", [True, False])
def test_eager_graph_and_xla_agree(correct_first_row):
    x = sdn_test_case.random_inputs((2, 6, 5, 3))
    layer = SpatialDependency(
        4,
        5,
        directions=ALL_DIRECTIONS,
        jit_compile=False,
        correct_first_row=correct_first_row,
    )
    layer.build(x.shape)
    _randomize_biases(layer)
    eager = np.asarray(layer(x))
    graph = np.asarray(tf.function(layer)(x))
    xla_layer = SpatialDependency.from_config(
        {**layer.get_config(), "jit_compile": True}
    )
    xla_layer.build(x.shape)
    xla_layer.set_weights(layer.get_weights())
    xla_sweep = np.asarray(xla_layer(x))
    xla_whole = np.asarray(tf.function(layer, jit_compile=True)(x))
    np.testing.assert_allclose(graph, eager, atol=1e-6)
    np.testing.assert_allclose(xla_sweep, eager, atol=1e-5)
    np.testing.assert_allclose(xla_whole, eager, atol=1e-5)


@pytest.mark.parametrize("correct_first_row", [True, False])
def test_input_gradient_matches_finite_differences(correct_first_row):
    x = tf.constant(sdn_test_case.random_inputs((1, 3, 4, 2), dtype="float64"))
    layer = SpatialDependency(
        2,
        3,
        directions=("down", "left", "up", "right"),
        kernel_size=2,
        dtype="float64",
        correct_first_row=correct_first_row,
    )
    layer.build(x.shape)
    _randomize_biases(layer)
    # One graph per evaluation of the layer, not op by op.
    theoretical, numerical = tf.test.compute_gradient(
        tf.function(layer, autograph=False), [x], delta=1e-6
    )
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-7)


def test_weight_gradients_match_finite_differences():
    x = tf.constant(sdn_test_case.random_inputs((2, 3, 3, 2), dtype="float64"))
    layer = SpatialDependency(2, 3, directions=("right", "up"), dtype="float64")
    layer.build(x.shape)
    _randomize_biases(layer)
    for variable in layer.trainable_variables:
        value = tf.constant(np.asarray(variable))

        def loss_of(v, variable=variable):
            variable.assign(v)
            return tf.reduce_sum(tf.sin(layer(x)))

        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.sin(layer(x)))
        analytic = tape.gradient(loss, variable)
        flat = value.numpy().ravel()
        numeric = np.zeros_like(flat)
        eps = 1e-6
        for i in range(flat.size):
            up, down = flat.copy(), flat.copy()
            up[i] += eps
            down[i] -= eps
            numeric[i] = (
                loss_of(up.reshape(value.shape)).numpy()
                - loss_of(down.reshape(value.shape)).numpy()
            ) / (2 * eps)
        variable.assign(value)
        np.testing.assert_allclose(
            np.asarray(analytic).ravel(), numeric, atol=1e-7, err_msg=variable.path
        )


# --- Dependency structure ------------------------------------------------


def test_down_sweep_is_causal():
    x = sdn_test_case.random_inputs((1, 6, 5, 3))
    layer = SpatialDependency(3, 4, directions=("down",))
    base = np.asarray(layer(x))
    for row in range(6):
        changed = x.copy()
        changed[:, row + 1 :] += 1.0
        out = np.asarray(layer(changed))
        np.testing.assert_array_equal(out[:, : row + 1], base[:, : row + 1])
        if row + 1 < 6:
            assert np.abs(out[:, row + 1 :] - base[:, row + 1 :]).max() > 1e-4


def test_four_directions_reach_the_opposite_corner():
    x = sdn_test_case.random_inputs((1, 7, 6, 3))
    layer = SpatialDependency(3, 4, directions=ALL_DIRECTIONS)
    base = np.asarray(layer(x))
    changed = x.copy()
    changed[0, -1, -1] += 1.0
    assert np.abs(np.asarray(layer(changed))[0, 0, 0] - base[0, 0, 0]).max() > 1e-7
    # A 1x1 convolution alone could not do it: the dependency is the sweep's.
    one_way = SpatialDependency(3, 4, directions=("down",))
    one_way_base = np.asarray(one_way(x))
    np.testing.assert_array_equal(
        np.asarray(one_way(changed))[0, 0, 0], one_way_base[0, 0, 0]
    )


# --- Parameter counts (Table 5) ------------------------------------------


@pytest.mark.parametrize(
    "directions, count", [(("down",), 561_600), (("down", "right"), 1_042_800)]
)
def test_parameter_counts_equal_table_5(directions, count):
    layer = SpatialDependency(200, 200, directions=directions, kernel_size=1)
    layer.build((None, 4, 4, 200))
    assert layer.count_params() == count
    assert layer.project_in.count_params() == 40_200  # "Project phase"
    assert sum(v.numpy().size for v in layer.corrections[0].weights) == 481_200


# --- Standard layer test, shapes, saving, training -----------------------


def test_spatial_dependency_standard_layer_test(tmp_path):
    sdn_test_case.run_layer_test(
        SpatialDependency,
        dict(filters=4, num_features=5, directions=("down", "left"), kernel_size=3),
        input_shape=(2, 6, 5, 3),
        expected_output_shape=(2, 6, 5, 4),
        expected_num_trainable_weights=2 + 2 * 4 + 2,
        symbolic_input_shape=(None, None, None, 3),
        tmp_path=tmp_path,
    )


def test_res_spatial_dependency_standard_layer_test(tmp_path):
    sdn_test_case.run_layer_test(
        ResSpatialDependency,
        dict(
            filters=4,
            num_features=5,
            directions=("up",),
            kernel_size=4,
            strides=2,
            transpose=True,
            weight_norm=True,
        ),
        input_shape=(2, 3, 4, 3),
        expected_output_shape=(2, 6, 8, 4),
        expected_num_trainable_weights=3 + 4 + 3 + 3,
        symbolic_input_shape=(None, None, 4, 3),
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("cls", [SpatialDependency, ResSpatialDependency])
def test_correct_first_row_survives_the_config_round_trip(cls):
    x = sdn_test_case.random_inputs((2, 5, 4, 3))
    layer = cls(3, 4, directions=("left", "down"), correct_first_row=False)
    layer.build(x.shape)
    _randomize_biases(layer)
    config = layer.get_config()
    assert config["correct_first_row"] is False
    restored = cls.from_config(config)
    restored.build(x.shape)
    restored.set_weights(layer.get_weights())
    inner = restored.spatial if cls is ResSpatialDependency else restored
    assert inner.correct_first_row is False
    assert all(c.correct_first_row is False for c in inner.corrections)
    np.testing.assert_array_equal(np.asarray(restored(x)), np.asarray(layer(x)))
    corrected = cls.from_config({**config, "correct_first_row": True})
    corrected.build(x.shape)
    corrected.set_weights(layer.get_weights())
    assert np.abs(np.asarray(corrected(x)) - np.asarray(layer(x))).max() > 1e-4


def test_res_spatial_dependency_is_the_gated_residual_of_figure_3():
    x = sdn_test_case.random_inputs((2, 5, 4, 3))
    layer = ResSpatialDependency(4, 5, directions=("down", "right"), kernel_size=3)
    out = np.asarray(layer(x))
    s, g = np.split(np.asarray(layer.spatial(x)), 2, axis=-1)
    c = np.asarray(layer.conv(x))
    gate = numpy_reference.sigmoid(g)
    np.testing.assert_allclose(out, gate * c + (1 - gate) * s, atol=1e-6)
    assert layer.conv.kernel.shape == (3, 3, 3, 4)
    assert layer.spatial.filters == 8


def test_drop_in_for_conv2d_transpose():
    x = sdn_test_case.random_inputs((2, 8, 8, 3))
    layer = SpatialDependency(64, 128, kernel_size=4, strides=2, transpose=True)
    conv = keras.layers.Conv2DTranspose(64, 4, 2, padding="same")
    assert layer(x).shape == conv(x).shape == (2, 16, 16, 64)


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        (dict(kernel_size=3, strides=2), (None, 7, None, 3)),
        (dict(kernel_size=3, strides=2, padding="valid"), (4, 9, 8, 3)),
        (dict(kernel_size=4, strides=2, transpose=True), (None, None, 5, 3)),
        (dict(kernel_size=3, strides=2, transpose=True, padding="valid"), (1, 4, 3, 3)),
    ],
)
def test_compute_output_shape_matches_the_convolutions(kwargs, shape):
    layer = SpatialDependency(6, 4, **kwargs)
    conv_cls = (
        keras.layers.Conv2DTranspose if kwargs.get("transpose") else keras.layers.Conv2D
    )
    conv_kwargs = {"padding": "same"}  # the SDN default; Keras' is "valid"
    conv_kwargs.update({k: v for k, v in kwargs.items() if k != "transpose"})
    expected = conv_cls(6, **conv_kwargs).compute_output_shape(shape)
    assert tuple(layer.compute_output_shape(shape)) == tuple(expected)


def test_unknown_height_and_width_until_call_time():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(
        inputs, SpatialDependency(2, 4, directions=ALL_DIRECTIONS)(inputs)
    )
    for shape in [(1, 3, 7, 3), (2, 6, 2, 3)]:
        assert model(sdn_test_case.random_inputs(shape)).shape == shape[:3] + (2,)


def test_savedmodel_export_round_trip(tmp_path):
    x = sdn_test_case.random_inputs((2, 6, 5, 3))
    inputs = keras.Input((None, None, 3))
    hidden = ResSpatialDependency(4, 5, directions=("left", "down"), kernel_size=3)(
        inputs
    )
    model = keras.Model(inputs, SpatialDependency(2, 3, directions=("up",))(hidden))
    expected = np.asarray(model(x))
    path = str(tmp_path / "exported")
    model.export(path, verbose=False)
    reloaded = tf.saved_model.load(path)
    np.testing.assert_allclose(np.asarray(reloaded.serve(x)), expected, atol=1e-6)


@pytest.mark.parametrize("model_jit", [True, False])
def test_fit_step_with_and_without_xla(model_jit):
    x = sdn_test_case.random_inputs((4, 6, 6, 3))
    inputs = keras.Input((6, 6, 3))
    outputs = SpatialDependency(
        3, 4, directions=("down", "right"), jit_compile=not model_jit
    )(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", jit_compile=model_jit)
    before = [np.asarray(v) for v in model.trainable_variables]
    history = model.fit(x, x, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    changed = [
        np.abs(np.asarray(v) - b).max() > 0
        for v, b in zip(model.trainable_variables, before)
    ]
    assert all(changed), "every weight, the sweep's included, receives a gradient"


def test_fit_under_mirrored_strategy(two_cpu_strategy):
    x = sdn_test_case.random_inputs((8, 6, 6, 3))
    with two_cpu_strategy.scope():
        inputs = keras.Input((6, 6, 3))
        outputs = ResSpatialDependency(3, 4, directions=("down", "left"))(inputs)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="mse", jit_compile="auto")
    history = model.fit(x, x, batch_size=8, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_fit_under_mixed_precision(policy):
    keras.config.set_dtype_policy(policy)
    x = sdn_test_case.random_inputs((4, 8, 8, 3))
    inputs = keras.Input((8, 8, 3))
    outputs = SpatialDependency(3, 8, directions=ALL_DIRECTIONS)(inputs)
    model = keras.Model(
        inputs, keras.layers.Activation("linear", dtype="float32")(outputs)
    )
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, x, batch_size=4, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert all(v.dtype == "float32" for v in model.trainable_variables)


def test_mixed_precision_stays_close_to_float32():
    # The carried rows are float32 under a mixed policy, so a long sweep
    # does not drift more than the half-precision matmuls themselves.
    x = sdn_test_case.random_inputs((2, 32, 4, 3))
    layer = SpatialDependency(3, 8, directions=("down", "up"))
    reference = np.asarray(layer(x))
    for policy, tol in [("mixed_float16", 2e-2), ("mixed_bfloat16", 1e-1)]:
        mixed = SpatialDependency.from_config({**layer.get_config(), "dtype": policy})
        mixed.build(x.shape)
        mixed.set_weights(layer.get_weights())
        out = np.asarray(tf.cast(mixed(x), tf.float32))
        np.testing.assert_allclose(out, reference, atol=tol)


# --- Bad arguments and inputs --------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(filters=0), "argument `filters`, expected a positive integer, got 0"),
        (dict(num_features=-3), "`num_features`, expected a positive integer, got -3"),
        (
            dict(num_features=2.5),
            "`num_features`, expected a positive integer, got 2.5",
        ),
        (dict(directions=()), "argument `directions`"),
        (dict(directions=("down", "diagonal")), "'diagonal'"),
        (dict(padding="causal"), "argument `padding`, expected 'same' or 'valid'"),
        (dict(kernel_size=(3, 0)), "argument `kernel_size`"),
        (dict(strides=3, kernel_size=2, transpose=True), "argument `strides`"),
        (dict(jit_compile="sometimes"), "argument `jit_compile`"),
        (dict(transpose="no"), "argument `transpose`, expected True or False"),
        (
            dict(correct_first_row=0),
            "argument `correct_first_row`, expected True or False, got 0",
        ),
    ],
)
def test_invalid_arguments_raise(kwargs, message):
    args = dict(filters=2, num_features=3)
    args.update(kwargs)
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        SpatialDependency(**args)


def test_numpy_integers_are_valid_sizes():
    layer = SpatialDependency(
        np.int64(2), np.int32(3), kernel_size=np.int64(3), strides=(1, np.int64(1))
    )
    assert (layer.filters, layer.num_features) == (2, 3)
    assert layer.get_config()["kernel_size"] == (3, 3)
    assert layer(np.zeros((1, 4, 4, 1), "float32")).shape == (1, 4, 4, 2)


@pytest.mark.parametrize(
    "shape, message",
    [
        ((2, 5, 3), "expected a 4D input .* got shape \\(2, 5, 3\\)"),
        ((2, 4, 4, 4, 3), "expected a 4D input"),
        ((2, 4, 4, None), "expected a known channel dimension"),
        ((2, 0, 4, 3), "expected non-empty height and width"),
    ],
)
def test_invalid_input_shapes_raise(shape, message):
    layer = SpatialDependency(2, 3)
    with pytest.raises(ValueError, match=message):
        layer.build(shape)
    with pytest.raises(ValueError, match=message):
        layer.compute_output_shape(shape)


def test_valid_projection_larger_than_input_raises():
    layer = SpatialDependency(2, 3, kernel_size=5, padding="valid")
    with pytest.raises(ValueError, match="height 3 is smaller than kernel_size 5"):
        layer(np.zeros((1, 3, 8, 2), "float32"))


def test_rank_mismatch_after_build_raises():
    layer = SpatialDependency(2, 3)
    layer(np.zeros((1, 4, 4, 2), "float32"))
    with pytest.raises(ValueError, match="expected ndim=4"):
        layer(np.zeros((4, 4, 2), "float32"))


def test_saved_model_loads_in_a_fresh_process_after_importing_sdn_tf(tmp_path):
    """A model saved with the layers loads where only `import sdn_tf` happens."""
    x = sdn_test_case.random_inputs((1, 4, 4, 2))
    inputs = keras.Input((4, 4, 2))
    model = keras.Model(inputs, SpatialDependency(2, 3)(inputs))
    path = str(tmp_path / "m.keras")
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.asarray(model(x)))
    script = textwrap.dedent(f"""
        import numpy as np, keras, sdn_tf
        m = keras.saving.load_model({path!r})
        x = np.load({str(tmp_path / "x.npy")!r})
        y = np.load({str(tmp_path / "y.npy")!r})
        np.testing.assert_allclose(np.asarray(m(x)), y, atol=1e-6)
        print("ok")
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


@pytest.mark.parametrize("initializer", ["glorot_uniform", "orthogonal"])
def test_the_sweeps_of_each_direction_start_from_their_own_kernels(initializer):
    # One unseeded initializer instance repeats its values for every weight
    # of a shape: the sweeps would start identical.
    layer = ResSpatialDependency(
        4,
        4,
        directions=("down", "right"),
        kernel_size=3,
        kernel_initializer=initializer,
    )
    layer.build((None, 6, 6, 4))
    first, second = layer.spatial.corrections
    for name in ("kernel", "recurrent_kernel"):
        a, b = getattr(first, name), getattr(second, name)
        assert not np.allclose(np.asarray(a), np.asarray(b)), name
    assert not np.allclose(
        np.asarray(layer.spatial.project_in.kernel), np.asarray(layer.conv.kernel)
    )
