"""The standard tests every public layer and model of sdn_tf goes through.

In the spirit of keras-hub's `TestCase`:

  * `run_layer_test`: config round trip (with registration), symbolic and
    eager calls against compute_output_shape, trainable weight count, a
    `.keras` save/load with equal outputs, one `fit` step, and the
    mixed-precision policies. Layers that a model calls through methods
    (`LadderLayer.up`/`down`, `IAFStep.flow`) pass a `call_fn`: then the
    checks that need `__call__` become their method-call equivalents.
  * `run_model_test`: config round trip, one `fit` step, a `.keras`
    save/load of the trained model with equal outputs, and a build and a
    training step under a mixed-precision policy.
  * `run_docstring_example`: the docstring's Example runs as written.
"""

import doctest
import inspect
import os

import keras
import numpy as np
import tensorflow as tf


def random_inputs(shape, seed=0, dtype="float32"):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def randomize_biases(layer, seed=3):
    """Zero-initialized biases would hide bias-handling mistakes."""
    rng = np.random.default_rng(seed)
    for v in layer.weights:
        if "bias" in v.path:
            v.assign(rng.normal(scale=0.5, size=v.shape).astype(v.dtype))


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


def _flat(outputs):
    """The tensors (and Nones) of a nested output, in a fixed order."""
    if isinstance(outputs, dict):
        return [t for key in sorted(outputs) for t in _flat(outputs[key])]
    if isinstance(outputs, (tuple, list)):
        return [t for output in outputs for t in _flat(output)]
    return [outputs]


def _numpy(outputs):
    """float32 NumPy arrays (None kept) of a nested output."""
    return [
        None if t is None else keras.ops.convert_to_numpy(keras.ops.cast(t, "float32"))
        for t in _flat(outputs)
    ]


def gradient_function(model):
    """f(inputs, cotangent) -> outputs and gradients of sum(outputs *
    cotangent), on any backend, with the model's current weights.

    Under JAX the function is compiled once (op by op, JAX would compile
    every op alone) and reused while only the weights change; under PyTorch
    it runs eagerly, with torch.autograd.

    Args:
      model: a built layer or model with one input and one output.

    Returns:
      A function of a NumPy input and a NumPy cotangent of the output's
      shape that returns (outputs, gradient with respect to the inputs,
      {variable path: gradient} of the trainable variables), all NumPy.
    """
    variables = model.trainable_variables
    backend = keras.backend.backend()
    if backend == "tensorflow":

        def gradients(inputs, cotangent):
            x = tf.constant(inputs)
            with tf.GradientTape() as tape:
                tape.watch(x)
                outputs = model(x)
                loss = tf.reduce_sum(outputs * tf.cast(cotangent, outputs.dtype))
            d_inputs, *d_variables = tape.gradient(loss, [x, *variables])
            return outputs, d_inputs, d_variables

    elif backend == "jax":
        import jax

        def loss_fn(values, x, cotangent):
            non_trainable = [v.value for v in model.non_trainable_variables]
            out, _ = model.stateless_call(values, non_trainable, x)
            return (out * cotangent.astype(out.dtype)).sum(), out

        grad_fn = jax.jit(jax.value_and_grad(loss_fn, argnums=(0, 1), has_aux=True))

        def gradients(inputs, cotangent):
            values = [v.value for v in variables]
            (_, outputs), (d_variables, d_inputs) = grad_fn(values, inputs, cotangent)
            return outputs, d_inputs, d_variables

    elif backend == "torch":
        import torch

        def gradients(inputs, cotangent):
            x = keras.ops.convert_to_tensor(inputs).requires_grad_()
            outputs = model(x)
            loss = (outputs * keras.ops.cast(cotangent, outputs.dtype)).sum()
            d_inputs, *d_variables = torch.autograd.grad(
                loss, [x, *(v.value for v in variables)]
            )
            return outputs, d_inputs, d_variables

    else:
        raise NotImplementedError(f"no gradients on the {backend!r} backend here")

    def numpy_gradients(inputs, cotangent):
        outputs, d_inputs, d_variables = gradients(inputs, cotangent)
        to_numpy = keras.ops.convert_to_numpy  # from any backend's device
        return (
            to_numpy(outputs),
            to_numpy(d_inputs),
            {v.path: to_numpy(g) for v, g in zip(variables, d_variables)},
        )

    return numpy_gradients


def assert_outputs_close(actual, expected, atol=1e-6):
    """Nested outputs with the same structure and equal values."""
    actual, expected = _numpy(actual), _numpy(expected)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert (a is None) == (e is None)
        if a is not None:
            np.testing.assert_allclose(a, e, atol=atol)


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, int) for d in value
    )


def _flat_shapes(shapes):
    """The shapes (and Nones) of a nested structure of shapes."""
    if shapes is None or _is_shape(shapes):
        return [None if shapes is None else tuple(shapes)]
    return [s for inner in shapes for s in _flat_shapes(inner)]


def _example_inputs(input_shape):
    """One random array, or a tuple of them when given several shapes."""
    if _is_shape(input_shape):
        return random_inputs(input_shape)
    return tuple(random_inputs(s, seed=i) for i, s in enumerate(input_shape))


class _Holder(keras.Model):
    """A model whose only attribute is `layer`: saves and loads the layer's
    weights by attribute path, as a `.keras` file or a checkpoint does."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        self.built = layer.built  # nothing of its own to build


def _gradient_step(layer, call_fn, x):
    """One SGD step on the mean square of the outputs; every trainable
    weight must get a finite gradient."""
    variables = layer.trainable_variables
    with tf.GradientTape() as tape:
        outputs = [t for t in _flat(call_fn(layer, x)) if t is not None]
        loss = tf.add_n(
            [tf.reduce_mean(tf.square(tf.cast(t, "float32"))) for t in outputs]
        )
    grads = tape.gradient(loss, variables)
    unused = [v.path for v, g in zip(variables, grads) if g is None]
    assert not unused, f"no gradient reaches {unused}"
    assert all(np.all(np.isfinite(np.asarray(g))) for g in grads)
    keras.optimizers.SGD(0.01).apply(grads, variables)
    assert all(np.all(np.isfinite(np.asarray(v))) for v in variables)


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
    call_fn=None,
    mixed_output_dtype=None,
):
    """Runs the standard checks; returns the layer built by the eager call.

    Args:
      layer_cls: the layer class.
      init_kwargs: constructor arguments.
      input_shape: concrete input shape for eager calls; with `call_fn`, a
        tuple of shapes gives `call_fn` a tuple of inputs.
      expected_output_shape: concrete output shape; with `call_fn`, the
        nested shapes of its outputs (None for an output that is None).
      expected_num_trainable_weights: if given, checked after building.
      symbolic_input_shape: input shape with None dimensions for the
        symbolic call (defaults to input_shape with a None batch).
      run_fit, run_saving, run_mixed_precision: which checks to run.
      tmp_path: directory for the saved files.
      atol: tolerance of the output comparisons.
      call_fn: `(layer, inputs) -> outputs` for a layer that is called
        through methods rather than `__call__`. The symbolic call and
        compute_output_shape are skipped; "fit" is one gradient step in
        which every trainable weight must get a gradient, and "saving" a
        serialize/deserialize of the built layer plus a weights file
        loaded by attribute path.
      mixed_output_dtype: dtype of the first output under a
        mixed-precision policy; defaults to the policy's compute dtype.
    """
    x = _example_inputs(input_shape)
    method_called = call_fn is not None
    call = call_fn or (lambda layer, inputs: layer(inputs))

    # Config round trip.
    layer = layer_cls(**init_kwargs)
    assert_config_complete(layer)

    if not method_called:
        # Symbolic call: shape agrees with compute_output_shape.
        symbolic_shape = symbolic_input_shape or (None, *input_shape[1:])
        symbolic = keras.Input(batch_shape=symbolic_shape)
        symbolic_layer = layer_cls(**init_kwargs)
        symbolic_out = symbolic_layer(symbolic)
        assert tuple(symbolic_out.shape) == tuple(
            symbolic_layer.compute_output_shape(symbolic_shape)
        )

    # Eager call.
    out = call(layer, x)
    shapes = [None if t is None else tuple(t.shape) for t in _flat(out)]
    assert shapes == _flat_shapes(expected_output_shape), shapes
    if not method_called:
        assert tuple(layer.compute_output_shape(input_shape)) == tuple(
            expected_output_shape
        )
    assert all(a is None or np.all(np.isfinite(a)) for a in _numpy(out))
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights

    # Config round trip after build: same config, same outputs with same weights.
    clone = layer_cls.from_config(layer.get_config())
    call(clone, x)
    clone.set_weights(layer.get_weights())
    assert_outputs_close(call(clone, x), out, atol=atol)

    if run_saving:
        assert tmp_path is not None, "run_saving needs tmp_path"
        if method_called:
            # What a .keras file holds: the serialized config, and the
            # weights by attribute path.
            restored = keras.saving.deserialize_keras_object(
                keras.saving.serialize_keras_object(layer)
            )
            call(restored, x)
            path = os.path.join(str(tmp_path), f"{layer_cls.__name__}.weights.h5")
            _Holder(layer).save_weights(path)
            _Holder(restored).load_weights(path)
            assert_outputs_close(call(restored, x), out, atol=atol)
        else:
            model = _model_around(layer_cls(**init_kwargs), input_shape)
            expected = np.asarray(model(x))
            path = os.path.join(str(tmp_path), f"{layer_cls.__name__}.keras")
            model.save(path)
            restored = keras.saving.load_model(path)
            np.testing.assert_allclose(np.asarray(restored(x)), expected, atol=atol)

    if run_fit:
        if method_called:
            _gradient_step(layer_cls(**init_kwargs), call, x)
        else:
            model = _model_around(layer_cls(**init_kwargs), input_shape)
            model.compile(optimizer="sgd", loss="mse", jit_compile="auto")
            y = random_inputs(expected_output_shape, seed=1)
            history = model.fit(x, y, batch_size=input_shape[0], epochs=1, verbose=0)
            assert np.isfinite(history.history["loss"][0])

    if run_mixed_precision:
        for policy in ("mixed_float16", "mixed_bfloat16"):
            mixed = layer_cls(**init_kwargs, dtype=policy)
            mixed_out = call(mixed, x)
            first = _flat(mixed_out)[0]
            assert keras.backend.standardize_dtype(first.dtype) == (
                mixed_output_dtype or policy[6:]
            )
            assert all(a is None or np.all(np.isfinite(a)) for a in _numpy(mixed_out))
            assert all(
                keras.backend.standardize_dtype(v.dtype) == "float32"
                for v in mixed.weights
            )
    return layer


def run_model_test(
    model_cls,
    init_kwargs,
    input_data,
    tmp_path,
    output_fn=None,
    mixed_precision_policy="mixed_bfloat16",
    atol=1e-5,
    run_eagerly=False,
):
    """The standard model test: config, fit, `.keras` and mixed precision.

    Args:
      model_cls: the model class (a registered keras.Model subclass that
        builds itself).
      init_kwargs: constructor arguments; keep the model tiny.
      input_data: a batch of inputs that `fit` takes without targets.
      tmp_path: directory for the `.keras` file.
      output_fn: `(model, inputs) -> outputs` (nested), a deterministic
        function of the weights to compare; defaults to `model(inputs)`.
      mixed_precision_policy: the global policy of the mixed-precision
        build and training step.
      atol: tolerance of the output comparisons.
      run_eagerly: run the training steps eagerly. Tracing a training step
        through SDN sweeps takes tens of seconds on a CPU; a model whose
        graph-mode `fit` another test covers may save that time here.

    Returns:
      The trained model.
    """
    output_fn = output_fn or (lambda model, inputs: model(inputs))
    x = input_data

    # Config round trip (registration included), then the same outputs from
    # the same weights.
    model = model_cls(**init_kwargs)
    assert_config_complete(model)
    expected = output_fn(model, x)
    assert all(a is None or np.all(np.isfinite(a)) for a in _numpy(expected))
    clone = model_cls.from_config(model.get_config())
    output_fn(clone, x)
    clone.set_weights(model.get_weights())
    assert_outputs_close(output_fn(clone, x), expected, atol=atol)

    # One fit step changes the weights and gives a finite loss.
    model.compile(optimizer="adam", jit_compile="auto", run_eagerly=run_eagerly)
    before = [np.array(v) for v in model.trainable_variables]
    history = model.fit(x, batch_size=len(x), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]), history.history
    after = [np.asarray(v) for v in model.trainable_variables]
    assert any(not np.array_equal(b, a) for b, a in zip(before, after))

    # .keras save/load of the trained, compiled model.
    expected = output_fn(model, x)
    path = os.path.join(str(tmp_path), f"{model_cls.__name__}.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is model_cls
    assert restored.get_config() == model.get_config()
    assert_outputs_close(output_fn(restored, x), expected, atol=atol)
    assert int(restored.optimizer.iterations) == int(model.optimizer.iterations)

    # Built and trained under a mixed-precision policy: float32 weights,
    # half-precision compute, a finite step.
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(mixed_precision_policy)
    try:
        mixed = model_cls(**init_kwargs)
        assert mixed.compute_dtype == mixed_precision_policy[6:]
        assert all(
            keras.backend.standardize_dtype(v.dtype) == "float32"
            for v in mixed.trainable_variables
        )
        mixed.compile(optimizer="adam", jit_compile="auto", run_eagerly=run_eagerly)
        logs = mixed.train_on_batch(x, return_dict=True)
        assert np.isfinite(logs["loss"]), logs
        outputs = _numpy(output_fn(mixed, x))
        assert all(a is None or np.all(np.isfinite(a)) for a in outputs)
    finally:
        keras.config.set_dtype_policy(previous)
    return model


def run_docstring_example(obj, **globs):
    """Runs the Example of `obj`'s docstring (with `np` and `obj` in scope)."""
    doc = inspect.getdoc(obj)
    parser = doctest.DocTestParser()
    globs = {"np": np, obj.__name__: obj, **globs}
    test = parser.get_doctest(doc, globs, obj.__name__, None, 0)
    assert test.examples, f"{obj.__name__} docstring has no runnable example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0, f"{obj.__name__} docstring example failed"
