"""Tests of the train.density and train.evaluate commands."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from train import configs, density

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def test_configs_hold_table_3():
    def row(name):
        c = density.make_config(name)
        return (
            c["image_size"],
            c["num_bits"],
            sum(n for _, n, _ in c["scales"]),  # depth
            c["h_size"],
            c["z_size"],
            c["sdn_directions"],
            c["learning_rate"],
            c["batch_size"] // 8,  # per GPU, 8 GPUs
            c["num_components"],
            c["ema"],
            c["free_bits"],
            c["flip"],
            c["iaf_context"],
        )

    assert row("cifar10") == (
        32,
        8,
        15,
        200,
        4,
        2,
        0.002,
        32,
        5,
        0.999,
        0.01,
        True,
        100,
    )
    assert row("imagenet32") == (
        32, 8, 16, 200, 4, 3, 0.002, 32, 10, 0.9995, 0.01, False, 100
    )  # fmt: skip
    assert row("celebahq256") == (
        256, 5, 17, 200, 8, 2, 0.001, 4, 30, 0.999, 0.01, True, 100
    )  # fmt: skip
    assert [density.make_config(n)["dataset"] for n in configs.DENSITY_CONFIGS] == [
        "cifar10",
        "downsampled_imagenet/32x32",
        "celeb_a_hq/256",
        "sdn_photo_patches",
        "sdn_photo_patches",
    ]
    cifar = configs.DENSITY_CONFIGS["cifar10"]["scales"]
    assert {s: f for s, _, f in cifar} == {32: 260, 16: 240, 8: 120}
    celeba = configs.DENSITY_CONFIGS["celebahq256"]["scales"]
    assert [(s, n) for s, n, _ in celeba] == [
        (256, 4), (128, 3), (64, 2), (32, 2), (16, 2), (8, 2), (4, 2)
    ]  # fmt: skip
    assert [f for _, _, f in celeba] == [None, None, 360, 360, 360, 360, 360]
    imagenet = configs.DENSITY_CONFIGS["imagenet32"]["scales"]
    assert imagenet == ((32, 4, 424), (16, 4, 424), (8, 4, 424), (4, 4, 424))


def test_the_learning_rate_decays_exponentially():
    optimizer = density.make_optimizer(density.make_config("cifar10"))
    schedule = optimizer._learning_rate
    assert float(schedule(0)) == pytest.approx(0.002)
    assert float(schedule(200_000)) == pytest.approx(0.001)
    assert optimizer.use_ema and optimizer.ema_momentum == pytest.approx(0.999)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(config="mnist_big"), "`config`"),
        (dict(dataset="no_such_dataset"), "no_such_dataset"),
        (dict(dataset="sdn_circles/xy"), "takes 32x32 images"),
        (dict(scales=((8, 1, 8),)), "first resolution of 16"),
        (dict(ema=1.5), r"argument `ema`, expected a decay in \[0, 1\).*got 1.5"),
        (dict(learning_rate=float("nan")), "argument `learning_rate`.*got nan"),
        (dict(learning_rate=-1.0), "argument `learning_rate`.*positive.*got -1.0"),
        (dict(lr_decay_steps=0), "argument `lr_decay_steps`"),
        (dict(temperatures=(1.0, -0.5)), "argument `temperatures`"),
        (dict(free_bits=float("nan")), "argument `free_bits`"),
        (dict(iaf_context=0), "argument `iaf_context`"),
    ],
)
def test_bad_settings_raise_before_training(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        config = density.make_config(
            **dict(dict(config="tiny"), **kwargs),
            output_dir=str(tmp_path / "run"),
            data_dir=str(tmp_path / "data"),
        )
        density.run(config)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_an_output_dir_that_is_a_file_is_refused_before_any_work(tmp_path):
    a_file = tmp_path / "results"
    a_file.write_text("")
    config = density.make_config(
        config="tiny", output_dir=str(a_file), data_dir=str(tmp_path / "data")
    )
    with pytest.raises(ValueError, match=r"`output_dir`.*writable.*\(a file\)"):
        density.run(config)
    assert not (tmp_path / "data").exists()  # not even the dataset was read


def _run(module, *flags):
    return subprocess.run(
        [sys.executable, "-m", module, *flags],
        capture_output=True,
        text=True,
        timeout=500,
        env=ENV,
    )


def test_train_then_resume_then_evaluate(tmp_path):
    out, data = tmp_path / "run", tmp_path / "data"
    common = [
        "--config=tiny",
        f"--output_dir={out}",
        f"--data_dir={data}",
        "--checkpoint_every=2",
        "--log_every=1",
        "--image_every=2",
        "--eval_batches=2",
    ]
    first = _run("train.density", *common, "--steps=4")
    assert first.returncode == 0, first.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["step"] == 4 and results["start_step"] == 0
    assert np.isfinite(results["test_bpd"]) and 0 < results["test_bpd"] < 12
    assert results["test_nonfinite_batches"] == 0
    assert (
        "Test negative ELBO" in first.stdout
        and str(out / "samples.png") in first.stdout
    )
    samples = Image.open(out / "samples.png")  # 4 temperatures x 8, 32 px, x2
    assert samples.size == (2 * (8 * 34 + 2), 2 * (4 * 34 + 2))
    assert any(name.startswith("events") for name in os.listdir(out / "logs"))

    second = _run("train.density", *common, "--steps=6")
    assert second.returncode == 0, second.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert (results["start_step"], results["step"]) == (4, 6)

    evaluation = _run(
        "train.evaluate",
        f"--output_dir={out}",
        "--num_images=8",
        "--iw_samples=4",
        "--iw_chunk=2",
        "--iw_images=2",
        "--layer=1",
    )
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    report = json.loads((out / "evaluation" / "evaluation.json").read_text())
    assert report["iw_bpd"] <= report["iw_elbo_bpd"] + 1e-6
    assert report["test_images"] == 8
    for name in ("samples", "interpolation", "neighbourhood"):
        assert os.path.exists(report["figures"][name])
    interpolation = Image.open(report["figures"]["interpolation"])
    assert interpolation.size == (2 * (8 * 34 + 2), 2 * (4 * 34 + 2))

    exported = _run("train.export", f"--output_dir={out}")
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert (out / "saved_model" / "saved_model.pb").exists()
