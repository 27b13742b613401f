"""The beta-VAE disentanglement score (Higgins et al. 2017).

As disentanglement_lib: a training point fixes one random factor k for a
pair of batches of `batch_size` samples whose other factors are random;
its feature is the mean absolute difference of the two batches' codes and
its label is k. A logistic regression predicts k from the feature; the
score is its accuracy on held-out points.
"""

import warnings

import numpy as np
from sklearn import exceptions, linear_model

from sdn_tf import arguments
from sdn_tf.metrics import utils


def _points(ground_truth, representation_fn, batch_size, num_points, rng):
    features, labels = [], []
    for _ in range(num_points):
        k = rng.integers(len(ground_truth.factor_sizes))
        first = ground_truth.sample_factors(batch_size, rng)
        second = ground_truth.sample_factors(batch_size, rng)
        second[:, k] = first[:, k]
        codes = utils.represent(
            ground_truth,
            representation_fn,
            np.concatenate([first, second]),
            2 * batch_size,
        )
        features.append(np.abs(codes[:batch_size] - codes[batch_size:]).mean(axis=0))
        labels.append(k)
    return np.stack(features), np.array(labels)


def beta_vae_score(
    ground_truth,
    representation_fn,
    seed=0,
    batch_size=64,
    num_train=10_000,
    num_eval=5_000,
):
    """Returns {"train_accuracy", "eval_accuracy"}; deterministic given seed.

    Args:
      ground_truth: a GroundTruthDataset (sample_factors, observations).
      representation_fn: observations [N, H, W, C] -> codes [N, D].
      seed: seed of every random choice.
      batch_size: samples averaged into one training point (64).
      num_train: training points (10,000).
      num_eval: evaluation points (5,000).
    """
    for value, name in [
        (batch_size, "batch_size"),
        (num_train, "num_train"),
        (num_eval, "num_eval"),
    ]:
        arguments.positive_integer(value, name)
    rng = np.random.default_rng(seed)
    train_x, train_y = _points(
        ground_truth, representation_fn, batch_size, num_train, rng
    )
    eval_x, eval_y = _points(ground_truth, representation_fn, batch_size, num_eval, rng)
    model = linear_model.LogisticRegression(random_state=seed, max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exceptions.ConvergenceWarning)
        model.fit(train_x, train_y)
    return {
        "train_accuracy": float(model.score(train_x, train_y)),
        "eval_accuracy": float(model.score(eval_x, eval_y)),
    }
