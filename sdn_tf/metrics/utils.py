"""What the metrics share: representations of ground-truth samples, and
the check of image arguments.

A metric sees a model only through `representation_fn`, a function from a
batch of observations (float32 images on the [-1, 1] grid, as
`GroundTruthDataset.observations` returns them) to codes [N, D], and a
ground-truth dataset only through `factor_sizes`, `sample_factors(n, rng)`
and `observations(factors)`, as in disentanglement_lib.
"""

import numpy as np

from sdn_tf import arguments


def checked_images(images, name, min_count=1):
    """`images` as float64 [N, H, W, C] with N >= min_count and H, W > 1, or
    the ValueError for argument `name`."""
    images = np.asarray(images, np.float64)
    count = f"N >= {min_count} and " if min_count > 1 else ""
    arguments.check(
        images.ndim == 4
        and images.shape[0] >= min_count
        and min(images.shape[1:3]) > 1,
        name,
        f"images [N, H, W, C] with {count}H, W > 1",
        images.shape,
    )
    return images


def represent(ground_truth, representation_fn, factors, batch_size=64):
    """Codes [N, D] of the observations of `factors` [N, F], in batches."""
    codes = []
    for start in range(0, len(factors), batch_size):
        observations = ground_truth.observations(factors[start : start + batch_size])
        batch = np.asarray(representation_fn(observations), dtype=np.float64)
        if batch.ndim != 2 or len(batch) != len(observations):
            raise ValueError(
                "Received an invalid value for argument `representation_fn`: it "
                f"must map {len(observations)} observations to an array "
                f"[{len(observations)}, D], got shape {batch.shape}."
            )
        bad = ~np.isfinite(batch).all(axis=1)
        if bad.any():
            raise ValueError(
                "Received an invalid value for argument `representation_fn`: it "
                f"gave non-finite codes (NaN or inf) for {int(bad.sum())} of "
                f"{len(batch)} observations; a diverged model has no "
                "representation to score."
            )
        codes.append(batch)
    return np.concatenate(codes)


def sample_factor_codes(
    ground_truth, representation_fn, num_points, rng, batch_size=16
):
    """num_points random (codes [N, D], factors [N, F]) pairs."""
    factors = ground_truth.sample_factors(num_points, rng)
    return represent(ground_truth, representation_fn, factors, batch_size), factors
