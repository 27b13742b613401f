"""What the training commands share: settings from presets, common flags.

A command's settings are one flat dict: its DEFAULTS, then a named preset,
then the flags given on the command line (a flag left unset keeps the
preset's value).
"""

import os
import shlex
import sys

from absl import flags

from sdn_tf import arguments
from train import checkpoints, loop, run_lock, runtime
from train import export as export_lib

FLAGS = flags.FLAGS

# Flags of every training command, and the loop.Settings they feed.
COMMON_FLAG_KEYS = (
    "output_dir",
    "dataset",
    "data_dir",
    "batch_size",
    "learning_rate",
    "steps",
    "seed",
    "checkpoint_every",
    "keep_checkpoints",
    "log_every",
    "image_every",
    "strategy",
    "precision",
    "max_consecutive_skips",
    "export",
)
RUN_DEFAULTS = dict(
    data_dir=None,
    seed=0,
    output_dir=None,
    checkpoint_every=500,
    keep_checkpoints=3,
    log_every=50,
    image_every=500,
    epoch_steps=500,
    strategy="auto",
    precision="float32",
    max_consecutive_skips=10,
    export=False,
    verbose="auto",
)


def make_config(presets, defaults, preset, overrides, preset_argument="preset"):
    """defaults, then presets[preset], then overrides; unknown names raise."""
    if preset not in presets:
        raise ValueError(
            f"Received an invalid value for argument `{preset_argument}`, expected "
            f"one of {tuple(presets)}, got {preset!r}."
        )
    unknown = set(overrides) - set(defaults)
    if unknown:
        raise ValueError(f"Received unknown settings {sorted(unknown)}.")
    config = dict(defaults, **presets[preset])
    config[preset_argument] = preset
    config.update(overrides)
    # The optimizer is built late (inside the training loop): check its
    # settings now, named as on the command line.
    arguments.positive_number(config["learning_rate"], "learning_rate")
    return config


def settings(config):
    """The loop.Settings of a command's config, validated (output_dir
    required, and a writable directory) before any model is built."""
    if not config.get("output_dir"):
        raise ValueError(
            "Received an invalid value for argument `output_dir`: "
            "a directory is required."
        )
    result = loop.Settings(
        **{
            field: config[field]
            for field in loop.Settings.__dataclass_fields__
            if field in config
        }
    )
    result.validate()
    return result


def command_line():
    """The command this process runs, as the user would type it again."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    program = ["python", "-m", spec.name] if spec else ["python", sys.argv[0]]
    return shlex.join(program + sys.argv[1:])


# What a command reports in one line, without a traceback (see exit_on).
# FloatingPointError: an evaluation in which no batch was finite.
RUN_ERRORS = (loop.TrainingStopped, run_lock.RunLockedError, FloatingPointError)


def exit_on(stopped):
    """Ends the process for one of RUN_ERRORS: one line on stderr, exit
    code 1 (130 after Ctrl-C, with the command that resumes)."""
    message = f"Error: {stopped}"
    if isinstance(stopped, loop.TrainingInterrupted):
        message = f"{stopped} To resume, run the same command again: {command_line()}"
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(getattr(stopped, "exit_code", 1))


def finish(model, config, summary, filename):
    """Exports (with --export) and writes the summary JSON; returns summary."""
    if config["export"]:
        summary["saved_model"] = export_lib.export(
            model, os.path.join(config["output_dir"], "saved_model")
        )
    checkpoints.write_json_atomically(
        os.path.join(config["output_dir"], filename), summary
    )
    return summary


def define_common_flags():
    """The flags in COMMON_FLAG_KEYS (default None: keep the preset's)."""
    flags.DEFINE_string(
        "output_dir", None, "Run directory (checkpoints, logs, figures)."
    )
    flags.DEFINE_string("dataset", None, "Dataset name.")
    flags.DEFINE_string("data_dir", None, "TFDS data directory.")
    flags.DEFINE_integer(
        "batch_size", None, "Global batch size (split evenly over the replicas)."
    )
    flags.DEFINE_float("learning_rate", None, "Learning rate (for the global batch).")
    flags.DEFINE_integer("steps", None, "Optimizer steps of the run.")
    flags.DEFINE_integer("seed", None, "Random seed.")
    flags.DEFINE_integer("checkpoint_every", None, "Steps between checkpoints.")
    flags.DEFINE_integer("keep_checkpoints", None, "Checkpoints to keep.")
    flags.DEFINE_integer("log_every", None, "Steps between TensorBoard scalars.")
    flags.DEFINE_integer(
        "image_every", None, "Steps between TensorBoard images (0: none)."
    )
    flags.DEFINE_enum(
        "strategy", None, list(runtime.STRATEGIES), "Distribution strategy."
    )
    flags.DEFINE_enum(
        "precision", None, list(runtime.PRECISIONS), "Keras dtype policy."
    )
    flags.DEFINE_integer(
        "max_consecutive_skips",
        None,
        "Consecutive non-finite steps that stop training.",
    )
    flags.DEFINE_boolean("export", None, "Export a SavedModel at the end.")
    flags.mark_flag_as_required("output_dir")


def overrides_from_flags(keys):
    """{key: value} for the flags in `keys` given on the command line."""
    return {k: FLAGS[k].value for k in keys if FLAGS[k].value is not None}
