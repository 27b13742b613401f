"""Restore-or-start checkpoints that survive being killed.

Checkpoints (model, optimizer with its EMA slots and step count, and the
model's seed generator, which carries the RNG state) are written by
tf.train.CheckpointManager into `ckpt-N_temp/` and then renamed to
`ckpt-N.index` and `ckpt-N.data-*`, so a process killed while writing
leaves the previous checkpoint as the newest complete one.

Restoring trusts the files, not the `checkpoint` state file: the newest
checkpoint whose index and data files are all present and that restores is
used, newer ones that fail to restore are named in a warning and skipped,
and the state file is rewritten to match. A failed write raises
CheckpointWriteError (never TensorFlow's OutOfRangeError, which Keras
would take for the end of the data) and leaves the previous checkpoints as
they were. The run's configuration is kept beside them (train/runs.py),
so a rerun of the same command resumes and a different run refuses the
directory.
"""

import contextlib
import glob
import json
import os
import re
import shutil
import tempfile

import tensorflow as tf
from absl import logging

from sdn_tf.train import exits

CHECKPOINTS = "checkpoints"
_PREFIX = "ckpt"


class CheckpointWriteError(RuntimeError):
    """A checkpoint could not be written (the previous ones are intact).

    Deliberately not a tf.errors.OpError: Keras `fit` ends an epoch quietly
    on OutOfRangeError, which is how TensorFlow reports a full disk or a
    file-size limit.
    """


class CheckpointsUnreadable(exits.Stop):
    """A run has checkpoints and none of them can be read back (damaged)."""


class CheckpointMismatchError(ValueError):
    """A run's checkpoints are intact, but hold another model or optimizer
    than the one restoring them: the model is wrong, not the files.
    `failures` names each checkpoint and why it did not restore."""

    def __init__(self, message, failures):
        super().__init__(message)
        self.failures = failures


def training_step(model):
    """The run's step: batches trained on, whether their update was applied
    or skipped as non-finite (optimizer iterations + skipped steps).

    Both counters live in the checkpoint, so a resumed run continues it.
    """
    step = int(model.optimizer.iterations.numpy())
    skipped = getattr(model, "skipped_steps", None)
    return step + (int(skipped.numpy()) if skipped is not None else 0)


def complete_checkpoints(directory):
    """[(step, prefix)] of the checkpoints in `directory` whose index and
    every data shard exist, oldest first (whatever the state file says)."""
    found = []
    for index in glob.glob(os.path.join(directory, f"{_PREFIX}-*.index")):
        prefix = index[: -len(".index")]
        match = re.fullmatch(rf"{_PREFIX}-(\d+)", os.path.basename(prefix))
        if not match:
            continue
        shards = glob.glob(glob.escape(prefix) + ".data-*-of-*")
        counts = {re.search(r"-of-(\d+)$", s).group(1) for s in shards}
        if len(counts) == 1 and len(shards) == int(counts.pop()):
            found.append((int(match.group(1)), prefix))
    return sorted(found)


def is_intact(prefix):
    """Whether every tensor of the checkpoint at `prefix` reads back
    (TensorFlow checks each one's checksum as it reads it)."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, ValueError, IndexError, RuntimeError):
        return False
    return True


def remove_temporary_saves(directory):
    """Deletes the `ckpt-N_temp/` directories of saves that never finished
    (a killed process leaves them; at CIFAR scale they are gigabytes), and
    any file of that name, which would make every save of step N fail."""
    for path in glob.glob(os.path.join(directory, f"{_PREFIX}-*_temp")):
        logging.warning(
            "Removing %s, left by a checkpoint save that never ended.", path
        )
        _remove(path)


def _remove(path):
    """Deletes the file or directory tree at `path`, if any."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        with contextlib.suppress(OSError):
            os.remove(path)


def _umask_mode():
    """The mode an ordinary new file gets (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_text_atomically(path, text):
    """Writes `text` to a temporary file beside `path`, then renames it; the
    file gets the mode an ordinary new file would (mkstemp's is 0600, which
    would hide results from teammates on a shared machine)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        os.fchmod(handle, _umask_mode())
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_json_atomically(path, payload):
    """Writes JSON atomically (see `write_text_atomically`)."""
    write_text_atomically(
        path, json.dumps(payload, indent=2, sort_keys=True, default=str)
    )


def write_checkpoint_state(directory, latest, prefixes):
    """Writes the `checkpoint` state file that tf.train.CheckpointManager
    reads (a text-format CheckpointState naming `latest` and `prefixes`,
    relative to `directory`), atomically.

    TensorFlow's own writer for it, tf.compat.v1.train.update_checkpoint_state,
    prints a deprecation notice; this writes the same fields.
    """

    def field(name, prefix):
        relative = os.path.relpath(prefix, directory)
        # Text-format strings take JSON's escapes for quotes and backslashes.
        return f"{name}: {json.dumps(relative, ensure_ascii=False)}\n"

    text = field("model_checkpoint_path", latest) + "".join(
        field("all_model_checkpoint_paths", prefix) for prefix in prefixes
    )
    write_text_atomically(os.path.join(directory, "checkpoint"), text)


def _cause(error):
    """The OS's or TensorFlow's reason, without TensorFlow's op prefix."""
    message = getattr(error, "message", None) or str(error)
    return message.split("}} ")[-1].strip()


class Checkpointer:
    """Restores the newest complete checkpoint of a run or starts it, then saves.

    Checkpoints are numbered by `training_step`. Non-chief workers of a
    multi-worker run restore from the run's directory but write to a
    scratch directory (every worker must take part in saving) and delete it.
    """

    def __init__(self, output_dir, model, max_to_keep=3, chief=True):
        self.run_directory = os.path.join(output_dir, CHECKPOINTS)
        self.directory = self.run_directory
        if not chief:
            self.directory = tempfile.mkdtemp(prefix="sdn_tf_worker_checkpoints_")
        self.chief, self.max_to_keep, self.model = chief, max_to_keep, model
        self.checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
        self.manager = None  # made once the state file agrees with the files

    @property
    def step(self):
        return training_step(self.model)

    @property
    def latest_checkpoint(self):
        return self.manager.latest_checkpoint if self.manager else None

    def _restore_newest(self):
        """Restores the newest checkpoint that restores; returns its prefix.

        Raises:
          CheckpointMismatchError: when there are checkpoints, none
            restores, and every one reads back intact (they hold another
            model or optimizer than this one).
          CheckpointsUnreadable: when there are checkpoints and none
            restores, some of them damaged (the run is not restarted from
            scratch over them).
        """
        found = complete_checkpoints(self.run_directory)
        failures, failed = [], []
        for _, prefix in reversed(found):
            try:
                self.checkpoint.restore(prefix).assert_existing_objects_matched()
            except (tf.errors.OpError, IndexError, ValueError, AssertionError) as e:
                # A truncated data file raises IndexError, a bad index
                # DataLossError: either way an older checkpoint may be intact.
                failures.append(f"{prefix}.index/.data ({_cause(e)})")
                failed.append(prefix)
                logging.warning(
                    "Checkpoint %s cannot be restored (%s); trying an older one.",
                    prefix,
                    _cause(e),
                )
                continue
            return prefix, [p for s, p in found if s <= int(prefix.rsplit("-", 1)[1])]
        if failures and all(is_intact(prefix) for prefix in failed):
            # Moving intact checkpoints away would lose the run for nothing.
            raise CheckpointMismatchError(
                f"The checkpoints in {self.run_directory} are intact, but none "
                "fits the model and optimizer being restored: "
                + "; ".join(failures)
                + ". The model was built with other settings than the run's.",
                failures,
            )
        if failures:
            raise CheckpointsUnreadable(
                f"None of the checkpoints in {self.run_directory} can be restored: "
                + "; ".join(failures)
                + ". Move them away to start the run anew, or restore an intact copy."
            )
        return None, []

    def restore_or_start(self, repair=False):
        """Restores the newest complete checkpoint; returns its step (0 when
        starting).

        Args:
          repair: also delete unfinished saves and make the state file list
            the checkpoints that restore. Only for the process that holds
            the run's lock (another may be saving right now).
        """
        if repair:
            remove_temporary_saves(self.run_directory)
        latest, kept = self._restore_newest()
        state = tf.train.get_checkpoint_state(self.run_directory)
        if (
            repair
            and latest
            and (state is None or list(state.all_model_checkpoint_paths) != kept)
        ):
            # The state file is missing or names a checkpoint that failed to
            # restore: make it list what is on disk and restorable, so the
            # manager numbers and deletes checkpoints from there.
            write_checkpoint_state(self.run_directory, latest, kept)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self.directory, max_to_keep=self.max_to_keep
        )
        if latest is None:
            logging.info("No checkpoint in %s: starting a new run.", self.directory)
            return 0
        logging.info("Restored %s: resuming at step %d.", latest, self.step)
        return self.step

    def save(self):
        """Saves checkpoint number `step` (once per step); returns its path.

        Raises:
          CheckpointWriteError: when the files cannot be written (disk
            full, file-size limit, permissions); the partial save is
            removed and the previous checkpoints stay as they were.
        """
        if self.manager is None:
            raise RuntimeError("Call restore_or_start() before save().")
        step = self.step
        latest = self.manager.latest_checkpoint
        if latest and latest.endswith(f"-{step}"):
            return latest
        prefix = os.path.join(self.directory, f"{_PREFIX}-{step}")
        try:
            path = self.manager.save(checkpoint_number=step)
        except (tf.errors.OpError, OSError) as error:
            _remove(prefix + "_temp")
            raise CheckpointWriteError(
                f"Could not write checkpoint {prefix} at step {step}: "
                f"{_cause(error)}. The newest complete checkpoint is still "
                f"{latest or 'none'}; free space or lift the limit and rerun "
                "the command to resume from it."
            ) from error
        if not self.chief:
            shutil.rmtree(self.directory, ignore_errors=True)
        return path
