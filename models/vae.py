"""What the project's VAEs share: the training step around their objective,
and how they choose p(x | z).

A subclass implements `compute_terms(images, training)`, returning float32
scalars (batch means) that include "loss"; `train_step` and `test_step`
do the rest so that `fit`, `evaluate`, callbacks and the progress bar just
work:

  * under tf.distribute, the gradient of loss / replicas is taken (the
    optimizer sums gradients across replicas), as Keras' own steps do;
  * the optimizer is always a LossScaleOptimizer: its dynamic scale under
    "mixed_float16", a fixed scale of 1 otherwise. Either way it applies no
    update when a gradient is not finite, which is how a bad batch is
    skipped without touching weights or optimizer state;
  * one check decides whether a step is finite: the loss and every
    gradient, agreed across replicas. A step it rejects reaches the
    optimizer with NaN gradients, so the optimizer (which on its own looks
    only at one replica's gradients, never at the loss) skips exactly the
    steps that are reported skipped;
  * every skipped step is counted (`skipped_steps`, and
    `consecutive_skipped_steps` which a finite step resets), agreed across
    replicas, so a callback can stop training that keeps failing;
  * metrics only average finite steps, and read NaN (never 0.0) when there
    was none;
  * evaluation counts its non-finite batches (`nonfinite_batches`, left out
    of the averages) and raises when no batch was finite.

Every model gets p(x | z) from `observation_model` (any model registered in
`sdn_tf.distributions.observation`) and, when that model has a learnable
log-scale, owns it as the variable `log_scale` (`add_log_scale`).
"""

import math
import warnings

import keras
import numpy as np
import tensorflow as tf

from sdn_tf import arguments
from sdn_tf.distributions import observation as observation_models
from sdn_tf.distributions import quantization


def images_of(data):
    """The images of a batch from the pipeline (dict), a tuple or a tensor."""
    if isinstance(data, dict):
        return data["image"]
    if isinstance(data, (tuple, list)):
        return data[0]
    return data


def guarded_optimizer(optimizer):
    """Wraps `optimizer` so non-finite updates are skipped (see module doc)."""
    optimizer = keras.optimizers.get(optimizer)
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    if keras.config.dtype_policy().name == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return SkipNonFiniteOptimizer(optimizer)


@keras.saving.register_keras_serializable(package="sdn_tf")
class SkipNonFiniteOptimizer(keras.optimizers.LossScaleOptimizer):
    """A LossScaleOptimizer whose scale stays 1: it only skips non-finite
    updates, for float32 training.

    The dynamic scale halves on every skipped step and never grows back
    here; after ~126 skips over a long run it would underflow float32 and
    turn every gradient into zeros reported as real steps.
    """

    def __init__(self, inner_optimizer, **kwargs):
        kwargs.update(initial_scale=1.0, dynamic_growth_steps=2**31 - 1)
        super().__init__(inner_optimizer, **kwargs)

    def _stateful_handle_non_finite_grads(self):
        self.step_counter.assign(0)  # skip the update, keep the scale


def _all_finite(tensors):
    checks = [
        tf.reduce_all(tf.math.is_finite(tf.cast(t, tf.float32)))
        for t in tensors
        if t is not None
    ]
    return tf.reduce_all(tf.stack(checks))


def _agreed_across_replicas(finite):
    """True only where every replica's `finite` is: one bad batch spoils the
    summed gradient, and evaluation must drop the same batches everywhere."""
    context = tf.distribute.get_replica_context()
    if context is None or tf.distribute.get_strategy().num_replicas_in_sync == 1:
        return finite
    bad = context.all_reduce("SUM", 1 - tf.cast(finite, tf.int32))
    return tf.equal(bad, 0)


def _first_replica():
    """1 on the first replica, 0 on the others: counts a global batch once."""
    context = tf.distribute.get_replica_context()
    if context is None:
        return tf.constant(1.0)
    return tf.cast(tf.equal(context.replica_id_in_sync_group, 0), tf.float32)


def _nan_unless(finite, grads):
    """`grads`, or NaNs in their place when not `finite`.

    The LossScaleOptimizer skips an update only when a gradient is not
    finite, and under tf.distribute it looks at the first replica's alone;
    NaN gradients on every replica make it skip exactly the steps that our
    check (loss and gradients, all replicas) rejects.
    """
    return [
        None if g is None else tf.where(finite, g, tf.constant(math.nan, g.dtype))
        for g in grads
    ]


def checked_images(images, num_bits=8, image_shape=None):
    """Images as float32 on the [-1, 1] grid, or an error that says so.

    With `image_shape` (H, W, C), also a non-empty batch of images of that
    shape (see `checked_shape`).

    Integer images are taken for 8-bit pixels (0..255) and converted exactly
    as `quantization.from_uint8` does; integers outside 0..255 and float
    images outside [-1, 1] (pixels in [0, 255] or [0, 1] scaled the wrong
    way) raise instead of giving a plausible but meaningless bits/dim, and
    so do bool, complex and string images. NaNs pass: a NaN batch is a
    non-finite step, skipped and counted. Eagerly a ValueError; in a graph
    (fit, evaluate, tf.distribute) an InvalidArgumentError with the same
    message; under XLA, which has no Assert, a batch of NaNs.
    """
    images = tf.convert_to_tensor(images)
    if image_shape is not None:
        images = checked_shape(images, image_shape, "images", "images")
    dtype = images.dtype
    if not (dtype.is_integer or dtype.is_floating) or dtype == tf.bool:
        raise ValueError(
            "Received an invalid value for argument `images`, expected float "
            "values in [-1, 1] or 8-bit pixels (integers 0..255), got "
            f"{dtype.name} images."
        )
    if dtype.is_integer:
        grid = quantization.as_grid_values(images, num_bits)
        if dtype == tf.uint8:  # on the grid by construction
            return grid
        outside = tf.reduce_any((images < 0) | (images > 255))
        return _refused_outside(
            outside,
            grid,
            images,
            "Received an invalid value for argument `images`, expected 8-bit "
            f"pixels (integers 0..255) as {dtype.name}, got values in",
        )
    images = tf.cast(images, tf.float32)
    outside = tf.reduce_any(tf.abs(images) > 1.0)  # False for NaN
    return _refused_outside(
        outside,
        images,
        images,
        "Received an invalid value for argument `images`, expected float "
        "values in [-1, 1] (8-bit pixels: pass them as uint8, or convert "
        "with sdn_tf.distributions.quantization.from_uint8), got values in",
    )


def checked_shape(values, shape, name, what):
    """`values` (a tensor), checked to be a non-empty batch of `shape`:
    [N >= 1, *shape]. Sizes known now (eagerly, or a traced tensor's
    static shape) raise a ValueError naming argument `name`; sizes known
    only when a graph runs (an exported model's inputs) get graph asserts
    with the same message. `what` names one item in the message."""
    expected = [int(d) for d in shape]
    message = (
        f"Received an invalid value for argument `{name}`, expected a "
        f"non-empty batch of {what} of shape {tuple(expected)} (shape "
        f"(N, {', '.join(map(str, expected))}) with N >= 1), got shape"
    )
    static = values.shape
    if static.rank is not None and (
        static.rank != len(expected) + 1
        or static[0] == 0
        or any(d is not None and d != e for d, e in zip(static[1:], expected))
    ):
        raise ValueError(f"{message} {tuple(static.as_list())}.")
    if tf.executing_eagerly():
        return values
    actual = tf.shape(values)
    holds = (actual[0] > 0) & tf.reduce_all(tf.equal(actual[1:], expected))
    assertion = tf.debugging.Assert(holds, [message, actual], name="batch_shape")
    with tf.control_dependencies([assertion]):
        return tf.identity(values)


def checked_sampling(num_samples, temperature):
    """`sample`'s (num_samples, temperature), checked: a positive integer
    and a finite number >= 0. Values known now (numbers, NumPy values,
    eager tensors) raise the ValueError of `sdn_tf.arguments` and come back
    as Python numbers; symbolic tensors (an exported model's inputs) get
    graph asserts with the same message."""
    num_samples = _checked_now_or_in_graph(
        num_samples,
        lambda value: arguments.positive_integer(value, "num_samples"),
        lambda value: value >= 1,
        "Received an invalid value for argument `num_samples`, expected a "
        "positive integer, got",
    )
    temperature = _checked_now_or_in_graph(
        temperature,
        arguments.temperature,
        lambda value: tf.math.is_finite(value) & (value >= 0),
        "Received an invalid value for argument `temperature`, expected a "
        "finite, non-negative number, got",
    )
    return num_samples, temperature


def _checked_now_or_in_graph(value, check_now, holds, message):
    if tf.is_tensor(value) and not tf.executing_eagerly():
        assertion = tf.debugging.Assert(holds(value), [message, value])
        with tf.control_dependencies([assertion]):
            return tf.identity(value)
    known = np.asarray(value)
    if known.ndim != 0 or known.dtype.kind not in "iuf":
        return check_now(value)  # raises: not a number
    return check_now(known.item())


def _refused_outside(outside, values, images, message):
    """`values` if not `outside`; else (eagerly) a ValueError ending with the
    range of `images`, (in a graph) an Assert with the same message, and
    (under XLA, which drops Asserts) NaN values, skipped and counted."""
    if tf.executing_eagerly():
        if bool(outside):
            low, high = float(tf.reduce_min(images)), float(tf.reduce_max(images))
            raise ValueError(f"{message} [{low:g}, {high:g}].")
        return values
    check = tf.debugging.Assert(
        tf.logical_not(outside),
        [message, tf.reduce_min(images), tf.reduce_max(images)],
        name="images_in_range",
    )
    with tf.control_dependencies([check]):
        # XLA (fit on a GPU) drops Assert ops: there the batch turns NaN
        # instead, so that it is skipped and counted, never scored.
        return tf.where(outside, tf.constant(math.nan), values)


def observation_model(name, num_channels, options=None, **settings):
    """The observation model p(x | z) of a VAE's `observation` argument.

    Args:
      name: a registered observation model (`observation.names()`).
      num_channels: channels of the images.
      options: the model's `observation_options`: options of the
        observation model (`observation.option_names(name)`) other than
        `settings`. Defaults to None (none).
      **settings: the VAE's own arguments that observation models share
        (`num_bits`, `num_components`, ...); each goes to the observation
        model only when it takes it.

    Raises:
      ValueError: for an unknown `observation`, `observation_options` that
        is not a dict or repeats one of `settings`, or an option the
        observation model does not take.
    """
    names = observation_models.names()
    arguments.check(name in names, "observation", f"one of {names}", name)
    arguments.check(
        options is None or isinstance(options, dict),
        "observation_options",
        "a dict of the observation model's options, or None",
        options,
    )
    options = dict(options or {})
    repeated = sorted(set(options) & set(settings))
    arguments.check(
        not repeated,
        "observation_options",
        f"no option the model's own arguments set ({', '.join(repeated)})",
        options,
    )
    taken = observation_models.option_names(name)
    options.update({key: value for key, value in settings.items() if key in taken})
    return observation_models.get(name, num_channels, **options)


def add_log_scale(model, observation):
    """The variable `log_scale` that `observation.distribution` needs when
    the observation model has a learnable scale, added to `model` (trainable,
    initialized to the observation's `initial_log_scale`); else None."""
    if not observation.learnable_scale:
        return None
    return model.add_weight(
        name="log_scale",
        shape=(),
        initializer=keras.initializers.Constant(observation.initial_log_scale),
    )


def _multi_worker(strategy):
    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    )


class FiniteStepMean(keras.metrics.Mean):
    """Mean over the finite steps (weight 1; skipped ones weigh 0), NaN when
    there was none: 0.0 would read like a real loss."""

    def result(self):
        return tf.where(self.count > 0, super().result(), math.nan)


class VariationalModel(keras.Model):
    """Base class of the VAEs (see module docstring).

    Subclasses set `term_names` (the metrics, "loss" first) and implement
    `compute_terms(images, training)`.
    """

    term_names = ("loss",)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._trackers = {name: FiniteStepMean(name=name) for name in self.term_names}
        self._nonfinite_batches = keras.metrics.Sum(name="nonfinite_batches")
        self.skipped_steps = self.add_weight(
            name="skipped_steps",
            shape=(),
            dtype="int64",
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
        )
        self.consecutive_skipped_steps = self.add_weight(
            name="consecutive_skipped_steps",
            shape=(),
            dtype="int64",
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
        )

    def compute_terms(self, images, training=False):
        raise NotImplementedError

    def compile(self, optimizer="adam", **kwargs):
        """As keras.Model.compile; the optimizer gets wrapped to skip
        non-finite updates. Losses come from the model, not from `loss`."""
        if kwargs.get("loss") is not None:
            raise ValueError(
                "Received an invalid value for argument `loss`: a "
                f"{type(self).__name__} computes its own objective, got "
                f"{kwargs['loss']!r}."
            )
        super().compile(optimizer=guarded_optimizer(optimizer), **kwargs)

    def make_train_function(self, force=False):
        """As Keras', with the optimizer built first, outside the trace.

        Without a distribution strategy Keras builds the optimizer while
        tracing the first train step, where each slot variable becomes a
        tf.cond and the step is traced twice (a first trace that creates
        variables is retraced): half of a small model's first-step time.
        """
        if self.built and self.optimizer is not None and not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.trainable_variables)
        return super().make_train_function(force=force)

    def compile_from_config(self, config):
        """Recompiles a loaded model (Keras skips overridden compile methods)."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    @property
    def metrics(self):
        return [*self._trackers.values(), self._nonfinite_batches]

    def _update_trackers(self, terms, weight):
        for name, tracker in self._trackers.items():
            value = tf.cast(terms[name], tf.float32)
            tracker.update_state(tf.where(weight > 0, value, 0.0), sample_weight=weight)

    def _results(self, training=True):
        results = {name: tracker.result() for name, tracker in self._trackers.items()}
        if training:
            results["skipped_steps"] = self.skipped_steps
        else:
            results["nonfinite_batches"] = self._nonfinite_batches.result()
        if _multi_worker(tf.distribute.get_strategy()):
            # Keras reduces step outputs across workers along axis 0, which
            # scalars lack: give it one-element vectors (the mean is the same).
            results = {k: tf.reshape(v, [1]) for k, v in results.items()}
        return results

    def train_step(self, data):
        images = images_of(data)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            terms = self.compute_terms(images, training=True)
            loss = terms["loss"]
            scaled = self.optimizer.scale_loss(loss / replicas)
        variables = self.trainable_variables
        grads = tape.gradient(scaled, variables)
        finite = _agreed_across_replicas(_all_finite([loss, *grads]))
        # Skipped when not finite: the optimizer sees NaNs then.
        self.optimizer.apply(_nan_unless(finite, grads), variables)
        skipped = tf.cast(tf.logical_not(finite), tf.int64)
        self.skipped_steps.assign_add(skipped)
        self.consecutive_skipped_steps.assign(
            (self.consecutive_skipped_steps + skipped) * skipped
        )
        self._update_trackers(terms, tf.cast(finite, tf.float32))
        return self._results()

    def test_step(self, data):
        terms = self.compute_terms(images_of(data), training=False)
        finite = _agreed_across_replicas(_all_finite(list(terms.values())))
        self._update_trackers(terms, tf.cast(finite, tf.float32))
        nonfinite = 1.0 - tf.cast(finite, tf.float32)
        self._nonfinite_batches.update_state(nonfinite * _first_replica())
        return self._results(training=False)

    def evaluate(self, *args, **kwargs):
        """As keras.Model.evaluate, with `nonfinite_batches` among the results.

        Batches with a non-finite term are left out of the averages and
        counted (with a warning); when no batch was finite there is no
        number to report, and this raises FloatingPointError.
        """
        results = super().evaluate(*args, **kwargs)
        nonfinite = int(round(float(self._nonfinite_batches.result())))
        # The loss is NaN exactly when no batch was finite (FiniteStepMean).
        if nonfinite and math.isnan(float(self._trackers["loss"].result())):
            raise FloatingPointError(
                f"Evaluation found no finite batch: all {nonfinite} batches "
                "gave a NaN or infinite loss (NaN in the images, images "
                "outside [-1, 1] under XLA, or diverged weights), so there is "
                "no loss to report."
            )
        if nonfinite:
            warnings.warn(
                f"Evaluation left {nonfinite} non-finite batch(es) out of its "
                "averages (see `nonfinite_batches` in the results).",
                RuntimeWarning,
                stacklevel=2,
            )
        return results
