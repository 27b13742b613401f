"""Latent distributions of the VAEs: diagonal Gaussians from tfd, and KL.

Posterior and prior of every stochastic layer are diagonal Gaussians whose
parameters a network outputs as [loc, log_scale] halves of one tensor.
Sampling temperature t scales the standard deviation (t = 0: the mean). KL
terms are analytic (tfd.kl_divergence) between Gaussians and a single-sample
Monte Carlo estimate log q(z) - log p(z) when a flow shapes the posterior.
All math runs in float32.
"""

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions


# How a network's second half gives a Gaussian's scale: log std (ours) or
# log variance (the authors' code, lib/probability.py IsoGaussian).
PARAMETERIZATIONS = ("log_scale", "log_variance")


def split_gaussian_params(params, parameterization="log_scale"):
    """[..., 2D] -> (loc [..., D], log_scale [..., D]) in float32.

    The second half is the log std, or the log variance (halved here) with
    parameterization="log_variance".
    """
    params = tf.cast(params, tf.float32)
    if params.shape[-1] is not None and params.shape[-1] % 2:
        raise ValueError(
            "Received an invalid value for argument `params`, expected an even "
            f"last dimension [loc, log_scale], got shape {params.shape}."
        )
    loc, log_scale = tf.split(params, 2, axis=-1)
    if parameterization == "log_variance":
        return loc, 0.5 * log_scale
    if parameterization != "log_scale":
        raise ValueError(
            "Received an invalid value for argument `parameterization`, expected "
            f"one of {PARAMETERIZATIONS}, got {parameterization!r}."
        )
    return loc, log_scale


def diagonal_gaussian(loc, log_scale, event_ndims=1, temperature=1.0):
    """N(loc, (temperature * exp(log_scale))^2) with `event_ndims` event dims.

    A temperature of 0 gives a distribution whose samples are the mean (its
    scale is exactly 0, so only sample() and mean() are meaningful then).
    """
    loc = tf.cast(loc, tf.float32)
    scale = tf.exp(tf.cast(log_scale, tf.float32)) * temperature
    return tfd.Independent(
        tfd.Normal(loc, scale), reinterpreted_batch_ndims=event_ndims
    )


def gaussian_from_params(
    params, event_ndims=1, temperature=1.0, parameterization="log_scale"
):
    """diagonal_gaussian from the [loc, log_scale] (or [loc, log_variance])
    halves of `params`."""
    loc, log_scale = split_gaussian_params(params, parameterization)
    return diagonal_gaussian(loc, log_scale, event_ndims, temperature)


def standard_normal(shape, event_ndims=1, temperature=1.0):
    """The N(0, temperature^2 I) prior over tensors of `shape`."""
    zeros = tf.zeros(shape, tf.float32)
    return diagonal_gaussian(zeros, zeros, event_ndims, temperature)


def kl_divergence(posterior, prior, sample=None, posterior_log_prob=None):
    """KL(posterior || prior): analytic where tfd knows it, else Monte Carlo.

    Args:
      posterior: a tfd distribution, q(z | x).
      prior: a tfd distribution with the posterior's event shape, p(z).
      sample: a sample z of the posterior, needed for the Monte Carlo case.
      posterior_log_prob: log q(z) of `sample` when the posterior is a flow
        that `posterior` itself does not describe (the IAF of the SDN-VAE
        returns it with its sample).

    Returns:
      KL per batch element, float32.
    """
    if posterior_log_prob is None:
        try:
            return tfd.kl_divergence(posterior, prior)
        except NotImplementedError:
            posterior_log_prob = (
                posterior.log_prob(sample) if sample is not None else None
            )
    if sample is None or posterior_log_prob is None:
        raise ValueError(
            "Received an invalid value for argument `sample`: the KL between "
            f"{type(posterior).__name__} and {type(prior).__name__} has no "
            "analytic form, so a posterior sample (and its log-probability for "
            "a flow) is needed."
        )
    return monte_carlo_kl(posterior_log_prob, prior, sample)


def monte_carlo_kl(posterior_log_prob, prior, sample):
    """Single-sample estimate log q(z) - log p(z) of KL(q || p), float32."""
    return tf.cast(posterior_log_prob, tf.float32) - prior.log_prob(
        tf.cast(sample, tf.float32)
    )
