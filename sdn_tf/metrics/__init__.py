"""Disentanglement metrics (NumPy and scikit-learn).

`active_latents` counts the latents a model uses (from its codes alone).
Each of the others takes a ground-truth dataset (`sdn_tf.data.Circles`, `Sprites`,
`Shapes`, ...), a representation function from observations to codes and
a seed; the defaults are the settings of disentanglement_lib and the papers.
"""

from sdn_tf.metrics.active_latents import active_latents
from sdn_tf.metrics.beta_vae_score import beta_vae_score
from sdn_tf.metrics.dci import dci
from sdn_tf.metrics.factor_vae_score import factor_vae_score
from sdn_tf.metrics.mig import mig

# Every metric by name: (function, the entry of its result that is its
# score, the arguments that set its sample sizes).
METRICS = {
    "beta_vae": (beta_vae_score, "eval_accuracy", ("num_train", "num_eval")),
    "factor_vae": (
        factor_vae_score,
        "eval_accuracy",
        ("num_train", "num_eval", "num_variance_estimate"),
    ),
    "mig": (mig, "mig", ("num_train",)),
    "dci": (dci, "disentanglement", ("num_train", "num_test")),
}

__all__ = [
    "METRICS",
    "active_latents",
    "beta_vae_score",
    "dci",
    "factor_vae_score",
    "mig",
]
