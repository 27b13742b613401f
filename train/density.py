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
samples.png (rows: temperatures) and results.json, and with --export a
SavedModel. `python -m train.evaluate` computes the importance-weighted
bound and the figures of a finished run.
"""

import os

import keras
import numpy as np
from absl import app, logging

from train import callbacks as callbacks_lib
from train import command, datasets, figures, loop, runs
from train import config as config_lib
from train.configs import density as configs


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


def run(config):
    """Trains (or resumes), evaluates and samples; returns a summary dict."""
    config, strategy = command.start(config)  # bad settings: ValueError here
    keras.utils.set_random_seed(config.run.seed)
    temperatures = config.evaluation.temperatures

    def build():
        model = config_lib.build_model(config)  # bad model settings: ValueError
        model.compile(optimizer=config.optimizer.make())
        return model

    def make_dataset(global_batch, seed):
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
    )
    model = result.model
    summary = {
        "step": result.step,
        "start_step": result.start_step,
        "dataset": config.data.dataset,
        "training": {k: [float(x) for x in v] for k, v in result.history.items()},
    }
    summary["test_bpd"], summary["test_nonfinite_batches"] = test_bits_per_dim(
        model, config, config.run.batch_size
    )
    logging.info("Test negative ELBO: %.4f bits/dim", summary["test_bpd"])
    grid = figures.grid(figures.sample_grid(model, temperatures), columns=8)
    samples_path = os.path.join(config.run.output_dir, "samples.png")
    summary["figures"] = {"samples": figures.save_png(grid, samples_path, scale=2)}
    summary["logs"] = os.path.join(config.run.output_dir, "logs")
    return command.finish(model, config, summary, "results.json")


# --- Command line ------------------------------------------------------------


def main(argv):
    del argv
    config = command.config_from_flags(configs)
    try:
        summary = run(config)
    except command.RUN_ERRORS as stopped:
        command.exit_on(stopped)
    out = config.run.output_dir
    print(f"Trained to step {summary['step']}.")
    print(f"Test negative ELBO: {summary['test_bpd']:.4f} bits/dim")
    print(f"Samples:     {summary['figures']['samples']}")
    print(f"TensorBoard: tensorboard --logdir {summary['logs']}")
    print(f"Checkpoints: {os.path.join(out, 'checkpoints')}")
    if "saved_model" in summary:
        print(f"SavedModel:  {summary['saved_model']}")
    print(f"Results:     {os.path.join(out, 'results.json')}")


if __name__ == "__main__":
    command.define_flags(configs)
    app.run(main)
