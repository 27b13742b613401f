"""The standard test every public layer of sdn_tf goes through.

In the spirit of keras-hub's `TestCase.run_layer_test`: config round trip
(with registration), symbolic and eager calls against compute_output_shape,
trainable weight count, a `.keras` save/load with equal outputs, one `fit`
step, and the mixed-precision policies.
"""

import inspect
import os

import keras
import numpy as np
import tensorflow as tf


def random_inputs(shape, seed=0, dtype="float32"):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def assert_config_complete(layer):
    """get_config holds every constructor argument; from_config rebuilds it."""
    config = layer.get_config()
    params = inspect.signature(type(layer).__init__).parameters
    missing = [
        name
        for name, p in params.items()
        if name != "self"
        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        and name not in config
    ]
    assert not missing, f"{type(layer).__name__}.get_config() lacks {missing}"
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"].startswith("sdn_tf>"), serialized
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is type(layer)
    assert restored.get_config() == config


def _model_around(layer, input_shape):
    inputs = keras.Input(shape=input_shape[1:], batch_size=None)
    return keras.Model(inputs, layer(inputs))


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_shape,
    expected_output_shape,
    expected_num_trainable_weights=None,
    symbolic_input_shape=None,
    run_fit=True,
    run_saving=True,
    run_mixed_precision=True,
    tmp_path=None,
    atol=1e-6,
):
    """Runs the standard checks; returns the layer built by the eager call.

    Args:
      layer_cls: the layer class.
      init_kwargs: constructor arguments.
      input_shape: concrete input shape for eager calls.
      expected_output_shape: concrete output shape.
      expected_num_trainable_weights: if given, checked after building.
      symbolic_input_shape: input shape with None dimensions for the
        symbolic call (defaults to input_shape with a None batch).
      run_fit, run_saving, run_mixed_precision: which checks to run.
      tmp_path: directory for the .keras file.
    """
    x = random_inputs(input_shape)

    # Config round trip.
    layer = layer_cls(**init_kwargs)
    assert_config_complete(layer)

    # Symbolic call: shape agrees with compute_output_shape.
    symbolic_shape = symbolic_input_shape or (None, *input_shape[1:])
    symbolic = keras.Input(batch_shape=symbolic_shape)
    symbolic_layer = layer_cls(**init_kwargs)
    symbolic_out = symbolic_layer(symbolic)
    assert tuple(symbolic_out.shape) == tuple(
        symbolic_layer.compute_output_shape(symbolic_shape)
    )

    # Eager call.
    out = layer(x)
    assert tuple(out.shape) == tuple(expected_output_shape)
    assert tuple(layer.compute_output_shape(input_shape)) == tuple(
        expected_output_shape
    )
    assert np.all(np.isfinite(np.asarray(out)))
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights

    # Config round trip after build: same config, same outputs with same weights.
    clone = layer_cls.from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(out), atol=atol)

    if run_saving:
        assert tmp_path is not None, "run_saving needs tmp_path"
        model = _model_around(layer_cls(**init_kwargs), input_shape)
        expected = np.asarray(model(x))
        path = os.path.join(str(tmp_path), f"{layer_cls.__name__}.keras")
        model.save(path)
        restored = keras.saving.load_model(path)
        np.testing.assert_allclose(np.asarray(restored(x)), expected, atol=atol)

    if run_fit:
        model = _model_around(layer_cls(**init_kwargs), input_shape)
        model.compile(optimizer="sgd", loss="mse", jit_compile="auto")
        y = random_inputs(expected_output_shape, seed=1)
        history = model.fit(x, y, batch_size=input_shape[0], epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])

    if run_mixed_precision:
        for policy in ("mixed_float16", "mixed_bfloat16"):
            mixed = layer_cls(**init_kwargs, dtype=policy)
            mixed_out = mixed(x)
            assert keras.backend.standardize_dtype(mixed_out.dtype) == policy[6:]
            assert np.all(np.isfinite(np.asarray(tf.cast(mixed_out, tf.float32))))
            assert all(
                keras.backend.standardize_dtype(v.dtype) == "float32"
                for v in mixed.weights
            )
    return layer
