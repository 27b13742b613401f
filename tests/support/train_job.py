"""A small training run in its own process, for the fault and multi-worker
tests: python tests/support/train_job.py OUTPUT_DIR STEPS STRATEGY [WEIGHTS].

Trains the tiny model of train_test_util with the shared loop (checkpoint
every step) and, when WEIGHTS is given, saves the final trainable weights
there (.npz) and prints the start and end step. Ends as the commands do
when training stops (exits.one_line_errors: one line on stderr, exit code
1, or 130 after Ctrl-C).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import train_test_util as util  # noqa: E402

from sdn_tf.train import exits, loop  # noqa: E402


def main(output_dir, steps, strategy, weights=None):
    settings = util.settings(
        output_dir, int(steps), strategy=strategy, checkpoint_every=1
    )
    result = loop.train(
        settings,
        loop.prepare(settings),
        util.build_fn(),
        util.dataset_fn(),
        util.record("train_job"),
    )
    if weights:
        np.savez(weights, *[v.numpy() for v in result.model.trainable_variables])
    print(f"start_step={result.start_step} step={result.step}", flush=True)


if __name__ == "__main__":
    exits.one_line_errors(lambda argv: main(*argv[1:]))(sys.argv)
