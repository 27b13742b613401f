"""The TFDS builder all procedural factor datasets share.

A config names a ground-truth dataset (its constructor arguments) and how
many examples each split holds; the builder samples factors with a seeded
generator and renders them, so the same config always builds the same
images, and nothing is downloaded.
"""

import numpy as np
import tensorflow_datasets as tfds

from sdn_tf.data import ground_truth

SPLIT_IDS = {"train": 0, "test": 1, "heldout": 2}


class FactorDatasetConfig(tfds.core.BuilderConfig):
    """A factor dataset's variant and size.

    Args:
      name, description: as every tfds BuilderConfig.
      dataset_kwargs: constructor arguments of the ground-truth dataset.
      num_train, num_test: examples sampled for each split; `num_train=None`
        builds the full factorial grid as the train split (and no test).
      seed: seed of the factor sampling.
    """

    def __init__(
        self, *, dataset_kwargs=None, num_train=10_000, num_test=2_000, seed=0, **kwargs
    ):
        kwargs.setdefault("version", tfds.core.Version("1.0.0"))
        super().__init__(**kwargs)
        self.dataset_kwargs = dict(dataset_kwargs or {})
        self.num_train = num_train
        self.num_test = num_test
        self.seed = seed


class FactorDatasetBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base: subclasses set GROUND_TRUTH (a GroundTruthDataset class),
    BUILDER_CONFIGS and DESCRIPTION."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    GROUND_TRUTH = None
    DESCRIPTION = ""

    def ground_truth(self):
        """The GroundTruthDataset this config renders."""
        return self.GROUND_TRUTH(**self.builder_config.dataset_kwargs)

    def _info(self):
        data = self.ground_truth()
        features = {"image": tfds.features.Image(shape=data.image_shape)}
        features.update(ground_truth.tfds_factor_features(data))
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.DESCRIPTION,
            features=tfds.features.FeaturesDict(features),
        )

    def _split_names(self):
        config = self.builder_config
        if config.num_train is None:
            return ["train"]
        names = ["train", "test"]
        if self.ground_truth().has_heldout:
            names.append("heldout")
        return names

    def _split_generators(self, dl_manager):
        del dl_manager  # everything is rendered locally
        return {name: self._generate_examples(name) for name in self._split_names()}

    def _split_factors(self, split):
        config = self.builder_config
        data = self.ground_truth()
        if config.num_train is None:
            return data.all_factors()
        rng = np.random.default_rng([config.seed, SPLIT_IDS[split]])
        if split == "heldout":
            return data.sample_heldout(config.num_test, rng)
        return data.sample_factors(
            config.num_train if split == "train" else config.num_test, rng
        )

    def _generate_examples(self, split):
        data = self.ground_truth()
        yield from ground_truth.generate_examples(
            data, self._split_factors(split), split
        )
