"""Distribution strategy and precision, chosen by name.

Global batch = per-replica batch x replicas: the commands take the global
batch and split it evenly over the replicas (an error before training when
it does not divide). The learning rate applies to the global batch as
given: it is not rescaled when the number of replicas changes (scale it
yourself, e.g. linearly, when you change the global batch). Each replica
reads its share of every global batch; under MultiWorkerMirroredStrategy
every worker reads the whole input pipeline and keeps its share of the
elements (auto-shard policy DATA), since the datasets are few files.
"""

import json
import os

import keras
import tensorflow as tf

from sdn_tf import arguments

STRATEGIES = ("auto", "mirrored", "multi_worker", "one_device")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def make_strategy(name):
    """The tf.distribute strategy called `name`.

    auto: MirroredStrategy over all visible GPUs when there are several,
      else the default strategy.
    mirrored: MirroredStrategy over all visible GPUs (all CPU devices if
      there is no GPU, e.g. logical CPU devices in tests).
    multi_worker: MultiWorkerMirroredStrategy configured by TF_CONFIG.
    one_device: OneDeviceStrategy on the first GPU, else the CPU.
    """
    arguments.one_of(name, "strategy", STRATEGIES)
    if name == "multi_worker":
        # Before anything lists devices: that starts TensorFlow's runtime,
        # after which collective ops can no longer be configured.
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "Received an invalid value for argument `strategy`: 'multi_worker' "
                "needs the TF_CONFIG environment variable (cluster and task), "
                "which is not set."
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        return (
            tf.distribute.MirroredStrategy()
            if len(gpus) > 1
            else tf.distribute.get_strategy()
        )
    if name == "mirrored":
        if gpus:
            return tf.distribute.MirroredStrategy([d.name for d in gpus])
        # CPU devices: reduce through one device. The default collective
        # all-reduce keys its instances per process, and a second strategy in
        # the same process (tests, notebooks) collides with the first.
        return tf.distribute.MirroredStrategy(
            [d.name for d in tf.config.list_logical_devices("CPU")],
            cross_device_ops=tf.distribute.ReductionToOneDevice(),
        )
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")


def set_precision(name):
    """Sets the global Keras dtype policy (float32 or a mixed policy)."""
    arguments.one_of(name, "precision", PRECISIONS)
    keras.config.set_dtype_policy(name)


def is_chief(strategy):
    """Whether this process writes the run's files (single host: always)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if (
        not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        or resolver is None
    ):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return (
        task_type is None
        or task_type == "chief"
        or (
            task_type == "worker"
            and task_id == 0
            and "chief"
            not in json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
        )
    )


def shard_by_data(dataset):
    """Lets every worker read the pipeline and keep its share of elements."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return dataset.with_options(options)
