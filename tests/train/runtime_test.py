"""Tests of strategies by name, including two real worker processes."""

import json
import os
import socket

import concurrent_processes
import numpy as np
import pytest
import tensorflow as tf

from sdn_tf.train import runtime

JOB = os.path.join(os.path.dirname(__file__), "..", "support", "train_job.py")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_strategies_by_name():
    assert runtime.make_strategy("mirrored").num_replicas_in_sync == 2  # 2 CPUs
    assert runtime.make_strategy("one_device").num_replicas_in_sync == 1
    # No GPUs: "auto" is the default strategy.
    assert runtime.make_strategy("auto") is tf.distribute.get_strategy()
    with pytest.raises(ValueError, match="`strategy`.*got 'tpu'"):
        runtime.make_strategy("tpu")


def test_multi_worker_without_tf_config_raises(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        runtime.make_strategy("multi_worker")


def test_unknown_precision_raises():
    with pytest.raises(ValueError, match="`precision`"):
        runtime.set_precision("float8")


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_together_and_agree_on_the_weights(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    envs = [
        dict(
            os.environ,
            TF_CPP_MIN_LOG_LEVEL="3",
            TF_CONFIG=json.dumps(
                {
                    "cluster": {"worker": workers},
                    "task": {"type": "worker", "index": index},
                }
            ),
        )
        for index in range(2)
    ]
    results = concurrent_processes.run(
        [
            [JOB, str(tmp_path / "run"), "3", "multi_worker"]
            + [str(tmp_path / f"weights_{index}.npz")]
            for index in range(2)
        ],
        cwd=ROOT,
        envs=envs,
    )
    for returncode, stdout, stderr in results:
        assert returncode == 0, (
            stderr[:200] + stderr[-6000:].split("Traceback")[-1][-2500:]
        )
        assert "start_step=0 step=3" in stdout
    first = np.load(tmp_path / "weights_0.npz")
    second = np.load(tmp_path / "weights_1.npz")
    assert len(first.files) == len(second.files) > 0
    for name in first.files:
        np.testing.assert_array_equal(first[name], second[name])
    # Only the chief wrote to the run directory.
    assert tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints")).endswith(
        "ckpt-3"
    )
