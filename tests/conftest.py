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


# The modules that take longest (a minute or more of one core in all, most
# in a few tests or module fixtures), longest first. Run first: under xdist
# (-n 2) a long test at the end of the queue leaves the other worker idle,
# and this directory order put tests/train/ last.
SLOW_MODULES = (
    "tests/train/density_test.py",
    "tests/readme_test.py",
    "tests/sdn_tf/layers/backends_test.py",
    "tests/train/loop_test.py",
    "tests/train/checkpoints_test.py",
    "tests/models/sdn_vae_test.py",
    "tests/sdn_tf/layers/spatial_dependency_test.py",
    "tests/setup_test.py",
    "tests/train/runs_test.py",
    "tests/sdn_tf/data/pipeline_test.py",
    "tests/train/export_test.py",
    "tests/train/disentangle_test.py",
    "tests/sdn_tf/native/native_test.py",
    "tests/models/beta_vae_test.py",
    "tests/sdn_tf/layers/correction_native_test.py",
    "tests/sdn_tf/native/library_test.py",
    "tests/bench/claims_test.py",
    "tests/train/runtime_test.py",
)


def pytest_collection_modifyitems(items):
    """The SLOW_MODULES first, in their order; each module's tests (and so
    its module fixtures) stay together and in their own order."""

    def rank(item):
        path = item.nodeid.split("::")[0]
        return SLOW_MODULES.index(path) if path in SLOW_MODULES else len(SLOW_MODULES)

    items.sort(key=rank)  # stable


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
