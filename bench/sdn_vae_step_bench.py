"""What SDN costs in a training step: SDN-VAE against IAF-VAE+ in one process.

Builds the model of a `train.density` config twice, with ResSDN layers
(`use_sdn=True`) and without (the IAF-VAE+ baseline, same config
otherwise), compiles both as `train.density` does, and times their
compiled `fit` steps on the same batch, interleaved, so the ratio of the
medians is what SDN costs per step on this machine.

    python bench/sdn_vae_step_bench.py                      # photo_patches
    python bench/sdn_vae_step_bench.py --config=tiny --repeats=5
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import machine  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from train import configs, density  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum(
    "config", "photo_patches", sorted(configs.DENSITY_CONFIGS), "Density config."
)
flags.DEFINE_integer("repeats", 20, "Timed rounds; each round steps both models.")


def _train_step_fn(config, use_sdn, images):
    """A compiled training step of the config's model on `images`."""
    model = density.build_model(dict(config, use_sdn=use_sdn), tuple(images.shape[1:]))
    model.compile(optimizer=density.make_optimizer(config))
    model.make_train_function()
    step = model.train_function
    batch = tf.data.Dataset.from_tensors(images).repeat()
    iterator = iter(batch)
    return model, lambda: step(iterator)


def _time_interleaved(fns, repeats):
    for fn in fns.values():  # tracing and the first steps
        for _ in range(3):
            tf.nest.map_structure(np.asarray, fn())
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            tf.nest.map_structure(np.asarray, fn())
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def main(argv):
    del argv
    for line in machine.describe():
        print(line)
    config = density.make_config(FLAGS.config)
    keras.config.set_dtype_policy(config["precision"])
    size = config["image_size"]
    rng = np.random.default_rng(0)
    levels = 2 ** config["num_bits"]
    images = tf.constant(
        rng.integers(0, levels, (config["batch_size"], size, size, 3))
        * 2.0
        / (levels - 1)
        - 1.0,
        tf.float32,
    )
    fns, params = {}, {}
    for name, use_sdn in (("SDN-VAE", True), ("IAF-VAE+", False)):
        model, fns[name] = _train_step_fn(config, use_sdn, images)
        params[name] = model.count_params()
    medians = _time_interleaved(fns, FLAGS.repeats)
    print(
        f"config={FLAGS.config} batch={config['batch_size']} "
        f"precision={config['precision']} repeats={FLAGS.repeats}"
    )
    print("| model | parameters | s/step (median) | ratio to IAF-VAE+ |")
    print("|---|---|---|---|")
    for name, median in medians.items():
        print(
            f"| {name} | {params[name]:,} | {median:.3f} | "
            f"{median / medians['IAF-VAE+']:.2f}x |"
        )


if __name__ == "__main__":
    app.run(main)
