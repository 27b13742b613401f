"""Datasets: offline TFDS builders and the input pipeline.

Importing sdn_tf registers the offline datasets with TFDS, so
`tfds.load("sdn_circles/xy")` works; `load()` gives every dataset, offline
or from TFDS, as batches of images on the [-1, 1] grid.
"""

from sdn_tf.data.circles import Circles, SdnCircles
from sdn_tf.data.ground_truth import GroundTruthDataset
from sdn_tf.data.photo_patches import SdnPhotoPatches
from sdn_tf.data.pipeline import (
    OFFLINE_DATASETS,
    PAPER_DATASETS,
    DatasetInfo,
    DatasetUnavailableError,
    dataset_info,
    ground_truth,
    has_ground_truth,
    load,
    without_autotune,
)
from sdn_tf.data.shapes import SdnShapes, Shapes
from sdn_tf.data.sprites import SdnSprites, Sprites

__all__ = [
    "Circles",
    "DatasetInfo",
    "DatasetUnavailableError",
    "GroundTruthDataset",
    "OFFLINE_DATASETS",
    "PAPER_DATASETS",
    "SdnCircles",
    "SdnPhotoPatches",
    "SdnShapes",
    "SdnSprites",
    "Shapes",
    "Sprites",
    "dataset_info",
    "ground_truth",
    "has_ground_truth",
    "load",
    "without_autotune",
]
