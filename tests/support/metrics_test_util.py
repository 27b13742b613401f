"""Ground truths and representations with known answers for metric tests."""

import numpy as np

from sdn_tf.data import GroundTruthDataset

# Small enough settings to keep the tests fast.
FAST = {
    "beta_vae_score": dict(batch_size=16, num_train=300, num_eval=200),
    "factor_vae_score": dict(
        batch_size=16, num_train=300, num_eval=200, num_variance_estimate=1000
    ),
    "mig": dict(num_train=2000),
    "dci": dict(num_train=600, num_test=300),
}


class IdentityObservations(GroundTruthDataset):
    """Observations are the factor indices themselves (as disentanglement_lib's
    IdentityObservationsData)."""

    def __init__(self, factor_sizes=(10, 8, 6, 5)):
        self.factor_names = tuple(f"factor_{i}" for i in range(len(factor_sizes)))
        self.factor_values = tuple(np.arange(n, dtype=np.float64) for n in factor_sizes)
        self.image_shape = (len(factor_sizes),)

    def observations(self, factors, num_bits=8):
        return np.asarray(factors, np.float32)


def perfect(observations):
    return observations


def monotone(observations):
    """A different strictly increasing map per factor, scaled differently."""
    f = observations
    return np.stack(
        [
            np.exp(f[:, 0] / 4.0),
            f[:, 1] ** 3,
            10.0 * f[:, 2] - 3,
            np.sqrt(f[:, 3] + 1.0),
        ],
        axis=1,
    )


def make_random(seed=0):
    rng = np.random.default_rng(seed)
    return lambda observations: rng.normal(size=(len(observations), 4))


def mixed(observations):
    """Factors 0 and 1 (equal sizes) rotated by 45 degrees into two latents."""
    f = observations
    return np.stack([f[:, 0] + f[:, 1], f[:, 0] - f[:, 1], f[:, 2], f[:, 3]], axis=1)
