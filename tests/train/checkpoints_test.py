"""Tests of checkpoints under faults: a run killed with SIGKILL (during
training and while writing a checkpoint) or stopped with Ctrl-C or SIGTERM resumes
without losing work; a failed write fails the run and keeps the previous
checkpoint; missing state files and corrupt checkpoints fall back to the
newest intact checkpoint."""

import logging
import os
import resource
import signal
import stat
import subprocess
import sys
import time

import keras
import pytest
import tensorflow as tf
import train_job
import train_test_util as util

from sdn_tf.train import checkpoints

JOB = os.path.join(os.path.dirname(__file__), "..", "support", "train_job.py")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def _job(output_dir, steps):
    return [sys.executable, JOB, str(output_dir), str(steps), "auto"]


def _latest_step(output_dir):
    latest = tf.train.latest_checkpoint(os.path.join(output_dir, "checkpoints"))
    return int(latest.rsplit("-", 1)[1]) if latest else 0


def _wait_for_checkpoint(process, output_dir, step, timeout=240):
    deadline = time.monotonic() + timeout
    while _latest_step(output_dir) < step:
        assert process.poll() is None, "the job ended before its checkpoint"
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.2)


def test_a_killed_run_resumes_from_its_newest_checkpoint(tmp_path):
    out = tmp_path / "run"
    # Checkpoints every step, so the kill very likely lands inside a write.
    process = subprocess.Popen(
        _job(out, 10_000), cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for_checkpoint(process, out, 5)
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
    # And what a kill inside CheckpointManager.save leaves: its temp folder.
    temporary = directory / f"ckpt-{killed_at + 2}_temp"
    temporary.mkdir(exist_ok=True)
    (temporary / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"x" * 99)

    resumed = subprocess.run(
        _job(out, killed_at + 3), cwd=ROOT, env=ENV, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"start_step={killed_at} step={killed_at + 3}" in resumed.stdout
    assert _latest_step(out) == killed_at + 3
    assert not list(directory.glob("*_temp"))
    assert f"Removing {temporary}" in resumed.stderr


@pytest.mark.parametrize(
    "signum, code, how",
    [(signal.SIGINT, 130, "Interrupted"), (signal.SIGTERM, 143, "Terminated")],
)
def test_ctrl_c_or_sigterm_saves_the_current_step_and_says_how_to_resume(
    tmp_path, signum, code, how
):
    out = tmp_path / "run"
    log = tmp_path / "stderr.txt"
    with open(log, "w") as stderr_file:  # a file: a full pipe would block it
        process = subprocess.Popen(
            _job(out, 10_000), cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
            stderr=stderr_file,
        )  # fmt: skip
        try:
            _wait_for_checkpoint(process, out, 2)
            process.send_signal(signum)
            process.wait(timeout=300)
        finally:
            process.kill()
    stderr = log.read_text()
    assert process.returncode == code, stderr[-3000:]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    last = stderr.strip().splitlines()[-1]
    step = _latest_step(out)
    assert last.startswith(f"{how} at step {step} of 10000; saved ")
    assert f"ckpt-{step}." in last and "To resume, run the same command again" in last
    assert JOB.split(os.sep)[-1] in last and str(out) in last
    assert not (out / ".lock").read_text()  # released on the way out


def test_a_second_signal_stops_at_once_without_saving(tmp_path):
    out = tmp_path / "run"
    log = tmp_path / "stderr.txt"
    with open(log, "w") as stderr_file:
        process = subprocess.Popen(
            _job(out, 10_000), cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
            stderr=stderr_file,
        )  # fmt: skip
        try:
            _wait_for_checkpoint(process, out, 2)
            # Both arrive well within one step and its save: Python would run
            # its handler once for the two.
            process.send_signal(signal.SIGINT)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        finally:
            process.kill()
    stderr = log.read_text()
    # 128 + the number of the signal that ended it, whichever came last.
    assert process.returncode in (130, 143), stderr[-3000:]
    assert stderr.strip().splitlines()[-1] == (
        "Stopped at once, without saving a checkpoint."
    )


def test_a_failed_checkpoint_write_fails_the_run_and_keeps_the_last(tmp_path):
    out = tmp_path / "run"
    train_job.main(str(out), 2, "auto")  # ckpt-1 and ckpt-2, in this process
    directory = out / "checkpoints"
    size = (directory / "ckpt-2.data-00000-of-00001").stat().st_size
    before = {p.name: p.read_bytes() for p in directory.glob("ckpt-*")}
    # As under `ulimit -f`: TensorFlow reports the failed write as
    # OutOfRangeError, which Keras fit used to take for the end of the data.
    limit = size // 2

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    failed = subprocess.run(
        _job(out, 4), cwd=ROOT, env=ENV, capture_output=True, text=True,
        timeout=300, preexec_fn=limit_file_size,
    )  # fmt: skip
    assert failed.returncode == 1, failed.stderr[-3000:]
    assert "Traceback" not in failed.stderr and "ran out of data" not in failed.stdout
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: Could not write checkpoint {directory}/ckpt-3 ")
    assert "File too large" in last and "still " + str(directory / "ckpt-2") in last
    assert "step=" not in failed.stdout
    # The previous checkpoints are as they were; the partial save is gone.
    after = {p.name: p.read_bytes() for p in directory.glob("ckpt-*")}
    assert after == before
    assert _latest_step(out) == 2


def _build():
    model = util.build_fn()()
    model.build()
    model.optimizer.build(model.trainable_variables)
    return model


def test_restore_uses_the_files_and_skips_a_corrupt_newest_checkpoint(tmp_path, caplog):
    out = tmp_path / "run"
    train_job.main(str(out), 3, "auto")  # ckpt-1 to ckpt-3
    directory = out / "checkpoints"
    (directory / "checkpoint").unlink()  # the state file
    data = directory / "ckpt-3.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:100])  # truncated
    (directory / "ckpt-2.index").write_bytes(b"not an index" * 10)
    intact = (directory / "ckpt-1.data-00000-of-00001").read_bytes()

    keras.utils.set_random_seed(0)
    caplog.set_level(logging.WARNING)
    model = _build()
    checkpointer = checkpoints.Checkpointer(str(out), model)
    assert checkpointer.restore_or_start(repair=True) == 1
    warnings = [r.getMessage() for r in caplog.records if "cannot be" in r.getMessage()]
    assert len(warnings) == 2
    assert f"{directory}/ckpt-3 cannot be restored" in warnings[0]
    assert "Read less bytes than requested" in warnings[0]
    assert f"{directory}/ckpt-2 cannot be restored" in warnings[1]
    # The state file names the restored checkpoint again; nothing was
    # overwritten.
    assert tf.train.latest_checkpoint(str(directory)).endswith("ckpt-1")
    assert (directory / "ckpt-1.data-00000-of-00001").read_bytes() == intact
    # Where none restores, the run is not started over them.
    (directory / "ckpt-1.index").write_bytes(b"not an index" * 10)
    with pytest.raises(RuntimeError, match="None of the checkpoints.*ckpt-1.index"):
        checkpoints.Checkpointer(str(out), _build()).restore_or_start()


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


def test_json_files_get_the_umask_mode_not_mkstemps(tmp_path):
    path = tmp_path / "results.json"
    old = os.umask(0o022)
    try:
        checkpoints.write_json_atomically(str(path), {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_the_state_file_reads_back_through_tensorflow(tmp_path):
    directory = tmp_path / 'odd "dir"'
    directory.mkdir()
    prefixes = [str(directory / f"ckpt-{n}") for n in (2, 4)]
    checkpoints.write_checkpoint_state(str(directory), prefixes[-1], prefixes)
    state = tf.train.get_checkpoint_state(str(directory))
    assert state.model_checkpoint_path == prefixes[-1]
    assert list(state.all_model_checkpoint_paths) == prefixes
    assert "ckpt-4" in (directory / "checkpoint").read_text()


def test_an_unfinished_save_is_removed_whether_a_directory_or_a_file(tmp_path):
    (tmp_path / "ckpt-3_temp").mkdir()
    (tmp_path / "ckpt-3_temp" / "part").write_text("x")
    (tmp_path / "ckpt-5_temp").write_text("a file: every save of step 5 failed")
    checkpoints.remove_temporary_saves(str(tmp_path))
    assert list(tmp_path.iterdir()) == []
