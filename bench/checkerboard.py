"""Whether a trained density run's pictures show what it learned, and the
checkerboard in them, per way of reading an image off p(x | z):
python bench/checkerboard.py --output_dir=runs/photo_patches

First the main job's three goals, on the pictures as samples.png draws them
(the observation model's `reconstruct` reading: the most probable
component's mean; EMA weights):

  reconstructions   mean |x' - x| from their own test patches over that
                    from another test patch (goal: at most 0.7)
  local contrast    the samples' mean |difference of neighbouring pixels|
                    over the test patches' (goal: 0.5 to 2)
  checkerboard      the samples' power at (pi, pi) over their mean power
                    at the other high frequencies (goal: at most 1; white
                    noise gives 1, real patches far less)

(`sdn_tf.metrics.image_quality`, `sdn_tf.metrics.checkerboard`). Then, for
prior samples (temperature 1) and reconstructions, the checkerboard peak
under each reading, and for reconstructions their distance from their
inputs and their colour shift (mean x' - x per channel: a reading that
tints the picture shows here):

  mode                   the exact per-pixel mode (R, then G | R, then B | R, G)
  sequential_mean        E[R], E[G | R = r*], E[B | R = r*, G = g*]
  argmax_component_mean  the mean of the most probable component (the
                         authors' `get_mean`, PixelCNN++)
  sample                 one draw of p(x | z): per-pixel noise, about 1
  mean of 16 samples     the Monte Carlo mean of p(x | z)

and the pattern's peak in the decoder's raw outputs (the mixture
logits and the first component's R mean), to tell a pattern the last
layer writes from one a reading makes.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import machine  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from sdn_tf.metrics import checkerboard, image_quality  # noqa: E402
from sdn_tf.models import vae  # noqa: E402
from sdn_tf.train import callbacks, datasets, runs  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("output_dir", "runs/photo_patches", "A finished density run.")
flags.DEFINE_integer("num_images", 64, "Samples and test images to measure.")
flags.DEFINE_integer("seed", 0, "Seed of the samples.")


def readings(distribution, seed):
    """{name: images in [-1, 1]} of one p(x | z)."""
    samples = [distribution.sample(seed=(seed, i)) for i in range(16)]
    return {
        "mode": distribution.mode(),
        "sequential_mean": distribution.sequential_mean(),
        "argmax_component_mean": distribution.argmax_component_mean(),
        "sample": samples[0],
        "mean of 16 samples": tf.reduce_mean(tf.stack(samples), axis=0),
    }


def colour_shift(images, inputs):
    """Mean images - inputs per channel."""
    return (np.asarray(images) - np.asarray(inputs)).mean(axis=(0, 1, 2))


def report(title, images_by_reading, test, inputs=None):
    print(
        f"\n{title}: checkerboard peak (test patches: "
        f"{checkerboard.checkerboard_peak(test):.2f})"
    )
    for name, images in images_by_reading.items():
        images = np.asarray(images, np.float64)
        line = f"  {name:24s} {checkerboard.checkerboard_peak(images):9.2f}"
        if inputs is not None:
            own, other = image_quality.reconstruction_distance(images, inputs)
            shift = ", ".join(f"{v:+.2f}" for v in colour_shift(images, inputs))
            line += (
                f"   |x' - x| {own:.3f}, to another test patch {other:.3f},"
                f" colour shift ({shift})"
            )
        print(line)


GOALS = {
    "reconstruction distance / to another patch": (0.0, 0.7),
    "samples' local contrast / test patches'": (0.5, 2.0),
    "samples' checkerboard peak": (0.0, 1.0),
}


def goals(model, test):
    """{goal name: value} of the pictures samples.png draws."""
    reconstructions = np.asarray(model.reconstruct(test), np.float64)
    own, other = image_quality.reconstruction_distance(reconstructions, test)
    samples = np.asarray(model.sample(len(test), temperature=1.0), np.float64)
    contrast = image_quality.local_contrast(samples) / image_quality.local_contrast(
        test
    )
    values = (own / other, contrast, checkerboard.checkerboard_peak(samples))
    return dict(zip(GOALS, values))


def print_goals(values):
    print("\nThe main job's goals, on the pictures as samples.png draws them:")
    for name, value in values.items():
        low, high = GOALS[name]
        met = "met" if low <= value <= high else "NOT met"
        print(f"  {name:45s} {value:7.3f}   goal {low:g} to {high:g}: {met}")


def main(argv):
    del argv
    callbacks.quiet_logs()
    for line in machine.describe():
        print(line)
    model, config = runs.load(FLAGS.output_dir)
    test = next(
        iter(datasets.load_split(config, "test", FLAGS.num_images).map(vae.images_of))
    ).numpy()
    print(f"Run: {FLAGS.output_dir} (step {int(model.optimizer.iterations.numpy())})")
    with callbacks.ema_weights(model):
        tf.random.set_seed(FLAGS.seed)
        print_goals(goals(model, test))
        params, _, _, _ = model._top_down(FLAGS.num_images, temperature=1.0)
        prior = model.likelihood(params)
        report("Prior samples (t = 1)", readings(prior, FLAGS.seed), test)
        logits = np.asarray(params[..., : model.num_components])
        means = np.asarray(params[..., model.num_components])  # component 0, R
        print(
            "  raw outputs, checkerboard peak: logits "
            f"{checkerboard.checkerboard_peak(logits):.2f}, first R mean "
            f"{checkerboard.checkerboard_peak(means[..., None]):.2f}"
        )
        q_ups = model._bottom_up(test)
        params, _, _, _ = model._top_down(len(test), q_ups=q_ups, deterministic=True)
        posterior = model.likelihood(params)
        report(
            "Reconstructions (posterior means)",
            readings(posterior, FLAGS.seed),
            test,
            inputs=test,
        )


if __name__ == "__main__":
    app.run(main)
