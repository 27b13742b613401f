"""Reproduces Table 6 of the SDN paper on this machine, beside the authors' layer.

Times the forward pass (and forward+backward) of Conv2D 3x3, Conv2D 5x5 and
1- and 2-direction SpatialDependency layers (F = C = 200, kernel_size 1) at
scales 4, 8, 16 and 32, and prints every time with its ratio to Conv2D 3x3
measured in the same run. Also, from the same run:

* the machine's matmul rate on the sweep's own matmul shape
  ([B*W, 3F] x [3F, 3F], distinct operands, in the policy's compute dtype)
  and the 2-direction forward's achieved GFLOP/s as a fraction of it;
* the SDN layers on the native sweep kernel and on the TensorFlow graph
  path side by side (--native_kernel=both, the default: "2dir-SDN" is the
  kernel, "2dir-SDN-graph" the graph path);
* with PyTorch installed (float32 only), the authors' algorithm
  (bench/authors_layer.py: a GRUCell(3F, F) in a Python loop over rows) and
  torch's own Conv2d 3x3, interleaved with ours.

    python bench/spatial_dependency_bench.py                # the table
    python bench/spatial_dependency_bench.py --scales=32 --precision=mixed_bfloat16
    python bench/spatial_dependency_bench.py --scales=32 --channels=32
    python bench/spatial_dependency_bench.py --plot=docs/images/bench_ratios.png

--plot draws the ratios against the image size (each layer's time over
Conv2D 3x3's, and the authors' layer's time over ours); --output_json keeps
every median and interquartile range.
"""

import json
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
flags.DEFINE_enum(
    "native_kernel",
    "both",
    ["both", "auto", "true", "false"],
    "native_kernel of the SpatialDependency layers; both: the kernel (True) and "
    "the graph path (False, names ending in -graph) side by side.",
)
flags.DEFINE_boolean("backward", True, "Also time forward+backward.")
flags.DEFINE_enum(
    "authors",
    "auto",
    ["auto", "true", "false"],
    "Time the authors' PyTorch algorithm beside ours (auto: when torch imports "
    "and the precision is float32).",
)

SDN_DIRECTIONS = {"1dir-SDN": ("down",), "2dir-SDN": ("down", "right")}
GRAPH_SUFFIX = "-graph"

flags.DEFINE_string("plot", "", "Draw the ratios against the scale into this PNG.")
flags.DEFINE_string("output_json", "", "Save every timing to this JSON file.")


def sdn_variants(native_kernel="auto"):
    """{suffix of the SDN layers' names: their native_kernel} for the flag."""
    if native_kernel == "both":
        return {"": True, GRAPH_SUFFIX: False}
    return {"": {"auto": "auto", "true": True, "false": False}[native_kernel]}


def sdn_names(variants):
    return [name + suffix for name in SDN_DIRECTIONS for suffix in variants]


def timed_layers(channels, jit_compile, variants=None):
    variants = variants or sdn_variants()
    layers = {
        "3x3CNN": keras.layers.Conv2D(channels, 3, padding="same"),
        "5x5CNN": keras.layers.Conv2D(channels, 5, padding="same"),
    }
    for name, directions in SDN_DIRECTIONS.items():
        for suffix, native_kernel in variants.items():
            layers[name + suffix] = SpatialDependency(
                channels,
                channels,
                directions=directions,
                jit_compile=jit_compile,
                native_kernel=native_kernel,
            )
    return layers


def _call_ms(fn):
    start = time.perf_counter()
    result = fn()
    if result is not None:  # TensorFlow runs asynchronously until read
        tf.nest.map_structure(lambda t: t.numpy(), result)
    return (time.perf_counter() - start) * 1e3


def time_interleaved(fns, repeats):
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


def _matmul_fn(batch, scale, channels, dtype, rows):
    """`rows` matmuls [B*W, 3F] x [3F, 3F] on distinct operands, as a sweep does.

    A while loop over distinct slices, so neither constant folding nor
    common-subexpression elimination can skip any of them.
    """
    rng = np.random.default_rng(1)
    operands = tf.constant(
        rng.standard_normal((rows, batch * scale, 3 * channels)), dtype=dtype
    )
    kernel = tf.constant(
        rng.standard_normal((3 * channels, 3 * channels)) * 0.05, dtype=dtype
    )

    def step(i, total):
        product = tf.matmul(operands[i], kernel)
        return i + 1, total + tf.cast(product[0, 0], tf.float32)

    return tf.function(
        lambda: tf.while_loop(lambda i, _: i < rows, step, (0, 0.0))[1],
        autograph=False,
    )


def sdn_forward_flops(batch, scale, channels, directions):
    """Multiply-adds x 2 of a kernel-1 SDN forward with C = F: per position,
    F^2 in, (3F * 3F + F * 3F) per sweep, F^2 out."""
    per_position = 2 * channels**2 + directions * 12 * channels**2
    return 2 * per_position * batch * scale * scale


def authors_fns(scale, batch, channels, backward, device="cpu"):
    """{(pass, name): callable} timing the authors' algorithm and torch's
    Conv2d 3x3 on `device` (a torch device name); each call waits for its
    result."""
    import authors_layer
    import torch

    torch.manual_seed(0)
    x = torch.randn(batch, channels, scale, scale, device=device)
    layers = {
        "torch-3x3CNN": torch.nn.Conv2d(channels, channels, 3, padding=1),
        "authors-2dir-SDN": authors_layer.AuthorsSDNLayer(
            channels, channels, SDN_DIRECTIONS["2dir-SDN"]
        ),
    }
    for layer in layers.values():
        layer.to(device)

    def forward(layer):
        def run():
            with torch.no_grad():
                layer(x)
            torch_synchronize(device)

        return run

    def forward_backward(layer):
        def run():
            inputs = x.clone().requires_grad_(True)
            layer(inputs).sum().backward()
            torch_synchronize(device)

        return run

    fns = {("forward", name): forward(layer) for name, layer in layers.items()}
    if backward:
        fns.update(
            {
                ("forward+backward", name): forward_backward(layer)
                for name, layer in layers.items()
            }
        )
    return fns


def torch_synchronize(device):
    """Waits for the work queued on a torch `device` (CUDA runs asynchronously)."""
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def measure(scales, batch, channels, repeats, jit_compile, backward, authors, variants):
    """{(pass, scale, name): (median ms, interquartile range ms)}.

    Also ("matmul", scale, dtype) entries: the time of one sweep's worth
    (`scale` rows) of the sweep's matmul.
    """
    results = {}
    rng = np.random.default_rng(0)
    compute_dtype = keras.config.dtype_policy().compute_dtype
    passes = {"forward": _forward_fn}
    if backward:
        passes["forward+backward"] = _forward_backward_fn
    for scale in scales:
        x = tf.constant(
            rng.standard_normal((batch, scale, scale, channels)), dtype=compute_dtype
        )
        layers = timed_layers(channels, jit_compile, variants)
        for layer in layers.values():
            layer.build(x.shape)
        for pass_name, make_fn in passes.items():
            fns = {name: make_fn(layer, x) for name, layer in layers.items()}
            if pass_name == "forward":
                fns["matmul"] = _matmul_fn(batch, scale, channels, compute_dtype, scale)
            if authors:
                fns.update(
                    {
                        name: fn
                        for (p, name), fn in authors_fns(
                            scale, batch, channels, backward
                        ).items()
                        if p == pass_name
                    }
                )
            for name, timing in time_interleaved(fns, repeats).items():
                results[(pass_name, scale, name)] = timing
    return results


def format_table(results, scales, passes, variants=None):
    names = ["3x3CNN", "5x5CNN", *sdn_names(variants or sdn_variants())]
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


def format_matmul_rate(results, scales, batch, channels, variants):
    lines = [
        "\n2-direction forward against the matmul rate on the sweep's shape "
        f"[B*W, 3F] x [3F, 3F] (B={batch}, F={channels}), same run:",
        "| scale | layer | matmul GFLOP/s | forward GFLOP/s | fraction |",
        "|---|---|---|---|---|",
    ]
    for scale in scales:
        matmul_ms = results[("forward", scale, "matmul")][0]
        matmul_rate = 2 * batch * scale * 9 * channels**2 * scale / matmul_ms / 1e6
        for suffix in variants:
            name = "2dir-SDN" + suffix
            sdn_ms = results[("forward", scale, name)][0]
            sdn_rate = sdn_forward_flops(batch, scale, channels, 2) / sdn_ms / 1e6
            lines.append(
                f"| {scale} | {name} | {matmul_rate:.0f} | {sdn_rate:.0f} | "
                f"{sdn_rate / matmul_rate:.0%} |"
            )
    return "\n".join(lines)


def format_authors(results, scales, passes, variants):
    lines = [
        "\nAgainst the authors' algorithm (PyTorch, same run, interleaved): "
        "median ms (ratio to that framework's Conv 3x3)"
    ]
    lines.append(
        "| pass | scale | authors' 2dir-SDN | ours | ours 2dir-SDN | ours faster by |"
    )
    lines.append("|---|---|---|---|---|---|")
    for pass_name in passes:
        for scale in scales:
            theirs = results[(pass_name, scale, "authors-2dir-SDN")][0]
            their_conv = results[(pass_name, scale, "torch-3x3CNN")][0]
            our_conv = results[(pass_name, scale, "3x3CNN")][0]
            for suffix in variants:
                name = "2dir-SDN" + suffix
                ours = results[(pass_name, scale, name)][0]
                lines.append(
                    f"| {pass_name} | {scale} "
                    f"| {theirs:.1f} ({theirs / their_conv:.2f}x) | {name} "
                    f"| {ours:.1f} ({ours / our_conv:.2f}x) | {theirs / ours:.2f}x |"
                )
    return "\n".join(lines)


def draw_ratios(results, scales, passes, variants, authors, path, title):
    """A PNG of the ratios against the scale: per pass, each layer's median
    over Conv2D 3x3's and, with the authors' layer timed, theirs over ours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 2 if authors else 1
    figure, axes = plt.subplots(1, columns, figsize=(5.5 * columns, 4), squeeze=False)
    to_conv, to_authors = axes[0][0], axes[0][-1]
    names = ["5x5CNN", *sdn_names(variants)]
    styles = {"forward": "-", "forward+backward": "--"}
    for pass_name in passes:
        conv = np.array([results[(pass_name, s, "3x3CNN")][0] for s in scales])
        for name in names:
            ours = np.array([results[(pass_name, s, name)][0] for s in scales])
            to_conv.plot(
                scales,
                ours / conv,
                styles[pass_name],
                marker="o",
                color=f"C{names.index(name)}",  # one colour per layer
                label=f"{name}, {pass_name}",
            )
        if authors:
            theirs = np.array(
                [results[(pass_name, s, "authors-2dir-SDN")][0] for s in scales]
            )
            for suffix in variants:
                ours = np.array(
                    [results[(pass_name, s, "2dir-SDN" + suffix)][0] for s in scales]
                )
                to_authors.plot(
                    scales,
                    theirs / ours,
                    styles[pass_name],
                    marker="o",
                    color=f"C{names.index('2dir-SDN' + suffix)}",
                    label=f"2dir-SDN{suffix}, {pass_name}",
                )
    to_conv.set(
        xlabel="image size (height = width)",
        ylabel="time / Conv2D 3x3's (same run)",
        title="Against Conv2D 3x3",
    )
    if authors:
        to_authors.axhline(1.0, color="grey", linewidth=0.8)
        to_authors.set(
            xlabel="image size (height = width)",
            ylabel="authors' time / ours (above 1: ours faster)",
            title="Against the authors' layer (PyTorch)",
        )
    for ax in axes[0]:
        ax.set_xscale("log", base=2)
        ax.set_xticks(scales, [str(s) for s in scales])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def save_json(results, path, settings):
    """Every timing as {"pass|scale|name": [median ms, IQR ms]}."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(
            {
                "settings": settings,
                "results": {
                    f"{p}|{s}|{n}": list(timing)
                    for (p, s, n), timing in results.items()
                },
            },
            f,
            indent=2,
        )


def authors_available(setting, precision):
    """Whether to time the authors' layer (--authors); says why not, or raises
    SystemExit where --authors=true cannot be met."""
    if setting == "false":
        return False
    problem = None
    if precision != "float32":
        problem = "the authors' layer runs in float32 only"
    else:
        try:
            import torch  # noqa: F401
        except ImportError:
            problem = "PyTorch is not installed (pip install torch)"
    if problem and setting == "true":
        raise SystemExit(f"--authors=true, but {problem}.")
    if problem:
        print(f"Not timing the authors' layer: {problem}.")
    return problem is None


def main(argv):
    del argv
    tf.get_logger().setLevel("ERROR")  # one tf.function per layer retraces by design
    for line in machine.describe():
        print(line)
    if FLAGS.precision == "mixed_bfloat16" and not machine.has_bf16_units():
        print(
            "This CPU has neither AVX512-BF16 nor AMX: bfloat16 matmuls would be "
            "emulated, so there is nothing to measure under mixed_bfloat16."
        )
        return
    keras.config.set_dtype_policy(FLAGS.precision)
    jit = {"auto": "auto", "true": True, "false": False}[FLAGS.jit_compile]
    scales = [int(s) for s in FLAGS.scales]
    authors = authors_available(FLAGS.authors, FLAGS.precision)
    if authors:
        import torch

        torch.set_num_threads(os.cpu_count())  # as many as TensorFlow's
    print(
        f"batch={FLAGS.batch} C=F={FLAGS.channels} precision={FLAGS.precision} "
        f"sweep jit_compile={FLAGS.jit_compile} "
        f"native_kernel={FLAGS.native_kernel} repeats={FLAGS.repeats}"
    )
    variants = sdn_variants(FLAGS.native_kernel)
    results = measure(
        scales,
        FLAGS.batch,
        FLAGS.channels,
        FLAGS.repeats,
        jit,
        FLAGS.backward,
        authors,
        variants,
    )
    passes = ["forward"] + (["forward+backward"] if FLAGS.backward else [])
    print(format_table(results, scales, passes, variants))
    print(format_matmul_rate(results, scales, FLAGS.batch, FLAGS.channels, variants))
    if authors:
        print(format_authors(results, scales, passes, variants))
    settings = dict(
        machine=machine.describe(),
        batch=FLAGS.batch,
        channels=FLAGS.channels,
        precision=FLAGS.precision,
        native_kernel=FLAGS.native_kernel,
        repeats=FLAGS.repeats,
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
    if FLAGS.output_json:
        save_json(results, FLAGS.output_json, settings)
    if FLAGS.plot:
        title = (
            f"{machine.cpu_model()}; batch {FLAGS.batch}, C = F = {FLAGS.channels}, "
            f"{FLAGS.precision}, {settings['date']}"
        )
        path = draw_ratios(
            results, scales, passes, variants, authors, FLAGS.plot, title
        )
        print(f"Ratios drawn: {path}")


if __name__ == "__main__":
    app.run(main)
