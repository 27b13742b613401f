"""Restore-or-start checkpoints that survive being killed.

Checkpoints (model, optimizer with its EMA slots and step count, and the
model's seed generator, which carries the RNG state) are written by
tf.train.CheckpointManager: the data files of checkpoint N are complete
before the `checkpoint` index names them, so a process killed while writing
leaves the previous checkpoint as the newest valid one. The run's
configuration is kept beside them in run_config.json (written atomically),
so a rerun of the same command resumes and a different run refuses the
directory.
"""

import json
import os
import shutil
import tempfile

import tensorflow as tf
from absl import logging

RUN_CONFIG = "run_config.json"


def write_json_atomically(path, payload):
    """Writes JSON to a temporary file beside `path`, then renames it."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2, sort_keys=True, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def read_run_config(output_dir):
    """The identity a training command recorded in output_dir."""
    path = os.path.join(output_dir, RUN_CONFIG)
    if not os.path.exists(path):
        raise ValueError(
            "Received an invalid value for argument `output_dir`: no "
            f"{RUN_CONFIG} in {output_dir}; it is not a training run's directory."
        )
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def check_run_config(output_dir, identity):
    """Refuses an output directory that holds a different run's checkpoints.

    Args:
      output_dir: the run's directory.
      identity: the settings that define the run (the model, data and
        objective); settings that may change on resume (steps, logging)
        belong elsewhere.

    Raises:
      ValueError: when output_dir has checkpoints of another run, or
        checkpoints without a run_config.json.
    """
    path = os.path.join(output_dir, RUN_CONFIG)
    has_checkpoints = tf.train.latest_checkpoint(
        os.path.join(output_dir, "checkpoints")
    )
    if not os.path.exists(path):
        if has_checkpoints:
            raise ValueError(
                f"Received an invalid value for argument `output_dir`: {output_dir} "
                f"holds checkpoints but no {RUN_CONFIG}, so they belong to another "
                "run; choose a new output directory."
            )
        return
    with open(path, encoding="utf-8") as f:
        previous = json.load(f)
    current = json.loads(json.dumps(identity, default=str))
    differences = {
        k: (previous.get(k), current.get(k))
        for k in sorted(set(previous) | set(current))
        if previous.get(k) != current.get(k)
    }
    if differences and has_checkpoints:
        listed = "; ".join(
            f"{k}: {old!r} -> {new!r}" for k, (old, new) in differences.items()
        )
        raise ValueError(
            f"Received an invalid value for argument `output_dir`: {output_dir} "
            f"holds checkpoints of a different run ({listed}). Use a new output "
            "directory, or rerun with the original settings to resume."
        )


class Checkpointer:
    """Restores the newest checkpoint of a run or starts it, then saves.

    Non-chief workers of a multi-worker run write to a scratch directory
    (every worker must take part in saving) and delete it.
    """

    def __init__(self, output_dir, model, max_to_keep=3, chief=True):
        self.directory = os.path.join(output_dir, "checkpoints")
        if not chief:
            self.directory = tempfile.mkdtemp(prefix="sdn_tf_worker_checkpoints_")
        self.chief = chief
        self.checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self.directory, max_to_keep=max_to_keep
        )
        self.model = model

    @property
    def step(self):
        return int(self.model.optimizer.iterations.numpy())

    def restore_or_start(self):
        """Restores the newest checkpoint; returns its step (0 when starting)."""
        latest = self.manager.latest_checkpoint
        if latest is None:
            logging.info("No checkpoint in %s: starting a new run.", self.directory)
            return 0
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        logging.info("Restored %s: resuming at step %d.", latest, self.step)
        return self.step

    def save(self):
        """Saves checkpoint number `step` (once per step); returns its path."""
        step = self.step
        if self.manager.latest_checkpoint and self.manager.latest_checkpoint.endswith(
            f"-{step}"
        ):
            return self.manager.latest_checkpoint
        path = self.manager.save(checkpoint_number=step)
        if not self.chief:
            shutil.rmtree(self.directory, ignore_errors=True)
        return path
