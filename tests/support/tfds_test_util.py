"""Helpers of the data tests: small builds of the TFDS datasets."""

import tensorflow_datasets as tfds

from sdn_tf.data import factor_builder

tfds.disable_progress_bar()


def build_tiny(
    builder_cls, data_dir, num_train=24, num_test=8, seed=0, **dataset_kwargs
):
    """Builds a small custom config of a factor dataset; returns the builder."""
    config = factor_builder.FactorDatasetConfig(
        name=f"tiny_{seed}_"
        + "_".join(f"{k}-{v}" for k, v in sorted(dataset_kwargs.items())),
        dataset_kwargs=dataset_kwargs,
        num_train=num_train,
        num_test=num_test,
        seed=seed,
    )
    builder = builder_cls(config=config, data_dir=str(data_dir))
    builder.download_and_prepare()
    return builder


def examples(builder, split):
    return list(tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False)))
