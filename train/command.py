"""What the training commands share: flags to config, start, end.

A command's config is its module's preset (--config), then the settings
given on the command line (see train.config). `start` checks it before any
work and resolves what the dataset decides; `finish` exports and writes the
summary; `exit_on` turns the errors a user should see as one line into
one line.
"""

import os
import shlex
import sys

from absl import flags

from train import checkpoints, loop, run_lock, runs
from train import config as config_lib
from train import export as export_lib

# The flags define_flags makes belong to the command (its --help).
flags.disclaim_key_flags()


def define_flags(configs):
    """--config and a flag per setting of the command whose configs
    module is `configs` (train.configs.density or .disentangle)."""
    config_lib.define_flags(
        configs.PRESETS,
        configs.PRESETS[configs.DEFAULT](),
        default=configs.DEFAULT,
        renamed=configs.RENAMED,
    )


def config_from_flags(configs):
    """The config the command line asks for; a bad one ends the process
    with one line on stderr (exit code 2, as for a bad flag)."""
    try:
        return config_lib.from_flags(
            configs.PRESETS, configs.PRESETS[configs.DEFAULT]()
        )
    except ValueError as error:
        print(f"Error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def start(config):
    """Checks `config` before any work (output_dir required and writable,
    every setting the command reads), resolves the model's image shape from
    the dataset, and returns (config, strategy)."""
    if not config.run.output_dir:
        raise ValueError(
            "Received an invalid value for argument `output_dir`: "
            "a directory is required."
        )
    config.validate()
    strategy = loop.prepare(config.run)  # checks output_dir first
    return runs.with_image_shape(config), strategy  # unknown dataset: ValueError


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
    """Exports (with run.export) and writes the summary JSON; returns summary."""
    output_dir = config.run.output_dir
    if config.run.export:
        summary["saved_model"] = export_lib.export(
            model, os.path.join(output_dir, "saved_model")
        )
    checkpoints.write_json_atomically(os.path.join(output_dir, filename), summary)
    return summary
