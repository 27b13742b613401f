"""Train a beta-VAE and measure its disentanglement: python -m train.disentangle.

    python -m train.disentangle --output_dir=runs/circles            # quick preset
    python -m train.disentangle --preset=sdn_paper --output_dir=runs/sdn
    python -m train.disentangle --preset=sdn_paper --decoder=deconv ...  # baseline

Trains with model.fit on an offline dataset (or a TFDS one when present),
logs to TensorBoard (output_dir/logs), checkpoints (output_dir/checkpoints;
rerunning the command resumes), evaluates the disentanglement metrics every
--metric_interval steps and at the end (output_dir/metrics.json), and
writes reconstructions.png, traversals.png and, for two-factor circles
datasets, geometry.png.
"""

import os

import keras
import numpy as np
from absl import app, flags, logging

import sdn_tf
from models import BetaAnnealing, BetaVAE
from sdn_tf import arguments
from sdn_tf import metrics as metrics_lib
from train import callbacks as callbacks_lib
from train import checkpoints, command, configs, figures, loop

METRICS = {
    "beta_vae": (
        metrics_lib.beta_vae_score,
        "eval_accuracy",
        ("num_train", "num_eval"),
    ),
    "factor_vae": (
        metrics_lib.factor_vae_score,
        "eval_accuracy",
        ("num_train", "num_eval", "num_variance_estimate"),
    ),
    "mig": (metrics_lib.mig, "mig", ("num_train",)),
    "dci": (metrics_lib.dci, "disentanglement", ("num_train", "num_test")),
}
_METRIC_DEFAULTS = {
    "num_train": 10_000,
    "num_eval": 5_000,
    "num_test": 5_000,
    "num_variance_estimate": 10_000,
}

# Settings that define the run (a different value means a different run).
IDENTITY_KEYS = (
    "dataset",
    "num_bits",
    "decoder",
    "observation",
    "latent_dim",
    "beta",
    "anneal_steps",
    "batch_size",
    "learning_rate",
    "optimizer",
    "encoder_channels",
    "fc_channels",
    "sdn_features",
    "sdn_scale",
    "sdn_directions",
    "broadcast_layers",
    "broadcast_channels",
    "broadcast_mlp_layers",
    "precision",
    "seed",
)

DEFAULTS = dict(
    command.RUN_DEFAULTS,
    **configs.DISENTANGLE_PRESETS["quick"],
    preset="quick",
    num_bits=8,
    sdn_features=200,
    sdn_scale=32,
    sdn_directions=("down",),
    broadcast_layers=2,
    broadcast_channels=64,
    broadcast_mlp_layers=0,
    metric_interval=0,
    metrics=tuple(METRICS),
)


def make_config(preset="quick", **overrides):
    """The full settings: DEFAULTS, then the preset, then `overrides`."""
    config = command.make_config(
        configs.DISENTANGLE_PRESETS, DEFAULTS, preset, overrides
    )
    unknown_metrics = set(config["metrics"]) - set(METRICS)
    if unknown_metrics:
        raise ValueError(
            "Received an invalid value for argument `metrics`, expected names from "
            f"{tuple(METRICS)}, got {sorted(unknown_metrics)}."
        )
    # Checked here, before any work, as named on the command line (the
    # model and BetaAnnealing would name beta `final_beta` or see 0).
    arguments.non_negative_number(config["beta"], "beta")
    arguments.non_negative_integer(config["anneal_steps"], "anneal_steps")
    arguments.non_negative_integer(config["metric_interval"], "metric_interval")
    arguments.positive_number(config["metric_scale"], "metric_scale")
    return config


def identity(config):
    return dict({k: config[k] for k in IDENTITY_KEYS}, command="disentangle")


def build_model(config, image_shape):
    return BetaVAE(
        image_shape=image_shape,
        latent_dim=config["latent_dim"],
        decoder=config["decoder"],
        observation=config["observation"],
        beta=0.0 if config["anneal_steps"] else config["beta"],
        encoder_channels=config["encoder_channels"],
        fc_channels=config["fc_channels"],
        sdn_scale=config["sdn_scale"],
        sdn_features=config["sdn_features"],
        sdn_directions=config["sdn_directions"],
        broadcast_layers=config["broadcast_layers"],
        broadcast_channels=config["broadcast_channels"],
        broadcast_mlp_layers=config["broadcast_mlp_layers"],
        num_bits=config["num_bits"],
    )


def make_optimizer(config):
    optimizers = {"adam": keras.optimizers.Adam, "adamax": keras.optimizers.Adamax}
    if config["optimizer"] not in optimizers:
        raise ValueError(
            "Received an invalid value for argument `optimizer`, expected one of "
            f"{tuple(optimizers)}, got {config['optimizer']!r}."
        )
    return optimizers[config["optimizer"]](config["learning_rate"])


def _image_shape(config):
    info = sdn_tf.data.dataset_info(config["dataset"], data_dir=config["data_dir"])
    return info.image_shape, info


def restore(output_dir, run_identity):
    """The run's model with its newest checkpoint restored (for export)."""
    config = make_config(
        **{k: v for k, v in run_identity.items() if k != "command"},
        output_dir=output_dir,
    )
    model = build_model(config, _image_shape(config)[0])
    model.compile(optimizer=make_optimizer(config))
    model.build()
    model.optimizer.build(model.trainable_variables)
    checkpointer = checkpoints.Checkpointer(output_dir, model)
    if checkpointer.restore_or_start() == 0:
        raise ValueError(f"No checkpoint in {output_dir} to restore.")
    return model


# --- Evaluation ---------------------------------------------------------


def representation_fn(model, batch_size=256):
    def represent(observations):
        codes = [
            np.asarray(model.encode(observations[i : i + batch_size]))
            for i in range(0, len(observations), batch_size)
        ]
        return np.concatenate(codes)

    return represent


def evaluate_metrics(model, ground_truth, names, scale, seed):
    """{metric: result dict}, sample sizes = the papers' defaults x scale."""
    results = {}
    for name in names:
        function, _, sizes = METRICS[name]
        kwargs = {size: max(20, int(_METRIC_DEFAULTS[size] * scale)) for size in sizes}
        results[name] = function(
            ground_truth, representation_fn(model), seed=seed, **kwargs
        )
        logging.info("%s: %s", name, results[name])
    return results


class MetricsEvery(callbacks_lib.CountsSteps):
    """Evaluates the metrics every `interval` steps of the run (a resumed
    run continues the count) into `history`."""

    def __init__(self, interval, evaluate):
        super().__init__()
        self.interval, self.evaluate = interval, evaluate
        self.history = []

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self.interval and self.step % self.interval == 0:
            self.history.append(
                {"step": self.step, "metrics": self.evaluate(self.model)}
            )


def write_figures(model, dataset_name, ground_truth, config, directory):
    """reconstructions.png, traversals.png and (2-factor circles) geometry.png."""
    rng = np.random.default_rng(config["seed"])
    paths = {}
    if ground_truth is not None:
        images = ground_truth.observations(ground_truth.sample_factors(8, rng))
    else:
        batch = next(
            iter(
                sdn_tf.data.load(
                    dataset_name, "test", batch_size=8, data_dir=config["data_dir"]
                )
            )
        )
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


def run(config):
    """Trains (or resumes), evaluates and draws; returns a summary dict."""
    settings = command.settings(config)
    image_shape, _ = _image_shape(config)  # unknown dataset: ValueError here
    ground_truth = None
    if config["dataset"].split("/")[0] in ("sdn_circles", "sdn_sprites", "sdn_shapes"):
        ground_truth = sdn_tf.data.ground_truth(config["dataset"])
    strategy = loop.prepare(settings)
    keras.utils.set_random_seed(config["seed"])

    def build():
        model = build_model(config, image_shape)  # bad shapes: ValueError here
        model.compile(optimizer=make_optimizer(config))
        return model

    def make_dataset(global_batch, seed):
        return sdn_tf.data.load(
            config["dataset"],
            "train",
            batch_size=global_batch,
            num_bits=config["num_bits"],
            seed=seed,
            repeat=True,
            data_dir=config["data_dir"],
        )

    def images_for_summaries(model):
        return {"samples": np.asarray(model.sample(16, seed=config["seed"]))}

    def evaluate(model):
        if ground_truth is None:
            return {}
        return evaluate_metrics(
            model,
            ground_truth,
            config["metrics"],
            config["metric_scale"],
            config["seed"],
        )

    metric_callback = MetricsEvery(config["metric_interval"], evaluate)
    annealing = BetaAnnealing(config["beta"], config["anneal_steps"])
    result = loop.train(
        settings,
        strategy,
        build,
        make_dataset,
        identity(config),
        extra_callbacks=[annealing, metric_callback],
        image_fn=images_for_summaries,
    )
    model = result.model
    summary = {
        "step": result.step,
        "start_step": result.start_step,
        "dataset": config["dataset"],
    }
    if ground_truth is None:
        logging.info(
            "%s has no renderable ground truth: no disentanglement metrics.",
            config["dataset"],
        )
    final = evaluate(model)
    summary["metrics"] = final
    summary["scores"] = {name: final[name][METRICS[name][1]] for name in final}
    summary["history"] = metric_callback.history
    summary["training"] = {k: [float(x) for x in v] for k, v in result.history.items()}
    summary["figures"] = write_figures(
        model, config["dataset"], ground_truth, config, config["output_dir"]
    )
    return command.finish(model, config, summary, "metrics.json")


# --- Command line ------------------------------------------------------------

FLAGS = flags.FLAGS
_FLAG_KEYS = command.COMMON_FLAG_KEYS + (
    "decoder",
    "observation",
    "latent_dim",
    "beta",
    "anneal_steps",
    "optimizer",
    "metric_interval",
    "metrics",
    "metric_scale",
)


def define_flags():
    """The command's flags; a flag left unset keeps the preset's value."""
    flags.DEFINE_enum(
        "preset",
        "quick",
        list(configs.DISENTANGLE_PRESETS),
        "Named settings; the flags below override them.",
    )
    command.define_common_flags()
    flags.DEFINE_enum("decoder", None, ["deconv", "sdn", "broadcast"], "Decoder.")
    flags.DEFINE_enum(
        "observation", None, ["bernoulli", "gaussian", "logistic"], "Observation model."
    )
    flags.DEFINE_integer("latent_dim", None, "Latent size.")
    flags.DEFINE_float("beta", None, "Final KL weight.")
    flags.DEFINE_integer("anneal_steps", None, "Steps of linear beta annealing from 0.")
    flags.DEFINE_enum("optimizer", None, ["adam", "adamax"], "Optimizer.")
    flags.DEFINE_integer(
        "metric_interval",
        None,
        "Steps between metric evaluations (0: only at the end).",
    )
    flags.DEFINE_list("metrics", None, f"Metrics from {list(METRICS)}.")
    flags.DEFINE_float(
        "metric_scale", None, "Metric sample sizes as a fraction of the papers' (1.0)."
    )


def main(argv):
    del argv
    overrides = command.overrides_from_flags(_FLAG_KEYS)
    if "metrics" in overrides:
        overrides["metrics"] = tuple(overrides["metrics"])
    try:
        summary = run(make_config(FLAGS.preset, **overrides))
    except command.RUN_ERRORS as stopped:
        command.exit_on(stopped)
    print(f"Trained to step {summary['step']}; scores: {summary['scores']}")
    print(
        f"Wrote {os.path.join(FLAGS.output_dir, 'metrics.json')} and "
        f"{', '.join(summary['figures'].values())}"
    )


if __name__ == "__main__":
    define_flags()
    app.run(main)
