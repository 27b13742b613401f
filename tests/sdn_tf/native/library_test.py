"""Tests of the kernel's build: the cache's key, the lock, the failures.

A stand-in compiler (a shell script that counts its runs and writes its
output file) makes the lock's test fast; the real build is exercised by
every test of the kernel (tests/sdn_tf/layers/correction_native_test.py).
"""

import os
import stat
import sys
import textwrap

import concurrent_processes
import pytest

from sdn_tf.native import library

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _script(path, body):
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_the_cache_is_keyed_by_compiler_and_lies_under_xdg_cache_home(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("SDN_TF_CXX", raising=False)
    default = library.library_path()
    assert default.startswith(str(tmp_path / "sdn_tf" / "native") + os.sep)
    assert "-tf" in os.path.basename(default) and default.endswith(".so")
    monkeypatch.setenv("SDN_TF_CXX", "clang++")
    assert library.compiler() == "clang++"
    assert library.library_path() != default
    assert "-march=native" in library.compile_flags()


def test_parallel_builders_compile_once(tmp_path):
    compiler = _script(
        tmp_path / "fake-c++",
        f"""
        echo run >> {tmp_path / "runs"}
        sleep 2
        while [ "$1" != "-o" ]; do shift; done
        echo library > "$2"
        """,
    )
    builder = "from sdn_tf.native import library; print(library.build())"
    env = dict(
        os.environ,
        SDN_TF_CXX=compiler,
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    results = concurrent_processes.run(
        [["-c", builder]] * 2, cwd=ROOT, envs=[env, env], timeout=240
    )
    for returncode, _, stderr in results:
        assert returncode == 0, stderr[-2000:]
    paths = {stdout.strip().splitlines()[-1] for _, stdout, _ in results}
    assert len(paths) == 1
    (path,) = paths
    assert open(path).read() == "library\n"
    assert (tmp_path / "runs").read_text().count("run") == 1
    messages = sum(stderr.count("compiling the native sweep") for *_, stderr in results)
    assert messages == 1
    leftovers = [n for n in os.listdir(os.path.dirname(path)) if "tmp" in n]
    assert not leftovers


def test_a_missing_compiler_is_a_build_error_that_says_what_to_do(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("SDN_TF_CXX", str(tmp_path / "no-such-c++"))
    with pytest.raises(library.BuildError, match="could not be run.*SDN_TF_CXX"):
        library.build()


def test_a_failed_compilation_reports_the_compiler_output(tmp_path, monkeypatch):
    compiler = _script(tmp_path / "bad-c++", "echo 'error: boom' >&2\nexit 3\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SDN_TF_CXX", compiler)
    with pytest.raises(library.BuildError, match=r"(?s)exit status 3.*error: boom"):
        library.build()
    assert not os.path.exists(library.library_path())
    cached = os.listdir(tmp_path / "cache" / "sdn_tf" / "native")
    assert all(name.endswith(".lock") for name in cached), cached


def test_the_source_ships_in_the_package():
    assert os.path.isfile(library.SOURCE)
    assert sys.modules[library.__name__].__file__.startswith(
        os.path.dirname(library.SOURCE)
    )
