"""Tests of sdn_tf.native: the build command, the process-wide settings and
the layers' fallback to the graph path where no kernel can be built."""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from sdn_tf import native

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _python(arguments, timeout=300, **env):
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
        timeout=timeout,
    )


@pytest.mark.skipif(
    shutil.which(native.library.compiler()) is None, reason="no C++ compiler"
)
def test_the_build_command_prints_the_library_path():
    result = _python(["-m", "sdn_tf.native"], timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    path = result.stdout.strip().splitlines()[-1]
    assert path == native.library_path() and os.path.isfile(path)


def test_the_build_command_fails_clearly_without_a_compiler(tmp_path):
    result = _python(
        ["-m", "sdn_tf.native"],
        SDN_TF_CXX=str(tmp_path / "no-such-c++"),
        XDG_CACHE_HOME=str(tmp_path),
    )
    assert result.returncode == 1
    assert "the kernel could not be built" in result.stderr
    assert "SDN_TF_CXX" in result.stderr


FALLBACK = textwrap.dedent("""
    import warnings
    import numpy as np
    import tensorflow as tf
    from sdn_tf.layers import SpatialDependency

    x = np.random.default_rng(0).normal(size=(2, 5, 4, 3)).astype("float32")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        auto = SpatialDependency(4, 5, directions=("down", "left"))
        auto.build(x.shape)
        outputs = [np.asarray(auto(x)), np.asarray(tf.function(auto)(x))]
        other = SpatialDependency(2, 3, directions=("up",))
        other(x)
    graph = SpatialDependency.from_config(
        {**auto.get_config(), "native_kernel": False}
    )
    graph.build(x.shape)
    graph.set_weights(auto.get_weights())
    for out in outputs:
        np.testing.assert_allclose(out, graph(x), rtol=1e-6, atol=1e-6)
    messages = [str(w.message) for w in caught if "sdn_tf" in str(w.message)]
    assert len(messages) == 1, messages
    print(messages[0])
    try:
        SpatialDependency(2, 3, native_kernel=True)(x)
    except RuntimeError as error:
        print("required:", error)
""")


def test_layers_fall_back_with_one_warning_without_a_compiler(tmp_path):
    result = _python(
        ["-c", FALLBACK],
        SDN_TF_CXX=str(tmp_path / "no-such-c++"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "use the TensorFlow graph path" in result.stdout
    assert "could not be run" in result.stdout
    assert "python -m sdn_tf.native" in result.stdout
    assert "compiling" not in result.stderr  # nothing to compile with
    required = result.stdout.split("required:")[-1]
    assert "The native sweep kernel is required" in required


def test_the_environment_variable_is_parsed(monkeypatch):
    for value, setting in [("1", True), ("true", True), ("0", False), ("auto", None)]:
        monkeypatch.setenv(native.SETTING_VARIABLE, value)
        assert native.forced() is setting
    monkeypatch.delenv(native.SETTING_VARIABLE)
    assert native.forced() is None
    monkeypatch.setenv(native.SETTING_VARIABLE, "2")
    with pytest.raises(ValueError, match="`SDN_TF_NATIVE`, expected one of"):
        native.forced()


def test_disabled_nests():
    assert not native.is_disabled()
    with native.disabled():
        with native.disabled():
            assert native.is_disabled()
        assert native.is_disabled()
    assert not native.is_disabled()


def _counting_compiler(tmp_path, exit_status):
    """A stand-in compiler that records each call and exits `exit_status`."""
    calls = tmp_path / "calls"
    script = tmp_path / "fake-c++"
    script.write_text(
        f"#!/bin/sh\necho called >> {calls}\nsleep 0.5\nexit {exit_status}\n"
    )
    script.chmod(0o755)
    return script, calls


def test_a_background_build_is_waited_for_and_its_failure_not_retried(
    tmp_path, monkeypatch
):
    compiler, calls = _counting_compiler(tmp_path, exit_status=3)
    monkeypatch.setenv("SDN_TF_CXX", str(compiler))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(native.SETTING_VARIABLE, raising=False)
    monkeypatch.setattr(native, "_loaded", {})
    monkeypatch.setattr(native, "_background", {})
    thread = native.start_build()
    assert thread is not None and native.start_build() is None  # one build
    for _ in range(2):
        with pytest.raises(native.BuildError, match="exit status 3"):
            native.load()
    assert not thread.is_alive()
    assert calls.read_text().splitlines() == ["called"]


def test_nothing_is_built_in_the_background_when_the_kernel_is_off_or_cached(
    tmp_path, monkeypatch
):
    compiler, calls = _counting_compiler(tmp_path, exit_status=0)
    monkeypatch.setenv("SDN_TF_CXX", str(compiler))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(native, "_loaded", {})
    monkeypatch.setattr(native, "_background", {})
    monkeypatch.setenv(native.SETTING_VARIABLE, "0")
    assert native.start_build() is None
    monkeypatch.setenv(native.SETTING_VARIABLE, "auto")
    os.makedirs(os.path.dirname(native.library_path()))
    open(native.library_path(), "w").close()
    assert native.start_build() is None
    assert not calls.exists()
