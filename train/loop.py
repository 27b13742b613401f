"""The training loop both commands share: restore-or-start, then model.fit.

    result = loop.train(settings, strategy, build_model, make_dataset, record, ...)

A step is one batch trained on: its update applied, or skipped because its
loss or gradient was not finite (mixed_float16's dynamic loss scaling skips
a few early steps by design). `--steps`, checkpoint numbers
(`ckpt-<step>`), the stop, TensorBoard's step axis, the skipped-step
messages and resuming all count these (checkpoints.training_step: the
optimizer's iterations plus the skipped steps). The learning-rate schedule
and EMA follow the optimizer's iterations, i.e. applied updates only.

1. Takes the output directory's lock (one training process per directory)
   and refuses a directory that holds a different run's checkpoints.
2. Builds the model in the strategy's scope, restores the newest complete
   checkpoint or starts at step 0 (and logs which), and records
   run_config.json.
3. Runs `fit` until step `settings.steps`, with one progress bar over the
   run's steps (callbacks.Progress; `settings.verbose` 0 turns it off),
   periodic checkpoints (the last one at the final step), TensorBoard
   summaries and the non-finite guard. A finished run trains nothing and
   says so.
4. Raises TrainingStopped when the run did not reach its last step with a
   checkpoint there: non-finite steps kept coming (no save: the last
   checkpoint is the last good state), a checkpoint could not be written,
   fit ended early for another reason, or no step ever applied an update.
   On Ctrl-C or SIGTERM it saves the current step and raises
   TrainingInterrupted.
"""

import contextlib
import dataclasses
import math
import os
import signal
import tempfile

import keras
import tensorflow as tf
from absl import logging

from sdn_tf.models import vae
from sdn_tf.train import callbacks as callbacks_lib
from sdn_tf.train import checkpoints, exits, run_lock, runs, runtime


class TrainingStopped(exits.Stop):
    """Training ended before its last step (the message says why and which
    checkpoint holds the last good state). Commands exit with `exit_code`."""

    exit_code = 1


class TrainingInterrupted(TrainingStopped):
    """Training was stopped by Ctrl-C (SIGINT, exit code 130) or SIGTERM
    (143) after a checkpoint was saved."""

    resumes = True

    def __init__(self, message, exit_code=130):
        super().__init__(message)
        self.exit_code = exit_code


def check_output_dir(output_dir):
    """Creates `output_dir` if needed; raises ValueError unless it is a
    directory this process can write to, whose checkpoints/ (when there is
    one) is a directory (before any model is built)."""

    def refuse(why):
        raise ValueError(
            "Received an invalid value for argument `output_dir`, expected a "
            f"writable directory, got {output_dir!r} ({why})."
        )

    if not output_dir:
        raise ValueError(
            "Received an invalid value for argument `output_dir`, expected a "
            f"writable directory, got {output_dir!r}."
        )
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        refuse("a file")
    if os.path.lexists(output_dir) and not os.path.exists(output_dir):
        # makedirs would say "File exists" of a link that leads nowhere.
        refuse(f"a symbolic link that leads to no directory: {_stat_error(output_dir)}")
    try:
        os.makedirs(output_dir, exist_ok=True)
        # A real write of a byte: permission bits say little (root, read-only
        # mounts), and a full disk still takes an empty file.
        with tempfile.TemporaryFile(dir=output_dir, buffering=0) as probe:
            probe.write(b"\0")
    except OSError as error:
        refuse(error.strerror or error)
    directory = os.path.join(output_dir, checkpoints.CHECKPOINTS)
    if os.path.exists(directory) and not os.path.isdir(directory):
        refuse(
            f"its {checkpoints.CHECKPOINTS} is a file, where the run keeps its "
            "checkpoint directory; move the file away"
        )


def _stat_error(path):
    try:
        os.stat(path)
    except OSError as error:
        return error.strerror or str(error)
    return "it resolves"


@dataclasses.dataclass
class Result:
    model: keras.Model
    strategy: tf.distribute.Strategy
    start_step: int
    step: int
    history: dict


def console_for(strategy):
    """The run's callbacks.Console: it prints on the chief only (the other
    workers of a multi-worker run stay quiet)."""
    return callbacks_lib.Console(enabled=runtime.is_chief(strategy))


def prepare(settings):
    """Checks `settings` (a train.config.Run) and the output directory, sets
    the precision and returns the strategy (before any model exists)."""
    settings.validate()
    check_output_dir(settings.output_dir)
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
    record,
    extra_callbacks=(),
    image_fn=None,
    scalar_fn=None,
    console=None,
):
    """Trains (or resumes) a run; returns a Result.

    Args:
      settings: a train.config.Run.
      strategy: from `prepare`.
      build_model: () -> compiled keras Model, called in the strategy scope.
      make_dataset: (global_batch, seed) -> repeating tf.data.Dataset.
      record: what the run records in run_config.json (runs.describe): its
        command, config and identity, checked against the output
        directory's run_config.json; the built model and optimizer are
        added to it.
      extra_callbacks: more Keras callbacks (subclass
        callbacks.CountsSteps to count the run's steps across resumes).
      image_fn: model -> {name: images} for image summaries.
      scalar_fn: model -> {name: value} extra scalars at each log step.
      console: a callbacks.Console for the model line and the progress bar
        (default: one that prints on the chief only).

    Raises:
      exits.Refusal (a ValueError): for an output directory of another run
        or a model the config cannot build, before any step.
      run_lock.RunLockedError: when another process trains in output_dir.
      TrainingStopped: when the run did not reach its last step with a
        checkpoint there (see the module docstring).
      TrainingInterrupted: on Ctrl-C, after saving the current step.
    """
    chief = runtime.is_chief(strategy)
    console = console or console_for(strategy)
    with contextlib.ExitStack() as stack:
        # What the directory holds and what the config builds is checked
        # before any step: a refusal there is one line (exits.Refusal).
        with exits.refusing():
            if chief:  # only the chief writes the run's directory: it locks it
                stack.enter_context(run_lock.RunLock(settings.output_dir))
                runs.check(settings.output_dir, record)
            with strategy.scope():
                model = build_model()
                model.build()
                model.optimizer.build(model.trainable_variables)
            checkpointer = checkpoints.Checkpointer(
                settings.output_dir, model, settings.keep_checkpoints, chief
            )
            start = checkpointer.restore_or_start(repair=chief)  # chief: locked
        if chief:
            runs.write(settings.output_dir, runs.with_model(record, model))
        history = {}
        remaining = settings.steps - start
        model_line = (
            f"Model: {type(model).__name__}, {model.count_params():,} parameters."
        )
        if remaining <= 0:
            console.say(
                f"{model_line} The run is complete: it has {start} of "
                f"{settings.steps} steps, so nothing is trained."
            )
            _check_trained(model, checkpointer, settings)
            return Result(model, strategy, start, start, history)
        if start:
            console.say(f"{model_line} Resuming at step {start} of {settings.steps}.")
        else:
            console.say(f"{model_line} A new run of {settings.steps} steps.")
        global_batch = settings.batch_size
        # A resumed run draws a fresh data order rather than replaying the first.
        dataset = make_dataset(global_batch, settings.seed + start)
        # The models train on images only. Feeding the tensor rather than the
        # pipeline's dict also avoids Keras reducing a dict of per-replica
        # values before fit under MultiWorkerMirroredStrategy, which fails.
        dataset = runtime.shard_by_data(dataset.map(vae.images_of))
        guard = callbacks_lib.StopOnNonFinite(settings.max_consecutive_skips)
        interrupt = callbacks_lib.StopOnInterrupt()
        log_dir = (
            os.path.join(settings.output_dir, "logs")
            if chief
            else tempfile.mkdtemp(prefix="sdn_tf_worker_logs_")
        )
        callbacks = [
            interrupt,
            callbacks_lib.StopAtStep(settings.steps),
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
                scalar_fn=scalar_fn,
            ),
            *extra_callbacks,
        ]
        if settings.verbose not in (0, "0"):
            callbacks.append(
                callbacks_lib.Progress(console, settings.steps, settings.verbose)
            )
        epochs = math.ceil(remaining / settings.epoch_steps)
        try:
            fit = model.fit(
                dataset,
                epochs=epochs,
                steps_per_epoch=min(settings.epoch_steps, remaining),
                callbacks=callbacks,
                verbose=0,  # the bar is callbacks.Progress, over the whole run
                shuffle=False,  # the pipeline shuffles
            )
        except checkpoints.CheckpointWriteError as error:
            raise TrainingStopped(str(error)) from error
        finally:
            interrupt.uninstall()
        history = fit.history
        if guard.failure:
            raise TrainingStopped(guard.failure)
        step = checkpointer.step
        if interrupt.interrupted:
            path = checkpointer.save()
            how = "Interrupted" if interrupt.signal == signal.SIGINT else "Terminated"
            raise TrainingInterrupted(
                f"{how} at step {step} of {settings.steps}; saved {path}.",
                exit_code=interrupt.exit_code,
            )
        if step < settings.steps:
            # Keras ends fit quietly on OutOfRangeError or StopIteration from
            # the data or any callback: that is not the end of this run.
            raise TrainingStopped(
                f"Training ended at step {step} of {settings.steps}: Keras fit "
                "stopped early (the data ran out, or a callback raised "
                "OutOfRangeError); the newest checkpoint is "
                f"{checkpointer.latest_checkpoint or 'none'}."
            )
        _check_trained(model, checkpointer, settings)
        return Result(model, strategy, start, step, history)


def _check_trained(model, checkpointer, settings):
    """Raises TrainingStopped unless the run holds a usable final state."""
    step = checkpointer.step
    if int(model.optimizer.iterations.numpy()) == 0:
        raise TrainingStopped(
            f"Training reached step {step} without applying a single update: "
            "every step had a non-finite loss or gradient, so the model is "
            "untrained. Check the data and the learning rate."
        )
    if not all(
        bool(tf.reduce_all(tf.math.is_finite(v))) for v in model.trainable_variables
    ):
        raise TrainingStopped(
            f"The weights at step {step} are not finite; the run diverged."
        )
    latest = checkpointer.latest_checkpoint
    if checkpointer.chief and not (latest and latest.endswith(f"-{step}")):
        raise TrainingStopped(
            f"Training ended at step {step} of {settings.steps} with no checkpoint "
            f"of that step in {checkpointer.directory}."
        )
