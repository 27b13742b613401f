"""Runs that describe themselves: output_dir/run_config.json.

A training command records, beside its checkpoints:

    format      2
    command     "density" or "disentangle"
    config      the full typed config (train.config.to_dict), image shape
                resolved from the dataset
    identity    the settings that define the run (a resume must match them)
    model       keras.saving.serialize_keras_object(model)
    optimizer   keras.optimizers.serialize(model.optimizer)

so that `load` rebuilds the model and its optimizer, and restores the
newest checkpoint, without importing a command. Directories written before
typed configs (a flat dict of flag values, no "format") still load and
resume: `read` converts them.
"""

import json
import os

import keras

import sdn_tf
import sdn_tf.models  # noqa: F401  (registers the models for deserialization)
from sdn_tf.train import checkpoints
from sdn_tf.train import config as config_lib
from sdn_tf.train.configs import COMMANDS

RUN_CONFIG = "run_config.json"
FORMAT = 2


def describe(command, config):
    """The run_config.json of a run of `command` with `config`, less its
    model (see with_model)."""
    return {
        "format": FORMAT,
        "command": command,
        "config": config_lib.to_dict(config),
        "identity": _json(config_lib.identity(config)),
    }


def with_model(record, model):
    """`record` with the serialized model and its (compiled) optimizer."""
    return dict(
        record,
        model=keras.saving.serialize_keras_object(model),
        optimizer=keras.optimizers.serialize(model.optimizer),
    )


def _json(values):
    return json.loads(json.dumps(values))


def read(output_dir):
    """The run_config.json of output_dir (an older one converted), or a
    ValueError when output_dir holds none."""
    path = os.path.join(output_dir, RUN_CONFIG)
    if not os.path.exists(path):
        raise ValueError(
            "Received an invalid value for argument `output_dir`: no "
            f"{RUN_CONFIG} in {output_dir}; it is not a training run's directory."
        )
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{path} is not valid JSON ({error}): it was cut short or edited. "
            "Restore it from a copy, or train a new run in another directory."
        ) from None
    if not isinstance(record, dict):
        raise ValueError(
            f"{path} holds a JSON {type(record).__name__}, expected an object "
            "(the run's format, command, config and identity)."
        )
    if "format" not in record:
        return upgrade(record, output_dir)
    if record["format"] != FORMAT:
        raise ValueError(
            f"{path} has format {record['format']!r}; this version of sdn_tf "
            f"reads format {FORMAT} (and the unformatted files before it)."
        )
    missing = [key for key in ("command", "identity") if key not in record]
    if missing:
        raise ValueError(f"{path} lacks {missing}: it was edited or cut short.")
    return record


def read_of(output_dir, command, reader):
    """The run_config.json of output_dir, or a ValueError unless the run is
    one of `command` (which `reader`, a command's name, takes)."""
    record = read(output_dir)
    if record["command"] != command:
        raise ValueError(
            f"Received an invalid value for argument `output_dir`: {output_dir} "
            f"is a train.{record['command']} run (its {RUN_CONFIG} says so); "
            f"{reader} takes train.{command} runs."
        )
    return record


def check_consistent(record, config, model, path):
    """Raises ValueError when run_config.json's parts disagree: the identity
    with the config it records, or the serialized model with the config's
    model section (a hand-edited file would otherwise load silently)."""
    identity = _json(config_lib.identity(config))
    if identity != _json(record["identity"]):
        changed = sorted(
            k
            for k in set(identity) | set(record["identity"])
            if identity.get(k) != record["identity"].get(k)
        )
        raise ValueError(
            f"{path}: its identity and its config disagree on {changed}; the "
            "file was edited. Restore it, or train a new run."
        )
    saved = model.get_config()
    for name, value in config_lib.model_kwargs(config.model).items():
        if name not in saved or isinstance(saved[name], dict):
            continue  # initializers and the like are serialized objects
        if _json(value) != _json(saved[name]):
            raise ValueError(
                f"{path}: its model has {name}={saved[name]!r} but its config "
                f"says {value!r}; the file was edited. Restore it, or train a "
                "new run."
            )


def typed_config(record):
    """The typed config a run_config.json records."""
    module = COMMANDS[record["command"]]
    return config_lib.from_dict(module.Config(), record["config"])


def upgrade(flat, output_dir="."):
    """A run_config.json from before typed configs (a flat dict of the
    settings that defined the run, and "command") in today's format, less
    the serialized model and optimizer (rebuilt from the config)."""
    command = flat.get("command")
    if command not in COMMANDS:
        raise ValueError(
            f"{os.path.join(output_dir, RUN_CONFIG)} names no known command "
            f"(got {command!r}); expected one of {tuple(COMMANDS)}."
        )
    module = COMMANDS[command]
    base = module.PRESETS[module.DEFAULT]()
    paths = config_lib.aliases(base, module.RENAMED)
    values = dict(module.LEGACY_DEFAULTS)  # unless the record says otherwise
    for name, value in flat.items():
        if name == "command" or name in module.RETIRED:
            continue
        if name not in paths or paths[name] == "config":
            raise ValueError(
                f"{os.path.join(output_dir, RUN_CONFIG)} holds the setting {name!r}, "
                "which no setting of today's config matches; train a new run."
            )
        values[paths[name]] = config_lib.as_tuples(value)
    config = config_lib.with_settings(base, values)
    return describe(command, with_image_shape(config))


def check(output_dir, record):
    """Refuses an output directory that holds a different run's checkpoints.

    Settings marked changeable (steps, logging, paths) may differ; every
    other one must match.

    Raises:
      ValueError: when output_dir has checkpoints of another run, or
        checkpoints without a run_config.json.
    """
    has_checkpoints = checkpoints.complete_checkpoints(
        os.path.join(output_dir, checkpoints.CHECKPOINTS)
    )
    if not has_checkpoints:
        return
    if not os.path.exists(os.path.join(output_dir, RUN_CONFIG)):
        raise ValueError(
            f"Received an invalid value for argument `output_dir`: {output_dir} "
            f"holds checkpoints but no {RUN_CONFIG}, so they belong to another "
            "run; choose a new output directory."
        )
    previous = read(output_dir)
    old, new = previous["identity"], _json(record["identity"])
    if previous["command"] != record["command"]:
        old, new = {"command": previous["command"]}, {"command": record["command"]}
    differences = {
        k: (old.get(k), new.get(k))
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k)
    }
    if differences:
        listed = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in differences.items())
        raise ValueError(
            f"Received an invalid value for argument `output_dir`: {output_dir} "
            f"holds checkpoints of a different run ({listed}). Use a new output "
            "directory, or rerun with the original settings to resume."
        )


def write(output_dir, record):
    checkpoints.write_json_atomically(os.path.join(output_dir, RUN_CONFIG), record)


def load(output_dir):
    """(model, typed config) of a run, its newest checkpoint restored.

    The model and optimizer are deserialized from run_config.json (rebuilt
    from the config for runs recorded before it held them).
    """
    record = read(output_dir)
    path = os.path.join(output_dir, RUN_CONFIG)
    if record["command"] not in COMMANDS or "config" not in record:
        raise ValueError(
            f"{path} is not a run of {tuple(COMMANDS)} with a config (command "
            f"{record['command']!r}, keys {sorted(record)})."
        )
    config = typed_config(record)
    if "model" in record:
        model = keras.saving.deserialize_keras_object(record["model"])
        optimizer = keras.optimizers.deserialize(record["optimizer"])
        check_consistent(record, config, model, path)
    else:
        model = config_lib.build_model(config)
        optimizer = config.optimizer.make()
    model.compile(optimizer=optimizer)
    model.build()
    model.optimizer.build(model.trainable_variables)
    try:
        step = checkpoints.Checkpointer(output_dir, model).restore_or_start()
    except checkpoints.CheckpointMismatchError as error:
        raise ValueError(
            f"{path}: the model and optimizer it records do not match the run's "
            f"checkpoints, which read back intact ({'; '.join(error.failures)}). "
            f"{RUN_CONFIG} was edited (or written by another version of sdn_tf): "
            "restore it from a copy, and keep the checkpoints where they are."
        ) from None
    if step == 0:
        raise ValueError(
            f"Received an invalid value for argument `output_dir`: {output_dir} "
            "holds no checkpoint to restore (expected ckpt-N.index and its data "
            f"in {os.path.join(output_dir, checkpoints.CHECKPOINTS)}); train the "
            "run first."
        )
    return model, config


def with_image_shape(config):
    """`config` with model.image_shape set to its dataset's image shape;
    a ValueError when the config names another shape."""
    info = sdn_tf.data.dataset_info(config.data.dataset, data_dir=config.data.data_dir)
    shape = tuple(int(d) for d in info.image_shape)
    wanted = config.model.image_shape
    if wanted is not None and tuple(wanted) != shape:
        raise ValueError(
            "Received an invalid value for argument `model.image_shape`: the "
            f"config asks for {tuple(wanted)}, dataset {config.data.dataset!r} "
            f"has {shape} images (leave model.image_shape None to take the "
            "dataset's)."
        )
    return config_lib.updated(config, model=dict(image_shape=shape))
