"""Runs Python processes at the same time and collects what they printed.

    results = concurrent_processes.run([[script, arg], [script, arg]], cwd=ROOT)
    for returncode, stdout, stderr in results: ...

For the tests whose fault needs two processes at once (two workers of one
run, two builders of one dataset). A process still running at the timeout
is killed, so a hang fails the test instead of stalling the suite.
"""

import os
import subprocess
import sys


def run(argument_lists, cwd, envs=None, timeout=300):
    """[(returncode, stdout, stderr)] of `python *arguments` for each list,
    all started before any is waited for.

    Args:
      argument_lists: one list of command-line arguments (after the
        interpreter) per process.
      cwd: their working directory.
      envs: one environment per process; defaults to this one's with
        TensorFlow's C++ logging off.
      timeout: seconds to wait for each.
    """
    if envs is None:
        envs = [dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")] * len(argument_lists)
    processes = [
        subprocess.Popen(
            [sys.executable, *arguments],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for arguments, env in zip(argument_lists, envs)
    ]
    results = []
    for process in processes:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        finally:
            process.kill()
        results.append((process.returncode, stdout, stderr))
    return results
