"""The checkerboard in a trained density run's pictures, per way of reading
an image off p(x | z): python bench/checkerboard.py --output_dir=runs/photo_patches

For prior samples (temperature 1) and for reconstructions of test images it
prints the energy of the (-1)^(i+j) pattern relative to real test images
(`sdn_tf.metrics.checkerboard`) under each reading of the decoder's output:

  mode                   the exact per-pixel mode (R, then G | R, then B | R, G)
  sequential_mean        E[R], E[G | R = r*], E[B | R = r*, G = g*]
  argmax_component_mean  the mean of the most probable component (the
                         authors' `get_mean`, PixelCNN++)
  sample                 one draw of p(x | z)
  mean of 16 samples     the Monte Carlo mean of p(x | z)

and, for reconstructions, their mean absolute error to their inputs and to
other test images (on the [-1, 1] scale). It also prints the pattern in the
decoder's raw outputs (the mixture logits and the first component's R mean)
against the same parameters' spatial average, to tell a pattern the last
layer writes from one the reading makes.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import machine  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from models import vae  # noqa: E402
from sdn_tf.metrics import checkerboard  # noqa: E402
from train import callbacks, datasets, runs  # noqa: E402

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


def report(title, images_by_reading, test, inputs=None):
    print(f"\n{title}: checkerboard energy / test images'")
    for name, images in images_by_reading.items():
        images = np.asarray(images, np.float64)
        line = f"  {name:24s} {checkerboard.checkerboard_ratio(images, test):9.1f}x"
        if inputs is not None:
            own = np.abs(images - inputs).mean()
            other = np.abs(images - np.roll(inputs, 1, axis=0)).mean()
            line += f"   |x' - x| {own:.3f}, to another test image {other:.3f}"
        print(line)


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
    energy = checkerboard.checkerboard_energy(test)
    print(f"Test images: checkerboard energy {energy:.3g}")
    with callbacks.ema_weights(model):
        tf.random.set_seed(FLAGS.seed)
        params, _, _, _ = model._top_down(FLAGS.num_images, temperature=1.0)
        prior = model.likelihood(params)
        report("Prior samples (t = 1)", readings(prior, FLAGS.seed), test)
        logits = np.asarray(params[..., : model.num_components])
        means = np.asarray(params[..., model.num_components])  # component 0, R
        smooth = [x - x.mean(axis=(1, 2), keepdims=True) for x in (logits, means)]
        print(
            "  raw outputs, amplitude / spread over pixels: logits "
            f"{_relative_amplitude(smooth[0]):.3f}, first R mean "
            f"{_relative_amplitude(smooth[1][..., None]):.3f}"
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


def _relative_amplitude(x):
    """RMS checkerboard amplitude over RMS pixel deviation (1 = all pattern)."""
    amplitude = np.sqrt(np.mean(checkerboard.checkerboard_amplitude(x) ** 2))
    return amplitude / max(np.sqrt(np.mean(x**2)), 1e-12)


if __name__ == "__main__":
    app.run(main)
