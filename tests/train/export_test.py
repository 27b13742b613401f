"""Tests of the SavedModel export: signatures, EMA weights, and a load in a
process where the project can't be imported."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import train_test_util as util

from sdn_tf.train import callbacks as callbacks_lib
from sdn_tf.train import export

LOADER = os.path.join(os.path.dirname(__file__), "..", "support", "load_saved_model.py")


def _trained_model_with_ema():
    model = util.build_fn()()
    model.compile(optimizer=keras.optimizers.Adam(1e-2, use_ema=True, ema_momentum=0.5))
    for _ in range(3):  # (fit would end by copying the EMA into the weights)
        model.train_on_batch(util.images(8))
    return model


def test_saved_model_runs_without_the_project_and_uses_the_ema_weights(tmp_path):
    model = _trained_model_with_ema()
    images = util.images(4, seed=1)
    raw = [np.asarray(v) for v in model.weights]
    raw_code = np.asarray(model.encode(images)[0])  # continuous, unlike images
    with callbacks_lib.ema_weights(model):
        expected = {
            "reconstruct": np.asarray(model.reconstruct(images)),
            "zs": [np.asarray(z) for z in model.encode(images)],
            "sample_t0": np.asarray(model.sample(3, temperature=0.0)),
            "bits_per_dim": np.asarray(model.negative_elbo_bpd(images)),
        }
    export_dir = export.export(model, str(tmp_path / "saved_model"))
    # The model's own weights are back after the export (the EMA swap adds
    # and subtracts, so up to a rounding step).
    for before, variable in zip(raw, model.weights):
        np.testing.assert_allclose(
            np.asarray(variable), before, rtol=1e-6, atol=1e-9, err_msg=variable.path
        )

    # The signatures name what is wrong, not only "Graph execution error".
    loaded = tf.saved_model.load(export_dir)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`images`, expected"):
        loaded.signatures["bits_per_dim"](images=tf.zeros((2, 16, 16, 3)))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`num_samples`"):
        loaded.signatures["sample"](
            num_samples=tf.constant(0), temperature=tf.constant(1.0)
        )

    np.savez(tmp_path / "inputs.npz", images=images)
    result = subprocess.run(
        [
            sys.executable,
            LOADER,
            export_dir,
            str(tmp_path / "inputs.npz"),
            str(tmp_path / "outputs.npz"),
        ],
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("bits_per_dim", "decode", "encode", "reconstruct", "sample"):
        assert name in result.stdout
    outputs = np.load(tmp_path / "outputs.npz")
    np.testing.assert_allclose(
        outputs["reconstruct"], expected["reconstruct"], atol=1e-5
    )
    assert not np.allclose(outputs["encode_z_0"], raw_code)  # EMA, not raw weights
    np.testing.assert_allclose(outputs["decode"], expected["reconstruct"], atol=1e-5)
    for i, z in enumerate(expected["zs"]):
        np.testing.assert_allclose(outputs[f"encode_z_{i}"], z, atol=1e-5)
    np.testing.assert_allclose(outputs["sample_t0"], expected["sample_t0"], atol=1e-5)
    assert outputs["sample_t1"].shape == (3, 8, 8, 3)
    # A single-sample bound: the same up to the posterior noise.
    np.testing.assert_allclose(
        outputs["bits_per_dim"], expected["bits_per_dim"], rtol=0.05
    )


def test_an_export_replaces_a_broken_one_and_a_failed_one_keeps_the_last(
    tmp_path, monkeypatch
):
    model = _trained_model_with_ema()
    export_dir = tmp_path / "saved_model"
    (export_dir / "variables").mkdir(parents=True)  # an interrupted export
    assert not export.is_complete(str(export_dir))
    export.export(model, str(export_dir))
    assert export.is_complete(str(export_dir))
    graph = (export_dir / "saved_model.pb").read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export.tf.saved_model, "save", interrupted)
    try:
        export.export(model, str(export_dir))
    except KeyboardInterrupt:
        pass
    assert (export_dir / "saved_model.pb").read_bytes() == graph
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved_model"]
