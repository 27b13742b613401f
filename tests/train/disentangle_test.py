"""Tests of the train.disentangle command."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from sdn_tf.train import config as config_lib
from sdn_tf.train.configs import disentangle


def test_presets_hold_the_papers_settings():
    sdn = disentangle.sdn_paper()
    assert (
        sdn.run.batch_size,
        sdn.optimizer.name,
        sdn.optimizer.learning_rate,
        sdn.model.latent_dim,
        sdn.model.observation,
        sdn.optimizer.anneal_steps,
        sdn.run.steps,
    ) == (128, "adamax", 1e-3, 10, "logistic", 100_000, 200_000)
    assert (
        sdn.model.decoder,
        sdn.model.sdn_features,
        sdn.model.sdn_directions,
        sdn.model.sdn_scale,
    ) == ("sdn", 200, ("down",), 32)
    broadcast = disentangle.broadcast_paper()
    assert (
        broadcast.optimizer.name,
        broadcast.optimizer.learning_rate,
        broadcast.run.batch_size,
        broadcast.model.observation,
        broadcast.model.decoder,
    ) == ("adam", 3e-4, 16, "bernoulli", "broadcast")
    assert set(disentangle.PRESETS) == {
        "quick",
        "sdn_paper",
        "cnn_paper",
        "sdn_mini",
        "cnn_mini",
        "sdn_authors",
        "broadcast_paper",
    }
    authors = disentangle.sdn_authors()  # train_3dshapes.sh
    assert (
        authors.model.encoder_hidden,
        authors.model.fc_channels,
        authors.model.sdn_directions,
        authors.model.latent_parameterization,
        authors.optimizer.anneal_steps,
        authors.model.beta,
        authors.run.batch_size,
    ) == (False, 64, ("right",), "log_variance", 0, 1.0, 128)


def test_the_cnn_and_miniature_presets_differ_from_sdn_paper_as_stated():
    sdn = disentangle.sdn_paper()
    # Table 8 against Table 9: only the decoder.
    assert disentangle.cnn_paper() == config_lib.with_settings(
        sdn, {"model.decoder": "deconv"}
    )
    assert sdn.optimizer.anneal_schedule == "authors"
    mini = disentangle.sdn_mini()
    assert mini == config_lib.with_settings(
        sdn,
        {
            "model.sdn_features": 64,
            "optimizer.anneal_steps": 500,
            "run.batch_size": 32,
            "run.steps": 1000,
            "run.checkpoint_every": 500,
            "run.image_every": 500,
            "run.log_every": 50,
            "run.epoch_steps": 500,
            "evaluation.metric_scale": 0.01,
        },
    )
    assert disentangle.cnn_mini() == config_lib.with_settings(
        mini, {"model.decoder": "deconv"}
    )


@pytest.mark.parametrize("preset", ["cnn_mini", "sdn_mini"])
def test_miniature_presets_build_and_train_a_step(preset):
    config = config_lib.with_settings(
        disentangle.PRESETS[preset](), {"model.image_shape": (64, 64, 3)}
    )
    model = config_lib.build_model(config)
    model.compile(optimizer=config.optimizer.make(), run_eagerly=True)
    rng = np.random.default_rng(0)
    images = rng.choice(np.linspace(-1, 1, 256), size=(2, 64, 64, 3))
    logs = model.fit(images.astype("float32"), batch_size=2, verbose=0).history
    assert np.isfinite(logs["loss"]).all()
    assert model.optimizer.iterations.numpy() == 1


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"evaluation.metrics": ("mig", "sap")}, "argument `metrics`"),
        ({"model.beta": -1.0}, "argument `beta`, expected a finite, non-negative"),
        ({"optimizer.learning_rate": 0.0}, "argument `optimizer.learning_rate`"),
        ({"optimizer.anneal_steps": -1}, "argument `anneal_steps`"),
        ({"optimizer.anneal_schedule": "cosine"}, "argument `anneal_schedule`"),
        ({"evaluation.metric_scale": float("nan")}, "argument `metric_scale`"),
    ],
)
def test_bad_settings_raise(settings, message):
    config = config_lib.with_settings(disentangle.quick(), settings)
    with pytest.raises(ValueError, match=message):
        config.validate()


def test_command_runs_end_to_end(tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "train.disentangle",
        f"--output_dir={out}",
        f"--data_dir={tmp_path / 'data'}",
        "--dataset=sdn_circles/xy",
        "--steps=4",
        "--batch_size=8",
        "--latent_dim=4",
        "--metric_scale=0.002",
        "--checkpoint_every=2",
        "--log_every=2",
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=400,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["step"] == 4
    assert set(summary["scores"]) == {"beta_vae", "factor_vae", "mig", "dci"}
    assert all(0.0 <= v <= 1.0 for v in summary["scores"].values())
    assert set(summary["training"]) >= {
        "loss",
        "reconstruction",
        "kl",
        "beta_kl",
        "elbo",
    }
    reconstructions = Image.open(out / "reconstructions.png")
    assert reconstructions.size == (2 * (8 * 66 + 2), 2 * (2 * 66 + 2))
    traversals = np.asarray(Image.open(out / "traversals.png"))
    assert traversals.shape[:2] == (2 * (4 * 66 + 2), 2 * (7 * 66 + 2))  # 4 latents x 7
    assert Image.open(out / "geometry.png").size == (384, 384)  # xy: 2 factors
    assert sorted(os.listdir(out / "checkpoints"))[:1] == ["checkpoint"]
    assert any(name.startswith("ckpt-4") for name in os.listdir(out / "checkpoints"))
    assert any(name.startswith("events") for name in os.listdir(out / "logs"))
    assert "Disentanglement scores: beta_vae " in result.stdout
    # The metrics take minutes at full size: each says when it starts.
    assert "Disentanglement metrics at step 4:" in result.stdout
    assert "Computing the mig metric (3 of 4)..." in result.stdout
