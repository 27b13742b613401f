"""Tests of the output directory's lock, with a second real process."""

import errno
import os
import signal
import subprocess
import sys

import pytest

from sdn_tf.train import config, loop, run_lock

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Holds the lock of argv[1] until killed (imports no TensorFlow: fast).
HOLDER = (
    "import sys, time; from sdn_tf.train import run_lock; "
    "run_lock.RunLock(sys.argv[1]).acquire(); print('locked', flush=True); "
    "time.sleep(600)"
)


def test_a_second_process_is_refused_and_a_killed_holders_lock_taken_over(
    tmp_path, caplog
):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], cwd=ROOT,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(
            run_lock.RunLockedError,
            match=rf"`output_dir`: {tmp_path} is in use.*pid {holder.pid} on ",
        ):
            run_lock.RunLock(str(tmp_path)).acquire()
        # The training loop takes the same lock before it builds anything.
        settings = config.Run(output_dir=str(tmp_path), steps=2, batch_size=8)
        with pytest.raises(run_lock.RunLockedError, match="in use"):
            loop.train(settings, None, None, None, {})
        holder.send_signal(signal.SIGKILL)  # leaves its pid in the lock file
        holder.wait(timeout=60)
    finally:
        holder.kill()
    with run_lock.RunLock(str(tmp_path)):
        assert f"pid {os.getpid()} on " in (tmp_path / ".lock").read_text()
    assert f"without releasing it (pid {holder.pid} on " in caplog.text
    assert (tmp_path / ".lock").read_text() == ""  # released cleanly
    with run_lock.RunLock(str(tmp_path)):  # and taken again without a warning
        pass
    assert caplog.text.count("Taking over") == 1


def test_a_lock_file_that_is_a_directory_is_named(tmp_path):
    (tmp_path / run_lock.LOCK_FILE).mkdir()
    with pytest.raises(
        ValueError, match=r"`output_dir`: its lock file .*/\.lock is a directory"
    ):
        run_lock.RunLock(str(tmp_path)).acquire()


def test_a_full_disk_is_named_by_the_lock(tmp_path, monkeypatch):
    def no_space(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwrite", no_space)
    with pytest.raises(
        ValueError, match=r"lock file .*/\.lock is not writable \(No space left"
    ):
        run_lock.RunLock(str(tmp_path)).acquire()
    monkeypatch.undo()
    run_lock.RunLock(str(tmp_path)).acquire().release()  # not left locked
