"""The training loop both commands share: restore-or-start, then model.fit.

    result = loop.train(settings, build_model, make_dataset, identity, ...)

1. Refuses an output directory that holds a different run's checkpoints.
2. Builds the model in the strategy's scope, restores the newest checkpoint
   or starts at step 0 (and logs which), and records run_config.json.
3. Runs `fit` until `settings.steps` optimizer steps, with the Keras
   progress bar, periodic checkpoints (the last one at the final step),
   TensorBoard summaries and the non-finite guard.
4. Raises TrainingStopped, without saving, when training kept failing: the
   last checkpoint is the last good state.
"""

import dataclasses
import math
import os
import tempfile

import keras
import tensorflow as tf
from absl import logging

from models import vae
from train import callbacks as callbacks_lib
from train import checkpoints, runtime


class TrainingStopped(RuntimeError):
    """Training kept producing non-finite steps and was stopped."""


@dataclasses.dataclass
class Settings:
    """How to run (not what to train).

    Attributes:
      output_dir: checkpoints/, logs/, run_config.json and outputs go here.
      steps: total optimizer steps of the run (a resumed run continues).
      batch_size: the global batch; each of the R replicas gets batch_size / R
        (it must divide evenly).
      checkpoint_every: steps between checkpoints.
      keep_checkpoints: how many to keep.
      log_every: steps between TensorBoard scalar summaries.
      image_every: steps between image summaries (0: none).
      epoch_steps: steps per Keras epoch (the progress bar's unit).
      max_consecutive_skips: consecutive non-finite steps that stop training.
      strategy, precision: names (see runtime).
      seed: seed of data order and initialization.
      verbose: Keras fit verbosity.
    """

    output_dir: str
    steps: int
    batch_size: int
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    log_every: int = 100
    image_every: int = 0
    epoch_steps: int = 1000
    max_consecutive_skips: int = 10
    strategy: str = "auto"
    precision: str = "float32"
    seed: int = 0
    verbose: str = "auto"

    def validate(self):
        for name in (
            "steps",
            "batch_size",
            "checkpoint_every",
            "keep_checkpoints",
            "log_every",
            "epoch_steps",
            "max_consecutive_skips",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"Received an invalid value for argument `{name}`, expected a "
                    f"positive integer, got {value!r}."
                )
        if not isinstance(self.image_every, int) or self.image_every < 0:
            raise ValueError(
                "Received an invalid value for argument `image_every`, expected a "
                f"non-negative integer, got {self.image_every!r}."
            )
        if not self.output_dir:
            raise ValueError(
                "Received an invalid value for argument `output_dir`: empty."
            )


@dataclasses.dataclass
class Result:
    model: keras.Model
    strategy: tf.distribute.Strategy
    start_step: int
    step: int
    history: dict


def prepare(settings):
    """Sets the precision and returns the strategy (before any model exists)."""
    settings.validate()
    runtime.set_precision(settings.precision)
    strategy = runtime.make_strategy(settings.strategy)
    replicas = strategy.num_replicas_in_sync
    if settings.batch_size % replicas:
        raise ValueError(
            f"Received an invalid value for argument `batch_size`: the global batch "
            f"{settings.batch_size} does not divide evenly over {replicas} replicas."
        )
    logging.info(
        "Strategy %s with %d replicas; precision %s; global batch %d (%d per replica).",
        type(strategy).__name__,
        replicas,
        settings.precision,
        settings.batch_size,
        settings.batch_size // replicas,
    )
    return strategy


def train(
    settings,
    strategy,
    build_model,
    make_dataset,
    identity,
    extra_callbacks=(),
    image_fn=None,
    scalar_fn=None,
):
    """Trains (or resumes) a run; returns a Result.

    Args:
      settings: Settings.
      strategy: from `prepare`.
      build_model: () -> compiled keras Model, called in the strategy scope.
      make_dataset: (global_batch, seed) -> repeating tf.data.Dataset.
      identity: dict of the settings that define the run (checked against
        the output directory's run_config.json).
      extra_callbacks: more Keras callbacks (given the start step via
        `start_step` attribute when they have one).
      image_fn: model -> {name: images} for image summaries.
      scalar_fn: model -> {name: value} extra scalars at each log step.

    Raises:
      ValueError: for an output directory of another run.
      TrainingStopped: when non-finite steps kept coming.
    """
    chief = runtime.is_chief(strategy)
    if chief:
        checkpoints.check_run_config(settings.output_dir, identity)
    with strategy.scope():
        model = build_model()
        model.build()
        model.optimizer.build(model.trainable_variables)
    checkpointer = checkpoints.Checkpointer(
        settings.output_dir, model, settings.keep_checkpoints, chief
    )
    start = checkpointer.restore_or_start()
    if chief:
        checkpoints.write_json_atomically(
            os.path.join(settings.output_dir, checkpoints.RUN_CONFIG), identity
        )
    history = {}
    remaining = settings.steps - start
    if remaining <= 0:
        logging.info("The run already has %d of %d steps.", start, settings.steps)
        return Result(model, strategy, start, start, history)
    global_batch = settings.batch_size
    # A resumed run draws a fresh data order rather than replaying the first.
    dataset = make_dataset(global_batch, settings.seed + start)
    # The models train on images only. Feeding the tensor rather than the
    # pipeline's dict also avoids Keras reducing a dict of per-replica
    # values before fit under MultiWorkerMirroredStrategy, which fails.
    dataset = runtime.shard_by_data(dataset.map(vae.images_of))
    guard = callbacks_lib.StopOnNonFinite(settings.max_consecutive_skips, start)
    log_dir = (
        os.path.join(settings.output_dir, "logs")
        if chief
        else tempfile.mkdtemp(prefix="sdn_tf_worker_logs_")
    )
    callbacks = [
        callbacks_lib.StopAtStep(start, settings.steps),
        guard,
        callbacks_lib.PeriodicCheckpoint(
            checkpointer, settings.checkpoint_every, settings.steps
        ),
        callbacks_lib.Summaries(
            log_dir,
            settings.log_every,
            global_batch,
            image_fn=image_fn,
            image_every=settings.image_every,
            start_step=start,
            scalar_fn=scalar_fn,
        ),
        *extra_callbacks,
    ]
    epochs = math.ceil(remaining / settings.epoch_steps)
    fit = model.fit(
        dataset,
        epochs=epochs,
        steps_per_epoch=min(settings.epoch_steps, remaining),
        callbacks=callbacks,
        verbose=settings.verbose,
        shuffle=False,  # the pipeline shuffles
    )
    history = fit.history
    if guard.failure:
        raise TrainingStopped(guard.failure)
    return Result(model, strategy, start, checkpointer.step, history)
