"""Callbacks of the training loop: checkpoints, stopping, summaries."""

import contextlib
import signal
import threading
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from train import checkpoints


def _uses_ema(model):
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    return bool(getattr(optimizer, "use_ema", False))


@contextlib.contextmanager
def ema_weights(model):
    """Swaps the optimizer's EMA weights into `model` for the block.

    A no-op when the optimizer keeps no EMA. Uses Keras' own
    SwapEMAWeights, through the hooks it runs around evaluation.
    """
    if not _uses_ema(model) or not model.optimizer.built:
        yield model
        return
    swap = keras.callbacks.SwapEMAWeights()
    swap.set_model(model)
    swap.on_test_begin()
    try:
        yield model
    finally:
        swap.on_test_end()


class CountsSteps(keras.callbacks.Callback):
    """Keeps `self.step`, the run's step (checkpoints.training_step), in
    Python: read from the model once when `fit` starts, then one per batch,
    since every batch is one step whether its update was applied or skipped.
    Subclasses call this class's on_train_batch_end first."""

    step = 0

    def on_train_begin(self, logs=None):
        self.step = checkpoints.training_step(self.model)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1


class PeriodicCheckpoint(CountsSteps):
    """Saves a checkpoint every `every` steps and at the last one.

    A failed save raises checkpoints.CheckpointWriteError, which ends `fit`
    (unlike the OutOfRangeError TensorFlow raised, which Keras takes for
    the end of the data).
    """

    def __init__(self, checkpointer, every, total_steps):
        super().__init__()
        self.checkpointer, self.every, self.total_steps = (
            checkpointer,
            every,
            total_steps,
        )

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        step = self.step
        if step > 0 and (step % self.every == 0 or step >= self.total_steps):
            self.checkpointer.save()


class StopAtStep(CountsSteps):
    """Stops `fit` once the run's step (see checkpoints.training_step)
    reaches `total_steps`."""

    def __init__(self, total_steps):
        super().__init__()
        self.total_steps = total_steps

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self.step >= self.total_steps:
            self.model.stop_training = True


class StopOnNonFinite(CountsSteps):
    """Stops training after `max_consecutive` skipped non-finite steps.

    Every skipped step is logged with the step it happened at; `failure`
    holds the message once training was stopped.
    """

    def __init__(self, max_consecutive):
        super().__init__()
        self.max_consecutive = max_consecutive
        self.failure, self._skipped = None, 0

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        # A resumed run restores the count: only new skips are reported.
        self._skipped = int(self.model.skipped_steps.numpy())

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        step = self.step
        skipped = int(self.model.skipped_steps.numpy())
        if skipped > self._skipped:
            in_a_row = int(self.model.consecutive_skipped_steps.numpy())
            logging.warning(
                "Step %d: non-finite loss or gradient; update skipped "
                "(%d in a row, %d in all).",
                step,
                in_a_row,
                skipped,
            )
            self._skipped = skipped
            if in_a_row >= self.max_consecutive:
                self.failure = (
                    f"Training stopped at step {step}: {in_a_row} consecutive steps "
                    "had a non-finite loss or gradient (max_consecutive_skips="
                    f"{self.max_consecutive}). No update was applied for them; the "
                    "last checkpoint holds the last good state."
                )
                self.model.stop_training = True


class StopOnInterrupt(keras.callbacks.Callback):
    """Turns the first Ctrl-C (SIGINT) during `fit` into a stop after the
    current step; a second one interrupts at once (KeyboardInterrupt).

    `interrupted` tells whether training was stopped this way. The handler
    is installed for the duration of `fit` (main thread only: Python
    delivers signals there) and `uninstall` restores the previous one.
    """

    def __init__(self):
        super().__init__()
        self.interrupted, self._previous = False, None

    def _handle(self, signum, frame):
        if self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True
        logging.warning(
            "Interrupted: stopping after the current step and saving a checkpoint "
            "(Ctrl-C again to stop at once, without saving)."
        )

    def on_train_begin(self, logs=None):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def on_train_batch_end(self, batch, logs=None):
        if self.interrupted:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.uninstall()

    def uninstall(self):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


class Summaries(CountsSteps):
    """TensorBoard scalars every `every` steps, images every `image_every`.

    Scalars: every entry of the step's logs (the model's terms, skipped
    steps), learning rate, beta when the model has one, images per second.
    Images: `image_fn(model)` -> {name: images [N, H, W, C] in [-1, 1]}.
    """

    def __init__(
        self,
        log_dir,
        every,
        batch_size,
        image_fn=None,
        image_every=None,
        scalar_fn=None,
    ):
        super().__init__()
        self.writer = tf.summary.create_file_writer(log_dir)
        self.every, self.batch_size = every, batch_size
        self.image_fn, self.image_every = image_fn, image_every
        self.scalar_fn = scalar_fn

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._last = (time.monotonic(), self.step)  # for images per second

    def _learning_rate(self):
        rate = self.model.optimizer.learning_rate
        if callable(rate):
            rate = rate(self.model.optimizer.iterations)
        return float(np.asarray(rate))

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self.step % self.every == 0:
            now = time.monotonic()
            seconds, steps = now - self._last[0], self.step - self._last[1]
            self._last = (now, self.step)
            with self.writer.as_default(step=self.step):
                for name, value in (logs or {}).items():
                    tf.summary.scalar(f"train/{name}", float(np.asarray(value)))
                tf.summary.scalar("train/learning_rate", self._learning_rate())
                if hasattr(self.model, "beta"):
                    tf.summary.scalar("train/beta", float(self.model.beta.numpy()))
                if seconds > 0:
                    tf.summary.scalar(
                        "train/images_per_second", steps * self.batch_size / seconds
                    )
                for name, value in (
                    self.scalar_fn(self.model) if self.scalar_fn else {}
                ).items():
                    tf.summary.scalar(name, float(value))
        if self.image_fn and self.image_every and self.step % self.image_every == 0:
            self.write_images()

    def write_images(self):
        with self.writer.as_default(step=self.step), ema_weights(self.model):
            for name, images in self.image_fn(self.model).items():
                tf.summary.image(name, (np.asarray(images) + 1.0) / 2.0, max_outputs=16)
        self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.flush()
