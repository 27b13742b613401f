"""Small models and data for the training-loop tests (no TFDS, seconds),
and a command run in a process of its own."""

import os
import subprocess
import sys

import keras
import numpy as np
import tensorflow as tf

from sdn_tf.models import SDNVAE
from sdn_tf.train import config, runs

IMAGE_SHAPE = (8, 8, 3)


def images(count=64, seed=0):
    """Quantized images in [-1, 1] with some structure to learn."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:8, 0:8] / 8.0
    base = np.stack([np.sin(3 * x + k) * np.cos(2 * y) for k in range(3)], -1)
    values = base[None] * rng.uniform(0.5, 1.0, (count, 1, 1, 1))
    values = values + rng.normal(0.0, 0.05, values.shape)
    levels = np.round((np.clip(values, -1, 1) + 1) / 2 * 255)
    return (2 * levels / 255 - 1).astype(np.float32)


def build_fn(learning_rate=1e-3, use_sdn=False, **kwargs):
    """() -> a compiled tiny IAF-VAE+ (SDNVAE with use_sdn) for loop.train.

    Without SDN layers the training step traces in seconds.
    """

    def build():
        model = SDNVAE(
            image_shape=IMAGE_SHAPE,
            h_size=8,
            z_size=2,
            scales=((8, 1, 8), (4, 1, 8)),
            num_components=2,
            iaf_context=4,
            use_sdn=use_sdn,
            **kwargs,
        )
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
        return model

    return build


def dataset_fn(nan_from=None, nan_at=()):
    """(global_batch, seed) -> repeating batches in a fixed order; batches
    from number `nan_from` on, and those numbered in `nan_at`, hold a NaN
    pixel (batches are numbered from 0)."""

    def make_dataset(global_batch, seed):
        del seed  # a fixed order, so that runs are comparable
        dataset = tf.data.Dataset.from_tensor_slices(images()).repeat()
        dataset = dataset.batch(global_batch, drop_remainder=True).enumerate()
        bad_indices = tf.constant(list(nan_at) or [-1], tf.int64)

        def poison(index, batch):
            bad = tf.tensor_scatter_nd_update(batch, [[0, 0, 0, 0]], [np.nan])
            is_bad = tf.reduce_any(tf.equal(index, bad_indices))
            if nan_from is not None:
                is_bad = tf.logical_or(is_bad, index >= nan_from)
            return {"image": tf.where(is_bad, bad, batch)}

        return dataset.map(poison)

    return make_dataset


def record(name):
    """A run_config.json record for loop.train, for a test run called `name`."""
    return {"format": runs.FORMAT, "command": "test", "identity": {"test": name}}


def settings(output_dir, steps, batch_size=8, **kwargs):
    defaults = dict(checkpoint_every=2, log_every=1, epoch_steps=100, verbose=0)
    return config.Run(
        output_dir=str(output_dir),
        steps=steps,
        batch_size=batch_size,
        **dict(defaults, **kwargs),
    )


def run_command(module, *flags, env=None, timeout=500):
    """`python -m module *flags` in a process of its own, output captured
    (TensorFlow's C++ logs off unless `env` says otherwise)."""
    return subprocess.run(
        [sys.executable, "-m", module, *flags],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
