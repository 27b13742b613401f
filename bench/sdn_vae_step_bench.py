"""What SDN costs in a training step: SDN-VAE against IAF-VAE+ in one process.

Builds the model of a `train.density` config twice, with ResSDN layers
(`use_sdn=True`) and without (the IAF-VAE+ baseline, same config
otherwise), compiles both as `train.density` does, and trains them in
turn with `fit` on one batch (data loading is out of it). A short and a
long fit call per round separate the cost of a step from what a fit call
costs once; the ratio of the per-step medians is what SDN costs per step on
this machine. The SDN-VAE is timed twice, with its sweeps on the native
kernel where it applies (the layers' default, native_kernel="auto") and on
the TensorFlow graph path (--graph_path). A further model, the SDN-VAE
with every sweep skipped (its ResSDN layers keep their projections, gates
and residuals), shows what the rest of the SDN layers cost: the floor of
that ratio for any sweep.

    python bench/sdn_vae_step_bench.py                      # photo_patches
    python bench/sdn_vae_step_bench.py --config=tiny --repeats=3
"""

import contextlib
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

import sdn_tf  # noqa: E402
from sdn_tf import native  # noqa: E402
from sdn_tf.layers import correction  # noqa: E402
from sdn_tf.train import config as config_lib  # noqa: E402
from sdn_tf.train import runs  # noqa: E402
from sdn_tf.train.configs import density  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum("config", "photo_patches", sorted(density.PRESETS), "Density config.")
flags.DEFINE_integer("repeats", 5, "Timed rounds; each round trains each model.")
flags.DEFINE_integer("short", 2, "Steps of the short fit call of a round.")
flags.DEFINE_integer("long", 12, "Steps of the long fit call of a round.")
flags.DEFINE_bool(
    "skipped_sweeps", True, "Also time the SDN-VAE with its sweeps skipped."
)
flags.DEFINE_bool(
    "graph_path",
    True,
    "Also time the SDN-VAE with its sweeps on the graph path, not the native kernel.",
)


@contextlib.contextmanager
def _sweeps_skipped():
    """Every TensorFlow sweep traced inside returns its input features.

    The weights stay in the graph (times zero), so every variable still has
    a gradient, as in the real model.
    """
    sweep = correction.correction_sweep

    def skipped(features, kernel, bias, recurrent_kernel, recurrent_bias, **kwargs):
        weights = [kernel, bias, recurrent_kernel, recurrent_bias]
        return features + 0.0 * tf.add_n([tf.reduce_sum(w) for w in weights])

    correction.correction_sweep = skipped
    try:
        with native.disabled():  # the graph path's function, patched
            yield
    finally:
        correction.correction_sweep = sweep


def _sweeps(setting):
    """The context to trace the sweeps in: "auto" (the layers' choice),
    "graph" (the graph path) or "skipped"."""
    if setting == "skipped":
        return _sweeps_skipped()
    if setting == "graph":
        return native.disabled()
    return contextlib.nullcontext()


def _fit_fn(config, use_sdn, images, sweeps="auto"):
    """The model, and a function that trains it n steps with one `fit` call."""
    model = config_lib.build_model(config, use_sdn=use_sdn)
    model.compile(optimizer=config.optimizer.make())
    # As sdn_tf.data.load's pipelines: without autotuning, whose background
    # thread made the end of a fit call wait for its sleep period.
    batches = sdn_tf.data.without_autotune(
        tf.data.Dataset.from_tensors(images).repeat()
    )

    def train(steps):
        # The train function is traced in the first call; patched every
        # call all the same, so the order of the models does not matter.
        with _sweeps(sweeps):
            model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0)

    return model, train


def _step_and_call_seconds(fns, repeats, short, long):
    """{name: (median seconds per step, median seconds per fit call)}.

    Each round times a `short` and a `long` fit call of every model in
    turn; their difference over long - short steps is the cost of a step
    without what a fit call costs once (iterator, callbacks, and for the
    SDN-VAE a noticeable start-up of its loops).
    """
    for fn in fns.values():  # tracing and the first steps
        fn(short)
    steps = {name: [] for name in fns}
    calls = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times = []
            for count in (short, long):
                start = time.perf_counter()
                fn(count)
                times.append(time.perf_counter() - start)
            per_step = (times[1] - times[0]) / (long - short)
            steps[name].append(per_step)
            calls[name].append(times[0] - short * per_step)
    return {
        name: (float(np.median(steps[name])), float(np.median(calls[name])))
        for name in fns
    }


def main(argv):
    del argv
    for line in machine.describe():
        print(line)
    config = runs.with_image_shape(density.PRESETS[FLAGS.config]())
    keras.config.set_dtype_policy(config.run.precision)
    rng = np.random.default_rng(0)
    levels = 2**config.model.num_bits
    batch = config.run.batch_size
    images = tf.constant(
        rng.integers(0, levels, (batch, *config.model.image_shape)) * 2.0 / (levels - 1)
        - 1.0,
        tf.float32,
    )
    fns, params = {}, {}
    models = [("SDN-VAE", True, "auto")]
    if FLAGS.graph_path:
        models.append(("SDN-VAE, graph path", True, "graph"))
    if FLAGS.skipped_sweeps:
        models.append(("SDN-VAE, sweeps skipped", True, "skipped"))
    models.append(("IAF-VAE+", False, "auto"))
    for name, use_sdn, sweeps in models:
        model, fns[name] = _fit_fn(config, use_sdn, images, sweeps)
        params[name] = model.count_params()
    medians = _step_and_call_seconds(fns, FLAGS.repeats, FLAGS.short, FLAGS.long)
    print(
        f"config={FLAGS.config} batch={batch} "
        f"precision={config.run.precision} repeats={FLAGS.repeats} "
        f"fit calls of {FLAGS.short} and {FLAGS.long} steps"
    )
    print(
        "| model | parameters | s/step (median) | ratio to IAF-VAE+ "
        "| s per fit call, beyond its steps |"
    )
    print("|---|---|---|---|---|")
    baseline = medians["IAF-VAE+"][0]
    for name, (per_step, per_call) in medians.items():
        print(
            f"| {name} | {params[name]:,} | {per_step:.3f} | "
            f"{per_step / baseline:.2f}x | {per_call:.2f} |"
        )


if __name__ == "__main__":
    app.run(main)
