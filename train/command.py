"""What the training commands share: flags to config, start, end.

A command's config is its module's preset (--config), then the settings
given on the command line (see train.config). `start` checks it before any
work, resolves what the dataset decides and says what the run trains on
and where it writes; `finish` exports and writes the summary. How a
command ends on an error its user should read: train/exits.py.

A rerun of a finished run trains nothing: `earlier_summary` and
`is_current` let a command keep the summary it wrote then (its training
history included) instead of replacing it with an empty one, and
`training_summary` keeps that history when the report itself must be
computed again (other evaluation settings, an export asked for now).
"""

import contextlib
import io
import json
import os
import re

import tensorflow as tf
from absl import flags, logging

from sdn_tf import native
from sdn_tf.train import checkpoints, exits, loop, runs
from sdn_tf.train import config as config_lib
from sdn_tf.train import export as export_lib

# The flags define_flags makes belong to the command (its --help).
flags.disclaim_key_flags()


def define_flags(configs, flag_values=flags.FLAGS):
    """--config and a flag per setting of the command whose configs
    module is `configs` (train.configs.density or .disentangle)."""
    config_lib.define_flags(
        configs.PRESETS,
        configs.PRESETS[configs.DEFAULT](),
        default=configs.DEFAULT,
        renamed=configs.RENAMED,
        retired=configs.RETIRED,
        flag_values=flag_values,
    )


def config_from_flags(configs):
    """The config the command line asks for; a bad one is an exits.Refusal
    (one line on stderr, exit code 2, as for a bad flag)."""
    with exits.refusing():
        return config_lib.from_flags(
            configs.PRESETS,
            configs.PRESETS[configs.DEFAULT](),
            renamed=configs.RENAMED,
            retired=configs.RETIRED,
        )


def start(config):
    """Checks `config` before any work (output_dir required and writable,
    every setting the command reads), resolves the model's image shape from
    the dataset, prints what the run trains on and where its outputs go,
    and returns (config, strategy, console). A setting it refuses is an
    exits.Refusal."""
    with exits.refusing():
        if not config.run.output_dir:
            raise ValueError(
                "Received an invalid value for argument `output_dir`: "
                "a directory is required."
            )
        config.validate()
        strategy = loop.prepare(config.run)  # checks output_dir first
        config = runs.with_image_shape(config)  # unknown dataset: ValueError
    console = loop.console_for(strategy)
    run, replicas = config.run, strategy.num_replicas_in_sync
    batch = f"global batch {run.batch_size}"
    if replicas > 1:
        batch += f" over {replicas} replicas ({run.batch_size // replicas} each)"
    if run.precision != "float32":
        batch += f", {run.precision}"
    shape = "x".join(str(d) for d in config.model.image_shape)
    console.say(f"Data: {config.data.dataset}, {shape} images, {batch}.")
    console.say(f"Outputs: {run.output_dir}")
    return config, strategy, console


def start_kernel_build(sweeps):
    """Where the model has SDN sweeps (`sweeps`) and they would run on the
    native kernel (a CPU run), starts its first build now, beside the
    dataset's preparation and the model's construction, not at the first
    step's trace (sdn_tf.native.start_build)."""
    if sweeps and not tf.config.list_logical_devices("GPU"):
        native.start_build()


class _DatasetNotices(io.TextIOBase):
    """Stands in for stdout while a dataset loads. TFDS prints its notices
    there whatever the log level ("Downloading and preparing dataset ...",
    "... Subsequent calls will reuse this data."); the one that starts a
    long build becomes a line of the run's console, the rest is dropped."""

    _PREPARING = re.compile(r"preparing dataset .* to (\S+?)\.\.\.", re.IGNORECASE)

    def __init__(self, console):
        super().__init__()
        self.console = console

    def writable(self):
        return True

    def write(self, text):
        found = self._PREPARING.search(text)
        if found:
            self.console.say(
                f"Preparing the dataset in {found.group(1)} (first use only)..."
            )
        return len(text)


@contextlib.contextmanager
def dataset_notices(console):
    """The block that loads a dataset: TFDS's notices on stdout become one
    console line (see _DatasetNotices), unless --verbosity shows INFO logs,
    which keeps them as TFDS prints them."""
    if logging.level_info():
        yield
        return
    with contextlib.redirect_stdout(_DatasetNotices(console)):
        yield


# --- The summary -------------------------------------------------------------


def evaluation_settings(config):
    """The settings of the report after training (config.evaluation), as a
    summary records them (JSON)."""
    return json.loads(json.dumps(config_lib.to_dict(config)["evaluation"]))


def read_summary(path):
    """The summary JSON at `path`, or None when there is none readable."""
    try:
        with open(path, encoding="utf-8") as f:
            summary = json.load(f)
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def earlier_summary(config, result, filename):
    """The summary the run wrote at its last step (output_dir/`filename`),
    when this process trained nothing (a rerun of a finished run); else
    None."""
    if result.step > result.start_step:
        return None
    earlier = read_summary(os.path.join(config.run.output_dir, filename))
    if earlier is None or earlier.get("step") != result.step:
        return None
    return earlier


def is_current(earlier, config):
    """Whether the earlier summary is what this run would report: the same
    evaluation settings, and its figures still on disk."""
    return (
        earlier is not None
        and earlier.get("evaluation_settings") == evaluation_settings(config)
        and all(os.path.exists(path) for path in earlier.get("figures", {}).values())
    )


def training_summary(config, result, earlier=None, **more):
    """A summary's account of training: step, start_step, dataset, the
    training history (Keras' logs per epoch) and `more` (a command's own,
    e.g. metrics during training). For a rerun that trained nothing, the
    `earlier` summary's account, not an empty one."""
    summary = {
        "step": result.step,
        "start_step": result.start_step,
        "dataset": config.data.dataset,
        "training": {k: [float(x) for x in v] for k, v in result.history.items()},
        **more,
    }
    if earlier is not None:
        summary.update({k: earlier[k] for k in summary if k in earlier})
    return summary


def finish(model, config, summary, filename, console):
    """Exports (with run.export, unless `summary` names an export still on
    disk) and writes the summary JSON (output_dir/`filename`) when it
    differs from the file's; returns the summary."""
    output_dir = config.run.output_dir
    summary = dict(summary, evaluation_settings=evaluation_settings(config))
    exported = summary.get("saved_model")
    if config.run.export and not (exported and export_lib.is_complete(exported)):
        export_dir = os.path.join(output_dir, "saved_model")
        console.say(f"Exporting a SavedModel to {export_dir}...")
        summary["saved_model"] = export_lib.export(model, export_dir)
    path = os.path.join(output_dir, filename)
    if summary != read_summary(path):
        checkpoints.write_json_atomically(path, summary)
    return summary


def say_outputs(console, config, summary, filename, label):
    """The lines that end a command's report: where its outputs are, the
    summary (output_dir/`filename`) last, called `label`."""
    out = config.run.output_dir
    lines = {
        "TensorBoard": f"tensorboard --logdir {os.path.join(out, 'logs')}",
        "Checkpoints": os.path.join(out, checkpoints.CHECKPOINTS),
        "SavedModel": summary.get("saved_model"),
        label: os.path.join(out, filename),
    }
    for name, text in lines.items():
        if text:
            console.say(f"{name + ':':<12} {text}")
