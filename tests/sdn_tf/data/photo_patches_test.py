"""Tests of the photo patches."""

import numpy as np
import tensorflow_datasets as tfds
import tfds_test_util  # noqa: F401 (quiet progress bars)

import sdn_tf  # noqa: F401
from sdn_tf.data import photo_patches
from sdn_tf.data.photo_patches import PATCH, PhotoPatchesConfig, SdnPhotoPatches


def test_train_and_test_come_from_disjoint_regions(tmp_path):
    config = PhotoPatchesConfig(name="tiny", num_train=200, num_test=60)
    builder = SdnPhotoPatches(config=config, data_dir=str(tmp_path))
    builder.download_and_prepare()
    photos = photo_patches.photos()
    columns = {}
    for split in ("train", "test"):
        examples = list(tfds.as_numpy(builder.as_dataset(split=split)))
        assert len(examples) == (200 if split == "train" else 60)
        used = np.zeros((2, 640), bool)
        for e in examples:
            assert (
                e["image"].shape == (PATCH, PATCH, 3) and e["image"].dtype == np.uint8
            )
            photo, top, left = e["photo"], e["top"], e["left"]
            np.testing.assert_array_equal(
                e["image"], photos[photo][top : top + PATCH, left : left + PATCH]
            )
            used[photo, left : left + PATCH] = True
        columns[split] = used
    assert not np.any(columns["train"] & columns["test"])
    boundary = photo_patches.regions(640)["train"][1]
    assert (
        not columns["train"][:, boundary:].any()
        and not columns["test"][:, : boundary + PATCH].any()
    )


def test_registered_with_laptop_sized_defaults():
    assert isinstance(tfds.builder("sdn_photo_patches"), SdnPhotoPatches)
    config = SdnPhotoPatches.BUILDER_CONFIGS[0]
    assert (config.num_train, config.num_test) == (8_000, 2_000)
