"""Tests of run_config.json: a run rebuilt from its directory alone, older
directories converted, and train/ modules that need no command to do it."""

import ast
import json
import os

import numpy as np
import pytest

from sdn_tf.train import checkpoints, runs
from sdn_tf.train import config as config_lib
from sdn_tf.train.configs import density, disentangle

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tiny_config(output_dir, changes=None):
    return runs.with_image_shape(
        config_lib.with_settings(
            density.tiny(),
            {
                "run.output_dir": str(output_dir),
                "model.use_sdn": False,
                **(changes or {}),
            },
        )
    )


def _legacy_record(config):
    """run_config.json as train.density wrote it before typed configs."""
    model, optimizer = config.model, config.optimizer
    flat = {
        key: getattr(model, key)
        for key in (
            "h_size", "z_size", "scales", "sdn_directions", "use_sdn",
            "sdn_min_scale", "sdn_max_scale", "num_components", "num_bits",
            "free_bits", "iaf_context", "iaf_layers", "downsample_first",
        )
    }  # fmt: skip
    flat["scales"] = [list(s) for s in flat["scales"]]
    return dict(
        flat,
        command="density",
        dataset=config.data.dataset,
        image_size=config.model.image_shape[0],
        learning_rate=optimizer.learning_rate,
        lr_decay_steps=optimizer.lr_decay_steps,
        ema=optimizer.ema,
        batch_size=config.run.batch_size,
        flip=config.data.flip,
        precision=config.run.precision,
        seed=config.run.seed,
    )


def _trained_run(output_dir, changes=None):
    """A run directory holding one checkpoint; returns the model."""
    config = _tiny_config(output_dir, changes)
    model = config_lib.build_model(config)
    model.compile(optimizer=config.optimizer.make())
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8, 32, 32, 3)).astype(np.float32) / 127.5 - 1
    model.train_on_batch(images)
    checkpointer = checkpoints.Checkpointer(str(output_dir), model)
    checkpointer.restore_or_start()
    checkpointer.save()
    record = runs.describe(density.COMMAND, config)
    runs.write(str(output_dir), runs.with_model(record, model))
    return model, config


def test_a_run_is_rebuilt_from_its_directory_alone(tmp_path):
    model, config = _trained_run(tmp_path)
    loaded, loaded_config = runs.load(str(tmp_path))
    assert loaded_config == config
    assert type(loaded) is type(model) and loaded.get_config() == model.get_config()
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(
        np.asarray(loaded.sample(2, temperature=0.0)),
        np.asarray(model.sample(2, temperature=0.0)),
    )


def test_a_directory_from_before_typed_configs_loads_and_resumes(tmp_path):
    # Such a run had the settings the main job had then (LEGACY_DEFAULTS).
    model, config = _trained_run(tmp_path, density.LEGACY_DEFAULTS)
    (tmp_path / runs.RUN_CONFIG).write_text(json.dumps(_legacy_record(config)))
    record = runs.read(str(tmp_path))
    assert record["identity"] == runs.describe("density", config)["identity"]
    loaded, _ = runs.load(str(tmp_path))
    np.testing.assert_array_equal(
        np.asarray(loaded.sample(2, temperature=0.0)),
        np.asarray(model.sample(2, temperature=0.0)),
    )
    runs.check(str(tmp_path), runs.describe("density", config))  # resumes
    other = config_lib.with_settings(config, {"model.h_size": 16})
    with pytest.raises(ValueError, match=r"model.h_size: 8 -> 16"):
        runs.check(str(tmp_path), runs.describe("density", other))


def test_an_old_setting_with_no_place_today_is_named(tmp_path):
    record = _legacy_record(_tiny_config(tmp_path))
    record["colour"] = "red"
    with pytest.raises(ValueError, match="holds the setting 'colour'"):
        runs.upgrade(record)
    with pytest.raises(ValueError, match="names no known command"):
        runs.upgrade({"command": "classify"})


def test_a_directory_that_is_no_run_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a training run's directory"):
        runs.read(str(tmp_path))


@pytest.mark.parametrize(
    "text, message",
    [
        ("", r"run_config.json is not valid JSON"),
        ('{"format": 2, "comm', r"run_config.json is not valid JSON"),
        ("[1, 2]", r"run_config.json holds a JSON list, expected an object"),
        ('{"format": 99}', r"run_config.json has format 99; this version"),
        ('{"format": 2, "command": "density"}', r"lacks \['identity'\]"),
    ],
)
def test_a_broken_run_config_is_named_with_what_is_wrong(tmp_path, text, message):
    (tmp_path / runs.RUN_CONFIG).write_text(text)
    with pytest.raises(ValueError, match=message):
        runs.read(str(tmp_path))


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda r: r["model"]["config"].update(num_bits=5),
            r"its model has num_bits=5 but its config says 8",
        ),
        (
            lambda r: r["identity"].update({"model.h_size": 99}),
            r"its identity and its config disagree on \['model.h_size'\]",
        ),
    ],
)
def test_a_run_config_whose_parts_disagree_is_refused(tmp_path, edit, message):
    _trained_run(tmp_path)
    path = tmp_path / runs.RUN_CONFIG
    record = json.loads(path.read_text())
    edit(record)
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match=message):
        runs.load(str(tmp_path))


def _first_party_imports(module):
    path = os.path.join(ROOT, *module.split(".")) + ".py"
    if not os.path.exists(path):
        path = os.path.join(ROOT, *module.split("."), "__init__.py")
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name.startswith("train") and (
                os.path.exists(os.path.join(ROOT, *name.split(".")) + ".py")
                or os.path.isdir(os.path.join(ROOT, *name.split(".")))
            ):
                found.add(name)
    return found


def _reachable(module):
    seen, stack = set(), [module]
    while stack:
        for name in _first_party_imports(stack.pop()):
            if name not in seen:
                seen.add(name)
                stack.append(name)
    return seen


def test_train_modules_form_no_import_circle():
    modules = [
        f"train.{name[:-3]}"
        for name in os.listdir(os.path.join(ROOT, "train"))
        if name.endswith(".py") and name != "__init__.py"
    ]
    for module in modules:
        assert module not in _reachable(module), f"{module} imports itself back"


@pytest.mark.parametrize("module", ["train.export", "train.evaluate", "train.runs"])
def test_rebuilding_a_run_imports_no_command(module):
    assert not _reachable(module) & {"train.density", "train.disentangle"}


def test_a_run_config_that_no_longer_fits_intact_checkpoints_is_blamed(tmp_path):
    _trained_run(tmp_path)
    path = tmp_path / runs.RUN_CONFIG
    record = json.loads(path.read_text())
    # Edited throughout: its parts agree, its checkpoints hold another model.
    record["model"]["config"]["h_size"] = 9
    record["config"]["model"]["h_size"] = 9
    record["identity"]["model.h_size"] = 9
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError) as refused:
        runs.load(str(tmp_path))
    message = str(refused.value)
    assert message.startswith(
        f"{path}: the model and optimizer it records do not match the run's "
        "checkpoints, which read back intact"
    )
    assert "keep the checkpoints where they are" in message
    assert "Move them away" not in message


def test_a_run_of_another_command_is_named_as_such(tmp_path):
    runs.write(str(tmp_path), runs.describe("disentangle", disentangle.quick()))
    with pytest.raises(
        ValueError,
        match=r"`output_dir`: .* is a train.disentangle run \(its run_config.json "
        r"says so\); train.evaluate takes train.density runs",
    ):
        runs.read_of(str(tmp_path), "density", "train.evaluate")
