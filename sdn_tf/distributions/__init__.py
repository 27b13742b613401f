"""Distributions of sdn_tf, built on TensorFlow Probability.

Observation models over images on the [-1, 1] grid (`quantization`):
DiscretizedLogisticMixture (PixelCNN++), DiscretizedLogistic, and Bernoulli
and Gaussian through `observation.get(name, ...)`. Latent Gaussians and KL
terms in `latent`.
"""

from sdn_tf.distributions import latent, observation, quantization
from sdn_tf.distributions.discretized_logistic import (
    DiscretizedLogistic,
    DiscretizedLogisticMixture,
    discretized_logistic_log_prob,
)

__all__ = [
    "DiscretizedLogistic",
    "DiscretizedLogisticMixture",
    "discretized_logistic_log_prob",
    "latent",
    "observation",
    "quantization",
]
