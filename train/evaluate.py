"""Evaluate a trained SDN-VAE: python -m train.evaluate.

    python -m train.evaluate --output_dir=runs/cifar10 --iw_samples=1024

From the newest checkpoint of a train.density run (EMA weights):
  * the test-set negative ELBO in bits/dim (single sample per image),
  * the importance-weighted bound with --iw_samples samples per image
    (the paper: 1024), drawn --iw_chunk at a time so memory stays bounded,
    on the first --iw_images test images,
  * samples.png: prior samples, one row per temperature,
  * interpolation.png: two test images, the latents of the top
    --layer layers interpolated between theirs, the layers below sampled
    at --temperature (Figure 5 of the paper),
  * neighbourhood.png: around each of a few test images, its latents kept
    in the top --layer layers and the rest sampled (Figures 6 and 11),
and writes them with evaluation.json into --eval_dir (default
output_dir/evaluation).
"""

# First: in a command, importing callbacks starts TensorFlow quietly.
from sdn_tf.train import callbacks as callbacks_lib  # isort: split

import os

import numpy as np
from absl import app, flags, logging

from sdn_tf import arguments
from sdn_tf.train import checkpoints, datasets, exits, figures, runs
from sdn_tf.train.configs import density as density_configs

# The figures use the first test images: 4 pairs for the interpolations.
MIN_IMAGES = 8


def validate_settings(settings):
    """Raises ValueError for a bad evaluation setting, before any work."""
    count = settings["num_images"]
    arguments.check(
        count is None or (arguments.is_integer(count) and count >= MIN_IMAGES),
        "num_images",
        f"unset (all) or an integer >= {MIN_IMAGES} (the figures use 8 images)",
        count,
    )
    arguments.non_negative_integer(settings["iw_samples"], "iw_samples")  # 0: none
    for name in ("iw_chunk", "iw_images"):
        arguments.positive_integer(settings[name], name)
    arguments.non_negative_integer(settings["layer"], "layer")
    arguments.temperature(settings["temperature"])
    arguments.check(
        len(settings["temperatures"]) > 0,
        "temperatures",
        "a non-empty list of temperatures",
        settings["temperatures"],
    )
    for temperature in settings["temperatures"]:
        arguments.temperature(temperature, "temperatures")


def validate_for_model(settings, model, eval_dir):
    """Raises ValueError for a setting the restored model or the file system
    cannot take, before any work (an IW bound can take hours)."""
    arguments.check(
        settings["layer"] <= model.depth,
        "layer",
        f"at most the model's {model.depth} ladder layers",
        settings["layer"],
    )
    validate_eval_dir(eval_dir)


def validate_eval_dir(eval_dir):
    """Raises ValueError unless `eval_dir` is a directory or can become one."""
    arguments.check(
        not os.path.exists(eval_dir) or os.path.isdir(eval_dir),
        "eval_dir",
        "a directory (or a path to create one at)",
        f"{eval_dir!r}, an existing file",
    )


def test_images(config, count, batch_size=64):
    """The first `count` test images (all when count is None), [-1, 1]."""
    images = []
    for batch in datasets.load_split(config, "test", batch_size):
        images.append(batch["image"].numpy())
        if count is not None and sum(map(len, images)) >= count:
            break
    return np.concatenate(images)[:count]


def negative_elbo_bpd(model, images, batch_size=64):
    """Mean single-sample negative ELBO of `images` in bits/dim."""
    values = [
        np.asarray(model.negative_elbo_bpd(images[i : i + batch_size]))
        for i in range(0, len(images), batch_size)
    ]
    return float(np.concatenate(values).mean())


def importance_weighted_bpd(model, images, num_samples, chunk):
    """(IW bound, ELBO over the same samples), means in bits/dim."""
    iw, elbo = [], []
    for image in images:  # one image at a time: chunk samples per call
        bound, single = model.importance_weighted_bpd(image[None], num_samples, chunk)
        iw.append(bound[0])
        elbo.append(single[0])
    return float(np.mean(iw)), float(np.mean(elbo))


def interpolation(model, first, second, layers, temperature, steps=8):
    """[steps, H, W, C]: top `layers` latents interpolated from first to second."""
    za, zb = model.encode(first[None]), model.encode(second[None])
    weights = np.linspace(0.0, 1.0, steps, dtype=np.float32)
    zs = [
        np.concatenate([(1 - w) * np.asarray(a) + w * np.asarray(b) for w in weights])
        for a, b in zip(za, zb)
    ]
    return np.asarray(model.decode(zs, fixed_layers=layers, temperature=temperature))


def neighbourhood(model, image, layers, temperature, count=8):
    """[count, H, W, C]: the image's latents in the top `layers`, rest sampled."""
    zs = [np.repeat(np.asarray(z), count, axis=0) for z in model.encode(image[None])]
    return np.asarray(model.decode(zs, fixed_layers=layers, temperature=temperature))


def evaluate(model, config, eval_dir, settings, say=None):
    """Bounds and figures of `model`; returns the evaluation dict.
    `say(text)` hears of each long phase as it starts."""
    validate_settings(settings)
    validate_for_model(settings, model, eval_dir)
    say = say or (lambda text: None)
    os.makedirs(eval_dir, exist_ok=True)
    results = {}
    with callbacks_lib.ema_weights(model):
        images = test_images(config, settings["num_images"])
        results["test_images"] = len(images)
        say(f"Negative ELBO of {len(images)} test images...")
        results["test_bpd"] = negative_elbo_bpd(model, images)
        if settings["iw_samples"]:
            subset = images[: settings["iw_images"]]
            say(
                f"Importance-weighted bound: {settings['iw_samples']} samples "
                f"for each of {len(subset)} test images..."
            )
            iw, elbo = importance_weighted_bpd(
                model, subset, settings["iw_samples"], settings["iw_chunk"]
            )
            results.update(
                iw_samples=settings["iw_samples"],
                iw_images=len(subset),
                iw_bpd=iw,
                iw_elbo_bpd=elbo,
            )
        layers, temperature = settings["layer"], settings["temperature"]
        say("Figures: samples, interpolations, neighbourhoods...")
        paths = {}
        samples = figures.sample_grid(model, settings["temperatures"])
        paths["samples"] = figures.save_png(
            figures.grid(samples, columns=8), os.path.join(eval_dir, "samples.png"), 2
        )
        pairs = [
            interpolation(model, images[2 * i], images[2 * i + 1], layers, temperature)
            for i in range(4)
        ]
        paths["interpolation"] = figures.save_png(
            figures.grid(np.concatenate(pairs), columns=8),
            os.path.join(eval_dir, "interpolation.png"),
            2,
        )
        around = [
            np.concatenate(
                [
                    images[i : i + 1],
                    neighbourhood(model, images[i], layers, temperature, 7),
                ]
            )
            for i in range(4)
        ]
        paths["neighbourhood"] = figures.save_png(
            figures.grid(np.concatenate(around), columns=8),
            os.path.join(eval_dir, "neighbourhood.png"),
            2,
        )
    results["figures"] = paths
    checkpoints.write_json_atomically(
        os.path.join(eval_dir, "evaluation.json"), results
    )
    return results


FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    kw = dict(flag_values=flag_values)
    flags.DEFINE_string("output_dir", None, "The train.density run's directory.", **kw)
    flags.DEFINE_string(
        "eval_dir", None, "Where to write (default output_dir/evaluation).", **kw
    )
    flags.DEFINE_integer(
        "num_images", None, "Test images for the ELBO (all: unset).", **kw
    )
    flags.DEFINE_integer("iw_samples", 1024, "Importance samples (0: skip).", **kw)
    flags.DEFINE_integer("iw_chunk", 64, "Importance samples per forward pass.", **kw)
    flags.DEFINE_integer("iw_images", 100, "Test images for the IW bound.", **kw)
    flags.DEFINE_integer(
        "layer", 2, "Top layers kept/interpolated in the figures.", **kw
    )
    flags.DEFINE_float("temperature", 0.8, "Temperature of the sampled layers.", **kw)
    flags.DEFINE_list(
        "temperatures", ["1.0", "0.9", "0.8", "0.7"], "Sample rows.", **kw
    )
    flags.mark_flag_as_required("output_dir", **kw)


def _temperatures(values):
    try:
        return [float(t) for t in values]
    except ValueError:
        raise ValueError(
            "Received an invalid value for argument `temperatures`, expected "
            f"numbers, got {values!r}."
        ) from None


@exits.one_line_errors
def main(argv):
    del argv
    callbacks_lib.quiet_logs()
    eval_dir = FLAGS.eval_dir or os.path.join(FLAGS.output_dir, "evaluation")
    with exits.refusing():  # all before the restore, which takes a while
        settings = dict(
            num_images=FLAGS.num_images,
            iw_samples=FLAGS.iw_samples,
            iw_chunk=FLAGS.iw_chunk,
            iw_images=FLAGS.iw_images,
            layer=FLAGS.layer,
            temperature=FLAGS.temperature,
            temperatures=_temperatures(FLAGS.temperatures),
        )
        validate_settings(settings)
        validate_eval_dir(eval_dir)
        runs.read_of(FLAGS.output_dir, density_configs.COMMAND, "train.evaluate")
    print(f"Restoring the newest checkpoint of {FLAGS.output_dir}...", flush=True)
    with exits.refusing():
        model, config = runs.load(FLAGS.output_dir)
    print(
        f"Model: {type(model).__name__}, {model.count_params():,} parameters, at "
        f"step {checkpoints.training_step(model)}; data: {config.data.dataset}.",
        flush=True,
    )
    with exits.refusing():
        validate_for_model(settings, model, eval_dir)
    results = evaluate(
        model, config, eval_dir, settings, say=lambda text: print(text, flush=True)
    )
    logging.info("%s", results)
    print(f"Test negative ELBO: {results['test_bpd']:.4f} bits/dim")
    if "iw_bpd" in results:
        print(
            f"Importance-weighted bound (k={results['iw_samples']}, "
            f"{results['iw_images']} images): {results['iw_bpd']:.4f} bits/dim "
            f"(ELBO on the same images: {results['iw_elbo_bpd']:.4f})"
        )
    print(f"Figures and evaluation.json in {eval_dir}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
