"""The table of spatial_dependency_bench.py, with the layers under Keras' PyTorch
backend, beside the authors' algorithm in the same process.

Times the forward pass (and forward+backward) of Conv2D 3x3, Conv2D 5x5 and
1- and 2-direction SpatialDependency layers (F = C = 200, kernel_size 1)
under Keras' torch backend, eagerly as PyTorch runs, and in the same rounds
(float32 only) the authors' algorithm (bench/authors_layer.py: a
`GRUCell(3F, F)` in a Python loop over rows) and torch's own Conv2d 3x3.
Prints every time with its ratio to the Keras Conv2D 3x3 of the same run,
then ours against the authors' (each with its ratio to its own framework's
Conv 3x3). Same flags as spatial_dependency_bench.py, whose layers, timing
and tables this reuses (--jit_compile and --native_kernel do not apply).
Everything runs on the device Keras' torch backend chose (a GPU where
PyTorch sees one).

    python bench/spatial_dependency_torch_bench.py
    python bench/spatial_dependency_torch_bench.py --scales=8 --batch=4 --repeats=3
"""

import os
import sys

# Keras reads its backend once, at its first import: here, before anything
# imports it (spatial_dependency_bench included).
os.environ["KERAS_BACKEND"] = "torch"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import machine  # noqa: E402
import numpy as np  # noqa: E402
import spatial_dependency_bench as tf_bench  # noqa: E402
import torch  # noqa: E402
from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS  # the flags of spatial_dependency_bench.py, and:
flags.DEFINE_integer(
    "torch_threads",
    os.cpu_count(),
    "PyTorch's intra-op threads, for every layer timed. On a machine that other "
    "work keeps busy, 1: two threads that wait for each other at every op "
    "measured up to 60x slower there.",
)

# The SDN layers under torch take the backend's sweep whatever the flag.
VARIANTS = tf_bench.sdn_variants("auto")


def _forward_fn(layer, x):
    """A forward pass of `layer` on `x`, without autograd's bookkeeping."""

    def run():
        with torch.no_grad():
            layer(x)
        tf_bench.torch_synchronize(x.device)

    return run


def _forward_backward_fn(layer, x):
    """A forward+backward pass: gradients of the input and the weights."""
    weights = [v.value for v in layer.trainable_variables]

    def run():
        inputs = x.detach().requires_grad_(True)
        loss = layer(inputs).float().sum()
        torch.autograd.grad(loss, [inputs, *weights])
        tf_bench.torch_synchronize(x.device)

    return run


def measure(scales, batch, channels, repeats, backward, authors):
    """{(pass, scale, name): (median ms, interquartile range ms)}."""
    results = {}
    rng = np.random.default_rng(0)
    compute_dtype = keras.config.dtype_policy().compute_dtype
    passes = {"forward": _forward_fn}
    if backward:
        passes["forward+backward"] = _forward_backward_fn
    for scale in scales:
        x = keras.ops.convert_to_tensor(
            rng.standard_normal((batch, scale, scale, channels)), dtype=compute_dtype
        )
        layers = tf_bench.timed_layers(channels, "auto", VARIANTS)
        for layer in layers.values():
            layer.build(x.shape)
        theirs = (
            tf_bench.authors_fns(scale, batch, channels, backward, x.device)
            if authors
            else {}
        )
        for pass_name, make_fn in passes.items():
            fns = {name: make_fn(layer, x) for name, layer in layers.items()}
            fns.update({name: fn for (p, name), fn in theirs.items() if p == pass_name})
            for name, timing in tf_bench.time_interleaved(fns, repeats).items():
                results[(pass_name, scale, name)] = timing
    return results


def main(argv):
    del argv
    for line in machine.describe():
        print(line)
    torch.set_num_threads(FLAGS.torch_threads)
    device = keras.ops.convert_to_tensor(0.0).device
    print(
        f"PyTorch {torch.__version__}, Keras backend {keras.backend.backend()}, "
        f"device {device}, torch threads {torch.get_num_threads()}"
    )
    if FLAGS.precision == "mixed_bfloat16" and not machine.has_bf16_units():
        print(
            "This CPU has neither AVX512-BF16 nor AMX: bfloat16 matmuls would be "
            "emulated, so there is nothing to measure under mixed_bfloat16."
        )
        return
    keras.config.set_dtype_policy(FLAGS.precision)
    scales = [int(s) for s in FLAGS.scales]
    authors = tf_bench.authors_available(FLAGS.authors, FLAGS.precision)
    print(
        f"batch={FLAGS.batch} C=F={FLAGS.channels} precision={FLAGS.precision} "
        f"eager repeats={FLAGS.repeats}"
    )
    results = measure(
        scales, FLAGS.batch, FLAGS.channels, FLAGS.repeats, FLAGS.backward, authors
    )
    passes = ["forward"] + (["forward+backward"] if FLAGS.backward else [])
    print(tf_bench.format_table(results, scales, passes, VARIANTS))
    if authors:
        print(tf_bench.format_authors(results, scales, passes, VARIANTS))


if __name__ == "__main__":
    app.run(main)
