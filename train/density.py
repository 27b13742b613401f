"""Train the SDN-VAE (or IAF-VAE+) for density estimation: python -m train.density.

    python -m train.density --output_dir=runs/patches          # photo patches
    python -m train.density --config=cifar10 --output_dir=runs/cifar10
    python -m train.density --config=cifar10 --use_sdn=false ...  # IAF-VAE+

Trains with model.fit (Adamax with exponential learning-rate decay, EMA of
the weights, horizontal flips where the config says so), logs bits/dim,
KL and the KL of every layer to TensorBoard (output_dir/logs), checkpoints
(output_dir/checkpoints; rerunning the command resumes), then reports the
test-set negative ELBO in bits/dim with the EMA weights, writes
samples.png (rows: temperatures) and results.json, and with --export a
SavedModel. `python -m train.evaluate` computes the importance-weighted
bound and the figures of a finished run.
"""

import os

import keras
import numpy as np
from absl import app, flags, logging

import sdn_tf
from models import SDNVAE
from sdn_tf import arguments
from train import callbacks as callbacks_lib
from train import checkpoints, command, configs, figures, loop

# The model's settings, then the optimizer's: a different value means a
# different run.
MODEL_KEYS = (
    "h_size",
    "z_size",
    "scales",
    "sdn_directions",
    "use_sdn",
    "sdn_min_scale",
    "sdn_max_scale",
    "num_components",
    "num_bits",
    "free_bits",
    "iaf_context",
    "iaf_layers",
    "downsample_first",
)
IDENTITY_KEYS = (
    "dataset",
    "image_size",
    *MODEL_KEYS,
    "learning_rate",
    "lr_decay_steps",
    "ema",
    "batch_size",
    "flip",
    "precision",
    "seed",
)

DEFAULTS = dict(
    command.RUN_DEFAULTS,
    **configs.DENSITY_CONFIGS["photo_patches"],
    config="photo_patches",
    use_sdn=True,
    sdn_min_scale=0,
    sdn_max_scale=None,
    iaf_layers=2,
    checkpoint_every=200,
    image_every=200,
    epoch_steps=200,
    eval_batches=0,
    temperatures=(1.0, 0.9, 0.8, 0.7),
)


def make_config(config="photo_patches", **overrides):
    """The full settings: DEFAULTS, then the named config, then `overrides`.

    The command's own numbers are checked here, before any work; the
    model's (h_size, free_bits, ...) by SDNVAE, under the same names.
    """
    config = command.make_config(
        configs.DENSITY_CONFIGS, DEFAULTS, config, overrides, "config"
    )
    ema = config["ema"]
    arguments.check(
        arguments.is_finite_number(ema) and 0 <= ema < 1,
        "ema",
        "a decay in [0, 1) (0: no EMA)",
        ema,
    )
    arguments.positive_integer(config["lr_decay_steps"], "lr_decay_steps")
    arguments.non_negative_integer(config["eval_batches"], "eval_batches")
    for temperature in config["temperatures"]:
        arguments.temperature(temperature, "temperatures")
    return config


def identity(config):
    values = {k: config[k] for k in IDENTITY_KEYS}
    values["scales"] = [list(s) for s in config["scales"]]
    return dict(values, command="density")


def image_shape_of(config):
    """The dataset's image shape, checked against the config's image size."""
    info = sdn_tf.data.dataset_info(config["dataset"], data_dir=config["data_dir"])
    height, width, _ = info.image_shape
    size = config["image_size"]
    if (height, width) != (size, size):
        raise ValueError(
            "Received an invalid value for argument `dataset`: the config "
            f"{config['config']!r} takes {size}x{size} images, {config['dataset']!r} "
            f"has {height}x{width}."
        )
    return tuple(info.image_shape)


def build_model(config, image_shape):
    return SDNVAE(image_shape=image_shape, **{k: config[k] for k in MODEL_KEYS})


def make_optimizer(config):
    """Adamax with the learning rate halved every lr_decay_steps, and EMA."""
    schedule = keras.optimizers.schedules.ExponentialDecay(
        config["learning_rate"], config["lr_decay_steps"], 0.5
    )
    return keras.optimizers.Adamax(
        schedule, use_ema=config["ema"] > 0, ema_momentum=config["ema"] or 0.99
    )


def restore(output_dir, run_identity):
    """The run's model with its newest checkpoint restored (for export)."""
    values = {k: v for k, v in run_identity.items() if k != "command"}
    config = make_config(**values, output_dir=output_dir)
    model = build_model(config, image_shape_of(config))
    model.compile(optimizer=make_optimizer(config))
    model.optimizer.build(model.trainable_variables)
    if checkpoints.Checkpointer(output_dir, model).restore_or_start() == 0:
        raise ValueError(f"No checkpoint in {output_dir} to restore.")
    return model


def load_split(config, split, batch_size, repeat=False, seed=0):
    return sdn_tf.data.load(
        config["dataset"],
        split,
        batch_size=batch_size,
        num_bits=config["num_bits"],
        flip=config["flip"] and split == "train",
        seed=seed,
        repeat=repeat,
        shuffle=split == "train",
        data_dir=config["data_dir"],
    )


def test_bits_per_dim(model, config, batch_size):
    """(negative ELBO of the test split in bits/dim with the EMA weights,
    number of test batches left out of it for non-finite terms)."""
    dataset = load_split(config, "test", batch_size)
    if config["eval_batches"]:
        dataset = dataset.take(config["eval_batches"])
    with callbacks_lib.ema_weights(model):
        results = model.evaluate(dataset, verbose=0, return_dict=True)
    return float(results["bpd"]), int(results["nonfinite_batches"])


def sample_grid(model, temperatures, per_row=8):
    """Samples from the prior, one row per temperature, [rows * per_row, ...]."""
    with callbacks_lib.ema_weights(model):
        rows = [np.asarray(model.sample(per_row, temperature=t)) for t in temperatures]
    return np.concatenate(rows)


def layer_kl_scalars(model):
    """TensorBoard scalars: the batch-mean KL of every layer (top first), nats."""
    values = np.asarray(model.layer_kl)[::-1]
    return {f"kl_per_layer/layer_{i:02d}": v for i, v in enumerate(values)}


def run(config):
    """Trains (or resumes), evaluates and samples; returns a summary dict."""
    settings = command.settings(config)
    image_shape = image_shape_of(config)  # unknown dataset or size: ValueError
    strategy = loop.prepare(settings)
    keras.utils.set_random_seed(config["seed"])

    def build():
        model = build_model(config, image_shape)  # bad config: ValueError here
        model.compile(optimizer=make_optimizer(config))
        return model

    def make_dataset(global_batch, seed):
        return load_split(config, "train", global_batch, repeat=True, seed=seed)

    def images_for_summaries(model):
        return {f"samples/t{t}": model.sample(8, t) for t in config["temperatures"]}

    result = loop.train(
        settings,
        strategy,
        build,
        make_dataset,
        identity(config),
        image_fn=images_for_summaries,
        scalar_fn=layer_kl_scalars,
    )
    model = result.model
    summary = {
        "step": result.step,
        "start_step": result.start_step,
        "dataset": config["dataset"],
        "training": {k: [float(x) for x in v] for k, v in result.history.items()},
    }
    summary["test_bpd"], summary["test_nonfinite_batches"] = test_bits_per_dim(
        model, config, config["batch_size"]
    )
    logging.info("Test negative ELBO: %.4f bits/dim", summary["test_bpd"])
    grid = figures.grid(sample_grid(model, config["temperatures"]), columns=8)
    samples_path = os.path.join(config["output_dir"], "samples.png")
    summary["figures"] = {"samples": figures.save_png(grid, samples_path, scale=2)}
    summary["logs"] = os.path.join(config["output_dir"], "logs")
    return command.finish(model, config, summary, "results.json")


# --- Command line ------------------------------------------------------------

FLAGS = flags.FLAGS
_FLAG_KEYS = command.COMMON_FLAG_KEYS + (
    "use_sdn",
    "sdn_directions",
    "num_components",
    "h_size",
    "z_size",
    "free_bits",
    "ema",
    "lr_decay_steps",
    "flip",
    "eval_batches",
)


def define_flags():
    """The command's flags; a flag left unset keeps the config's value."""
    flags.DEFINE_enum(
        "config",
        "photo_patches",
        list(configs.DENSITY_CONFIGS),
        "Named settings (Table 3 of the paper, or small offline ones); the "
        "flags below override them.",
    )
    command.define_common_flags()
    flags.DEFINE_boolean("use_sdn", None, "False: the IAF-VAE+ baseline.")
    flags.DEFINE_integer("sdn_directions", None, "Sweeps per ResSDN layer.")
    flags.DEFINE_integer("num_components", None, "Logistic mixture components.")
    flags.DEFINE_integer("h_size", None, "Deterministic channels per layer.")
    flags.DEFINE_integer("z_size", None, "Stochastic channels per layer.")
    flags.DEFINE_float("free_bits", None, "Free nats per layer.")
    flags.DEFINE_float("ema", None, "EMA decay of the weights (0: no EMA).")
    flags.DEFINE_integer(
        "lr_decay_steps", None, "Steps over which the learning rate halves."
    )
    flags.DEFINE_boolean("flip", None, "Random horizontal flips of training images.")
    flags.DEFINE_integer(
        "eval_batches", None, "Test batches for the final bits/dim (0: all)."
    )


def main(argv):
    del argv
    try:
        summary = run(
            make_config(FLAGS.config, **command.overrides_from_flags(_FLAG_KEYS))
        )
    except command.RUN_ERRORS as stopped:
        command.exit_on(stopped)
    out = FLAGS.output_dir
    print(f"Trained to step {summary['step']}.")
    print(f"Test negative ELBO: {summary['test_bpd']:.4f} bits/dim")
    print(f"Samples:     {summary['figures']['samples']}")
    print(f"TensorBoard: tensorboard --logdir {summary['logs']}")
    print(f"Checkpoints: {os.path.join(out, 'checkpoints')}")
    if "saved_model" in summary:
        print(f"SavedModel:  {summary['saved_model']}")
    print(f"Results:     {os.path.join(out, 'results.json')}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
