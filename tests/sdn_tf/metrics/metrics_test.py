"""Tests of the disentanglement metrics: known answers on known representations."""

import metrics_test_util as util
import numpy as np
import pytest

from sdn_tf import metrics
from sdn_tf.data import Circles

# Each metric with the number that says "disentangled" in its result.
SCORES = {
    "beta_vae_score": "eval_accuracy",
    "factor_vae_score": "eval_accuracy",
    "mig": "mig",
    "dci": "disentanglement",
}


def _score(name, representation, data=None, seed=0):
    data = data or util.IdentityObservations()
    result = getattr(metrics, name)(data, representation, seed=seed, **util.FAST[name])
    return result[SCORES[name]], result


@pytest.mark.parametrize("name", list(SCORES))
@pytest.mark.parametrize(
    "representation", [util.perfect, util.monotone], ids=["factors", "monotone"]
)
def test_a_perfect_representation_scores_near_one(name, representation):
    score, _ = _score(name, representation)
    assert score > 0.9, score


@pytest.mark.parametrize(
    "name, chance",
    [("beta_vae_score", 0.25), ("factor_vae_score", 0.25), ("mig", 0.0), ("dci", 0.0)],
)
def test_a_random_representation_scores_near_chance(name, chance):
    score, _ = _score(name, util.make_random(1))
    assert abs(score - chance) < 0.12, score


@pytest.mark.parametrize("name", list(SCORES))
def test_mixing_two_factors_scores_clearly_lower(name):
    data = util.IdentityObservations(factor_sizes=(8, 8, 6, 5))
    perfect, _ = _score(name, util.perfect, data)
    mixed, _ = _score(name, util.mixed, data)
    assert mixed < perfect - 0.15, (mixed, perfect)


@pytest.mark.parametrize("name", list(SCORES))
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_every_metric_refuses_non_finite_codes_alike(name, bad):
    def diverged(observations):
        codes = util.perfect(observations).astype(np.float64)
        codes[0, 0] = bad
        return codes

    with pytest.raises(
        ValueError, match=r"`representation_fn`: it gave non-finite codes"
    ):
        _score(name, diverged)


@pytest.mark.parametrize("name", list(SCORES))
def test_deterministic_for_a_fixed_seed(name):
    noisy = lambda obs: obs + 0.3 * np.sin(7.0 * obs.sum(1, keepdims=True))  # noqa: E731
    _, first = _score(name, noisy, seed=3)
    _, second = _score(name, noisy, seed=3)
    assert first == second


def test_mig_of_positions_read_off_real_circle_images():
    data = Circles("xy", resolution=16)

    def centre_of_mass(images):
        weight = images.sum(-1) + 1.0  # images on [-1, 1]: black is 0 weight
        rows, cols = np.indices(weight.shape[1:])
        total = weight.sum((1, 2))
        return np.stack(
            [(weight * cols).sum((1, 2)) / total, (weight * rows).sum((1, 2)) / total],
            1,
        )

    result = metrics.mig(data, centre_of_mass, seed=0, num_train=1000)
    assert result["mig"] > 0.9


def test_defaults_are_the_papers_settings():
    import inspect

    def defaults(fn):
        return {
            k: v.default
            for k, v in inspect.signature(fn).parameters.items()
            if v.default is not inspect.Parameter.empty
        }

    assert defaults(metrics.beta_vae_score) == dict(
        seed=0, batch_size=64, num_train=10_000, num_eval=5_000
    )
    assert defaults(metrics.factor_vae_score)["num_variance_estimate"] == 10_000
    assert defaults(metrics.factor_vae_score)["prune_threshold"] == 0.05
    assert defaults(metrics.mig)["num_bins"] == 20


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: metrics.mig(util.IdentityObservations(), util.perfect, num_train=0),
            "argument `num_train`",
        ),
        (
            lambda: metrics.factor_vae_score(
                util.IdentityObservations(), util.perfect, batch_size=1
            ),
            "argument `batch_size`",
        ),
        (
            lambda: metrics.mig(
                util.IdentityObservations(), lambda o: o[:, 0], num_train=10
            ),
            "argument `representation_fn`",
        ),
    ],
)
def test_bad_arguments_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()
