"""Disentanglement metrics (NumPy and scikit-learn).

Each takes a ground-truth dataset (`sdn_tf.data.Circles`, `Sprites`,
`Shapes`, ...), a representation function from observations to codes and
a seed; the defaults are the settings of disentanglement_lib and the papers.
"""

from sdn_tf.metrics.beta_vae_score import beta_vae_score
from sdn_tf.metrics.dci import dci
from sdn_tf.metrics.factor_vae_score import factor_vae_score
from sdn_tf.metrics.mig import mig

__all__ = ["beta_vae_score", "dci", "factor_vae_score", "mig"]
