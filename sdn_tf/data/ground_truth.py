"""Ground-truth factor datasets: discrete factors in, images out.

As disentanglement_lib's ground-truth datasets, every factor dataset knows
its factors and renders images on demand, so metrics never need the full
factorial grid in memory:

    data = sdn_tf.data.Circles("xy")
    factors = data.sample_factors(1000, rng)   # [1000, 2] int, the labels
    images = data.render(factors)              # [1000, 64, 64, 3] uint8
    x = data.observations(factors)             # float32 on the [-1, 1] grid

The same classes generate the TFDS datasets (`sdn_circles`, `sdn_sprites`,
`sdn_shapes`), whose examples carry `label_<factor>` (the factor's index)
and `value_<factor>` (its value) features, as TFDS's dsprites and shapes3d.
"""

import numpy as np
import tensorflow as tf

from sdn_tf.distributions import quantization


class GroundTruthDataset:
    """Base class. Subclasses set `factor_names`, `factor_values` (one array
    of values per factor), `image_shape`, and implement `_render`."""

    factor_names = ()
    factor_values = ()
    image_shape = (64, 64, 3)
    # Whether part of factor space is held out (then `sample_heldout` exists).
    has_heldout = False
    # Factor spaces up to this many combinations are rendered once and then
    # indexed: the metrics render ~10^5 images per model, and a 2-factor
    # circles grid has 1,024 (50 MB of uint8 at 64x64x3). The grid is
    # rendered once as many images as it holds were asked for, so a few
    # images (a small dataset build) never cost a whole grid, and many cost
    # at most twice what rendering the grid up front would.
    CACHE_LIMIT = 4096

    @property
    def num_factors(self):
        return len(self.factor_names)

    @property
    def factor_sizes(self):
        """Number of values of each factor."""
        return tuple(len(v) for v in self.factor_values)

    def allowed(self, factors):
        """Which factor combinations [N, F] the dataset contains (all here)."""
        return np.ones(len(factors), bool)

    def sample_factors(self, num, rng):
        """`num` factor index vectors [num, F] drawn uniformly from the data."""
        rng = np.random.default_rng(rng)
        out = np.empty((0, self.num_factors), np.int64)
        while len(out) < num:
            draw = np.stack(
                [rng.integers(0, n, size=num) for n in self.factor_sizes], 1
            )
            out = np.concatenate([out, draw[self.allowed(draw)]])
        return out[:num]

    def values_of(self, factors):
        """Factor index vectors [N, F] -> factor values [N, F] (float32)."""
        factors = self._check_factors(factors)
        return np.stack(
            [
                np.asarray(v, np.float32)[factors[:, i]]
                for i, v in enumerate(self.factor_values)
            ],
            axis=1,
        )

    def render(self, factors):
        """Factor index vectors [N, F] -> uint8 images [N, *image_shape]."""
        factors = self._check_factors(factors)
        if len(factors) == 0:
            return np.zeros((0, *self.image_shape), np.uint8)
        grid_size = np.prod(self.factor_sizes)
        if grid_size > self.CACHE_LIMIT:
            return self._render(factors)
        if getattr(self, "_grid_images", None) is None:
            asked_for = getattr(self, "_images_asked_for", 0) + len(factors)
            self._images_asked_for = asked_for
            if asked_for < grid_size:
                return self._render(factors)
        return self._every_image()[np.ravel_multi_index(factors.T, self.factor_sizes)]

    def _every_image(self):
        """Images of the whole factor grid [prod(factor_sizes), ...], rendered
        on first use (zeros where a combination is not allowed)."""
        if getattr(self, "_grid_images", None) is None:
            factors = self.all_factors()
            images = np.zeros((np.prod(self.factor_sizes), *self.image_shape), np.uint8)
            images[np.ravel_multi_index(factors.T, self.factor_sizes)] = self._render(
                factors
            )
            self._grid_images = images
        return self._grid_images

    def observations(self, factors, num_bits=8):
        """Rendered images on the [-1, 1] grid (float32), as models see them."""
        return quantization.from_uint8(self.render(factors), num_bits).numpy()

    def all_factors(self):
        """Every allowed factor combination [N, F], in lexicographic order."""
        grids = np.meshgrid(*[np.arange(n) for n in self.factor_sizes], indexing="ij")
        factors = np.stack([g.ravel() for g in grids], axis=1)
        return factors[self.allowed(factors)]

    def _check_factors(self, factors):
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != self.num_factors:
            names = ", ".join(self.factor_names)
            raise ValueError(
                "Received an invalid value for argument `factors`, expected "
                f"an integer array [N, {self.num_factors}] ({names}), got shape "
                f"{factors.shape}."
            )
        if not np.issubdtype(factors.dtype, np.integer):
            raise ValueError(
                "Received an invalid value for argument `factors`, expected "
                f"integer factor indices, got dtype {factors.dtype}."
            )
        sizes = np.asarray(self.factor_sizes)
        if np.any(factors < 0) or np.any(factors >= sizes):
            raise ValueError(
                "Received an invalid value for argument `factors`: indices must "
                f"lie in [0, {list(sizes)}) per factor, got min "
                f"{factors.min(0).tolist()} and max {factors.max(0).tolist()}."
            )
        return factors

    def _render(self, factors):
        raise NotImplementedError


def tfds_factor_features(dataset):
    """The label_<factor> / value_<factor> TFDS features of a dataset."""
    import tensorflow_datasets as tfds

    features = {}
    for name, size in zip(dataset.factor_names, dataset.factor_sizes):
        features[f"label_{name}"] = tfds.features.ClassLabel(num_classes=size)
        features[f"value_{name}"] = tfds.features.Tensor(shape=(), dtype=np.float32)
    return features


def generate_examples(dataset, factors, key_prefix, chunk=256):
    """Yields (key, example) pairs for TFDS, rendering `chunk` at a time."""
    for start in range(0, len(factors), chunk):
        batch = factors[start : start + chunk]
        images = dataset.render(batch)
        values = dataset.values_of(batch)
        for offset, (image, labels, vals) in enumerate(zip(images, batch, values)):
            example = {"image": image}
            for i, name in enumerate(dataset.factor_names):
                example[f"label_{name}"] = int(labels[i])
                example[f"value_{name}"] = np.float32(vals[i])
            yield f"{key_prefix}_{start + offset:08d}", example


def factors_from_example(dataset, example):
    """Stacks an example's label_<factor> features into [.., F] int64."""
    return tf.stack(
        [tf.cast(example[f"label_{name}"], tf.int64) for name in dataset.factor_names],
        axis=-1,
    )
