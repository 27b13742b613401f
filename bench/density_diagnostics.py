"""What happens in the first steps of the main job, with and without SDN:
python bench/density_diagnostics.py --steps=400 --seeds=0,1,2

Trains the main job's config (train.density's `photo_patches` preset, or
--config) as SDN-VAE and as IAF-VAE+ from the same seeds on the same
batches, and every --every steps records

  test_bpd, test_bpd_ema   negative ELBO of the first --eval_images test
                           patches, with the current and the EMA weights
  train_bpd                the batch's negative ELBO
  kl_per_layer             the batch-mean KL of every ladder layer, top
                           first (nats)
  grad_norm                gradient norms of the sweeps' weights (GRU
                           kernels and biases), of the SDN layers'
                           projections and of every other weight
  cnn_share                per ResSDN layer, the mean of sigmoid(g): the
                           share of the convolution branch in its output
                           (1 - share: the SDN branch's)
  border_steps             in 16 prior samples as pictured (EMA weights),
                           the mean |difference| between the outermost two
                           rows or columns of each border over that of
                           interior neighbours (real patches: about 1)

and writes them as JSON (--output_json). It answers "where do the two
models part?" rather than "which is better?": bench/claims.py does that.
"""

import ast
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

from sdn_tf.models import vae  # noqa: E402
from sdn_tf.train import callbacks, datasets, runs  # noqa: E402
from sdn_tf.train import config as config_lib  # noqa: E402
from sdn_tf.train.configs import density  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("config", "photo_patches", "A train.density preset.")
flags.DEFINE_list("set", [], "Settings path=value applied to both models.")
flags.DEFINE_integer("steps", 400, "Training steps.")
flags.DEFINE_integer("every", 50, "Steps between records.")
flags.DEFINE_list("seeds", ["0"], "Seeds.")
flags.DEFINE_list("models", ["sdn", "iaf"], "sdn (SDN-VAE), iaf (IAF-VAE+).")
flags.DEFINE_integer("eval_images", 256, "Test patches of each record.")
flags.DEFINE_string("output_json", None, "Where to write the records.")
flags.DEFINE_float(
    "update_gate_bias",
    0.0,
    "Added to every sweep's update-gate (z) input bias after initialization: "
    "z = sigmoid(b) starts above 1/2, so a sweep starts close to keeping I.",
)


def weight_group(path):
    """'sweep', 'sdn_projection' or 'other' for a variable's path."""
    if "spatial" not in path:
        return "other"
    if "correction" in path:
        return "sweep"
    return "sdn_projection"


def record_cnn_shares(model):
    """Makes every ResSDN layer of `model` record mean(sigmoid(g)) in the
    returned dict each time it runs (the last run's tensors stay)."""
    shares = {}
    for index, layer in enumerate(model.sdn_layers):
        inner_call = layer.spatial.call

        def recorded(inputs, _inner=inner_call, _name=f"{index}:{layer.name}"):
            outputs = _inner(inputs)
            gate = tf.split(outputs, 2, axis=-1)[1]
            shares[_name] = tf.reduce_mean(tf.sigmoid(tf.cast(gate, tf.float32)))
            return outputs

        layer.spatial.call = recorded
    return shares


def border_steps(images):
    """{border: mean |x_edge - x_next| / mean interior |x_i - x_i+1|}."""
    images = np.asarray(images, np.float64)
    rows = np.abs(np.diff(images, axis=1)).mean(axis=(0, 2, 3))
    columns = np.abs(np.diff(images, axis=2)).mean(axis=(0, 1, 3))
    interior = (rows[1:-1].mean() + columns[1:-1].mean()) / 2
    steps = dict(top=rows[0], bottom=rows[-1], left=columns[0], right=columns[-1])
    return {k: float(v / max(interior, 1e-12)) for k, v in steps.items()}


def shift_update_gates(model, shift):
    """Adds `shift` to the z block of every sweep's input bias (gate order
    r, z, n: see sdn_tf.layers.SpatialDependency)."""
    for layer in model.sdn_layers:
        for sweep in layer.spatial.corrections:
            f = sweep.num_features
            bias = sweep.input_bias.numpy()
            bias[f : 2 * f] += shift
            sweep.input_bias.assign(bias)


def parsed(value):
    """A --set value as a Python literal, else the word itself."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def model_config(use_sdn):
    base = density.PRESETS[FLAGS.config]()
    values = {"model.use_sdn": use_sdn}
    for item in FLAGS.set:
        path, _, value = item.partition("=")
        values[path] = parsed(value)
    return runs.with_image_shape(config_lib.with_settings(base, values))


def test_images(config):
    data = datasets.load_split(config, "test", FLAGS.eval_images).map(vae.images_of)
    return next(iter(data))


def run_one(use_sdn, seed):
    config = model_config(use_sdn)
    keras.utils.set_random_seed(seed)
    model = config_lib.build_model(config)
    model.compile(optimizer=config.optimizer.make())
    if use_sdn and FLAGS.update_gate_bias:
        shift_update_gates(model, FLAGS.update_gate_bias)
    shares = record_cnn_shares(model) if use_sdn else {}
    variables = model.trainable_variables
    groups = [weight_group(v.path) for v in variables]
    names = sorted(set(groups))

    @tf.function
    def train_step(images):
        with tf.GradientTape() as tape:
            terms = model.compute_terms(images, training=True)
        grads = tape.gradient(terms["loss"], variables)
        model.optimizer.apply(grads, variables)
        norms = {
            name: tf.sqrt(
                tf.add_n(
                    [tf.reduce_sum(g**2) for g, k in zip(grads, groups) if k == name]
                )
            )
            for name in names
        }
        return terms["bpd"], model.layer_kl.value, norms, dict(shares)

    @tf.function
    def test_bpd(images):
        return model.compute_terms(images)["bpd"]

    test = test_images(config)
    data = iter(
        datasets.load_split(
            config, "train", config.run.batch_size, repeat=True, seed=seed
        ).map(vae.images_of)
    )
    records, start = [], time.perf_counter()
    for step in range(1, FLAGS.steps + 1):
        bpd, kl, norms, gate_shares = train_step(next(data))
        if step % FLAGS.every == 0 or step == 1:
            with callbacks.ema_weights(model):
                ema_bpd = float(test_bpd(test))
                borders = border_steps(model.sample(16))
            records.append(
                dict(
                    step=step,
                    seconds=time.perf_counter() - start,
                    train_bpd=float(bpd),
                    test_bpd=float(test_bpd(test)),
                    test_bpd_ema=ema_bpd,
                    kl_per_layer=[float(v) for v in np.asarray(kl)[::-1]],
                    grad_norm={k: float(v) for k, v in norms.items()},
                    cnn_share={k: float(v) for k, v in gate_shares.items()},
                    border_steps=borders,
                )
            )
            print(
                f"{'sdn' if use_sdn else 'iaf'} seed {seed} step {step}: "
                f"train {float(bpd):.3f} test {records[-1]['test_bpd']:.3f} "
                f"(ema {ema_bpd:.3f}) kl {np.round(records[-1]['kl_per_layer'], 3)} "
                f"grads {np.round(list(records[-1]['grad_norm'].values()), 3)} "
                f"cnn share {np.round(list(records[-1]['cnn_share'].values()), 2)} "
                f"borders {np.round(list(borders.values()), 2)}",
                flush=True,
            )
    return records


def main(argv):
    del argv
    print(machine.describe(), flush=True)
    results = {"config": FLAGS.config, "set": FLAGS.set, "runs": []}
    for seed in [int(s) for s in FLAGS.seeds]:
        for name in FLAGS.models:
            records = run_one(name == "sdn", seed)
            results["runs"].append(dict(model=name, seed=seed, records=records))
            if FLAGS.output_json:
                with open(FLAGS.output_json, "w", encoding="utf-8") as f:
                    json.dump(results, f, indent=1)


if __name__ == "__main__":
    app.run(main)
