"""One training process per output directory.

    with run_lock.RunLock(output_dir):
        ...  # restore, train, checkpoint

The lock is an advisory `flock` on `output_dir/.lock`, which the kernel
releases when the process ends however it ends (kill -9 included), so a
lock is never left stale by a dead process. The file holds the holder's pid
and host for the message a second run gets; a file that still names a
holder although nobody holds the lock was left by a killed run, and is
taken over with a warning. flock works across processes of one machine and
on most network filesystems that emulate it; it is not a guarantee across
hosts on filesystems that do not.
"""

import fcntl
import os
import socket

from absl import logging

from sdn_tf.train import exits

LOCK_FILE = ".lock"


class RunLockedError(exits.Stop):
    """Another process is training in the same output directory."""


class RunLock:
    """An exclusive lock on a run's output directory (a context manager)."""

    def __init__(self, output_dir):
        self.path = os.path.join(output_dir, LOCK_FILE)
        self._fd = None

    def acquire(self):
        """Takes the lock or raises RunLockedError naming the holder; a
        ValueError naming the lock file when it cannot be written (a
        directory in its place, a full disk)."""
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise self._unusable(error) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd) or "another process"
            os.close(fd)
            raise RunLockedError(
                "Received an invalid value for argument `output_dir`: "
                f"{os.path.dirname(self.path)} is in use by a training run "
                f"({holder}, lock file {self.path}). Wait for it to finish, "
                "stop it, or choose another output directory."
            ) from None
        previous = _read(fd)
        if previous:
            # A clean exit empties the file: this holder was killed.
            logging.warning(
                "Taking over the lock %s of a run that ended without releasing it "
                "(%s).",
                self.path,
                previous,
            )
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        except OSError as error:  # a full disk: ENOSPC
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise self._unusable(error) from None
        self._fd = fd
        return self

    def _unusable(self, error):
        """The ValueError for a lock file that cannot be opened or written."""
        what = "a directory" if os.path.isdir(self.path) else "not writable"
        return ValueError(
            "Received an invalid value for argument `output_dir`: its lock file "
            f"{self.path} is {what} ({error.strerror or error}). "
            + (
                "Move the directory away."
                if what == "a directory"
                else "Free space (when its disk is full), or choose another output "
                "directory."
            )
        )

    def release(self):
        if self._fd is None:
            return
        # Emptied, not deleted: deleting would let a waiting process lock
        # the old file while a third creates and locks a new one.
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


def _read(fd):
    return os.pread(fd, 4096, 0).decode(errors="replace").strip()
