"""Train the SDN-VAE (or IAF-VAE+) for density estimation: python -m train.density.

    python -m train.density --output_dir=runs/patches          # photo patches
    python -m train.density --config=cifar10 --output_dir=runs/cifar10
    python -m train.density --config=cifar10 --use_sdn=false ...  # IAF-VAE+
    python -m train.density --config=cifar10 --config.model.h_size=256 ...

Settings: train/configs/density.py (presets) and train/config.py (how
--config and --config.<section>.<name> work); --help lists every one.

Trains with model.fit (Adamax with exponential learning-rate decay, EMA of
the weights, horizontal flips where the config says so), logs bits/dim,
KL and the KL of every layer to TensorBoard (output_dir/logs), checkpoints
(output_dir/checkpoints; rerunning the command resumes), then reports the
test-set negative ELBO in bits/dim with the EMA weights, writes
samples.png (labelled rows: test patches, their reconstructions, prior
samples at each temperature) and results.json, and with --export a
SavedModel. `python -m train.evaluate` computes the importance-weighted
bound and the figures of a finished run.

Prints what it trains, one progress bar and the result; rerunning a
finished run prints its earlier result and trains nothing. --verbosity=0
(absl's flag) adds the INFO logs and TensorFlow's own start-up lines.
"""

# First: in a command, importing callbacks starts TensorFlow quietly.
from sdn_tf.train import callbacks as callbacks_lib  # isort: split

import os

import keras
import numpy as np
from absl import app, flags

from sdn_tf.models import vae
from sdn_tf.train import command, datasets, exits, figures, loop, runs
from sdn_tf.train import config as config_lib
from sdn_tf.train.configs import density as configs


def test_bits_per_dim(model, config, batch_size):
    """(negative ELBO of the test split in bits/dim with the EMA weights,
    number of test batches left out of it for non-finite terms)."""
    dataset = datasets.load_split(config, "test", batch_size)
    if config.evaluation.eval_batches:
        dataset = dataset.take(config.evaluation.eval_batches)
    with callbacks_lib.ema_weights(model):
        results = model.evaluate(dataset, verbose=0, return_dict=True)
    return float(results["bpd"]), int(results["nonfinite_batches"])


def layer_kl_scalars(model):
    """TensorBoard scalars: the batch-mean KL of every layer (top first), nats."""
    values = np.asarray(model.layer_kl)[::-1]
    return {f"kl_per_layer/layer_{i:02d}": v for i, v in enumerate(values)}


RESULTS = "results.json"
SHEET_COLUMNS = 8  # images per row of samples.png


def run(config):
    """Trains (or resumes), evaluates and samples; returns a summary dict.

    A rerun of a finished run trains nothing and keeps its results.json
    (see command.is_current).
    """
    config, strategy, console = command.start(config)  # bad settings: ValueError
    command.start_kernel_build(config.model.use_sdn)
    keras.utils.set_random_seed(config.run.seed)
    temperatures = config.evaluation.temperatures

    def build():
        model = config_lib.build_model(config)  # bad model settings: ValueError
        model.compile(optimizer=config.optimizer.make())
        return model

    def make_dataset(global_batch, seed):
        with command.dataset_notices(console):
            return datasets.load_split(
                config, "train", global_batch, repeat=True, seed=seed
            )

    def images_for_summaries(model):
        return {f"samples/t{t}": model.sample(8, t) for t in temperatures}

    result = loop.train(
        config.run,
        strategy,
        build,
        make_dataset,
        runs.describe(configs.COMMAND, config),
        image_fn=images_for_summaries,
        scalar_fn=layer_kl_scalars,
        console=console,
    )
    model, output_dir = result.model, config.run.output_dir
    earlier = command.earlier_summary(config, result, RESULTS)
    if command.is_current(earlier, config):
        summary = command.finish(model, config, earlier, RESULTS, console)
        console.say(f"Its results, from {os.path.join(output_dir, RESULTS)}:")
        report(summary, config, console)
        return summary
    summary = command.training_summary(config, result, earlier)
    console.say("Evaluating the test split with the EMA weights...")
    summary["test_bpd"], summary["test_nonfinite_batches"] = test_bits_per_dim(
        model, config, config.run.batch_size
    )
    test_images = next(iter(datasets.load_split(config, "test", SHEET_COLUMNS)))
    sheet = figures.density_sheet(
        model, vae.images_of(test_images), temperatures, SHEET_COLUMNS
    )
    samples_path = os.path.join(output_dir, "samples.png")
    summary["figures"] = {"samples": figures.save_png(sheet, samples_path)}
    summary["logs"] = os.path.join(output_dir, "logs")
    summary = command.finish(model, config, summary, RESULTS, console)
    report(summary, config, console)
    return summary


def report(summary, config, console):
    """The result, and where the run's outputs are."""
    console.say(f"Test negative ELBO: {summary['test_bpd']:.4f} bits/dim")
    if summary.get("test_nonfinite_batches"):
        console.say(
            f"  ({summary['test_nonfinite_batches']} test batches left out: not finite)"
        )
    console.say(
        f"Samples:     {summary['figures']['samples']} (test patches, their "
        "reconstructions, prior samples per temperature)"
    )
    command.say_outputs(console, config, summary, RESULTS, "Results")


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
