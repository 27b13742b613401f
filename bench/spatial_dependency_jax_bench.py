"""The table of spatial_dependency_bench.py, with the layers under Keras' JAX backend.

Times the forward pass (and forward+backward) of Conv2D 3x3, Conv2D 5x5 and
1- and 2-direction SpatialDependency layers (F = C = 200, kernel_size 1),
each as one jax.jit-compiled function of the weights and the input
(`layer.stateless_call`), and prints every time with its ratio to the JAX
Conv2D 3x3 of the same policy measured in the same run. Same flags as
spatial_dependency_bench.py, whose layers, timing and table this reuses
(--jit_compile and --authors do not apply here).

    python bench/spatial_dependency_jax_bench.py
    python bench/spatial_dependency_jax_bench.py --scales=8 --batch=4 --repeats=3
"""

import os
import sys

# Keras reads its backend once, at its first import: here, before anything
# imports it (spatial_dependency_bench included).
os.environ["KERAS_BACKEND"] = "jax"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import machine  # noqa: E402
import numpy as np  # noqa: E402
import spatial_dependency_bench as tf_bench  # noqa: E402
from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS  # the flags of spatial_dependency_bench.py


def _forward_fn(layer, x):
    """A compiled forward pass of `layer` on `x` that waits for its result."""
    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]
    forward = jax.jit(lambda t, n, x: layer.stateless_call(t, n, x)[0])

    def run():
        forward(trainable, non_trainable, x).block_until_ready()

    return run


def _forward_backward_fn(layer, x):
    """A compiled forward+backward pass: gradients of the input and weights."""
    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]

    def loss(t, x):
        outputs, _ = layer.stateless_call(t, non_trainable, x)
        return jnp.sum(outputs.astype("float32"))

    gradients = jax.jit(jax.grad(loss, argnums=(0, 1)))

    def run():
        jax.block_until_ready(gradients(trainable, x))

    return run


def measure(scales, batch, channels, repeats, backward):
    """{(pass, scale, name): (median ms, interquartile range ms)}."""
    results = {}
    rng = np.random.default_rng(0)
    compute_dtype = keras.config.dtype_policy().compute_dtype
    passes = {"forward": _forward_fn}
    if backward:
        passes["forward+backward"] = _forward_backward_fn
    for scale in scales:
        x = jnp.asarray(
            rng.standard_normal((batch, scale, scale, channels)), dtype=compute_dtype
        )
        layers = tf_bench.timed_layers(channels, "auto")
        for layer in layers.values():
            layer.build(x.shape)
        for pass_name, make_fn in passes.items():
            fns = {name: make_fn(layer, x) for name, layer in layers.items()}
            for name, timing in tf_bench.time_interleaved(fns, repeats).items():
                results[(pass_name, scale, name)] = timing
    return results


def main(argv):
    del argv
    for line in machine.describe():
        print(line)
    print(
        f"JAX {jax.__version__}, Keras backend {keras.backend.backend()}, "
        f"devices {jax.devices()}"
    )
    if FLAGS.precision == "mixed_bfloat16" and not machine.has_bf16_units():
        print(
            "This CPU has neither AVX512-BF16 nor AMX: bfloat16 matmuls would be "
            "emulated, so there is nothing to measure under mixed_bfloat16."
        )
        return
    keras.config.set_dtype_policy(FLAGS.precision)
    scales = [int(s) for s in FLAGS.scales]
    print(
        f"batch={FLAGS.batch} C=F={FLAGS.channels} precision={FLAGS.precision} "
        f"jax.jit repeats={FLAGS.repeats}"
    )
    results = measure(
        scales, FLAGS.batch, FLAGS.channels, FLAGS.repeats, FLAGS.backward
    )
    passes = ["forward"] + (["forward+backward"] if FLAGS.backward else [])
    print(tf_bench.format_table(results, scales, passes))


if __name__ == "__main__":
    app.run(main)
