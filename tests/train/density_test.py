"""Tests of the train.density and train.evaluate commands."""

import json
import os
import re

import command_batch
import numpy as np
import pytest
import train_test_util as util
from PIL import Image

import sdn_tf
from sdn_tf.metrics import checkerboard
from sdn_tf.train import config as config_lib
from sdn_tf.train import density as train_density
from sdn_tf.train import figures
from sdn_tf.train.configs import density

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
# As a user runs a command: nothing set to quiet TensorFlow.
USER_ENV = {
    k: v
    for k, v in os.environ.items()
    if k not in ("TF_CPP_MIN_LOG_LEVEL", "TQDM_DISABLE")
}


def test_configs_hold_table_3():
    def row(name):
        c = density.PRESETS[name]()
        return (
            c.model.num_bits,
            sum(n for _, n, _ in c.model.scales),  # depth
            c.model.h_size,
            c.model.z_size,
            c.model.sdn_directions,
            c.optimizer.name,
            c.optimizer.learning_rate,
            c.run.batch_size // 8,  # per GPU, 8 GPUs
            c.model.num_components,
            c.optimizer.ema,
            c.model.free_bits,
            c.data.flip,
            c.model.iaf_context,
        )

    assert row("cifar10_table3") == (
        8, 15, 200, 4, 2, "adamax", 0.002, 32, 5, 0.999, 0.01, True, 100
    )  # fmt: skip
    assert row("imagenet32_table3") == (
        8, 16, 200, 4, 3, "adamax", 0.002, 32, 10, 0.9995, 0.01, False, 100
    )  # fmt: skip
    assert row("celebahq256_table3") == (
        5, 17, 200, 8, 2, "adamax", 0.001, 4, 30, 0.999, 0.01, True, 100
    )  # fmt: skip
    assert [density.PRESETS[n]().data.dataset for n in density.PRESETS] == [
        "cifar10",
        "downsampled_imagenet/32x32",
        "celeb_a_hq/256",
        "cifar10",
        "downsampled_imagenet/32x32",
        "celeb_a_hq/256",
        "sdn_photo_patches",
        "sdn_photo_patches",
    ]
    cifar = density.cifar10_table3().model.scales
    assert {s: f for s, _, f in cifar} == {32: 260, 16: 240, 8: 120}
    celeba = density.celebahq256_table3().model.scales
    assert [(s, n) for s, n, _ in celeba] == [
        (256, 4), (128, 3), (64, 2), (32, 2), (16, 2), (8, 2), (4, 2)
    ]  # fmt: skip
    assert [f for _, _, f in celeba] == [None, None, 360, 360, 360, 360, 360]
    imagenet = density.imagenet32_table3().model.scales
    assert imagenet == ((32, 4, 424), (16, 4, 424), (8, 4, 424), (4, 4, 424))


def test_the_authors_cifar10_model_has_table_4s_parameter_count():
    # Counting needs no particular initialization: Glorot builds faster.
    config = density.cifar10()
    model = config_lib.build_model(
        config, image_shape=(32, 32, 3), kernel_initializer="glorot_uniform"
    )
    widths = [step.sdn_features for step in model.ladder]
    assert widths == [360] * 6 + [232] * 5 + [104] * 4
    assert model.last_layer.spatial.num_features == 360
    assert len(model.last_layer.spatial.directions) == 4
    # Table 4: 121M; the authors' code builds 121.4M with an unused 0.72M.
    assert model.count_params() == pytest.approx(120.7e6, rel=0.002)
    assert model.count_params() == pytest.approx(121e6, rel=0.02)
    baseline = config_lib.build_model(  # IAF-VAE+, Table 4's CNN row
        config,
        image_shape=(32, 32, 3),
        use_sdn=False,
        kernel_initializer="glorot_uniform",
    )
    assert baseline.count_params() == pytest.approx(42e6, rel=0.02)


def test_the_authors_presets_hold_their_scripts_settings():
    cifar = density.cifar10()
    assert (cifar.run.steps, cifar.run.batch_size) == (196_000, 256)
    assert cifar.model.latent_parameterization == "log_variance"
    assert cifar.model.kernel_initializer == "orthogonal"
    assert cifar.model.sdn_correct_first_row  # Algorithm 1 (README table)
    schedule = cifar.optimizer.make()._learning_rate
    assert float(schedule(195)) == pytest.approx(0.002)
    assert float(schedule(196)) == pytest.approx(0.002 * 0.999)
    assert float(schedule(136_000)) == pytest.approx(0.002 * 0.999**693, rel=1e-4)
    imagenet = density.imagenet32()
    assert [n for _, n, _ in imagenet.model.scales] == [3, 4, 4, 5]
    assert imagenet.optimizer.lr_decay_steps == 0  # no decay in their script
    celeba = density.celebahq256()
    widths = [w for _, _, ws in celeba.model.scales for w in ws]
    assert widths == [None] * 8 + [400, 400, 320, 320, 240, 240, 160, 160, 80]
    assert (celeba.model.z_size, celeba.model.iaf_context) == (8, 96)


def test_the_learning_rate_decays_exponentially():
    optimizer = density.cifar10_table3().optimizer.make()
    schedule = optimizer._learning_rate
    assert float(schedule(0)) == pytest.approx(0.002)
    assert float(schedule(200_000)) == pytest.approx(0.001)
    assert optimizer.use_ema and optimizer.ema_momentum == pytest.approx(0.999)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"data.dataset": "no_such_dataset"}, "no_such_dataset"),
        ({"data.dataset": "sdn_circles/xy"}, "first resolution of 32"),
        ({"model.image_shape": (16, 16, 3)}, r"`model.image_shape`.*\(32, 32, 3\)"),
        ({"model.scales": ((8, 1, 8),)}, "first resolution of 16"),
        ({"optimizer.ema": 1.5}, r"`optimizer.ema`, expected a decay in \[0, 1\)"),
        ({"optimizer.learning_rate": float("nan")}, "`optimizer.learning_rate`.*nan"),
        ({"optimizer.learning_rate": -1.0}, "`optimizer.learning_rate`.*positive"),
        ({"optimizer.lr_decay_steps": -1}, "`optimizer.lr_decay_steps`"),
        ({"optimizer.name": "sgd"}, "`optimizer.name`, expected one of"),
        ({"evaluation.temperatures": (1.0, -0.5)}, "argument `temperatures`"),
        ({"model.free_bits": float("nan")}, "argument `free_bits`"),
        ({"model.iaf_context": 0}, "argument `iaf_context`"),
        ({"run.steps": 0}, "argument `steps`"),
    ],
)
def test_bad_settings_raise_before_training(settings, message, tmp_path):
    config = config_lib.with_settings(
        density.tiny(),
        {"run.output_dir": str(tmp_path / "run"), "data.data_dir": str(tmp_path)},
    )
    with pytest.raises(ValueError, match=message):
        train_density.run(config_lib.with_settings(config, settings))
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_an_output_dir_that_is_a_file_is_refused_before_any_work(tmp_path):
    a_file = tmp_path / "results"
    a_file.write_text("")
    config = config_lib.with_settings(
        density.tiny(),
        {"run.output_dir": str(a_file), "data.data_dir": str(tmp_path / "data")},
    )
    with pytest.raises(ValueError, match=r"`output_dir`.*writable.*\(a file\)"):
        train_density.run(config)
    assert not (tmp_path / "data").exists()  # not even the dataset was read


def _run(module, *flags, env=ENV):
    return util.run_command(module, *flags, env=env)


def _assert_quiet(stderr):
    """No logs without --verbosity: TensorFlow's C++ lines (its start-up,
    "failed call to cuInit" without a GPU), absl's INFO lines, TFDS's bars."""
    for line in stderr.splitlines():
        assert not re.match(r"[IWE]\d{4} ", line), stderr[-3000:]
        for text in ("InitializeLog", "oneDNN", "cuInit", "Generating", "INFO"):
            assert text not in line, stderr[-3000:]


def _assert_no_deprecation_notice(result):
    """Nothing of ours calls a deprecated TensorFlow API (its notice says
    "deprecated" and "Instructions for updating")."""
    output = result.stdout + result.stderr
    for text in ("deprecated", "Instructions for updating"):
        assert text not in output, output[-3000:]


def _tiles(png, size=32, padding=2, scale=2, left=0):
    """The [-1, 1] images of a figures.grid saved at `scale`, starting
    `left` pixels from the PNG's left edge."""
    canvas = np.asarray(png.convert("RGB"))[::scale, left::scale]
    canvas = canvas.astype(np.float32)
    rows = (canvas.shape[0] - padding) // (size + padding)
    columns = (canvas.shape[1] - padding) // (size + padding)
    tiles = [
        canvas[top : top + size, x : x + size]
        for top in range(padding, rows * (size + padding), size + padding)
        for x in range(padding, columns * (size + padding), size + padding)
    ]
    return np.stack(tiles) / 127.5 - 1.0


def _sheet_rows(png, count, size=32, padding=2, scale=2):
    """The [-1, 1] images of each of the `count` rows of a
    figures.labelled_sheet (one grid row each)."""
    row_height = (size + 2 * padding) * scale
    canvas = np.asarray(png.convert("RGB"))
    return [
        _tiles(
            Image.fromarray(canvas[r * row_height : (r + 1) * row_height]),
            size,
            padding,
            scale,
            left=figures.LABEL_WIDTH,
        )
        for r in range(count)
    ]


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
    first = _run("train.density", *common, "--steps=4", env=USER_ENV)
    assert first.returncode == 0, first.stderr[-3000:]
    _assert_quiet(first.stderr)
    _assert_no_deprecation_notice(first)
    lines = first.stdout.splitlines()
    assert lines[0].startswith("Data: sdn_photo_patches, 32x32x3 images, global ")
    assert lines[1] == f"Outputs: {out}"
    assert re.fullmatch(
        r"Model: SDNVAE, [\d,]+ parameters. A new run of 4 steps.", lines[2]
    )
    assert lines[3].startswith("Preparing the dataset in ")  # TFDS's notices: gone
    # One bar over the run (a line per step here, not a terminal), not Keras'.
    assert [line.split(" [")[0] for line in lines[4:8]] == [
        f"Step {step}/4" for step in range(1, 5)
    ]
    assert lines[8] == "Evaluating the test split with the EMA weights..."
    assert len(lines) == 14 and "Epoch" not in first.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["step"] == 4 and results["start_step"] == 0
    assert np.isfinite(results["test_bpd"]) and 0 < results["test_bpd"] < 12
    assert results["test_nonfinite_batches"] == 0
    assert (
        "Test negative ELBO" in first.stdout
        and str(out / "samples.png") in first.stdout
    )
    # samples.png: 8 test patches, their reconstructions and 8 samples at
    # each of 4 temperatures, a labelled row each (32 px tiles, x2).
    samples = Image.open(out / "samples.png")
    assert samples.size == (figures.LABEL_WIDTH + 2 * (8 * 34 + 2), 6 * 2 * 36)
    rows = _sheet_rows(samples, 6)
    test = next(iter(sdn_tf.data.load("sdn_photo_patches", "test", data_dir=data)))
    np.testing.assert_allclose(rows[0], test["image"][:8], atol=1e-6)
    # No pixel-level checkerboard over the samples as pictured: with the
    # stride-2 transposed last layer (output_upsampling="transpose") this
    # 4-step model's samples peaked at 12.9 at (pi, pi); resized, 1.04
    # (white noise: 1).
    peak = checkerboard.checkerboard_peak(np.concatenate(rows[2:]))
    assert peak < 3.0, peak
    assert checkerboard.checkerboard_peak(test["image"]) < 1.0
    assert any(name.startswith("events") for name in os.listdir(out / "logs"))

    # The commands after the first: in one process, each in a child of its
    # own (command_batch), TensorFlow imported once.
    with command_batch.Batch(["train.density", "train.evaluate"], env=ENV) as batch:
        # The README's main job exports when it ends (--export): here on resuming.
        second = batch.run("train.density", *common, "--steps=6", "--export")
        assert second.returncode == 0, second.stderr[-3000:]
        results = json.loads((out / "results.json").read_text())
        assert (results["start_step"], results["step"]) == (4, 6)
        assert "Resuming at step 4 of 6." in second.stdout
        _assert_no_deprecation_notice(second)
        assert results["saved_model"] == str(out / "saved_model")
        assert (out / "saved_model" / "saved_model.pb").exists()
        assert f"SavedModel:  {out / 'saved_model'}" in second.stdout

        # The same command again: the run is complete, nothing is trained, and
        # results.json (its training history included) is kept as it was.
        written = (out / "results.json").read_bytes()
        again = batch.run("train.density", *common, "--steps=6")
        assert again.returncode == 0, again.stderr[-3000:]
        assert "The run is complete: it has 6 of 6 steps, so nothing is trained." in (
            again.stdout
        )
        assert f"Its results, from {out / 'results.json'}:" in again.stdout
        assert f"Test negative ELBO: {results['test_bpd']:.4f} bits/dim" in again.stdout
        assert "Step " not in again.stdout and "Evaluating" not in again.stdout
        assert (out / "results.json").read_bytes() == written

        # Settings the restored model cannot take are refused before the bound:
        # one line, nothing written.
        for flag, message in (
            ("--layer=99", "argument `layer`, expected at most the model's 2 ladder"),
            (f"--eval_dir={out / 'results.json'}", "argument `eval_dir`"),
        ):
            refused = batch.run("train.evaluate", f"--output_dir={out}", flag)
            assert refused.returncode == 2, refused.stderr[-3000:]
            assert message in refused.stderr and "Traceback" not in refused.stderr
            assert "Negative ELBO" not in refused.stdout
        assert not (out / "evaluation").exists()

        evaluation = batch.run(
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
