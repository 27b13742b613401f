"""The layers' properties on whichever Keras backend this process runs.

Not collected by the suite's own run (no `_test` suffix): backends_test.py
runs this file with pytest in subprocesses whose KERAS_BACKEND is set
before Keras is imported, so the checks run under JAX and under PyTorch.
Nothing here is specific to one backend, so `KERAS_BACKEND=tensorflow
python -m pytest -n 0 <this file>` runs the same checks under TensorFlow.

A selection of the TensorFlow tests' properties (spatial_dependency_test.py,
spatial_broadcast_test.py), on tiny shapes that several checks share, since
JAX compiles once per shape (the sweep once per shape and direction): the
NumPy reference for every direction, for non-square input and for a
strided project-in; causality and long range; Table 5's parameter counts;
a `fit` step and the numerics under mixed precision.

The last section compares outputs and gradients across backends, on a
model of every layer (weight-normalized and transposed convolutions
included) whose TensorFlow gradients the TensorFlow tests check against
finite differences in float64. The JAX and PyTorch sweeps' own gradients
are checked against finite differences in correction_jax_checks.py and
correction_torch_checks.py: Keras' JAX backend computes some ops of a
float64 layer (tanh) in float32, too coarse for finite differences
through the whole layer.

With SDN_CROSS_BACKEND_DIR set, the checks of the last section save a
`.keras` file of this backend there for the others to load, then load the
files saved there under the backends SDN_CROSS_BACKEND_LOAD names
(comma-separated; TensorFlow's by default), each with the outputs and
gradients its backend gave, waiting up to SDN_CROSS_BACKEND_WAIT seconds
for one that a run at the same time has yet to save.
"""

import os
import sys
import time

import keras
import numpy as np
import numpy_reference
import pytest

import sdn_test_case
from sdn_tf.layers import (
    ResSpatialDependency,
    SpatialBroadcast,
    SpatialDependency,
)

ALL_DIRECTIONS = ("down", "up", "right", "left")
SHAPE = (2, 4, 7, 3)  # the input most checks share: non-square
CROSS_BACKEND_DIR = os.environ.get("SDN_CROSS_BACKEND_DIR")


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


# --- Equality with the NumPy reference -----------------------------------


def test_four_directions_on_non_square_input_match_numpy():
    # correct_first_row=False: correction_jax_checks.py, sweep by sweep.
    x = sdn_test_case.random_inputs(SHAPE)
    layer = SpatialDependency(5, 6, directions=("up", "left", "down", "right"))
    layer.build(x.shape)
    sdn_test_case.randomize_biases(layer)
    expected = numpy_reference.spatial_dependency(x, layer)
    np.testing.assert_allclose(_numpy(layer(x)), expected, atol=1e-5)


def test_strided_project_in_matches_numpy():
    # The transposed project-in: the cross-backend model below.
    x = sdn_test_case.random_inputs((1, 6, 5, 2))
    layer = SpatialDependency(
        3, 4, directions=("up",), kernel_size=(3, 2), strides=(1, 2), padding="valid"
    )
    layer.build(x.shape)
    sdn_test_case.randomize_biases(layer)
    out = _numpy(layer(x))
    assert out.shape == (1, 4, 2, 3)
    np.testing.assert_allclose(
        out, numpy_reference.spatial_dependency(x, layer), atol=1e-5
    )


def test_uncorrected_first_row_is_the_project_in_output():
    x = sdn_test_case.random_inputs(SHAPE)
    layer = SpatialDependency(4, 6, directions=("up",), correct_first_row=False)
    layer.build(x.shape)
    sdn_test_case.randomize_biases(layer)
    features = keras.ops.transpose(layer.project_in(x), (1, 0, 2, 3))  # [H,B,W,F]
    corrected = _numpy(layer.corrections[0].correct(features, "float32", "auto"))
    np.testing.assert_array_equal(corrected[-1], _numpy(features)[-1])
    assert np.abs(corrected - _numpy(features)).max() > 1e-3


# --- Dependency structure ------------------------------------------------


def test_down_sweep_is_causal():
    x = sdn_test_case.random_inputs(SHAPE)
    layer = SpatialDependency(3, 6, directions=("down",))
    base = _numpy(layer(x))
    for row in range(SHAPE[1]):
        changed = x.copy()
        changed[:, row + 1 :] += 1.0
        out = _numpy(layer(changed))
        np.testing.assert_array_equal(out[:, : row + 1], base[:, : row + 1])
        if row + 1 < SHAPE[1]:
            assert np.abs(out[:, row + 1 :] - base[:, row + 1 :]).max() > 1e-4


def test_four_directions_reach_the_opposite_corner():
    x = sdn_test_case.random_inputs(SHAPE)
    changed = x.copy()
    changed[0, -1, -1] += 1.0
    layer = SpatialDependency(3, 6, directions=ALL_DIRECTIONS)
    difference = _numpy(layer(changed))[0, 0, 0] - _numpy(layer(x))[0, 0, 0]
    assert np.abs(difference).max() > 1e-7
    one_way = SpatialDependency(3, 6, directions=("down",))
    np.testing.assert_array_equal(
        _numpy(one_way(changed))[0, 0, 0], _numpy(one_way(x))[0, 0, 0]
    )


def test_parameter_counts_equal_table_5():
    # Shapes alone count: zeros spare the 600 x 600 orthogonal matrices.
    layer = SpatialDependency(
        200,
        200,
        directions=("down", "right"),
        kernel_initializer="zeros",
        recurrent_initializer="zeros",
    )
    layer.build((None, 4, 4, 200))
    assert layer.count_params() == 1_042_800
    assert layer.project_in.count_params() == 40_200
    assert sum(int(np.prod(v.shape)) for v in layer.corrections[0].weights) == 481_200


# --- Training and mixed precision -------------------------------------------------


def test_fit_step_under_mixed_precision_changes_every_weight():
    keras.config.set_dtype_policy("mixed_bfloat16")
    x = sdn_test_case.random_inputs(SHAPE)
    inputs = keras.Input(SHAPE[1:])
    outputs = ResSpatialDependency(3, 6, directions=("down",))(inputs)
    model = keras.Model(
        inputs, keras.layers.Activation("linear", dtype="float32")(outputs)
    )
    model.compile(optimizer="sgd", loss="mse")
    before = [_numpy(v) for v in model.trainable_variables]
    history = model.fit(x, x, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    unchanged = [
        v.path
        for v, b in zip(model.trainable_variables, before)
        if np.array_equal(_numpy(v), b)
    ]
    assert not unchanged, f"no gradient reached {unchanged}"


def test_mixed_precision_stays_close_to_float32():
    # mixed_float16, and the sweep alone: correction_jax_checks.py.
    x = sdn_test_case.random_inputs((2, 16, 4, 3))
    layer = SpatialDependency(3, 8, directions=("down",))
    reference = _numpy(layer(x))
    mixed = SpatialDependency.from_config(
        {**layer.get_config(), "dtype": "mixed_bfloat16"}
    )
    mixed.build(x.shape)
    mixed.set_weights(layer.get_weights())
    out = mixed(x)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    np.testing.assert_allclose(
        _numpy(keras.ops.cast(out, "float32")), reference, atol=1e-1
    )


# --- Spatial broadcast and arguments ----------------------------------


def test_spatial_broadcast_coordinate_channels():
    z = np.array([[0.5, -2.0]], "float32")
    out = _numpy(SpatialBroadcast(height=2, width=3)(z))
    np.testing.assert_array_equal(out[0, ..., 2], [[-1, 0, 1], [-1, 0, 1]])
    np.testing.assert_array_equal(out[0, ..., 3], [[-1, -1, -1], [1, 1, 1]])
    np.testing.assert_array_equal(out[0, ..., :2], np.broadcast_to(z[0], (2, 3, 2)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(filters=0), "argument `filters`, expected a positive integer, got 0"),
        (dict(directions=("down", "diagonal")), "'diagonal'"),
        (dict(strides=3, kernel_size=2, transpose=True), "argument `strides`"),
    ],
)
def test_invalid_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpatialDependency(**{"filters": 2, "num_features": 3, **kwargs})


def test_sdn_tf_leaves_tfp_and_tfds_out_on_other_backends():
    if keras.backend.backend() == "tensorflow":
        pytest.skip("under TensorFlow sdn_tf imports its data and distributions")
    import sdn_tf

    assert keras.backend.backend() in sdn_tf.layers.SUPPORTED_BACKENDS
    assert "tensorflow_probability" not in sys.modules
    assert "tensorflow_datasets" not in sys.modules


def test_the_native_kernel_is_required_on_tensorflow_only():
    if keras.backend.backend() == "tensorflow":
        pytest.skip("the native kernel's own tests: correction_native_test.py")
    x = sdn_test_case.random_inputs(SHAPE)
    with pytest.raises(ValueError, match="argument `native_kernel`.*TensorFlow op"):
        SpatialDependency(3, 4, native_kernel=True)(x)
    # "auto" takes the backend's own sweep.
    assert SpatialDependency(3, 4, native_kernel="auto")(x).shape == SHAPE[:3] + (3,)


# --- Across backends (SDN_CROSS_BACKEND_DIR from backends_test.py) --------

cross_backend = pytest.mark.skipif(
    CROSS_BACKEND_DIR is None, reason="run by backends_test.py"
)
# The backends whose `.keras` files this run loads (backends_test.py saves
# TensorFlow's before any run; the JAX and PyTorch runs, at the same time,
# each save their own before loading the other's).
LOADED_BACKENDS = os.environ.get("SDN_CROSS_BACKEND_LOAD", "tensorflow").split(",")
# How long to wait for a file that another backend's run, at the same time,
# has not saved yet.
WAIT_SECONDS = float(os.environ.get("SDN_CROSS_BACKEND_WAIT", "0"))
# Seeds of the noise that gives each backend's saved file weights of its own.
NOISE_SEEDS = {"jax": 7, "torch": 8}


@pytest.fixture(scope="module")
def saved_run():
    """f(backend) -> (the model of the `.keras` file `backend` saved, its
    outputs and gradients by variable path, the gradient function of the
    model loaded here), each file loaded once (under JAX the function is
    compiled once and reused while only the weights change)."""
    loaded = {}

    def load(backend):
        if backend not in loaded:
            path = os.path.join(CROSS_BACKEND_DIR, backend)
            deadline = time.monotonic() + WAIT_SECONDS
            while not os.path.exists(f"{path}.keras"):
                if time.monotonic() > deadline:
                    pytest.fail(f"{backend}'s run saved no {path}.keras")
                time.sleep(0.5)
            model = keras.saving.load_model(f"{path}.keras")
            gradients = sdn_test_case.gradient_function(model)
            loaded[backend] = model, np.load(f"{path}.npz"), gradients
        return loaded[backend]

    return load


@pytest.fixture(scope="module")
def cross_backend_data():
    """The input and the output's cotangent that every backend's outputs and
    gradients are computed on."""
    return np.load(os.path.join(CROSS_BACKEND_DIR, "inputs.npz"))


@cross_backend
def test_saves_a_keras_file_for_another_backend(saved_run, cross_backend_data):
    # New weights (TensorFlow's moved by this backend's seeded noise), so
    # that loading this file under another backend is a check of its own.
    backend = keras.backend.backend()
    model, _, gradients = saved_run("tensorflow")
    rng = np.random.default_rng(NOISE_SEEDS[backend])
    original = [_numpy(v) for v in model.weights]
    for v in model.weights:
        v.assign(_numpy(v) + rng.normal(scale=0.1, size=v.shape).astype(v.dtype))
    outputs, d_inputs, d_weights = gradients(
        cross_backend_data["inputs"], cross_backend_data["cotangent"]
    )
    path = os.path.join(CROSS_BACKEND_DIR, backend)
    partial = os.path.join(CROSS_BACKEND_DIR, f"{backend}.partial.keras")
    model.save(partial)
    np.savez(f"{path}.npz", outputs=outputs, d_inputs=d_inputs, **d_weights)
    os.replace(partial, f"{path}.keras")  # whole, for a run waiting for it
    for v, value in zip(model.weights, original):
        v.assign(value)  # TensorFlow's weights again, for the check below


@cross_backend
@pytest.mark.parametrize("backend", LOADED_BACKENDS)
def test_keras_file_of_another_backend_gives_its_outputs_and_gradients(
    backend, saved_run, cross_backend_data
):
    assert backend != keras.backend.backend()
    model, saved, gradients = saved_run(backend)
    outputs, d_inputs, d_weights = gradients(
        cross_backend_data["inputs"], cross_backend_data["cotangent"]
    )
    np.testing.assert_allclose(outputs, saved["outputs"], atol=1e-5)
    np.testing.assert_allclose(d_inputs, saved["d_inputs"], atol=1e-5)
    assert len(d_weights) == len(model.trainable_variables)
    assert sorted(d_weights) == sorted(set(saved.files) - {"outputs", "d_inputs"})
    for path, gradient in d_weights.items():
        np.testing.assert_allclose(gradient, saved[path], atol=1e-5, err_msg=path)
