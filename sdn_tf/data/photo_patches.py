"""Photo patches: 32x32 crops of the photos that ship inside scikit-learn.

For quick density-estimation runs on real images with nothing to download:
`sklearn.datasets.load_sample_images()` holds two 427x640 RGB photos (a
temple in China and a flower). Train crops come from the left 75% of each
photo and test crops from the right 25%, with a gap of one patch width
between them, so no train and test patch share a pixel.
"""

import numpy as np
import tensorflow_datasets as tfds

PATCH = 32
TRAIN_FRACTION = 0.75


def photos():
    """The scikit-learn sample photos, [427, 640, 3] uint8 each."""
    from sklearn.datasets import load_sample_images

    return list(load_sample_images().images)


def regions(width):
    """Column ranges [start, stop) of the train and test regions of a photo.

    The train region is the left TRAIN_FRACTION of the columns; the test
    region starts one patch width after it, so a train crop (which ends
    before the boundary) and a test crop never overlap.
    """
    boundary = int(width * TRAIN_FRACTION)
    return {"train": (0, boundary), "test": (boundary + PATCH, width)}


def crop_corners(num, heights_widths, split, rng):
    """`num` (photo, top, left) corners of PATCH crops inside a split's region."""
    corners = []
    for _ in range(num):
        photo = rng.integers(len(heights_widths))
        height, width = heights_widths[photo]
        start, stop = regions(width)[split]
        corners.append(
            (
                photo,
                rng.integers(0, height - PATCH + 1),
                rng.integers(start, stop - PATCH + 1),
            )
        )
    return np.array(corners)


class PhotoPatchesConfig(tfds.core.BuilderConfig):
    def __init__(self, *, num_train=8_000, num_test=2_000, seed=0, **kwargs):
        kwargs.setdefault("version", tfds.core.Version("1.0.0"))
        super().__init__(**kwargs)
        self.num_train, self.num_test, self.seed = num_train, num_test, seed


class SdnPhotoPatches(tfds.core.GeneratorBasedBuilder):
    """TFDS `sdn_photo_patches`: 32x32 crops of scikit-learn's sample photos."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    BUILDER_CONFIGS = [
        PhotoPatchesConfig(
            name="default", description="8,000 train / 2,000 test patches."
        ),
    ]

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(PATCH, PATCH, 3)),
                    "photo": tfds.features.ClassLabel(num_classes=2),
                    "top": tfds.features.Tensor(shape=(), dtype=np.int32),
                    "left": tfds.features.Tensor(shape=(), dtype=np.int32),
                }
            ),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # the photos ship with scikit-learn
        return {
            "train": self._generate_examples("train"),
            "test": self._generate_examples("test"),
        }

    def _generate_examples(self, split):
        config = self.builder_config
        images = photos()
        rng = np.random.default_rng([config.seed, 0 if split == "train" else 1])
        num = config.num_train if split == "train" else config.num_test
        corners = crop_corners(num, [im.shape[:2] for im in images], split, rng)
        for index, (photo, top, left) in enumerate(corners):
            yield (
                f"{split}_{index:08d}",
                {
                    "image": images[photo][top : top + PATCH, left : left + PATCH],
                    "photo": int(photo),
                    "top": np.int32(top),
                    "left": np.int32(left),
                },
            )
