"""The density claim as a curve: test bits/dim of SDN-VAE and IAF-VAE+
against training steps and against training seconds, over seeds.

A row of bench/claims.py (`--rows=density_curve`). Both models train the
main job's config (train.density's `photo_patches` without its KL
warm-up, as the paper trains; `use_sdn` False for IAF-VAE+) from the same
seeds on the same batches; every `every` steps the
whole test split's negative ELBO is taken with the EMA weights. Seconds
are the training time alone (evaluations excluded; the first interval
holds the step function's tracing, as a user's run does); `cpu_seconds`
is the process's CPU time over the same intervals, a check on wall-clock
seconds when something else shared the machine.
"""

import time

import keras
import numpy as np

from sdn_tf.models import vae
from sdn_tf.train import callbacks, datasets, runs
from sdn_tf.train import config as config_lib
from sdn_tf.train.configs import density

MODELS = (("sdn", "SDN-VAE", True), ("iaf", "IAF-VAE+", False))


def curve_config(quick):
    """The main job's config (the tiny one with --quick) under the paper's
    recipe: the KL weighted 1 from the first step (no warm-up, which the
    main job has for its pictures)."""
    config = density.tiny() if quick else density.photo_patches()
    config = config_lib.with_settings(config, {"model.kl_warmup_steps": 0})
    return runs.with_image_shape(config)


class _TestCurve(keras.callbacks.Callback):
    """Every epoch: the training seconds so far and the test bits/dim."""

    def __init__(self, test_data, steps_per_epoch):
        super().__init__()
        self.test_data, self.steps_per_epoch = test_data, steps_per_epoch
        self.records, self.seconds, self.cpu_seconds = [], 0.0, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds += time.perf_counter() - self._start
        self.cpu_seconds += time.process_time() - self._cpu_start
        with callbacks.ema_weights(self.model):
            terms = self.model.evaluate(self.test_data, verbose=0, return_dict=True)
        self.records.append(
            dict(
                step=(epoch + 1) * self.steps_per_epoch,
                seconds=self.seconds,
                cpu_seconds=self.cpu_seconds,
                bpd=float(terms["bpd"]),
                kl_bpd=float(terms["kl_bpd"]),
            )
        )


def train_curve(config, steps, every, seed, eval_batches=0):
    """Records [{step, seconds, cpu_seconds, bpd, kl_bpd}] every `every` of
    `steps` steps."""
    keras.utils.set_random_seed(seed)
    keras.config.set_dtype_policy(config.run.precision)
    model = config_lib.build_model(config)
    model.compile(optimizer=config.optimizer.make())
    data = datasets.load_split(
        config, "train", config.run.batch_size, repeat=True, seed=seed
    ).map(vae.images_of)
    test = datasets.load_split(config, "test", 64).map(vae.images_of)
    if eval_batches:
        test = test.take(eval_batches)
    curve = _TestCurve(test, every)
    # One fit: one pass over the shuffled data, as a run of `steps` steps.
    model.fit(
        data, steps_per_epoch=every, epochs=steps // every, verbose=0, callbacks=[curve]
    )
    return curve.records


def curve_row(settings, seeds, say, on_progress=None):
    """{name: [records of each seed]} for SDN-VAE and IAF-VAE+; the results
    so far go to `on_progress` after every run (a late failure of a
    two-hour row keeps its finished runs)."""
    config = curve_config(settings["quick"])
    steps, every = settings["curve_steps"], settings["curve_every"]
    results = {"steps": steps, "every": every}
    for seed in seeds:
        for name, label, use_sdn in MODELS:
            say(f"density curve: {label} seed {seed}, {steps} steps")
            model_config = config_lib.with_settings(config, {"model.use_sdn": use_sdn})
            records = train_curve(
                model_config, steps, every, seed, settings["curve_eval_batches"]
            )
            results.setdefault(name, []).append(records)
            if on_progress is not None:
                on_progress(results)
    return results


# --- Reading the curves -------------------------------------------------------


def joined(first, second):
    """The curves of two runs of the row (other seeds, same settings)."""
    if (first["steps"], first["every"]) != (second["steps"], second["every"]):
        raise ValueError(
            "density curves of different settings: steps/every "
            f"{first['steps']}/{first['every']} and "
            f"{second['steps']}/{second['every']}"
        )
    result = dict(first)
    for name, *_ in MODELS:
        result[name] = first.get(name, []) + second.get(name, [])
    return result


def by_step(runs_records):
    """(steps [S], bpd [seeds, S]) of one model's runs."""
    steps = np.array([r["step"] for r in runs_records[0]])
    return steps, np.array([[r["bpd"] for r in records] for records in runs_records])


def at_seconds(runs_records, grid, key="seconds"):
    """bpd [seeds, len(grid)] of one model's runs, linearly interpolated in
    training seconds (`key`: "seconds" of the wall clock, or "cpu_seconds")
    (NaN outside a run's time)."""
    rows = []
    for records in runs_records:
        seconds = np.array([r[key] for r in records])
        bpd = np.array([r["bpd"] for r in records])
        rows.append(np.interp(grid, seconds, bpd, left=np.nan, right=np.nan))
    return np.array(rows)


def seconds_grid(results, points=50, key="seconds"):
    """A grid over the training seconds (`key`) that every run covers."""
    first = max(r[0][key] for name, *_ in MODELS for r in results[name])
    last = min(r[-1][key] for name, *_ in MODELS for r in results[name])
    return np.linspace(first, max(first, last), points)


def first_lead(x, sdn, iaf):
    """The first x from which SDN-VAE's mean bits/dim stays below IAF-VAE+'s
    (None if it never does by the last point)."""
    ahead = np.nanmean(sdn, axis=0) < np.nanmean(iaf, axis=0)
    for i in range(len(x)):
        if ahead[i:].all():
            return float(x[i])
    return None


def _mean_sd(values):
    """Mean and sample sd over seeds (axis 0) of [seeds, points]."""
    values = np.asarray(values, np.float64)
    if len(values) < 2:
        return values[0], np.zeros_like(values[0])
    return np.nanmean(values, axis=0), np.nanstd(values, axis=0, ddof=1)


def markdown(results):
    steps, sdn = by_step(results["sdn"])
    _, iaf = by_step(results["iaf"])
    seeds = len(sdn)
    lines = [
        f"**Density curve, sdn_photo_patches** (the main job's config without "
        f"its KL warm-up, to "
        f"{results['steps']} steps, test negative ELBO in bits/dim with the "
        f"EMA weights, whole test split; mean ± sd over {seeds} seeds)",
        "",
        "| steps | SDN-VAE | IAF-VAE+ | SDN - IAF |",
        "|---|---|---|---|",
    ]
    shown = sorted(set(steps[:: max(1, len(steps) // 8)]) | {steps[-1]})
    for step in shown:
        i = int(np.where(steps == step)[0][0])
        lines.append(
            f"| {step} | {_cell(sdn[:, i])} | {_cell(iaf[:, i])} | "
            f"{_cell(sdn[:, i] - iaf[:, i])} |"
        )
    grid = seconds_grid(results)
    lead_step = first_lead(steps, sdn, iaf)
    lead_second = first_lead(
        grid, at_seconds(results["sdn"], grid), at_seconds(results["iaf"], grid)
    )
    seconds = {
        n: np.mean([r[-1]["seconds"] for r in results[n]]) for n in ("sdn", "iaf")
    }
    lines += [
        "",
        "SDN-VAE ahead (mean) from: "
        + (f"step {lead_step:.0f}" if lead_step is not None else "never, by steps")
        + "; "
        + (
            f"{lead_second:.0f} s of training"
            if lead_second is not None
            else "never, by training time (over the time both ran)"
        )
        + f". Training time of {results['steps']} steps: SDN-VAE "
        f"{seconds['sdn']:.0f} s, IAF-VAE+ {seconds['iaf']:.0f} s.",
    ]
    if _has_cpu_seconds(results):
        grid = seconds_grid(results, key="cpu_seconds")
        lead = first_lead(
            grid,
            at_seconds(results["sdn"], grid, "cpu_seconds"),
            at_seconds(results["iaf"], grid, "cpu_seconds"),
        )
        cpu = {
            n: np.mean([r[-1]["cpu_seconds"] for r in results[n]])
            for n in ("sdn", "iaf")
        }
        lines.append(
            "By CPU time (robust to other work on the machine): SDN-VAE ahead "
            + (f"from {lead:.0f} CPU s" if lead is not None else "never")
            + f"; {results['steps']} steps took SDN-VAE {cpu['sdn']:.0f} CPU s, "
            f"IAF-VAE+ {cpu['iaf']:.0f} ({cpu['sdn'] / cpu['iaf']:.2f}x)."
        )
    return "\n".join(lines + [""])


def _has_cpu_seconds(results):
    return all(
        "cpu_seconds" in record
        for name, *_ in MODELS
        for records in results[name]
        for record in records
    )


def _cell(values):
    mean, spread = _mean_sd(np.asarray(values, np.float64)[:, None])
    return f"{mean[0]:.3f} ± {spread[0]:.3f}"


def draw(results, path):
    """The curves as a PNG: bits/dim against steps and against seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = [("seconds", "training seconds, wall clock (2-core CPU)", "wall clock")]
    if _has_cpu_seconds(results):
        times.append(("cpu_seconds", "training CPU seconds (the process's)", "CPU"))
    figure, panels = plt.subplots(
        1, 1 + len(times), figsize=(5 * (1 + len(times)), 4), sharey=True
    )
    by_steps = panels[0]
    for name, label, _ in MODELS:
        steps, bpd = by_step(results[name])
        mean, spread = _mean_sd(bpd)
        by_steps.plot(steps, mean, label=label)
        by_steps.fill_between(steps, mean - spread, mean + spread, alpha=0.25)
        for by_time, (key, *_) in zip(panels[1:], times):
            grid = seconds_grid(results, key=key)
            mean, spread = _mean_sd(at_seconds(results[name], grid, key))
            by_time.plot(grid, mean, label=label)
            by_time.fill_between(grid, mean - spread, mean + spread, alpha=0.25)
    seeds = len(results["sdn"])
    by_steps.set(xlabel="training steps", ylabel="test negative ELBO (bits/dim)")
    by_steps.set_title(f"At equal steps (mean ± sd, {seeds} seeds)")
    for by_time, (_, xlabel, clock) in zip(panels[1:], times):
        by_time.set(xlabel=xlabel)
        by_time.set_title(f"At equal training time ({clock})")
    for axes in panels:
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
