"""DCI disentanglement, completeness and informativeness (Eastwood &
Williams 2018), as disentanglement_lib computes them.

A gradient-boosted tree classifier predicts each factor from the codes;
its feature importances form the importance matrix R [D, F]. Disentanglement
weighs, for each latent, 1 minus the entropy (base F) of its row of R by the
latent's share of the total importance; completeness does the same per
factor (base D); informativeness is the classifiers' accuracy.
"""

import numpy as np
from scipy import stats
from sklearn import ensemble

from sdn_tf import arguments
from sdn_tf.metrics import utils


def importance_matrix(train_codes, train_factors, test_codes, test_factors, seed=0):
    """R [D, F] of gradient-boosted trees, and their train/test accuracies."""
    num_codes, num_factors = train_codes.shape[1], train_factors.shape[1]
    matrix = np.zeros((num_codes, num_factors))
    train_accuracy, test_accuracy = [], []
    for j in range(num_factors):
        model = ensemble.GradientBoostingClassifier(random_state=seed)
        model.fit(train_codes, train_factors[:, j])
        matrix[:, j] = np.abs(model.feature_importances_)
        train_accuracy.append(model.score(train_codes, train_factors[:, j]))
        test_accuracy.append(model.score(test_codes, test_factors[:, j]))
    return matrix, float(np.mean(train_accuracy)), float(np.mean(test_accuracy))


def disentanglement(matrix):
    """Importance-weighted mean over latents of 1 - H_F(row)."""
    per_code = 1.0 - stats.entropy(matrix.T + 1e-11, base=matrix.shape[1])
    if matrix.sum() == 0.0:
        matrix = np.ones_like(matrix)
    weight = matrix.sum(axis=1) / matrix.sum()
    return float(np.sum(per_code * weight))


def completeness(matrix):
    """Importance-weighted mean over factors of 1 - H_D(column)."""
    per_factor = 1.0 - stats.entropy(matrix + 1e-11, base=matrix.shape[0])
    if matrix.sum() == 0.0:
        matrix = np.ones_like(matrix)
    weight = matrix.sum(axis=0) / matrix.sum()
    return float(np.sum(per_factor * weight))


def _check_every_factor_varies(train_factors):
    """Raises ValueError naming num_train when its samples hold a single value
    of some factor (scikit-learn would say only "y contains 1 class")."""
    for j in range(train_factors.shape[1]):
        values = np.unique(train_factors[:, j])
        if len(values) < 2:
            raise ValueError(
                "Received an invalid value for argument `num_train`: its "
                f"{len(train_factors)} samples hold only the value {values[0]} of "
                f"factor {j}, and the trees need two or more; raise num_train."
            )


def dci(
    ground_truth,
    representation_fn,
    seed=0,
    num_train=10_000,
    num_test=5_000,
    batch_size=16,
):
    """Returns {"disentanglement", "completeness", "informativeness_train",
    "informativeness_test"}; deterministic given seed.

    Args:
      ground_truth: a GroundTruthDataset.
      representation_fn: observations -> codes [N, D].
      seed: seed of the sampling and of the trees.
      num_train: samples to fit the trees.
      num_test: samples to test the trees.
      batch_size: observations per representation_fn call.
    """
    # A classifier needs two values of a factor to tell apart.
    arguments.check(
        arguments.is_integer(num_train) and num_train >= 2,
        "num_train",
        "an integer >= 2 (the trees learn each factor from two values or more)",
        num_train,
    )
    arguments.positive_integer(num_test, "num_test")
    rng = np.random.default_rng(seed)
    train_codes, train_factors = utils.sample_factor_codes(
        ground_truth, representation_fn, num_train, rng, batch_size
    )
    _check_every_factor_varies(train_factors)
    test_codes, test_factors = utils.sample_factor_codes(
        ground_truth, representation_fn, num_test, rng, batch_size
    )
    matrix, train_accuracy, test_accuracy = importance_matrix(
        train_codes, train_factors, test_codes, test_factors, seed
    )
    return {
        "disentanglement": disentanglement(matrix),
        "completeness": completeness(matrix),
        "informativeness_train": train_accuracy,
        "informativeness_test": test_accuracy,
    }
