"""The mutual information gap, MIG (Chen et al. 2018).

As disentanglement_lib: each latent is discretized into `num_bins` equal
histogram bins over `num_train` samples; for every factor, the gap between
the two largest mutual informations I(latent; factor) is divided by the
factor's entropy; MIG is the mean over factors.
"""

import numpy as np
from sklearn import metrics as sk_metrics

from sdn_tf import arguments
from sdn_tf.metrics import utils


def histogram_discretize(codes, num_bins):
    """[N, D] continuous codes -> [N, D] bin indices per latent."""
    out = np.zeros(codes.shape, np.int64)
    for i in range(codes.shape[1]):
        edges = np.histogram(codes[:, i], num_bins)[1][:-1]
        out[:, i] = np.digitize(codes[:, i], edges)
    return out


def discrete_mutual_info(codes, factors):
    """[D, F] mutual informations (nats) between discrete codes and factors."""
    return np.array(
        [
            [
                sk_metrics.mutual_info_score(factors[:, j], codes[:, i])
                for j in range(factors.shape[1])
            ]
            for i in range(codes.shape[1])
        ]
    )


def discrete_entropy(factors):
    """[F] entropies (nats) of discrete factors."""
    return np.array(
        [
            sk_metrics.mutual_info_score(factors[:, j], factors[:, j])
            for j in range(factors.shape[1])
        ]
    )


def mig(
    ground_truth,
    representation_fn,
    seed=0,
    num_train=10_000,
    batch_size=16,
    num_bins=20,
):
    """Returns {"mig", "per_factor"}; deterministic given seed.

    Args:
      ground_truth: a GroundTruthDataset.
      representation_fn: observations -> codes [N, D].
      seed: seed of the sampling.
      num_train: samples (10,000).
      batch_size: observations per representation_fn call.
      num_bins: histogram bins per latent (20).
    """
    arguments.positive_integer(num_train, "num_train")
    arguments.positive_integer(num_bins, "num_bins")
    rng = np.random.default_rng(seed)
    codes, factors = utils.sample_factor_codes(
        ground_truth, representation_fn, num_train, rng, batch_size
    )
    information = discrete_mutual_info(histogram_discretize(codes, num_bins), factors)
    entropy = discrete_entropy(factors)
    if information.shape[0] < 2:
        raise ValueError(
            "Received an invalid value for argument `representation_fn`: MIG "
            f"needs at least 2 latents, got {information.shape[0]}."
        )
    top = np.sort(information, axis=0)[::-1]
    per_factor = (top[0] - top[1]) / np.maximum(entropy, 1e-12)
    return {"mig": float(per_factor.mean()), "per_factor": per_factor.tolist()}
