"""The papers' claims in miniature, on the offline datasets: python bench/claims.py.

Each row trains the models it compares for the same optimizer steps from the
same seeds (--seeds of them; mean and spread over seeds) and reports what
comes out, whichever way it goes:

1. Density curve (SDN paper, Table 1; `density_curve`, ~110 min on 2
   cores): SDN-VAE against IAF-VAE+ on the main job's config under the
   paper's recipe (no KL warm-up), test
   bits/dim every 250 of 2,000 steps, against steps and against training
   seconds (bench/density_curve.py; the PNG goes to --figures_dir).
   At one point (`density`, ~15 min, not run by default): SDN-VAE against
   IAF-VAE+ with one ladder layer per scale, 120 steps, test negative ELBO
   in bits/dim with the EMA weights; also IAF-VAE+ at equal wall-clock time
   (the steps its cheaper step buys in the SDN-VAE's training time).
2. The SDN decoder in a plain VAE (SDN paper, Table 2, Figure 12: 3D-Shapes,
   beta = 1): BetaVAE(decoder="sdn") against decoder="deconv" on sdn_shapes,
   test negative ELBO in bits/dim and its KL and reconstruction terms.
3. Disentanglement (Spatial Broadcast paper; SDN paper, Figure 7): the
   broadcast, deconv and SDN decoders on sdn_circles/xy and
   sdn_sprites/colored: MIG, FactorVAE score, beta-VAE score, DCI.
4. Figure 7 and Table 2 in miniature (`figure7`, ~60 min on 2 idle cores,
   not run by default): the SDN paper's CNN and SDN beta-VAEs (presets
   cnn_mini and sdn_mini: Tables 8 and 9, 1,000 steps at batch 32, beta
   warmed up over the first 500 as the authors' code does) at beta 1, 32
   and 100 on sdn_shapes: beta-VAE and FactorVAE scores against beta (the
   PNG and its numbers go to --figures_dir), every run's active latents,
   and at beta = 1 the test negative ELBO and KL in bits/dim.

Models, steps and metric sample sizes are far below the papers' (stated in
the table's header); the point is the comparison at equal budget.

    python bench/claims.py --figures_dir=docs/images   # the README's tables
    python bench/claims.py --quick             # seconds: a smoke test
    python bench/claims.py --rows=density --seeds=5
    python bench/claims.py --rows=figure7 --figures_dir=docs/images
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import density_curve  # noqa: E402
import keras  # noqa: E402
import machine  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

import sdn_tf  # noqa: E402
from sdn_tf.data.ground_truth import GroundTruthDataset  # noqa: E402
from sdn_tf.models import BetaAnnealing, vae  # noqa: E402
from sdn_tf.train import callbacks, datasets, runs  # noqa: E402
from sdn_tf.train import config as config_lib  # noqa: E402
from sdn_tf.train import disentangle as disentangle_command  # noqa: E402
from sdn_tf.train.configs import density, disentangle  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_boolean("quick", False, "Tiny models, a few steps, one seed.")
flags.DEFINE_integer("seeds", 3, "Seeds per model (mean and spread).")
flags.DEFINE_integer(
    "first_seed",
    0,
    "The first seed (--first_seed=2 --seeds=1 runs seed 2 alone, e.g. in a "
    "second process; --table_from joins the seeds of density_curve files).",
)
flags.DEFINE_list("rows", ["density_curve", "vae", "disentanglement"], "Claims to run.")
flags.DEFINE_string("figures_dir", None, "Where rows that draw write their PNGs.")
flags.DEFINE_string("output_json", None, "Also write every number here.")
flags.DEFINE_float("step_scale", 1.0, "Multiplies every row's training steps.")
flags.DEFINE_list("table_from", [], "Print the table of these --output_json files.")

METRIC_NAMES = ("mig", "factor_vae", "beta_vae", "dci")
QUICK_METRIC_NAMES = ("mig", "dci")  # the cheapest two, for --quick


def _settings(quick):
    """Steps, sizes and evaluation budgets of each row."""
    if quick:
        return dict(
            quick=True,
            curve_steps=4,
            curve_every=2,
            curve_eval_batches=1,
            density_steps=2,
            vae_steps=2,
            disentangle_steps=2,
            eval_batches=1,
            metric_scales=dict.fromkeys(METRIC_NAMES, 0.002),
            vae_batch=8,
            disentangle_batch=8,
        )
    return dict(
        quick=False,
        curve_steps=2000,
        curve_every=250,
        curve_eval_batches=0,  # the whole test split
        density_steps=120,
        vae_steps=200,
        disentangle_steps=200,
        eval_batches=4,  # the first 256 test images, the same for every model
        # x the papers' sample sizes. The beta-VAE and FactorVAE scores
        # render 64-128 images per point, the others one: rendering sprites
        # (~4 ms an image) would otherwise take most of the row's time.
        metric_scales=dict(mig=0.05, dci=0.05, beta_vae=0.005, factor_vae=0.005),
        vae_batch=32,
        disentangle_batch=16,
    )


def density_config(quick):
    """The photo_patches config (the README's main job) with one ladder
    layer per scale instead of two, so that three seeds of three models fit
    the script's time, and the paper's recipe (no KL warm-up)."""
    if quick:
        return config_lib.with_settings(density.tiny(), {"model.kl_warmup_steps": 0})
    return config_lib.with_settings(
        density.photo_patches(),
        {"model.scales": ((16, 1, 32), (8, 1, 32)), "model.kl_warmup_steps": 0},
    )


def _seeded_model_and_data(config, seed):
    """(the config's model, compiled, from `seed`; its repeated train split)."""
    keras.utils.set_random_seed(seed)
    keras.config.set_dtype_policy(config.run.precision)
    model = config_lib.build_model(config)
    # --quick: eager steps, since tracing a dozen models would take minutes.
    model.compile(optimizer=config.optimizer.make(), run_eagerly=FLAGS.quick)
    data = datasets.load_split(
        config, "train", config.run.batch_size, repeat=True, seed=seed
    ).map(vae.images_of)
    return model, data


def _train(config, steps, seed):
    """(model trained `steps` steps, seconds per step after tracing)."""
    model, data = _seeded_model_and_data(config, seed)
    warm_up = min(2, steps)
    model.fit(data, steps_per_epoch=warm_up, epochs=1, verbose=0)  # traces
    timed = steps - warm_up
    if timed <= 0:
        return model, 0.0
    # Five timed chunks; the median chunk gives the cost of a step, so that a
    # passing slowdown (the first model of the process warming up caches and
    # allocators, another process) does not set the equal-time budget.
    chunk = max(1, timed // 5)
    timer = _EpochTimer()
    model.fit(
        data, steps_per_epoch=chunk, epochs=timed // chunk, verbose=0, callbacks=[timer]
    )
    if timed % chunk:
        model.fit(data, steps_per_epoch=timed % chunk, epochs=1, verbose=0)
    return model, float(np.median(timer.seconds)) / chunk


class _EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of every epoch."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def _test_terms(model, config, eval_batches):
    """The model's test-split averages (EMA weights where it keeps them)."""
    data = datasets.load_split(config, "test", 64).map(vae.images_of)
    if eval_batches:
        data = data.take(eval_batches)
    with callbacks.ema_weights(model):
        return model.evaluate(data, verbose=0, return_dict=True)


def _test_images(settings):
    if settings["eval_batches"]:
        return f"the first {64 * settings['eval_batches']} test images"
    return "the whole test split"


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
    base = density_config(FLAGS.quick)
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
            "run.batch_size": settings["vae_batch"],
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
                "run.batch_size": settings["disentangle_batch"],
            },
        )
        base = runs.with_image_shape(base)
        for decoder in ("broadcast", "deconv", "sdn"):
            for seed in seeds:
                say(f"disentanglement: {dataset} {decoder} seed {seed}, {steps} steps")
                config = config_lib.with_settings(base, {"model.decoder": decoder})
                model, _ = _train(config, steps, seed)
                names = QUICK_METRIC_NAMES if FLAGS.quick else METRIC_NAMES
                entry = results.setdefault(f"{dataset}|{decoder}", {})
                for name in names:
                    scores = disentangle_command.evaluate_metrics(
                        model,
                        ground_truth,
                        [name],
                        settings["metric_scales"][name],
                        seed,
                    )
                    score_key = sdn_tf.metrics.METRICS[name][1]
                    entry.setdefault(name, []).append(float(scores[name][score_key]))
    return results


# --- Figure 7 and Table 2 in miniature ---------------------------------------

# The paper's Figure 7 and Figure 12 train beta in {1, 32, 100, 300, 500};
# the miniature takes the first three (beta weighs the KL in nats per image
# against the reconstruction's, ~5e4 nats for a 64x64x3 image early on).
FIGURE7_BETAS = (1.0, 32.0, 100.0)
FIGURE7_DECODERS = {"CNN": "deconv", "SDN": "sdn"}  # the paper's name -> ours
FIGURE7_METRICS = ("beta_vae", "factor_vae")
FIGURE7_PNG = "figure7_miniature.png"  # in --figures_dir, its numbers beside it


def _figure7_settings(quick):
    """The presets, betas, steps and metric sample sizes of the figure7 row."""
    if quick:
        tiny = dict(batch_size=8, num_train=12, num_eval=6)
        return dict(
            presets={"CNN": "cnn_mini", "SDN": "sdn_mini"},
            betas=(1.0, 32.0),
            changes={
                "model.sdn_features": 8,
                "run.batch_size": 8,
                "run.steps": 4,
                "optimizer.anneal_steps": 2,
            },
            metric_sizes=dict(
                beta_vae=tiny, factor_vae=dict(tiny, num_variance_estimate=32)
            ),
            eval_batches=1,
        )
    # 1% of the papers' samples (disentanglement_lib: 10,000 training and
    # 5,000 evaluation points, 10,000 images for the FactorVAE variances).
    return dict(
        presets={"CNN": "cnn_mini", "SDN": "sdn_mini"},
        betas=FIGURE7_BETAS,
        changes={},
        metric_sizes=dict(
            beta_vae=dict(num_train=100, num_eval=50),
            factor_vae=dict(num_train=100, num_eval=50, num_variance_estimate=100),
        ),
        eval_batches=4,
    )


class _CachedRenders:
    """A ground-truth dataset whose renders are kept (as uint8) while it
    lives: the metrics draw the same factors for every model of a seed, so
    the six models of one seed render their ~29,000 images once."""

    def __init__(self, ground_truth):
        self.ground_truth = ground_truth
        self._images = {}

    def __getattr__(self, name):
        return getattr(self.ground_truth, name)

    def render(self, factors):
        factors = np.asarray(factors)
        key = (factors.shape, factors.tobytes())
        if key not in self._images:
            self._images[key] = self.ground_truth.render(factors)
        return self._images[key]

    observations = GroundTruthDataset.observations  # through the cached render


def _train_annealed(config, seed):
    """(model trained config.run.steps steps with beta annealed as the config
    says, seconds per step after tracing)."""
    model, data = _seeded_model_and_data(config, seed)
    optimizer = config.optimizer
    annealing = BetaAnnealing(
        config.model.beta, optimizer.anneal_steps, optimizer.anneal_schedule
    )
    steps = config.run.steps
    warm_up = min(2, steps)
    model.fit(data, steps_per_epoch=warm_up, verbose=0, callbacks=[annealing])
    started = time.perf_counter()
    if steps > warm_up:
        model.fit(
            data, steps_per_epoch=steps - warm_up, verbose=0, callbacks=[annealing]
        )
    seconds = (time.perf_counter() - started) / max(steps - warm_up, 1)
    return model, seconds


def figure7_row(settings, seeds, say):
    """Figure 7 (beta-VAE and FactorVAE scores against beta, CNN against SDN
    decoder) and Table 2 (negative ELBO and KL at beta = 1) of the SDN paper
    in miniature, on sdn_shapes with beta annealing; every run's active
    latents. With --figures_dir, draws the figure there beside its numbers
    (figure7_miniature.png and .json)."""
    del settings  # the row's own: _figure7_settings
    own = _figure7_settings(FLAGS.quick)
    ground_truth = sdn_tf.data.ground_truth("sdn_shapes")
    bases = {}
    for label, preset in own["presets"].items():
        config = config_lib.with_settings(disentangle.PRESETS[preset](), own["changes"])
        steps = max(2, int(config.run.steps * FLAGS.step_scale))
        anneal = int(config.optimizer.anneal_steps * FLAGS.step_scale)
        config = config_lib.with_settings(
            config, {"run.steps": steps, "optimizer.anneal_steps": anneal}
        )
        bases[label] = runs.with_image_shape(config)
    any_base = next(iter(bases.values()))
    shape = any_base.model.image_shape
    results = {
        "presets": own["presets"],
        "betas": list(own["betas"]),
        "steps": any_base.run.steps,
        "anneal_steps": any_base.optimizer.anneal_steps,
        "anneal_schedule": any_base.optimizer.anneal_schedule,
        "batch": any_base.run.batch_size,
        "sdn_features": bases["SDN"].model.sdn_features,
        "metric_sizes": own["metric_sizes"],
        "eval_images": 64 * own["eval_batches"],
        "runs": [],
    }
    for seed in seeds:
        cached = _CachedRenders(ground_truth)  # one seed's metric images
        for beta in own["betas"]:
            for label, base in bases.items():
                say(
                    f"figure7: {label} beta {beta:g} seed {seed}, "
                    f"{base.run.steps} steps"
                )
                config = config_lib.with_settings(base, {"model.beta": beta})
                model, per_step = _train_annealed(config, seed)
                run = {
                    "decoder": label,
                    "beta": beta,
                    "seed": seed,
                    "seconds_per_step": per_step,
                }
                terms = _test_terms(model, config, own["eval_batches"])
                run["nelbo"] = _bits_per_dim(-float(terms["elbo"]), shape)
                run["kl"] = _bits_per_dim(float(terms["kl"]), shape)
                run["recon"] = _bits_per_dim(float(terms["reconstruction"]), shape)
                test = datasets.load_split(config, "test", 64).map(vae.images_of)
                means = np.concatenate(
                    [
                        np.asarray(model.encode(images))
                        for images in test.take(own["eval_batches"])
                    ]
                )
                run["active_latents"] = sdn_tf.metrics.active_latents(means)[
                    "num_active"
                ]
                for name in FIGURE7_METRICS:
                    function, score_key, _ = sdn_tf.metrics.METRICS[name]
                    scores = function(
                        cached,
                        disentangle_command.representation_fn(model),
                        seed=seed,
                        **own["metric_sizes"][name],
                    )
                    run[name] = float(scores[score_key])
                say(
                    "figure7:   "
                    + ", ".join(
                        f"{k} {run[k]:.3f}"
                        for k in ("beta_vae", "factor_vae", "nelbo", "kl")
                    )
                    + f", {run['active_latents']} active latents, "
                    f"{per_step:.3f} s/step"
                )
                results["runs"].append(run)
                _figure7_save(results)  # after every run: a late failure keeps them
    if FLAGS.figures_dir:
        path = os.path.join(FLAGS.figures_dir, FIGURE7_PNG)
        results["figure"] = figure7_draw(results, path)
        _figure7_save(results)
    return results


def _figure7_save(results):
    """The row's numbers, beside its figure in --figures_dir (if given)."""
    if not FLAGS.figures_dir:
        return
    os.makedirs(FLAGS.figures_dir, exist_ok=True)
    path = os.path.join(FLAGS.figures_dir, os.path.splitext(FIGURE7_PNG)[0] + ".json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)


def _figure7_values(results, decoder, beta, key):
    return [
        run[key]
        for run in results["runs"]
        if run["decoder"] == decoder and run["beta"] == beta
    ]


def figure7_draw(results, path):
    """Figure 7's two panels as a PNG: the beta-VAE and FactorVAE scores
    against beta, one line per decoder, mean and standard deviation over
    seeds as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, panels = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    betas = results["betas"]
    positions = np.arange(len(betas))  # evenly spaced, as the paper's grid
    seeds = len({run["seed"] for run in results["runs"]})
    for axes, name, title in zip(
        panels,
        FIGURE7_METRICS,
        ("beta-VAE metric", "FactorVAE metric"),
    ):
        for number, decoder in enumerate(FIGURE7_DECODERS):
            cells = [
                _summary(_figure7_values(results, decoder, beta, name))
                for beta in betas
            ]
            axes.errorbar(
                positions + 0.04 * (2 * number - 1),  # bars side by side
                [mean for mean, _ in cells],
                yerr=[spread for _, spread in cells],
                marker="o",
                capsize=4,
                label=decoder,
            )
        axes.set_xticks(positions, [f"{beta:g}" for beta in betas])
        axes.set(xlabel="beta", ylim=(0.0, 1.05))
        axes.set_title(f"{title} (mean ± sd, {seeds} seeds)")
        axes.grid(alpha=0.3)
        axes.legend()
    panels[0].set_ylabel("score")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def figure7_markdown(results, seeds):
    """Figure 7's numbers and Table 2 (its beta = 1 runs) as markdown."""
    r = results
    sizes = r["metric_sizes"]
    lines = [
        f"**Figure 7 in miniature, sdn_shapes** ({r['presets']['CNN']} and "
        f"{r['presets']['SDN']}: batch {r['batch']}, {r['steps']} steps, beta "
        f"annealed from 0 over {r['anneal_steps']} steps ({r['anneal_schedule']} "
        f"form), SDN with {r['sdn_features']} features; beta-VAE score on "
        f"{sizes['beta_vae']['num_train']}/{sizes['beta_vae']['num_eval']} "
        f"points, FactorVAE on {sizes['factor_vae']['num_train']}/"
        f"{sizes['factor_vae']['num_eval']} votes; higher is better; "
        f"{len(seeds)} seeds, mean ± std; active latents of 10 per seed, "
        f"variance of the posterior mean over {r['eval_images']} test images "
        "> 0.01)",
        "",
        "| beta | decoder | beta-VAE | FactorVAE | active latents |",
        "|---|---|---|---|---|",
    ]
    for beta in r["betas"]:
        for decoder in FIGURE7_DECODERS:
            active = _figure7_values(r, decoder, beta, "active_latents")
            lines.append(
                f"| {beta:g} | {decoder} | "
                f"{_cell(_figure7_values(r, decoder, beta, 'beta_vae'), 2)} | "
                f"{_cell(_figure7_values(r, decoder, beta, 'factor_vae'), 2)} | "
                f"{', '.join(str(a) for a in active)} |"
            )
    collapsed = [run for run in r["runs"] if run["active_latents"] == 0]
    if collapsed:
        lines.append("")
        lines.append(
            "Collapsed (no active latent): "
            + ", ".join(
                f"{run['decoder']} beta {run['beta']:g} seed {run['seed']}"
                for run in collapsed
            )
        )
    if "figure" in r:
        lines += ["", f"Figure: {r['figure']}"]
    kl_scale = 1e3  # the paper's Table 2 gives the KL in bits/dim x 10^-3
    lines += [
        "",
        f"**Table 2 in miniature, sdn_shapes** (the beta = 1 runs above; test "
        f"terms in bits/dim on the first {r['eval_images']} test images; "
        f"{len(seeds)} seeds; the paper: CNN 4.44 ± 0.04 and SDN 2.66 ± 0.04, "
        "KL 7.40 and 7.95 x 10^-3)",
        "",
        "| decoder | negative ELBO | KL (x 10^-3) | reconstruction | s/step |",
        "|---|---|---|---|---|",
    ]
    beta = 1.0 if 1.0 in r["betas"] else r["betas"][0]
    for decoder in FIGURE7_DECODERS:
        nelbo, kl, recon, seconds = (
            _figure7_values(r, decoder, beta, key)
            for key in ("nelbo", "kl", "recon", "seconds_per_step")
        )
        lines.append(
            f"| {decoder} | {_cell(nelbo)} | {_cell([kl_scale * v for v in kl], 2)} "
            f"| {_cell(recon)} | {_cell(seconds)} |"
        )
    lines.append("")
    return lines


# --- The table ------------------------------------------------------------------


def markdown(results, settings, seeds):
    lines = []
    if "density_curve" in results:
        lines.append(density_curve.markdown(results["density_curve"]))
    if "density" in results:
        r = results["density"]
        steps = r["steps"]
        extra = ", ".join(str(n) for n in r["equal_time_steps"])  # per seed
        lines += [
            f"**1. Density, sdn_photo_patches** (photo_patches config with one "
            f"ladder layer per scale, no KL warm-up, {steps} steps, batch 32; "
            f"test negative ELBO, bits/dim, lower is better; "
            f"{_test_images(settings)}; {len(seeds)} seeds)",
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
            f"batch {settings['vae_batch']}, SDN with 32 features; test terms "
            f"in bits/dim on "
            f"{_test_images(settings)}; {len(seeds)} seeds)",
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
        scales = ", ".join(
            f"{name} {settings['metric_scales'][name]:g}" for name in METRIC_NAMES
        )
        lines += [
            f"**3. Disentanglement** ({r['steps']} steps, batch "
            f"{settings['disentangle_batch']}, beta = 1, metric "
            f"samples x the papers': {scales}; higher is better; "
            f"{len(seeds)} seeds)",
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
    if "figure7" in results:
        lines += figure7_markdown(results["figure7"], seeds)
    return "\n".join(lines)


ROWS = {
    "density_curve": density_curve.curve_row,
    "density": density_row,
    "vae": vae_row,
    "disentanglement": disentanglement_row,
    "figure7": figure7_row,
}


def main(argv):
    del argv
    if FLAGS.table_from:
        results, settings, seeds = saved_results(FLAGS.table_from)
        print(markdown(results, settings, seeds))
        draw_curve(results)
        return
    unknown = set(FLAGS.rows) - set(ROWS)
    if unknown:
        raise app.UsageError(f"--rows: unknown {sorted(unknown)}; from {list(ROWS)}")
    callbacks.quiet_logs()
    settings = _settings(FLAGS.quick)
    for key in ("curve_steps", "density_steps", "vae_steps", "disentangle_steps"):
        settings[key] = max(2, int(settings[key] * FLAGS.step_scale))
    seeds = list(
        range(FLAGS.first_seed, FLAGS.first_seed + (1 if FLAGS.quick else FLAGS.seeds))
    )
    for line in machine.describe():
        print(line)
    print(time.strftime("Date: %Y-%m-%d %H:%M UTC", time.gmtime()))
    started = time.perf_counter()

    def say(text):
        elapsed = time.perf_counter() - started
        print(f"[{elapsed / 60:5.1f} min] {text}", flush=True)

    results = {}

    def save(partial=None):
        if FLAGS.output_json:  # after every row: a late failure keeps the rest
            with open(FLAGS.output_json, "w", encoding="utf-8") as f:
                json.dump(
                    {
                        "settings": settings,
                        "seeds": seeds,
                        **results,
                        **(partial or {}),
                    },
                    f,
                    indent=2,
                )

    for row in FLAGS.rows:
        if row == "density_curve":
            results[row] = density_curve.curve_row(
                settings, seeds, say, on_progress=lambda r: save({"density_curve": r})
            )
        else:
            results[row] = ROWS[row](settings, seeds, say)
        save()
    draw_curve(results)
    print()
    print(markdown(results, settings, seeds))
    print(f"Total: {(time.perf_counter() - started) / 60:.1f} min")


def draw_curve(results):
    """With --figures_dir, the density curve's PNG (and its numbers) there."""
    if FLAGS.figures_dir and "density_curve" in results:
        os.makedirs(FLAGS.figures_dir, exist_ok=True)
        path = os.path.join(FLAGS.figures_dir, "density_curve.png")
        print(f"Density curve: {density_curve.draw(results['density_curve'], path)}")
        with open(os.path.splitext(path)[0] + ".json", "w", encoding="utf-8") as f:
            json.dump(results["density_curve"], f, indent=2)


def saved_results(paths):
    """(results, settings, seeds) of --output_json files, joined."""
    results, settings, seeds = {}, {}, []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
        settings.update(saved.pop("settings"))
        new_seeds = saved.pop("seeds")
        if "density_curve" in saved and "density_curve" in results:
            saved["density_curve"] = density_curve.joined(
                results["density_curve"], saved["density_curve"]
            )
            new_seeds = sorted(set(seeds) | set(new_seeds))
        seeds = new_seeds
        results.update(saved)
    return results, settings, seeds


if __name__ == "__main__":
    app.run(main)
