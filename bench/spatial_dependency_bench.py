"""Reproduces Table 6 of the SDN paper on this machine: runtime of Conv2D vs SDN.

Times the forward pass (and forward+backward) of Conv2D 3x3, Conv2D 5x5 and
1- and 2-direction SpatialDependency layers (F = C = 200, kernel_size 1) at
scales 4, 8, 16 and 32, and prints every time with its ratio to Conv2D 3x3
measured in the same run.

    python bench/spatial_dependency_bench.py                # the table
    python bench/spatial_dependency_bench.py --scales=32 --jit_compile=true
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from sdn_tf.layers import SpatialDependency  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("batch", 32, "Batch size.")
flags.DEFINE_integer("channels", 200, "Input channels C = num_features F.")
flags.DEFINE_list("scales", ["4", "8", "16", "32"], "Input scales (height = width).")
flags.DEFINE_integer("repeats", 15, "Timed rounds; each round calls every layer once.")
flags.DEFINE_enum(
    "jit_compile",
    "auto",
    ["auto", "true", "false"],
    "jit_compile of the SpatialDependency sweeps.",
)
flags.DEFINE_enum(
    "precision",
    "float32",
    ["float32", "mixed_bfloat16", "mixed_float16"],
    "Keras dtype policy for every layer.",
)
flags.DEFINE_boolean("backward", True, "Also time forward+backward.")


def _layers(channels, jit_compile):
    return {
        "3x3CNN": keras.layers.Conv2D(channels, 3, padding="same"),
        "5x5CNN": keras.layers.Conv2D(channels, 5, padding="same"),
        "1dir-SDN": SpatialDependency(
            channels, channels, directions=("down",), jit_compile=jit_compile
        ),
        "2dir-SDN": SpatialDependency(
            channels, channels, directions=("down", "right"), jit_compile=jit_compile
        ),
    }


def _call_ms(fn):
    start = time.perf_counter()
    tf.nest.map_structure(lambda t: t.numpy(), fn())
    return (time.perf_counter() - start) * 1e3


def _time_interleaved(fns, repeats):
    """{name: (median ms, interquartile range ms)} over `repeats` rounds.

    Every round calls each function once, so a slow phase of the machine
    hits every layer alike and the ratios stay comparable.
    """
    for fn in fns.values():  # warm-up: tracing and the first runs
        _call_ms(fn)
        _call_ms(fn)
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(_call_ms(fn))
    return {
        name: (float(np.median(t)), float(np.subtract(*np.percentile(t, [75, 25]))))
        for name, t in times.items()
    }


def _forward_fn(layer, x):
    return tf.function(lambda: layer(x))


def _forward_backward_fn(layer, x):
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.cast(layer(x), tf.float32))
        return tape.gradient(loss, [x] + layer.trainable_variables)

    return tf.function(step)


def measure(scales, batch, channels, repeats, jit_compile, backward):
    """{(pass, scale, layer name): (median ms, interquartile range ms)}."""
    results = {}
    rng = np.random.default_rng(0)
    passes = {"forward": _forward_fn}
    if backward:
        passes["forward+backward"] = _forward_backward_fn
    for scale in scales:
        x = tf.constant(
            rng.standard_normal((batch, scale, scale, channels)),
            dtype=keras.config.dtype_policy().compute_dtype,
        )
        layers = _layers(channels, jit_compile)
        for layer in layers.values():
            layer.build(x.shape)
        for pass_name, make_fn in passes.items():
            fns = {name: make_fn(layer, x) for name, layer in layers.items()}
            for name, timing in _time_interleaved(fns, repeats).items():
                results[(pass_name, scale, name)] = timing
    return results


def format_table(results, scales, passes):
    names = ["3x3CNN", "5x5CNN", "1dir-SDN", "2dir-SDN"]
    lines = []
    for pass_name in passes:
        lines.append(
            f"\n{pass_name}: median ms ± interquartile range "
            "(ratio of medians to 3x3CNN, same run, interleaved)"
        )
        lines.append("| scale | " + " | ".join(names) + " |")
        lines.append("|---" * (len(names) + 1) + "|")
        for scale in scales:
            base = results[(pass_name, scale, "3x3CNN")][0]
            cells = []
            for name in names:
                median, iqr = results[(pass_name, scale, name)]
                cells.append(f"{median:.2f} ± {iqr:.2f} ({median / base:.2f}x)")
            lines.append(f"| {scale} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv):
    del argv
    tf.get_logger().setLevel("ERROR")  # one tf.function per layer retraces by design
    keras.config.set_dtype_policy(FLAGS.precision)
    jit = {"auto": "auto", "true": True, "false": False}[FLAGS.jit_compile]
    scales = [int(s) for s in FLAGS.scales]
    print(
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        f"{os.cpu_count()} CPU cores, GPUs: {tf.config.list_physical_devices('GPU')}"
    )
    print(
        f"batch={FLAGS.batch} C=F={FLAGS.channels} precision={FLAGS.precision} "
        f"sweep jit_compile={FLAGS.jit_compile} repeats={FLAGS.repeats}"
    )
    results = measure(
        scales, FLAGS.batch, FLAGS.channels, FLAGS.repeats, jit, FLAGS.backward
    )
    passes = ["forward"] + (["forward+backward"] if FLAGS.backward else [])
    print(format_table(results, scales, passes))


if __name__ == "__main__":
    app.run(main)
