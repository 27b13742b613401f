"""Callbacks of the training loop (checkpoints, stopping, summaries) and
the console of the commands: a few lines and one progress bar on stdout,
logs on stderr only as --verbosity asks.

TensorFlow has loaded (quietly, in a command: train/startup.py) by the time
this module runs: it is sdn_tf.train.callbacks, and sdn_tf/__init__.py
loads Keras.
"""

import contextlib
import os
import signal
import sys
import threading
import time

import keras
import numpy as np
import tensorflow as tf
from absl import flags, logging

from sdn_tf.train import checkpoints


def quiet_logs(flag_values=flags.FLAGS):
    """Keeps the commands' logs at WARNING unless --verbosity is given.

    absl.app.run raises the level to INFO when --verbosity is not given, and
    TFDS, absl and TensorFlow log pages at INFO; a command calls this first
    thing in main(). --verbosity=0 shows the INFO logs, 1 the debug ones.
    """
    if not flag_values["verbosity"].present:
        logging.set_verbosity(logging.WARNING)


# --- Callbacks ------------------------------------------------------------------


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


def _stop_at_once(signum):
    """Ends the process now, for a second stop signal (exit 128 + signum)."""
    sys.stderr.write("Stopped at once, without saving a checkpoint.\n")
    sys.stderr.flush()
    os._exit(128 + int(signum))


class StopOnInterrupt(keras.callbacks.Callback):
    """Turns the first Ctrl-C (SIGINT) or SIGTERM (what kill, Docker, Slurm
    and systemd send) during `fit` into a stop after the current step; a
    second one of either ends the process at once, without saving.

    `interrupted` tells whether training was stopped this way, `signal` by
    which signal (its `exit_code` is the shell's 128 + its number). Python
    runs a signal handler only between bytecodes, so two signals during one
    long TensorFlow step would reach it as one: the process also counts
    every delivery through `signal.set_wakeup_fd`, on a thread of its own,
    and ends itself on the second. The handlers are installed for the
    duration of `fit` (main thread only: Python delivers signals there) and
    `uninstall` restores the previous ones.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        super().__init__()
        self.interrupted, self.signal = False, None
        self._previous, self._previous_wakeup, self._wakeup = {}, None, None

    @property
    def exit_code(self):
        return 128 + int(self.signal or signal.SIGINT)

    def _handle(self, signum, frame):
        if self.interrupted:
            _stop_at_once(signum)
        self.interrupted, self.signal = True, signal.Signals(signum)
        logging.warning(
            "%s: stopping after the current step and saving a checkpoint "
            "(Ctrl-C again to stop at once, without saving).",
            "Interrupted" if signum == signal.SIGINT else "Terminated",
        )

    def _count_deliveries(self, read_end):
        """Ends the process on the second signal delivered (see class doc)."""
        seen = 0
        while True:
            try:
                data = os.read(read_end, 64)
            except OSError:
                return
            if not data:  # uninstalled
                os.close(read_end)
                return
            seen += len(data)
            if seen >= 2:
                _stop_at_once(data[-1])

    def on_train_begin(self, logs=None):
        if threading.current_thread() is not threading.main_thread():
            return
        for number in self.SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        self._wakeup = write_end
        self._previous_wakeup = signal.set_wakeup_fd(
            write_end, warn_on_full_buffer=False
        )
        threading.Thread(
            target=self._count_deliveries, args=(read_end,), daemon=True
        ).start()

    def on_train_batch_end(self, batch, logs=None):
        if self.interrupted:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.uninstall()

    def uninstall(self):
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous = {}
        if self._wakeup is not None:
            signal.set_wakeup_fd(self._previous_wakeup)
            os.close(self._wakeup)  # the counting thread reads the end
            self._wakeup = None


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


# --- The console ---------------------------------------------------------------


class Console:
    """What a run prints on stdout: a few lines (what it trains, on what,
    where outputs go, each long phase as it starts, the result) and one
    progress bar (see Progress). Logs go to stderr (absl, --verbosity).

    Args:
      enabled: False makes every method a no-op: the workers of a
        multi-worker run other than the chief stay quiet.
      stream: where to print (default: sys.stdout as it is now, so that
        what the run prints stays there while a library's prints are
        redirected).
    """

    def __init__(self, enabled=True, stream=None):
        self.enabled, self.stream = enabled, stream or sys.stdout
        self._bar_open = False  # a bar is drawn on the current line

    def is_terminal(self):
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def say(self, text):
        """Prints `text` on a line of its own (below a bar being drawn)."""
        if self.enabled:
            self.end_bar()
            self.stream.write(f"{text}\n")
            self.stream.flush()

    def draw(self, text):
        """Redraws the bar's line in place (a terminal only)."""
        if self.enabled:
            self.stream.write(f"\r{text}\x1b[K")  # \x1b[K: clear the line's rest
            self.stream.flush()
            self._bar_open = True

    def end_bar(self):
        """Ends the bar's line, so that what follows starts on a new one."""
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False


class Progress(CountsSteps):
    """One progress bar over the run's steps, from the step it starts (or
    resumes) at to `total_steps`, with the running means of the loss and,
    where the model has them, bits/dim and KL (Keras' own bar, which restarts
    every epoch, stays off: fit runs with verbose=0).

    On a terminal the bar is redrawn in place (at most 10 times a second);
    otherwise, and with verbose=2, it is printed as a line after the first
    step (which traces the model), at every tenth of the run and at least
    every `every_seconds`, so that a log file gets a few lines, not one per
    step.
    """

    NAMES = ("loss", "bpd", "kl")
    every_seconds = 300

    def __init__(self, console, total_steps, verbose="auto", width=24):
        super().__init__()
        self.console, self.total_steps, self.width = console, total_steps, width
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._in_place = self.verbose != 2 and self.console.is_terminal()
        self._first_step, self._started = self.step, time.monotonic()
        self._after_first = None  # the first step traces: timed apart
        self._drawn, self._line = self._started, None
        if self._in_place:  # the first step (tracing) may take minutes
            self.console.draw(self._format({}, self._started, 0))

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        now, done = time.monotonic(), self.step - self._first_step
        if done == 1:
            self._after_first = now
        last = self.step >= self.total_steps
        self._line = self._format(logs or {}, now, done)
        if self._in_place:
            if last or now - self._drawn >= 0.1:
                self.console.draw(self._line)
                self._drawn = now
        else:
            tenth = max(1, self.total_steps // 10)
            if (
                last
                or done == 1
                or self.step % tenth == 0
                or now - self._drawn >= self.every_seconds
            ):
                self.console.say(self._line)
                self._line, self._drawn = None, now  # printed

    def on_train_end(self, logs=None):
        if self._in_place:
            if self._line:
                self.console.draw(self._line)  # the last state, however recent
            self.console.end_bar()
        elif self._line:  # stopped between two printed lines
            self.console.say(self._line)

    def _format(self, logs, now, done):
        total = self.total_steps
        filled = int(self.width * min(self.step, total) / total)
        digits = len(str(total))
        text = (
            f"Step {self.step:{digits}d}/{total} "
            f"[{'#' * filled}{'.' * (self.width - filled)}] "
            f"{100 * self.step / total:3.0f}%"
        )
        if done > 1 and self._after_first is not None:
            per_step = (now - self._after_first) / (done - 1)
            text += f" {per_step:.2f} s/step"
            if self.step < total:
                text += f", {_duration(per_step * (total - self.step))} left"
            else:
                text += f", {_duration(now - self._started)} in all"
        else:
            text += f" {_duration(now - self._started)}"
        for name in self.NAMES:
            if name in logs:
                text += f" - {name} {float(np.mean(logs[name])):.4f}"
        skipped = int(np.max(logs.get("skipped_steps", 0)))
        if skipped:
            text += f" - skipped {skipped}"
        return text


def _duration(seconds):
    """3s, 4m05s, 2h07m."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
