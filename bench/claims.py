"""The papers' claims in miniature, on the offline datasets: python bench/claims.py.

Each row trains the models it compares for the same optimizer steps from the
same seeds (--seeds of them; mean and spread over seeds) and reports what
comes out, whichever way it goes:

1. Density estimation (SDN paper, Table 1): SDN-VAE against IAF-VAE+ (the
   same config with use_sdn=False) on sdn_photo_patches, test negative ELBO
   in bits/dim with the EMA weights; also IAF-VAE+ at equal wall-clock time
   (the steps its cheaper step buys in the SDN-VAE's training time).
2. The SDN decoder in a plain VAE (SDN paper, Table 2, Figure 12: 3D-Shapes,
   beta = 1): BetaVAE(decoder="sdn") against decoder="deconv" on sdn_shapes,
   test negative ELBO in bits/dim and its KL and reconstruction terms.
3. Disentanglement (Spatial Broadcast paper; SDN paper, Figure 7): the
   broadcast, deconv and SDN decoders on sdn_circles/xy and
   sdn_sprites/colored: MIG, FactorVAE score, beta-VAE score, DCI.

Models, steps and metric sample sizes are far below the papers' (stated in
the table's header); the point is the comparison at equal budget.

    python bench/claims.py                     # the README's table (~40 min, 2 cores)
    python bench/claims.py --quick             # seconds: a smoke test
    python bench/claims.py --rows=density --seeds=5
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
from absl import app, flags  # noqa: E402

import sdn_tf  # noqa: E402
from models import vae  # noqa: E402
from train import callbacks, datasets, runs  # noqa: E402
from train import config as config_lib  # noqa: E402
from train import disentangle as disentangle_command  # noqa: E402
from train.configs import density, disentangle  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_boolean("quick", False, "Tiny models, a few steps, one seed.")
flags.DEFINE_integer("seeds", 3, "Seeds per model (mean and spread).")
flags.DEFINE_list("rows", ["density", "vae", "disentanglement"], "Claims to run.")
flags.DEFINE_string("output_json", None, "Also write every number here.")
flags.DEFINE_float("step_scale", 1.0, "Multiplies every row's training steps.")

METRIC_NAMES = ("mig", "factor_vae", "beta_vae", "dci")
QUICK_METRIC_NAMES = ("mig", "dci")  # the cheapest two, for --quick


def _settings(quick):
    """Steps, sizes and evaluation budgets of each row."""
    if quick:
        return dict(
            density_steps=2,
            vae_steps=2,
            disentangle_steps=2,
            eval_batches=1,
            metric_scale=0.002,
            image_batch=8,
        )
    return dict(
        density_steps=300,
        vae_steps=400,
        disentangle_steps=500,
        eval_batches=0,  # the whole test split
        metric_scale=0.05,
        image_batch=32,
    )


def _train(config, steps, seed):
    """(model trained `steps` steps, seconds per step after tracing)."""
    keras.utils.set_random_seed(seed)
    keras.config.set_dtype_policy(config.run.precision)
    model = config_lib.build_model(config)
    # --quick: eager steps, since tracing a dozen models would take minutes.
    model.compile(optimizer=config.optimizer.make(), run_eagerly=FLAGS.quick)
    data = datasets.load_split(
        config, "train", config.run.batch_size, repeat=True, seed=seed
    ).map(vae.images_of)
    warm_up = min(2, steps)
    model.fit(data, steps_per_epoch=warm_up, epochs=1, verbose=0)  # traces
    seconds = 0.0
    if steps > warm_up:
        start = time.perf_counter()
        model.fit(data, steps_per_epoch=steps - warm_up, epochs=1, verbose=0)
        seconds = (time.perf_counter() - start) / (steps - warm_up)
    return model, seconds


def _test_terms(model, config, eval_batches):
    """The model's test-split averages (EMA weights where it keeps them)."""
    data = datasets.load_split(config, "test", 64).map(vae.images_of)
    if eval_batches:
        data = data.take(eval_batches)
    with callbacks.ema_weights(model):
        return model.evaluate(data, verbose=0, return_dict=True)


def _summary(values):
    values = np.asarray(values, np.float64)
    spread = values.std(ddof=1) if len(values) > 1 else 0.0
    return float(values.mean()), float(spread)


def _cell(values, digits=3):
    mean, spread = _summary(values)
    return f"{mean:.{digits}f} ± {spread:.{digits}f}"


# --- 1. Density estimation --------------------------------------------------


def density_row(settings, seeds, say):
    """SDN-VAE vs IAF-VAE+ at equal steps and at equal wall-clock time."""
    base = density.tiny() if FLAGS.quick else density.photo_patches()
    base = runs.with_image_shape(base)
    steps = settings["density_steps"]
    results = {"sdn": [], "iaf": [], "iaf_equal_time": [], "steps": steps}
    seconds = {"sdn": [], "iaf": []}
    for seed in seeds:
        for name, use_sdn in (("sdn", True), ("iaf", False)):
            say(f"density: {name} seed {seed}, {steps} steps")
            config = config_lib.with_settings(base, {"model.use_sdn": use_sdn})
            model, per_step = _train(config, steps, seed)
            terms = _test_terms(model, config, settings["eval_batches"])
            results[name].append(float(terms["bpd"]))
            seconds[name].append(per_step)
        # IAF-VAE+ for the SDN-VAE's training time.
        ratio = seconds["sdn"][-1] / max(seconds["iaf"][-1], 1e-9)
        equal_time = max(steps, int(round(steps * ratio)))
        say(f"density: iaf seed {seed}, {equal_time} steps (equal time)")
        config = config_lib.with_settings(base, {"model.use_sdn": False})
        model, _ = _train(config, equal_time, seed)
        terms = _test_terms(model, config, settings["eval_batches"])
        results["iaf_equal_time"].append(float(terms["bpd"]))
        results.setdefault("equal_time_steps", []).append(equal_time)
    results["seconds_per_step"] = seconds
    return results


# --- 2. The SDN decoder in a plain VAE ----------------------------------------


def _bits_per_dim(nats, image_shape):
    return nats / (float(np.prod(image_shape)) * np.log(2.0))


def vae_row(settings, seeds, say):
    """BetaVAE(decoder="sdn") vs "deconv" on sdn_shapes, beta = 1."""
    base = config_lib.with_settings(
        disentangle.sdn_paper(),
        {
            "optimizer.anneal_steps": 0,
            "model.beta": 1.0,
            "model.sdn_features": 8 if FLAGS.quick else 32,
            "run.batch_size": settings["image_batch"],
        },
    )
    base = runs.with_image_shape(base)
    shape = base.model.image_shape
    steps = settings["vae_steps"]
    results = {"steps": steps}
    for seed in seeds:
        for decoder in ("sdn", "deconv"):
            say(f"vae: {decoder} decoder seed {seed}, {steps} steps")
            config = config_lib.with_settings(base, {"model.decoder": decoder})
            model, _ = _train(config, steps, seed)
            terms = _test_terms(model, config, settings["eval_batches"])
            entry = results.setdefault(decoder, {"nelbo": [], "kl": [], "recon": []})
            entry["nelbo"].append(_bits_per_dim(-float(terms["elbo"]), shape))
            entry["kl"].append(_bits_per_dim(float(terms["kl"]), shape))
            entry["recon"].append(_bits_per_dim(float(terms["reconstruction"]), shape))
    return results


# --- 3. Disentanglement -----------------------------------------------------------


def disentanglement_row(settings, seeds, say):
    """Broadcast vs deconv vs SDN decoders, on circles and coloured sprites."""
    steps = settings["disentangle_steps"]
    results = {"steps": steps}
    for dataset in ("sdn_circles/xy", "sdn_sprites/colored"):
        ground_truth = sdn_tf.data.ground_truth(dataset)
        base = config_lib.with_settings(
            disentangle.quick(),
            {
                "data.dataset": dataset,
                "model.sdn_features": 8 if FLAGS.quick else 32,
                "model.sdn_scale": 32,
                "run.batch_size": settings["image_batch"],
            },
        )
        base = runs.with_image_shape(base)
        for decoder in ("broadcast", "deconv", "sdn"):
            for seed in seeds:
                say(f"disentanglement: {dataset} {decoder} seed {seed}, {steps} steps")
                config = config_lib.with_settings(base, {"model.decoder": decoder})
                model, _ = _train(config, steps, seed)
                names = QUICK_METRIC_NAMES if FLAGS.quick else METRIC_NAMES
                scores = disentangle_command.evaluate_metrics(
                    model, ground_truth, names, settings["metric_scale"], seed
                )
                entry = results.setdefault(f"{dataset}|{decoder}", {})
                for name in names:
                    score_key = sdn_tf.metrics.METRICS[name][1]
                    entry.setdefault(name, []).append(float(scores[name][score_key]))
    return results


# --- The table ------------------------------------------------------------------


def markdown(results, settings, seeds):
    lines = []
    if "density" in results:
        r = results["density"]
        steps = r["steps"]
        extra = int(np.mean(r["equal_time_steps"]))
        lines += [
            f"**1. Density, sdn_photo_patches** (photo_patches config, {steps} "
            f"steps, batch 32; test negative ELBO, bits/dim, lower is better; "
            f"{len(seeds)} seeds)",
            "",
            "| model | steps | bits/dim |",
            "|---|---|---|",
            f"| SDN-VAE | {steps} | {_cell(r['sdn'])} |",
            f"| IAF-VAE+ | {steps} | {_cell(r['iaf'])} |",
            f"| IAF-VAE+, SDN-VAE's time | {extra} | {_cell(r['iaf_equal_time'])} |",
            "",
        ]
    if "vae" in results:
        r = results["vae"]
        lines += [
            f"**2. VAE decoders, sdn_shapes** (beta = 1, {r['steps']} steps, "
            f"SDN with 32 features; test terms in bits/dim)",
            "",
            "| decoder | negative ELBO | KL | reconstruction |",
            "|---|---|---|---|",
        ]
        for decoder in ("sdn", "deconv"):
            e = r[decoder]
            lines.append(
                f"| {decoder} | {_cell(e['nelbo'])} | {_cell(e['kl'])} | "
                f"{_cell(e['recon'])} |"
            )
        lines.append("")
    if "disentanglement" in results:
        r = results["disentanglement"]
        lines += [
            f"**3. Disentanglement** ({r['steps']} steps, beta = 1, metric "
            f"samples {settings['metric_scale']:g} x the papers'; higher is "
            "better)",
            "",
            "| dataset | decoder | MIG | FactorVAE | beta-VAE | DCI |",
            "|---|---|---|---|---|---|",
        ]
        for key, entry in r.items():
            if "|" not in key:
                continue
            dataset, decoder = key.split("|")
            cells = " | ".join(
                _cell(entry[name], 2) if name in entry else "-" for name in METRIC_NAMES
            )
            lines.append(f"| {dataset} | {decoder} | {cells} |")
        lines.append("")
    return "\n".join(lines)


ROWS = {
    "density": density_row,
    "vae": vae_row,
    "disentanglement": disentanglement_row,
}


def main(argv):
    del argv
    unknown = set(FLAGS.rows) - set(ROWS)
    if unknown:
        raise app.UsageError(f"--rows: unknown {sorted(unknown)}; from {list(ROWS)}")
    settings = _settings(FLAGS.quick)
    for key in ("density_steps", "vae_steps", "disentangle_steps"):
        settings[key] = max(2, int(settings[key] * FLAGS.step_scale))
    seeds = list(range(1 if FLAGS.quick else FLAGS.seeds))
    for line in machine.describe():
        print(line)
    print(time.strftime("Date: %Y-%m-%d %H:%M UTC", time.gmtime()))
    started = time.perf_counter()

    def say(text):
        elapsed = time.perf_counter() - started
        print(f"[{elapsed / 60:5.1f} min] {text}", flush=True)

    results = {row: ROWS[row](settings, seeds, say) for row in FLAGS.rows}
    print()
    print(markdown(results, settings, seeds))
    print(f"Total: {(time.perf_counter() - started) / 60:.1f} min")
    if FLAGS.output_json:
        with open(FLAGS.output_json, "w", encoding="utf-8") as f:
            json.dump({"settings": settings, "seeds": seeds, **results}, f, indent=2)


if __name__ == "__main__":
    app.run(main)
