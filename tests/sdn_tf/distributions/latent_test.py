"""Tests of the latent Gaussians and KL terms."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from sdn_tf.distributions import latent

tfd = tfp.distributions


def test_gaussian_from_params_matches_numpy_log_density():
    rng = np.random.default_rng(0)
    params = rng.normal(size=(3, 8)).astype("float32")
    loc, log_scale = params[:, :4], params[:, 4:]
    z = rng.normal(size=(3, 4)).astype("float32")
    scale = np.exp(log_scale)
    expected = (
        -0.5 * np.log(2 * np.pi) - log_scale - 0.5 * ((z - loc) / scale) ** 2
    ).sum(-1)
    got = latent.gaussian_from_params(tf.cast(params, tf.bfloat16)).log_prob(z)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(
        latent.gaussian_from_params(params).log_prob(z).numpy(), expected, rtol=1e-5
    )


def test_temperature_scales_the_standard_deviation():
    prior = latent.standard_normal((20000, 3), temperature=0.5)
    samples = prior.sample(seed=(1, 2)).numpy()
    np.testing.assert_allclose(samples.std(axis=0), 0.5, rtol=0.03)
    cold = latent.diagonal_gaussian(
        np.ones((2, 3), "float32"), np.zeros((2, 3), "float32"), temperature=0.0
    )
    np.testing.assert_array_equal(cold.sample(seed=(3, 4)).numpy(), np.ones((2, 3)))


def test_analytic_kl_matches_the_closed_form():
    rng = np.random.default_rng(1)
    q_loc, q_ls, p_loc, p_ls = rng.normal(size=(4, 5, 6)).astype("float32")
    q = latent.diagonal_gaussian(q_loc, q_ls)
    p = latent.diagonal_gaussian(p_loc, p_ls)
    expected = (
        p_ls
        - q_ls
        + (np.exp(2 * q_ls) + (q_loc - p_loc) ** 2) / (2 * np.exp(2 * p_ls))
        - 0.5
    ).sum(-1)
    np.testing.assert_allclose(latent.kl_divergence(q, p).numpy(), expected, rtol=1e-5)


def test_monte_carlo_kl_is_unbiased_for_the_analytic_one():
    q = latent.diagonal_gaussian(
        np.full((1, 2), 0.5, "float32"), np.full((1, 2), -0.5, "float32")
    )
    p = latent.standard_normal((1, 2))
    z = q.sample(50000, seed=(5, 6))
    estimate = latent.kl_divergence(q, p, sample=z, posterior_log_prob=q.log_prob(z))
    np.testing.assert_allclose(
        estimate.numpy().mean(), latent.kl_divergence(q, p).numpy()[0], rtol=0.03
    )


def test_flow_kl_without_a_sample_raises():
    flow = tfd.TransformedDistribution(
        latent.standard_normal((2, 3)), tfp.bijectors.Exp()
    )
    with pytest.raises(ValueError, match="argument `sample`"):
        latent.kl_divergence(flow, latent.standard_normal((2, 3)))
    z = flow.sample(seed=(1, 1))
    kl = latent.kl_divergence(flow, latent.standard_normal((2, 3)), sample=z)
    np.testing.assert_allclose(
        kl.numpy(),
        (flow.log_prob(z) - latent.standard_normal((2, 3)).log_prob(z)).numpy(),
    )


def test_odd_params_raise():
    with pytest.raises(ValueError, match="even last dimension"):
        latent.split_gaussian_params(np.zeros((2, 5), "float32"))


def test_a_log_variance_gives_the_square_root_of_its_exponential():
    rng = np.random.default_rng(0)
    params = rng.normal(size=(3, 4)).astype(np.float32)
    loc, log_variance = params[:, :2], params[:, 2:]
    gaussian = latent.gaussian_from_params(params, parameterization="log_variance")
    np.testing.assert_allclose(np.asarray(gaussian.mean()), loc)
    np.testing.assert_allclose(
        np.asarray(gaussian.stddev()), np.sqrt(np.exp(log_variance)), rtol=1e-6
    )
    default = latent.gaussian_from_params(params)
    np.testing.assert_allclose(
        np.asarray(default.stddev()), np.exp(log_variance), rtol=1e-6
    )
    with pytest.raises(ValueError, match="`parameterization`, expected one of"):
        latent.split_gaussian_params(params, "variance")
