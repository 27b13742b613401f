"""Tests of the typed configs and the flags that override them."""

import dataclasses
import inspect
import json
import os
import re
import subprocess
import sys

import pytest
from absl import flags

from sdn_tf.models import SDNVAE, BetaVAE
from sdn_tf.train import config as config_lib
from sdn_tf.train.configs import COMMANDS, density, disentangle

ALL_PRESETS = [
    (module, name) for module in COMMANDS.values() for name in module.PRESETS
]


@pytest.mark.parametrize("module, cls", [(density, SDNVAE), (disentangle, BetaVAE)])
def test_the_model_section_is_exactly_the_constructor_arguments(module, cls):
    parameters = inspect.signature(cls.__init__).parameters
    expected = {
        name: p.default
        for name, p in parameters.items()
        if name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
    }
    section = module.Model()
    assert config_lib.model_kwargs(section) == dict(expected, image_shape=None)
    assert type(section).model_class is cls


@pytest.mark.parametrize(
    "module, name", ALL_PRESETS, ids=[f"{m.COMMAND}-{n}" for m, n in ALL_PRESETS]
)
def test_every_preset_survives_json_and_validates(module, name):
    config = module.PRESETS[name]()
    config.validate()
    text = json.dumps(config_lib.to_dict(config))
    assert config_lib.from_dict(module.Config(), json.loads(text)) == config


def test_updated_names_the_setting_it_does_not_know():
    with pytest.raises(ValueError, match=r"unknown settings \['model.h_sise'\]"):
        config_lib.updated(density.tiny(), model=dict(h_sise=3))
    with pytest.raises(ValueError, match="unknown config section `modle`"):
        config_lib.updated(density.tiny(), modle=dict(h_size=3))


def test_the_identity_is_every_setting_that_may_not_change_on_resume():
    config = density.tiny()
    identity = config_lib.identity(config)
    assert {"model.h_size", "model.scales", "data.dataset", "data.flip"} <= set(
        identity
    )
    assert {"optimizer.learning_rate", "run.batch_size", "run.precision"} <= set(
        identity
    )
    for changeable in ("run.steps", "run.output_dir", "data.data_dir"):
        assert changeable not in identity
    assert not any(path.startswith("evaluation.") for path in identity)
    changed = config_lib.with_settings(config, {"run.steps": 7, "run.log_every": 3})
    assert config_lib.identity(changed) == identity
    other = config_lib.with_settings(config, {"model.h_size": 9})
    assert config_lib.identity(other) != identity


def _parse(module, argv):
    values = flags.FlagValues()
    base = module.PRESETS[module.DEFAULT]()
    config_lib.define_flags(
        module.PRESETS,
        base,
        module.DEFAULT,
        module.RENAMED,
        module.RETIRED,
        flag_values=values,
    )
    values(["program", *argv])
    return config_lib.from_flags(
        module.PRESETS, base, values, module.RENAMED, module.RETIRED
    )


def test_flags_override_a_preset_by_path_or_by_short_name():
    config = _parse(
        density,
        [
            "--config=tiny",
            "--config.model.h_size=5",
            "--config.model.scales=((16, 1, 4), (8, 1, None))",
            "--use_sdn=false",
            "--steps=3",
            "--temperatures=(1.0,)",
            "--config.data.dataset=cifar10",
            "--optimizer=adam",
        ],
    )
    expected = config_lib.with_settings(
        density.tiny(),
        {
            "model.h_size": 5,
            "model.scales": ((16, 1, 4), (8, 1, None)),
            "model.use_sdn": False,
            "run.steps": 3,
            "evaluation.temperatures": (1.0,),
            "data.dataset": "cifar10",
            "optimizer.name": "adam",
        },
    )
    assert config == expected
    assert _parse(density, []) == density.photo_patches()


@pytest.mark.parametrize("verbose", ["loud", 3, -1, True, 1.5])
def test_a_bad_verbose_setting_is_refused(verbose):
    config = config_lib.with_settings(density.tiny(), {"run.verbose": verbose})
    with pytest.raises(ValueError, match=r"argument `verbose`, expected one of"):
        config.validate()


def test_an_optional_text_setting_reads_none_as_none():
    config = _parse(density, ["--config.data.data_dir=None", "--output_dir=None"])
    assert config.data.data_dir is None and config.run.output_dir is None
    # A required text setting keeps the word.
    config = _parse(density, ["--config.data.dataset=None"])
    assert config.data.dataset == "None"


def test_old_flag_spellings_still_work():
    config = _parse(
        disentangle,
        ["--preset=sdn_paper", "--decoder=deconv", "--anneal_steps=5", "--beta=4"],
    )
    assert config == config_lib.with_settings(
        disentangle.sdn_paper(),
        {"model.decoder": "deconv", "optimizer.anneal_steps": 5, "model.beta": 4.0},
    )


def test_a_config_file_gives_the_config(tmp_path):
    path = tmp_path / "my_config.py"
    path.write_text(
        "from sdn_tf.train import config\n"
        "from sdn_tf.train.configs import density\n\n\n"
        "def get_config():\n"
        "    return config.updated(density.tiny(), model=dict(z_size=3))\n"
    )
    config = _parse(density, [f"--config={path}", "--steps=2"])
    assert (config.model.z_size, config.run.steps) == (3, 2)
    assert config.model.h_size == density.tiny().model.h_size


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--config=mnist_big"], r"argument `config`, expected one of \('cifar10'"),
        (["--config=missing.py"], "no config file 'missing.py'"),
        (["--config.model.scales=((16, 1"], "setting `model.scales`, expected a"),
    ],
)
def test_bad_command_lines_name_what_is_wrong(argv, message):
    with pytest.raises(ValueError, match=message):
        _parse(density, argv)


@pytest.mark.parametrize(
    "body, message",
    [
        ("def get_config():\n    return dict(model=dict(h_size=3))\n", "got a dict"),
        ("def get_config():\n    pass\n", "got None"),
        ("CONFIG = None\n", "defines no get_config()"),
        (
            "from sdn_tf.train.configs import disentangle\n\n\n"
            "def get_config():\n    return disentangle.quick()\n",
            "got a sdn_tf.train.configs.disentangle.Config",
        ),
    ],
)
def test_a_config_file_that_gives_no_config_of_the_command_is_named(
    tmp_path, body, message
):
    path = tmp_path / "my_config.py"
    path.write_text(body)
    with pytest.raises(ValueError) as refused:
        _parse(density, [f"--config={path}"])
    text = str(refused.value)
    assert text.startswith("Received an invalid value for argument `config`")
    assert repr(str(path)) in text and message in text
    if "get_config()" not in message:
        assert "should return a sdn_tf.train.configs.density.Config" in text


def test_a_retired_flag_is_refused_saying_what_replaces_it():
    with pytest.raises(ValueError) as refused:
        _parse(density, ["--image_size=32"])
    assert str(refused.value) == (
        "Received --image_size=32, a flag that was retired: the image shape "
        "comes from the dataset (--dataset), as model.image_shape left unset; "
        "leave the flag out."
    )


@pytest.mark.parametrize(
    "module, argv, message",
    [
        (
            disentangle,
            ["--preset=quick", "--config=sdn_paper"],
            "Received --config and --preset, which set `config` more than once",
        ),
        (density, ["--steps=5", "--steps=6"], "Received --steps 2 times, which set"),
        (
            density,
            ["--steps=5", "--config.run.steps=6"],
            "Received --config.run.steps and --steps, which set `run.steps` more",
        ),
    ],
)
def test_a_setting_given_twice_is_refused_naming_both(module, argv, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _parse(module, argv)


def test_help_lists_every_setting_of_the_command():
    result = subprocess.run(
        [sys.executable, "-m", "train.disentangle", "--help"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert "--config:" in result.stdout, result.stderr[-2000:]  # (absl exits 1)
    config = disentangle.quick()
    for path in config_lib.settings_of(config):
        assert f"--config.{path}:" in result.stdout or (
            f"--[no]config.{path}:" in result.stdout
        ), path
    for short in ("--steps:", "--output_dir:", "--preset:", "--optimizer:"):
        assert short in result.stdout


def test_a_section_field_default_is_immutable():
    for module in COMMANDS.values():
        for section in dataclasses.fields(module.Config):
            assert section.default_factory is not dataclasses.MISSING
    with pytest.raises(dataclasses.FrozenInstanceError):
        density.tiny().model.h_size = 3
