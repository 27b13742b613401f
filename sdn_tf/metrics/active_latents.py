"""Active latents: how many latent dimensions a VAE's encoder uses.

The "active units" statistic of Burda et al. (2016, section 5.1): latent u
is active when its posterior mean varies across the data,

    A_u = Var_x( E_{q(z|x)}[z_u] ) > threshold    (threshold 0.01),

since a collapsed latent's posterior is the prior, N(0, 1), whatever x is.
A run whose posterior collapsed has no active latent.
"""

import numpy as np

from sdn_tf import arguments


def active_latents(means, threshold=0.01):
    """Returns {"num_active": int, "variances": [D] list of Var_x(mean_u)}.

    Args:
      means: posterior means [N, D] of N >= 2 observations (a model's
        `encode`).
      threshold: a latent whose mean's variance exceeds it is active.
        Defaults to 0.01 (Burda et al. 2016).

    Raises:
      ValueError: for fewer than two rows or a bad threshold.

    Example:

    >>> active_latents(np.array([[0.0, 1.0], [1.0, 1.0]]))["num_active"]
    1
    """
    means = np.asarray(means, np.float64)
    arguments.check(
        means.ndim == 2 and means.shape[0] >= 2,
        "means",
        "an array [N, D] of N >= 2 posterior means",
        means.shape,
    )
    threshold = arguments.non_negative_number(threshold, "threshold")
    variances = means.var(axis=0)  # [D]
    return {
        "num_active": int((variances > threshold).sum()),
        "variances": [float(v) for v in variances],
    }
