"""The layers under Keras' JAX and PyTorch backends, and across all three.

Keras picks its backend once per process, when it is first imported, so the
checks of the other backends (backend_checks.py for the layers,
correction_jax_checks.py and correction_torch_checks.py for their sweeps)
run with pytest in subprocesses with KERAS_BACKEND set. Before they start,
this process saves a model of every layer under TensorFlow with its outputs
and gradients. Then a JAX and a PyTorch process run their checks at the
same time; each loads TensorFlow's file and must give the same, saves one
of its own (new weights), and loads the other's (waiting for it if need
be). Last, this process loads JAX's and PyTorch's files. Every backend thus
loads every other backend's `.keras` file and gives the outputs and
gradients that backend gave. Without PyTorch installed the PyTorch steps
are skipped, with the reason.
"""

import importlib.util
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
HERE = os.path.dirname(os.path.abspath(__file__))
LAYER_CHECKS = os.path.join(HERE, "backend_checks.py")
SWEEP_CHECKS = {
    "jax": os.path.join(HERE, "correction_jax_checks.py"),
    "torch": os.path.join(HERE, "correction_torch_checks.py"),
}
# Each takes 40-90 s on two busy CPU cores, the two at the same time longer.
SUBPROCESS_SECONDS = 480
NO_TORCH = "PyTorch is not installed (pip install torch, or the test extra)"


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
def directory(tmp_path_factory):
    """The directory of the `.keras` files, holding TensorFlow's: the model,
    the input and cotangent (inputs.npz), its outputs and gradients."""
    directory = tmp_path_factory.mktemp("cross_backend")
    keras.utils.set_random_seed(0)
    model = _model_of_every_layer()
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(2, 3)).astype("float32")
    cotangent = rng.normal(size=(2, 6, 8, 3)).astype("float32")
    gradients = sdn_test_case.gradient_function(model)
    outputs, d_inputs, d_weights = gradients(inputs, cotangent)
    model.save(str(directory / "tensorflow.keras"))
    np.savez(directory / "inputs.npz", inputs=inputs, cotangent=cotangent)
    np.savez(
        directory / "tensorflow.npz", outputs=outputs, d_inputs=d_inputs, **d_weights
    )
    return directory


def _start_checks(backend, files, directory, loaded):
    """pytest on `files` in a subprocess under Keras' `backend`, loading the
    `.keras` files of the `loaded` backends; the started process."""
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "SDN_CROSS_BACKEND_DIR": str(directory),
        "SDN_CROSS_BACKEND_LOAD": ",".join(loaded),
        "SDN_CROSS_BACKEND_WAIT": str(SUBPROCESS_SECONDS // 2),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    if backend == "jax":
        # Hundreds of tiny programs, each run once: compiling them fast
        # (without LLVM's optimizations) halves the run's time.
        env["XLA_FLAGS"] = " ".join(
            [os.environ.get("XLA_FLAGS", ""), "--xla_backend_optimization_level=0"]
        ).strip()
    if backend == "torch":
        # Tiny tensors, op by op: on busy cores two intra-op threads that
        # wait for each other at every op only cost time (1.25x here).
        env["OMP_NUM_THREADS"] = "1"
    return subprocess.Popen(
        # -rA: a line per test, PASSED or not, for the checks below.
        [sys.executable, "-m", "pytest", "-n", "0", "-q", "-rA", *files],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _has_torch():
    # Looked up, not imported: this process runs TensorFlow and needs no
    # PyTorch of its own.
    return importlib.util.find_spec("torch") is not None


def _require_torch():
    if not _has_torch():
        pytest.skip(NO_TORCH)


@pytest.fixture(scope="module")
def backend_runs(directory):
    """{backend: the finished process of its checks}: JAX's, and PyTorch's
    when it is installed, run at the same time, each loading the other's
    file."""
    backends = ["jax", "torch"] if _has_torch() else ["jax"]
    started = {
        backend: _start_checks(
            backend,
            [LAYER_CHECKS, SWEEP_CHECKS[backend]],
            directory,
            ["tensorflow"] + [other for other in backends if other != backend],
        )
        for backend in backends
    }
    runs = {}
    for backend, process in started.items():
        try:
            stdout, stderr = process.communicate(timeout=SUBPROCESS_SECONDS)
        except subprocess.TimeoutExpired:
            for other in started.values():
                other.kill()
            raise
        runs[backend] = subprocess.CompletedProcess(
            process.args, process.returncode, stdout, stderr
        )
    return runs


@pytest.fixture(scope="module")
def jax_run(backend_runs):
    return backend_runs["jax"]


@pytest.fixture(scope="module")
def torch_run(backend_runs):
    _require_torch()
    return backend_runs["torch"]


def _assert_passed_without_skips(process):
    summary = process.stdout.strip().splitlines()[-1] if process.stdout else ""
    assert process.returncode == 0, process.stdout[-6000:] + process.stderr[-3000:]
    # The cross-backend checks ran too: nothing was skipped.
    assert " passed" in summary and "skipped" not in summary, process.stdout[-3000:]


def test_layer_checks_pass_under_jax(jax_run):
    _assert_passed_without_skips(jax_run)


def test_layer_checks_pass_under_torch(torch_run):
    _assert_passed_without_skips(torch_run)


def test_keras_file_saved_under_torch_loads_under_jax(jax_run):
    _require_torch()
    _assert_passed_without_skips(jax_run)
    check = "test_keras_file_of_another_backend_gives_its_outputs_and_gradients"
    passed = f"PASSED {os.path.relpath(LAYER_CHECKS, ROOT)}::{check}[torch]"
    assert passed in jax_run.stdout, jax_run.stdout


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_keras_file_saved_under_another_backend_gives_its_outputs_and_gradients(
    backend, directory, request
):
    if backend == "torch":
        _require_torch()
    request.getfixturevalue(f"{backend}_run")
    if not (directory / f"{backend}.keras").exists():
        pytest.fail(f"the {backend} run saved no model (see its checks' test)")
    model = keras.saving.load_model(str(directory / f"{backend}.keras"))
    data = np.load(directory / "inputs.npz")
    ours = np.load(directory / "tensorflow.npz")
    theirs = np.load(directory / f"{backend}.npz")
    gradients = sdn_test_case.gradient_function(model)
    outputs, d_inputs, d_weights = gradients(data["inputs"], data["cotangent"])
    # Its weights are new ones: the outputs differ from the first model's.
    assert np.abs(outputs - ours["outputs"]).max() > 1e-3
    np.testing.assert_allclose(outputs, theirs["outputs"], atol=1e-5)
    np.testing.assert_allclose(d_inputs, theirs["d_inputs"], atol=1e-5)
    assert sorted(d_weights) == sorted(set(theirs.files) - {"outputs", "d_inputs"})
    for path, gradient in d_weights.items():
        np.testing.assert_allclose(gradient, theirs[path], atol=1e-5, err_msg=path)


def test_layers_refuse_an_unsupported_backend(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "openvino")
    for cls in (SpatialDependency, ResSpatialDependency):
        with pytest.raises(
            ValueError, match=r"\('tensorflow', 'jax', 'torch'\).*'openvino'"
        ):
            cls(2, 3)
