"""Train a beta-VAE and measure its disentanglement: python -m train.disentangle.

    python -m train.disentangle --output_dir=runs/circles            # quick preset
    python -m train.disentangle --config=sdn_paper --output_dir=runs/sdn
    python -m train.disentangle --config=cnn_paper ...                    # baseline
    python -m train.disentangle --config=sdn_mini --config.model.beta=32 ...
    python -m train.disentangle --config=sdn_paper --config.model.latent_dim=6 ...

Settings: train/configs/disentangle.py (presets) and train/config.py (how
--config and --config.<section>.<name> work); --help lists every one.

Trains with model.fit on an offline dataset (or a TFDS one when present),
logs to TensorBoard (output_dir/logs), checkpoints (output_dir/checkpoints;
rerunning the command resumes), evaluates the disentanglement metrics every
--metric_interval steps and at the end (output_dir/metrics.json), and
writes reconstructions.png, traversals.png and, for two-factor circles
datasets, geometry.png.

Prints what it trains, one progress bar and the result; rerunning a
finished run prints its earlier result and trains nothing. --verbosity=0
(absl's flag) adds the INFO logs and TensorFlow's own start-up lines.
"""

# First: in a command, importing callbacks starts TensorFlow quietly.
from sdn_tf.train import callbacks as callbacks_lib  # isort: split

import inspect
import os

import keras
import numpy as np
from absl import app, flags, logging

import sdn_tf
from sdn_tf.metrics import METRICS
from sdn_tf.models import BetaAnnealing
from sdn_tf.train import command, datasets, exits, figures, loop, runs
from sdn_tf.train import config as config_lib
from sdn_tf.train.configs import disentangle as configs

# --- Evaluation ---------------------------------------------------------


def representation_fn(model, batch_size=256):
    def represent(observations):
        codes = [
            np.asarray(model.encode(observations[i : i + batch_size]))
            for i in range(0, len(observations), batch_size)
        ]
        return np.concatenate(codes)

    return represent


def evaluate_metrics(model, ground_truth, names, scale, seed, say=None):
    """{metric: result dict}, sample sizes = the papers' defaults x scale;
    `say(text)` hears of each metric as it starts (they take minutes)."""
    results = {}
    for number, name in enumerate(names, 1):
        if say:
            say(f"Computing the {name} metric ({number} of {len(names)})...")
        function, _, sizes = METRICS[name]
        defaults = inspect.signature(function).parameters
        kwargs = {size: max(20, int(defaults[size].default * scale)) for size in sizes}
        results[name] = function(
            ground_truth, representation_fn(model), seed=seed, **kwargs
        )
        logging.info("%s: %s", name, results[name])
    return results


class MetricsEvery(callbacks_lib.CountsSteps):
    """Evaluates the metrics every `interval` steps of the run (a resumed
    run continues the count) into `history`: evaluate(model, step)."""

    def __init__(self, interval, evaluate):
        super().__init__()
        self.interval, self.evaluate = interval, evaluate
        self.history = []

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self.interval and self.step % self.interval == 0:
            self.history.append(
                {"step": self.step, "metrics": self.evaluate(self.model, self.step)}
            )


def write_figures(model, ground_truth, config, directory):
    """reconstructions.png, traversals.png and (2-factor circles) geometry.png."""
    rng = np.random.default_rng(config.run.seed)
    paths = {}
    if ground_truth is not None:
        images = ground_truth.observations(ground_truth.sample_factors(8, rng))
    else:
        batch = next(iter(datasets.load_split(config, "test", batch_size=8)))
        images = batch["image"].numpy()
    reconstructions = np.asarray(model(images))
    paths["reconstructions"] = figures.save_png(
        figures.grid(np.concatenate([images, reconstructions]), columns=8),
        os.path.join(directory, "reconstructions.png"),
        scale=2,
    )
    # Traversals around the first image; latents sorted by use.
    order = figures.latent_order(np.asarray(model.posterior_scale(images)))
    code = np.asarray(model.encode(images[:1]))[0]
    sweep = figures.traversal_latents(code, order)
    traversals = np.asarray(model.decode(sweep))
    paths["traversals"] = figures.save_png(
        figures.grid(traversals, columns=7),
        os.path.join(directory, "traversals.png"),
        scale=2,
    )
    if isinstance(ground_truth, sdn_tf.data.Circles) and ground_truth.num_factors == 2:
        paths["geometry"] = figures.save_png(
            geometry_figure(model, ground_truth),
            os.path.join(directory, "geometry.png"),
        )
    return paths


def geometry_figure(model, ground_truth, points_per_factor=12):
    """A grid in factor space mapped into the two most informative latents."""
    sizes = ground_truth.factor_sizes
    index = [
        np.linspace(0, n - 1, points_per_factor).round().astype(int) for n in sizes
    ]
    rows, cols = np.meshgrid(index[0], index[1], indexing="ij")
    factors = np.stack([rows.ravel(), cols.ravel()], axis=1)
    observations = ground_truth.observations(factors)
    codes = np.asarray(model.encode(observations))
    informative = figures.latent_order(np.asarray(model.posterior_scale(observations)))[
        :2
    ]
    heldout = None if not ground_truth.has_heldout else ~ground_truth.allowed(factors)
    return figures.geometry_plot(
        codes[:, informative], (points_per_factor,) * 2, heldout
    )


# --- The run -----------------------------------------------------------------


METRICS_JSON = "metrics.json"


def run(config):
    """Trains (or resumes), evaluates and draws; returns a summary dict.

    A rerun of a finished run trains nothing and keeps its metrics.json
    (see command.is_current).
    """
    config, strategy, console = command.start(config)  # bad settings: ValueError
    command.start_kernel_build(config.model.decoder == "sdn")
    dataset = config.data.dataset
    ground_truth = None
    if sdn_tf.data.has_ground_truth(dataset):
        ground_truth = sdn_tf.data.ground_truth(dataset)
    keras.utils.set_random_seed(config.run.seed)

    def build():
        model = config_lib.build_model(config)  # bad shapes: ValueError here
        model.compile(optimizer=config.optimizer.make())
        return model

    def make_dataset(global_batch, seed):
        with command.dataset_notices(console):
            return datasets.load_split(config, "train", global_batch, True, seed)

    def images_for_summaries(model):
        return {"samples": np.asarray(model.sample(16, seed=config.run.seed))}

    def evaluate(model, step):
        if ground_truth is None:
            return {}
        console.say(f"Disentanglement metrics at step {step}:")
        evaluation = config.evaluation
        return evaluate_metrics(
            model,
            ground_truth,
            evaluation.metrics,
            evaluation.metric_scale,
            config.run.seed,
            say=console.say,
        )

    metric_callback = MetricsEvery(config.evaluation.metric_interval, evaluate)
    annealing = BetaAnnealing(
        config.model.beta,
        config.optimizer.anneal_steps,
        config.optimizer.anneal_schedule,
    )
    result = loop.train(
        config.run,
        strategy,
        build,
        make_dataset,
        runs.describe(configs.COMMAND, config),
        extra_callbacks=[annealing, metric_callback],
        image_fn=images_for_summaries,
        console=console,
    )
    model, output_dir = result.model, config.run.output_dir
    earlier = command.earlier_summary(config, result, METRICS_JSON)
    if command.is_current(earlier, config):
        summary = command.finish(model, config, earlier, METRICS_JSON, console)
        console.say(f"Its results, from {os.path.join(output_dir, METRICS_JSON)}:")
        report(summary, config, console)
        return summary
    summary = command.training_summary(
        config, result, earlier, history=metric_callback.history
    )
    if ground_truth is None:
        logging.info(
            "%s has no renderable ground truth: no disentanglement metrics.", dataset
        )
    final = evaluate(model, result.step)
    summary["metrics"] = final
    summary["scores"] = {name: final[name][METRICS[name][1]] for name in final}
    summary["figures"] = write_figures(model, ground_truth, config, output_dir)
    summary = command.finish(model, config, summary, METRICS_JSON, console)
    report(summary, config, console)
    return summary


def report(summary, config, console):
    """The scores, and where the run's outputs are."""
    scores = summary["scores"]  # in METRICS order, as read back from JSON too
    listed = ", ".join(f"{k} {scores[k]:.3f}" for k in METRICS if k in scores)
    console.say(f"Disentanglement scores: {listed or 'none (no ground truth)'}")
    console.say(f"Figures:     {', '.join(sorted(summary['figures'].values()))}")
    command.say_outputs(console, config, summary, METRICS_JSON, "Metrics")


# --- Command line ------------------------------------------------------------


def define_flags(flag_values=flags.FLAGS):
    command.define_flags(configs, flag_values)


@exits.one_line_errors
def main(argv):
    del argv
    callbacks_lib.quiet_logs()
    run(command.config_from_flags(configs))


if __name__ == "__main__":
    define_flags()
    app.run(main)
