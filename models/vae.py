"""What the project's VAEs share: the training step around their objective.

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
  * every skipped step is counted (`skipped_steps`, and
    `consecutive_skipped_steps` which a finite step resets), agreed across
    replicas, so a callback can stop training that keeps failing;
  * metrics only average finite steps.
"""

import keras
import tensorflow as tf


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
    # A fixed scale of 1: growth never triggers (a non-finite step halves it,
    # which is exact in float32 and undone by the unscaling).
    return keras.optimizers.LossScaleOptimizer(
        optimizer, initial_scale=1.0, dynamic_growth_steps=2**31 - 1
    )


def _all_finite(loss, grads):
    checks = [tf.reduce_all(tf.math.is_finite(loss))]
    checks += [tf.reduce_all(tf.math.is_finite(g)) for g in grads if g is not None]
    return tf.reduce_all(tf.stack(checks))


def check_argument(condition, name, expected, got):
    """Raises the project's ValueError for argument `name` unless condition."""
    if not condition:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected "
            f"{expected}, got {got!r}."
        )


def _multi_worker(strategy):
    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    )


class VariationalModel(keras.Model):
    """Base class of the VAEs (see module docstring).

    Subclasses set `term_names` (the metrics, "loss" first) and implement
    `compute_terms(images, training)`.
    """

    term_names = ("loss",)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._trackers = {
            name: keras.metrics.Mean(name=name) for name in self.term_names
        }
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

    def compile_from_config(self, config):
        """Recompiles a loaded model (Keras skips overridden compile methods)."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    @property
    def metrics(self):
        return list(self._trackers.values())

    def _update_trackers(self, terms, weight):
        for name, tracker in self._trackers.items():
            value = tf.cast(terms[name], tf.float32)
            tracker.update_state(tf.where(weight > 0, value, 0.0), sample_weight=weight)

    def _results(self, with_skipped=True):
        results = {name: tracker.result() for name, tracker in self._trackers.items()}
        if with_skipped:
            results["skipped_steps"] = self.skipped_steps
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
        finite = _all_finite(loss, grads)
        context = tf.distribute.get_replica_context()
        if context is not None and replicas > 1:
            # One replica's bad batch makes the summed gradient non-finite.
            bad = context.all_reduce("SUM", 1 - tf.cast(finite, tf.int32))
            finite = tf.equal(bad, 0)
        self.optimizer.apply(grads, variables)  # skipped when not finite
        skipped = tf.cast(tf.logical_not(finite), tf.int64)
        self.skipped_steps.assign_add(skipped)
        self.consecutive_skipped_steps.assign(
            (self.consecutive_skipped_steps + skipped) * skipped
        )
        self._update_trackers(terms, tf.cast(finite, tf.float32))
        return self._results()

    def test_step(self, data):
        terms = self.compute_terms(images_of(data), training=False)
        finite = tf.reduce_all(
            tf.stack(
                [
                    tf.reduce_all(tf.math.is_finite(tf.cast(v, tf.float32)))
                    for v in terms.values()
                ]
            )
        )
        self._update_trackers(terms, tf.cast(finite, tf.float32))
        return self._results(with_skipped=False)
