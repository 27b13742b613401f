"""Test setup shared by the whole suite.

TensorFlow's multi-device code is tested on two logical CPU devices, which
must be configured before TensorFlow initializes its runtime: here, at
import time, before any test module runs an op.
"""

import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_CPUS = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _CPUS[0], [tf.config.LogicalDeviceConfiguration()] * 2
)


@pytest.fixture(autouse=True, scope="session")
def _imports_frozen_for_the_garbage_collector():
    """Every test's clear_session collects garbage; the half million objects
    the imports made (TensorFlow, Keras, the test modules) live to the end,
    so the collector is told to skip them: gc.collect() takes milliseconds
    instead of ~0.5 s a test. What the tests make is collected as before."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Every test starts with float32, a fixed seed and no leftover names."""
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")
    keras.backend.clear_session()


@pytest.fixture(scope="session")
def two_cpu_strategy():
    """MirroredStrategy over the two logical CPU devices, one per process.

    Two MirroredStrategy objects in one process number their collective
    all-reduces independently, and on CPUs the numbers collide ("Shape
    mismatch in the collective instance"); a real program makes one.
    """
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
