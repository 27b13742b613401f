"""The layers under Keras' JAX backend, and across TensorFlow and JAX.

Keras picks its backend once per process, when it is first imported, so the
JAX checks (backend_checks.py for the layers, correction_jax_checks.py for
the JAX sweep) run with pytest in one subprocess with KERAS_BACKEND=jax.
Before it starts, this process saves a model of every layer under
TensorFlow with its outputs and gradients; the subprocess loads it and must
give the same, then saves one of its own, which must load here with the
outputs and gradients JAX gave.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import sdn_test_case
from sdn_tf.layers import (
    ResSpatialDependency,
    SpatialBroadcast,
    SpatialDependency,
)

ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
)
CHECKS = [
    os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    for name in ("backend_checks.py", "correction_jax_checks.py")
]
SUBPROCESS_SECONDS = 300  # it takes about 50 s on two busy CPU cores


def _model_of_every_layer():
    """z [B, 3] -> broadcast -> transposed ResSDN -> SDN: every public layer,
    the weight-normalized convolutions and both correct_first_row modes."""
    z = keras.Input((3,))
    x = SpatialBroadcast(3, 4)(z)  # [B, 3, 4, 5]
    x = ResSpatialDependency(
        4,
        5,
        directions=("up", "left"),
        kernel_size=4,
        strides=2,
        transpose=True,
        weight_norm=True,
    )(x)  # [B, 6, 8, 4]
    x = SpatialDependency(
        3,
        4,
        directions=("down", "right"),
        kernel_size=3,
        weight_norm=True,
        correct_first_row=False,
    )(x)  # [B, 6, 8, 3]
    model = keras.Model(z, x)
    sdn_test_case.randomize_biases(model)
    return model


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory):
    """(finished subprocess, directory of the files both backends saved)."""
    directory = tmp_path_factory.mktemp("cross_backend")
    keras.utils.set_random_seed(0)
    model = _model_of_every_layer()
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(2, 3)).astype("float32")
    cotangent = rng.normal(size=(2, 6, 8, 3)).astype("float32")
    gradients = sdn_test_case.gradient_function(model)
    outputs, d_inputs, d_weights = gradients(inputs, cotangent)
    model.save(str(directory / "saved.keras"))
    np.savez(
        directory / "saved.npz",
        inputs=inputs,
        cotangent=cotangent,
        outputs=outputs,
        d_inputs=d_inputs,
        **d_weights,
    )
    process = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "0", "-q", "-rs", *CHECKS],
        cwd=ROOT,
        env={
            **os.environ,
            "KERAS_BACKEND": "jax",
            "SDN_CROSS_BACKEND_DIR": str(directory),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            # Hundreds of tiny programs, each run once: compiling them fast
            # (without LLVM's optimizations) halves the run's time.
            "XLA_FLAGS": " ".join(
                [os.environ.get("XLA_FLAGS", ""), "--xla_backend_optimization_level=0"]
            ).strip(),
        },
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_SECONDS,
    )
    return process, directory


def test_layer_checks_pass_under_jax(jax_run):
    process, _ = jax_run
    summary = process.stdout.strip().splitlines()[-1] if process.stdout else ""
    assert process.returncode == 0, process.stdout[-6000:] + process.stderr[-3000:]
    # The cross-backend checks ran too: nothing was skipped.
    assert " passed" in summary and "skipped" not in summary, process.stdout[-3000:]


def test_keras_file_saved_under_jax_gives_its_outputs_and_gradients(jax_run):
    _, directory = jax_run
    if not (directory / "jax.keras").exists():
        pytest.fail("the JAX run saved no model (see test_layer_checks_pass_under_jax)")
    model = keras.saving.load_model(str(directory / "jax.keras"))
    saved = np.load(directory / "saved.npz")
    from_jax = np.load(directory / "jax.npz")
    gradients = sdn_test_case.gradient_function(model)
    outputs, d_inputs, d_weights = gradients(saved["inputs"], saved["cotangent"])
    # The JAX weights are new ones: the outputs differ from the first model's.
    assert np.abs(outputs - saved["outputs"]).max() > 1e-3
    np.testing.assert_allclose(outputs, from_jax["outputs"], atol=1e-5)
    np.testing.assert_allclose(d_inputs, from_jax["d_inputs"], atol=1e-5)
    assert sorted(d_weights) == sorted(set(from_jax.files) - {"outputs", "d_inputs"})
    for path, gradient in d_weights.items():
        np.testing.assert_allclose(gradient, from_jax[path], atol=1e-5, err_msg=path)


def test_layers_refuse_an_unsupported_backend(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    for cls in (SpatialDependency, ResSpatialDependency):
        with pytest.raises(ValueError, match=r"\('tensorflow', 'jax'\).*'torch'"):
            cls(2, 3)
