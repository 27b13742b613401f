"""The FactorVAE disentanglement score (Kim & Mnih 2018).

As disentanglement_lib: latents are normalized by their standard deviation
over `num_variance_estimate` random samples, and latents whose standard
deviation is below `prune_threshold` are dropped. A training point fixes
one random factor k over a batch; the latent with the smallest normalized
variance votes for k. The majority-vote classifier maps every latent to
the factor it voted for most; the score is its accuracy on new votes.
"""

import numpy as np

from sdn_tf import arguments
from sdn_tf.metrics import utils


def _votes(
    ground_truth,
    representation_fn,
    batch_size,
    num_points,
    rng,
    global_variances,
    active,
):
    votes = np.zeros((len(global_variances), len(ground_truth.factor_sizes)), np.int64)
    active_index = np.flatnonzero(active)
    for _ in range(num_points):
        k = rng.integers(len(ground_truth.factor_sizes))
        factors = ground_truth.sample_factors(batch_size, rng)
        factors[:, k] = factors[0, k]
        codes = utils.represent(ground_truth, representation_fn, factors, batch_size)
        local = np.var(codes, axis=0, ddof=1)
        latent = active_index[np.argmin(local[active] / global_variances[active])]
        votes[latent, k] += 1
    return votes


def factor_vae_score(
    ground_truth,
    representation_fn,
    seed=0,
    batch_size=64,
    num_train=10_000,
    num_eval=5_000,
    num_variance_estimate=10_000,
    prune_threshold=0.05,
):
    """Returns {"train_accuracy", "eval_accuracy", "num_active_dims"}.

    Args:
      ground_truth: a GroundTruthDataset.
      representation_fn: observations -> codes [N, D].
      seed: seed of every random choice.
      batch_size: samples per vote (64).
      num_train: votes to fit the classifier.
      num_eval: votes to score the classifier.
      num_variance_estimate: samples for the global variances (10,000).
      prune_threshold: latents with a smaller standard deviation are
        ignored (0.05).
    """
    for value, name in [
        (batch_size, "batch_size"),
        (num_train, "num_train"),
        (num_eval, "num_eval"),
        (num_variance_estimate, "num_variance_estimate"),
    ]:
        arguments.positive_integer(value, name)
    if batch_size < 2:
        raise ValueError(
            "Received an invalid value for argument `batch_size`, expected at "
            f"least 2 samples to estimate a variance, got {batch_size}."
        )
    rng = np.random.default_rng(seed)
    codes, _ = utils.sample_factor_codes(
        ground_truth, representation_fn, num_variance_estimate, rng, batch_size=64
    )
    global_variances = np.var(codes, axis=0, ddof=1)
    active = np.sqrt(global_variances) >= prune_threshold
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    train = _votes(
        ground_truth,
        representation_fn,
        batch_size,
        num_train,
        rng,
        global_variances,
        active,
    )
    evaluation = _votes(
        ground_truth,
        representation_fn,
        batch_size,
        num_eval,
        rng,
        global_variances,
        active,
    )
    classifier = np.argmax(train, axis=1)  # latent -> factor it votes for most

    def accuracy(votes):
        # A vote for factor k cast by latent l is right when classifier[l] == k.
        correct = votes[np.arange(len(votes)), classifier].sum()
        return float(correct / votes.sum()) if votes.sum() else 0.0

    return {
        "train_accuracy": accuracy(train),
        "eval_accuracy": accuracy(evaluation),
        "num_active_dims": int(active.sum()),
    }
