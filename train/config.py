"""Typed configs of the training commands, and the flags that override them.

A command's config is one frozen dataclass with nested sections:

    model       exactly the model's constructor arguments (the section's
                fields are read off the constructor, so a model argument is
                defined once, in the model)
    data        which dataset, where, and how it is fed
    optimizer   the optimizer and its schedules
    run         how to run: output directory, steps, checkpoints, strategy,
                precision (the `Run` section below, what `loop.train` takes)
    ...         a command's own sections (evaluation, metrics)

Presets are functions that start from a base config and state only what
differs (`updated(base, model=dict(h_size=32), run=dict(steps=400))`).
On the command line the Google Research convention applies:

    --config=cifar10                      a preset of the command, or
    --config=path/to/my_config.py         a file whose get_config() returns one
    --config.model.h_size=256             any setting, by its path
    --h_size=256                          the same, where the name is unique

Every setting shows under the command's --help. Settings whose value may
change when a run resumes (steps, logging, paths) are marked `changeable`;
the others are the run's identity (a different value is a different run).
"""

import ast
import dataclasses
import importlib.util
import inspect
import os
import typing
from typing import Any, Optional

import keras
from absl import flags

from sdn_tf import arguments
from sdn_tf.train import runtime

# Flags defined here belong to the command that asks for them (its --help).
flags.disclaim_key_flags()


def setting(default, help, changeable=False):
    """A config field with its --help text; `changeable`: may differ on resume."""
    metadata = {"help": help, "changeable": changeable}
    if isinstance(default, (list, dict, set)):
        raise TypeError("config defaults must be immutable (use tuples)")
    return dataclasses.field(default=default, metadata=metadata)


# --- Shared sections ------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Data:
    """Which images a model trains on."""

    dataset: str = setting("sdn_photo_patches", "Dataset name (TFDS or offline).")
    data_dir: Optional[str] = setting(
        None, "TFDS data directory (default: TFDS's).", changeable=True
    )
    flip: bool = setting(False, "Random horizontal flips of training images.")


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """The optimizer, its learning-rate schedule and the weights' EMA.

    The rate is learning_rate * lr_decay_rate ** (step / lr_decay_steps),
    over the updates applied (floor(step / lr_decay_steps) with
    lr_staircase: a per-epoch decay such as PyTorch's ExponentialLR).
    """

    name: str = setting("adamax", "Optimizer: 'adam' or 'adamax'.")
    learning_rate: float = setting(2e-3, "Learning rate (for the global batch).")
    lr_decay_steps: int = setting(
        0, "Steps per decay of the learning rate by lr_decay_rate (0: constant)."
    )
    lr_decay_rate: float = setting(0.5, "Factor per lr_decay_steps steps.")
    lr_staircase: bool = setting(False, "Decay in steps, not continuously.")
    epsilon: float = setting(1e-7, "The optimizer's epsilon.")
    ema: float = setting(0.0, "EMA decay of the weights (0: no EMA).")

    OPTIMIZERS = ("adam", "adamax")

    def make(self):
        """The Keras optimizer: the rate halves every lr_decay_steps updates."""
        self.validate()
        rate = self.learning_rate
        if self.lr_decay_steps:
            rate = keras.optimizers.schedules.ExponentialDecay(
                rate, self.lr_decay_steps, self.lr_decay_rate, self.lr_staircase
            )
        cls = {"adam": keras.optimizers.Adam, "adamax": keras.optimizers.Adamax}
        return cls[self.name](
            rate,
            epsilon=self.epsilon,
            use_ema=self.ema > 0,
            ema_momentum=self.ema or 0.99,
        )

    def validate(self):
        arguments.one_of(self.name, "optimizer.name", self.OPTIMIZERS)
        arguments.positive_number(self.learning_rate, "optimizer.learning_rate")
        arguments.non_negative_integer(self.lr_decay_steps, "optimizer.lr_decay_steps")
        arguments.check(
            arguments.is_finite_number(self.lr_decay_rate)
            and 0 < self.lr_decay_rate <= 1,
            "optimizer.lr_decay_rate",
            "a factor in (0, 1]",
            self.lr_decay_rate,
        )
        arguments.positive_number(self.epsilon, "optimizer.epsilon")
        arguments.check(
            arguments.is_finite_number(self.ema) and 0 <= self.ema < 1,
            "optimizer.ema",
            "a decay in [0, 1) (0: no EMA)",
            self.ema,
        )


@dataclasses.dataclass(frozen=True)
class Run:
    """How to run (not what to train): what `loop.train` takes.

    A step is one batch trained on (see train/loop.py). The global batch
    is split evenly over the R replicas (batch_size / R each).
    """

    output_dir: Optional[str] = setting(
        None, "Run directory (checkpoints, logs, figures).", changeable=True
    )
    steps: int = setting(1000, "Steps of the run (a resumed run continues).", True)
    batch_size: int = setting(32, "Global batch size (split over the replicas).")
    seed: int = setting(0, "Seed of initialization and data order.")
    checkpoint_every: int = setting(1000, "Steps between checkpoints.", True)
    keep_checkpoints: int = setting(3, "Checkpoints to keep.", True)
    log_every: int = setting(100, "Steps between TensorBoard scalars.", True)
    image_every: int = setting(0, "Steps between TensorBoard images (0: none).", True)
    epoch_steps: int = setting(1000, "Steps per Keras fit epoch.", True)
    max_consecutive_skips: int = setting(
        10, "Consecutive non-finite steps that stop training.", True
    )
    strategy: str = setting(
        "auto", f"Distribution strategy: {runtime.STRATEGIES}.", True
    )
    precision: str = setting("float32", f"Keras dtype policy: {runtime.PRECISIONS}.")
    export: bool = setting(False, "Export a SavedModel at the end.", True)
    verbose: Any = setting(
        "auto", "Progress bar: 'auto', 0 (none), 1 (redrawn) or 2 (lines).", True
    )

    VERBOSE = ("auto", 0, 1, 2)

    def validate(self):
        """Raises ValueError for a bad setting, before any work."""
        for name in (
            "steps",
            "batch_size",
            "checkpoint_every",
            "keep_checkpoints",
            "log_every",
            "epoch_steps",
            "max_consecutive_skips",
        ):
            arguments.positive_integer(getattr(self, name), name)
        arguments.non_negative_integer(self.image_every, "image_every")
        arguments.non_negative_integer(self.seed, "seed")
        arguments.check(
            self.verbose == "auto"
            or (arguments.is_integer(self.verbose) and self.verbose in (0, 1, 2)),
            "verbose",
            f"one of {self.VERBOSE}",
            self.verbose,
        )
        # strategy and precision: checked by runtime, which builds them.


# --- The model section, read off the model's constructor -------------------


def model_section(model_class, **defaults):
    """A frozen dataclass whose fields are `model_class`'s constructor
    arguments with the constructor's defaults (`defaults` replace some)."""
    fields, documented = [], argument_docs(model_class)
    for name, parameter in inspect.signature(model_class.__init__).parameters.items():
        if name == "self" or parameter.kind in (
            parameter.VAR_KEYWORD,
            parameter.VAR_POSITIONAL,
        ):
            continue
        default = defaults.get(name, parameter.default)
        help_text = documented.get(name, f"See {model_class.__name__}'s docstring.")
        fields.append((name, _type_of(default), setting(default, help_text)))
    unknown = set(defaults) - {name for name, _, _ in fields}
    if unknown:
        raise TypeError(f"{model_class.__name__} takes no {sorted(unknown)}")
    section = dataclasses.make_dataclass(
        f"{model_class.__name__}Config", fields, frozen=True
    )
    section.model_class = model_class
    return section


def argument_docs(cls):
    """{argument: its description} from the Args section of cls's docstring
    (Google style; "a, b: text" documents both)."""
    docs, names, in_args = {}, [], False
    for line in inspect.getdoc(cls).splitlines():
        stripped = line.strip()
        if stripped == "Args:":
            in_args = True
        elif in_args and line and not line.startswith(" "):
            break  # the next section
        elif in_args and line.startswith("  ") and not line.startswith("    "):
            head, _, text = stripped.partition(": ")
            names = [n.strip() for n in head.split(",")]
            for name in names:
                docs[name] = text
        elif in_args and stripped and names:
            for name in names:
                docs[name] += " " + stripped
    return docs


def _type_of(default):
    for kind in (bool, int, float, str):
        if type(default) is kind:
            return kind
    return Any  # tuples, None: any Python literal, checked by the model


def model_kwargs(section):
    """The model section as constructor keyword arguments."""
    return {f.name: getattr(section, f.name) for f in dataclasses.fields(section)}


def build_model(config, **overrides):
    """The config's model: ModelClass(**config.model)."""
    return type(config.model).model_class(
        **dict(model_kwargs(config.model), **overrides)
    )


# --- Building configs ----------------------------------------------------------


def updated(config, **sections):
    """`config` with some settings replaced: updated(c, run=dict(steps=5)).

    Raises:
      ValueError: naming a section or setting the config does not have.
    """
    changes = {}
    for section_name, values in sections.items():
        section = getattr(config, section_name, None)
        if not dataclasses.is_dataclass(section):
            raise ValueError(
                f"Received an unknown config section `{section_name}`, expected "
                f"one of {section_names(config)}."
            )
        known = {f.name for f in dataclasses.fields(section)}
        unknown = sorted(set(values) - known)
        if unknown:
            paths = [f"{section_name}.{n}" for n in unknown]
            raise ValueError(
                f"Received unknown settings {paths}; `{section_name}` has "
                f"{sorted(known)}."
            )
        changes[section_name] = dataclasses.replace(section, **values)
    return dataclasses.replace(config, **changes)


def section_names(config):
    """The names of `config`'s sections (model, data, optimizer, run, ...)."""
    return tuple(f.name for f in dataclasses.fields(config))


def settings_of(config):
    """{"section.name": (field, value)} over every setting of `config`."""
    found = {}
    for section_name in section_names(config):
        section = getattr(config, section_name)
        for field in dataclasses.fields(section):
            found[f"{section_name}.{field.name}"] = (
                field,
                getattr(section, field.name),
            )
    return found


def with_settings(config, values):
    """`config` with {"section.name": value} applied."""
    sections = {}
    for path, value in values.items():
        section_name, _, name = path.partition(".")
        sections.setdefault(section_name, {})[name] = value
    return updated(config, **sections)


def to_dict(config):
    """The config as JSON-ready nested dicts (tuples become lists)."""
    return {
        section_name: {
            field.name: getattr(getattr(config, section_name), field.name)
            for field in dataclasses.fields(getattr(config, section_name))
        }
        for section_name in section_names(config)
    }


def from_dict(base, values):
    """`base` with the settings of a to_dict() (JSON) applied; lists become
    tuples again, and unknown settings raise ValueError."""
    return updated(
        base,
        **{
            section: {name: as_tuples(value) for name, value in section_values.items()}
            for section, section_values in values.items()
        },
    )


def as_tuples(value):
    """`value` with every list, nested ones too, made a tuple (configs hold
    immutable values; JSON gives lists)."""
    if isinstance(value, list):
        return tuple(as_tuples(v) for v in value)
    return value


def identity(config):
    """The settings that define a run: everything not marked changeable."""
    return {
        path: as_tuples(value)
        for path, (field, value) in settings_of(config).items()
        if not field.metadata.get("changeable")
    }


# --- Presets and files -----------------------------------------------------------


def named(presets, name, argument="config", expected=None):
    """presets[name](), or a config file's get_config() for a path ending .py.

    Raises:
      ValueError: for an unknown preset, a missing file, a file without
        get_config, or a get_config() that returns no `expected` (a Config
        class: another command's config, a dict or None).
    """
    if name.endswith(".py"):
        return _from_file(name, argument, expected)
    if name not in presets:
        raise ValueError(
            f"Received an invalid value for argument `{argument}`, expected one of "
            f"{tuple(presets)} or a path to a .py file with get_config(), got {name!r}."
        )
    return presets[name]()


def _from_file(path, argument, expected):
    """The config that the file at `path` gets from its get_config()."""
    if not os.path.isfile(path):
        raise ValueError(
            f"Received an invalid value for argument `{argument}`: no config "
            f"file {path!r}."
        )
    spec = importlib.util.spec_from_file_location("sdn_tf_user_config", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    get_config = getattr(module, "get_config", None)
    if not callable(get_config):
        raise ValueError(
            f"Received an invalid value for argument `{argument}`: the config file "
            f"{path!r} defines no get_config(), which should return the settings."
        )
    config = get_config()
    if expected is not None and not isinstance(config, expected):
        kind = f"{expected.__module__}.{expected.__qualname__}"
        raise ValueError(
            f"Received an invalid value for argument `{argument}`: get_config() of "
            f"{path!r} should return a {kind} (a preset of that module, updated), "
            f"got {_described(config)}."
        )
    return config


def _described(value):
    """A value's kind, as an error message names it."""
    if value is None:
        return "None"
    kind = type(value)
    if kind.__module__ == "builtins":
        return f"a {kind.__qualname__}"
    return f"a {kind.__module__}.{kind.__qualname__}"


# --- Command-line flags ----------------------------------------------------------

FLAG_PREFIX = "config."


def define_flags(
    presets, base, default="", renamed=None, retired=None, flag_values=flags.FLAGS
):
    """Defines --config and one flag per setting of `base`, plus a short alias
    for every setting whose name is unique (`--steps` for --config.run.steps),
    the aliases in `renamed` ({old flag name: setting path}) and a flag for
    each of `retired` ({old flag name: what replaces it}), which from_flags
    refuses with that text (rather than absl's "Did you mean").

    Flags default to None, which keeps the preset's value; --help shows the
    base config's value and type.
    """
    flags.DEFINE_string(
        "config",
        default,
        f"Named settings: one of {sorted(presets)}, or a .py file whose "
        "get_config() returns them. The flags below override them.",
        flag_values=flag_values,
    )
    for path, (field, value) in settings_of(base).items():
        name = FLAG_PREFIX + path
        kind = field.type
        help_text = f"{field.metadata['help']} [{path} = {value!r}]"
        if kind is bool:
            define = flags.DEFINE_boolean
        elif kind is int:
            define = flags.DEFINE_integer
        elif kind is float:
            define = flags.DEFINE_float
        else:
            define = flags.DEFINE_string
            if not _is_text(kind):
                help_text += " (a Python literal)"
        define(name, None, help_text, flag_values=flag_values)
    for alias, path in sorted(aliases(base, renamed).items()):
        original = "config" if path == "config" else FLAG_PREFIX + path
        flags.DEFINE_alias(alias, original, flag_values=flag_values)
    for name, replacement in sorted((retired or {}).items()):
        flags.DEFINE_string(
            name, None, f"Retired: {replacement}", flag_values=flag_values
        )


def aliases(base, renamed=None):
    """{short name: setting path}: every setting whose name is unique in
    `base`, and `renamed` ({old name: path, or "config"})."""
    paths = list(settings_of(base))
    leaves = [path.split(".", 1)[1] for path in paths]
    found = {leaf: path for leaf, path in zip(leaves, paths) if leaves.count(leaf) == 1}
    # "name" says too little on its own: the optimizer's is --optimizer.
    del found["name"]
    found["optimizer"] = "optimizer.name"
    found.update(renamed or {})
    return found


def from_flags(presets, base, flag_values=flags.FLAGS, renamed=None, retired=None):
    """The config the command line asks for: --config, then every given
    --config.<path> flag (through its alias or not).

    Raises:
      ValueError: for a flag of `retired`, a setting given more than once
        (absl would keep the last one silently, whichever its spelling:
        --steps=5 --config.run.steps=6), or a bad value.
    """
    _refuse_retired(retired, flag_values)
    _refuse_repeated(base, renamed, flag_values)
    values = {}
    for path, (field, _) in settings_of(base).items():
        value = flag_values[FLAG_PREFIX + path].value
        if value is not None:
            values[path] = _parse(value, field.type, path)
    config = named(presets, flag_values["config"].value, expected=type(base))
    return with_settings(config, values)


def _refuse_retired(retired, flag_values):
    for name, replacement in sorted((retired or {}).items()):
        if flag_values[name].present:
            raise ValueError(
                f"Received --{name}={flag_values[name].value}, a flag that was "
                f"retired: {replacement}"
            )


def _refuse_repeated(base, renamed, flag_values):
    """Raises ValueError naming the spellings of a setting given twice or
    more: absl counts each use in its flag's `present`, and an alias's uses
    in the alias's too."""
    spellings = {"config": ["config"]}
    for path in settings_of(base):
        spellings[path] = [FLAG_PREFIX + path]
    for alias, path in sorted(aliases(base, renamed).items()):
        spellings[path].append(alias)
    for path, names in spellings.items():
        total = flag_values[names[0]].present
        if total <= 1:
            continue
        uses = [flag_values[alias].present for alias in names[1:]]
        used = [name for name, count in zip(names, [total - sum(uses), *uses]) if count]
        spelled = " and ".join(f"--{name}" for name in used)
        if len(used) == 1:
            spelled += f" {total} times"
        raise ValueError(
            f"Received {spelled}, which set `{path}` more than once (the last "
            "would win silently); give it once."
        )


def _is_optional(kind):
    return typing.get_origin(kind) is typing.Union and type(None) in kind.__args__


def _is_text(kind):
    """str, or Optional[str]."""
    return kind is str or (
        typing.get_origin(kind) is typing.Union and str in kind.__args__
    )


def _parse(value, kind, path):
    """A flag's value as the setting's type (literals for tuples and None)."""
    if kind in (bool, int, float) or not isinstance(value, str):
        return value
    if _is_text(kind):
        # An optional text setting reads "None" as None (the README's rule
        # for every optional setting): a data_dir of "None" would otherwise
        # build the dataset into ./None.
        if value == "None" and _is_optional(kind):
            return None
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        # A bare word (--config.model.decoder=sdn) is meant as a string.
        if value.replace("_", "").replace("/", "").isalnum():
            return value
        raise ValueError(
            f"Received an invalid value for setting `{path}`, expected a Python "
            f"literal such as (1, 2) or None, got {value!r}."
        ) from None
