"""Tests of checkpoints under faults: a run killed with SIGKILL, during
training and while writing a checkpoint, resumes without losing work."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from train import checkpoints

JOB = os.path.join(os.path.dirname(__file__), "..", "support", "train_job.py")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def _job(output_dir, steps):
    return [sys.executable, JOB, str(output_dir), str(steps), "auto"]


def _latest_step(output_dir):
    latest = tf.train.latest_checkpoint(os.path.join(output_dir, "checkpoints"))
    return int(latest.rsplit("-", 1)[1]) if latest else 0


def test_a_killed_run_resumes_from_its_newest_checkpoint(tmp_path):
    out = tmp_path / "run"
    # Checkpoints every step, so the kill very likely lands inside a write.
    process = subprocess.Popen(
        _job(out, 10_000), cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while _latest_step(out) < 5:
            assert process.poll() is None, "the job ended before it was killed"
            assert time.monotonic() < deadline, "no checkpoint in time"
            time.sleep(0.2)
        time.sleep(0.37)  # somewhere in a later step or its checkpoint
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        process.kill()
    assert process.returncode == -signal.SIGKILL
    killed_at = _latest_step(out)
    assert killed_at >= 5
    # What a kill in the middle of TensorFlow's write leaves behind: the
    # data of a newer checkpoint without its index, not yet recorded in the
    # checkpoint state file.
    directory = out / "checkpoints"
    data = next(p for p in directory.iterdir() if ".data-" in p.name)
    partial = directory / f"ckpt-{killed_at + 1}.data-00000-of-00001"
    partial.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    shutil.copytree(directory, tmp_path / "before")

    resumed = subprocess.run(
        _job(out, killed_at + 3), cwd=ROOT, env=ENV, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"start_step={killed_at} step={killed_at + 3}" in resumed.stdout
    assert _latest_step(out) == killed_at + 3


def test_json_is_written_atomically(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    checkpoints.write_json_atomically(str(path), {"a": 1})

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        checkpoints.write_json_atomically(str(path), {"a": 2})
    assert path.read_text().strip().replace(" ", "").replace("\n", "") == '{"a":1}'
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_reading_the_run_config_of_a_directory_that_is_no_run_raises(tmp_path):
    with pytest.raises(ValueError, match="not a training run's directory"):
        checkpoints.read_run_config(str(tmp_path))
