"""One input pipeline for the offline datasets and the paper's TFDS datasets.

    ds = sdn_tf.data.load("cifar10", "train", batch_size=32, num_bits=8, flip=True)
    for batch in ds:
        batch["image"]   # [32, 32, 32, 3] float32 on the [-1, 1] grid
        batch["label"]   # [32] int64 (datasets with class labels)

Factor datasets also give batch["factors"] (int64 [B, F], the factor
indices) and batch["factor_values"] (float32 [B, F]), in the order of
`dataset_info(name).factor_names`.

Offline datasets (built locally on first use, nothing downloaded):
sdn_circles/<variant>, sdn_sprites[/colored], sdn_shapes,
sdn_photo_patches. The paper's datasets come from TFDS: cifar10,
downsampled_imagenet/32x32, celeb_a_hq/256, shapes3d, dsprites; any other
TFDS dataset with an "image" feature works too.
"""

import dataclasses
import fcntl
import os
import socket
import threading

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from sdn_tf import arguments
from sdn_tf.distributions import quantization

OFFLINE_DATASETS = ("sdn_circles", "sdn_sprites", "sdn_shapes", "sdn_photo_patches")
"""The TFDS datasets that ship with sdn_tf and build locally on first use."""

_SHAPES3D_FACTORS = (
    "floor_hue",
    "wall_hue",
    "object_hue",
    "scale",
    "shape",
    "orientation",
)
_DSPRITES_FACTORS = ("shape", "scale", "orientation", "x_position", "y_position")


@dataclasses.dataclass(frozen=True)
class _Spec:
    """How one TFDS dataset maps onto the pipeline."""

    splits: dict = dataclasses.field(
        default_factory=lambda: {"train": "train", "test": "test"}
    )
    factor_names: tuple = ()
    label: str = None
    pixel_scale: int = 1  # dsprites stores 0/1 pixels
    image_shape: tuple = None  # where TFDS declares (None, None, 3)
    how_to_provide: str = ""


PAPER_DATASETS = {
    "cifar10": _Spec(
        label="label",
        how_to_provide=(
            "On a machine with internet: `tfds build cifar10 --data_dir=DIR`, then "
            "copy DIR here and pass data_dir=DIR."
        ),
    ),
    "downsampled_imagenet/32x32": _Spec(
        splits={"train": "train", "test": "validation"},
        image_shape=(32, 32, 3),
        how_to_provide=(
            "On a machine with internet: `tfds build downsampled_imagenet/32x32 "
            "--data_dir=DIR`, then copy DIR here and pass data_dir=DIR."
        ),
    ),
    "celeb_a_hq/256": _Spec(
        splits={"train": "train[:90%]", "test": "train[90%:]"},
        how_to_provide=(
            "CelebA-HQ needs a manual download: put the tar files TFDS lists in "
            "its MANUAL_DOWNLOAD_INSTRUCTIONS into DIR/downloads/manual, run "
            "`tfds build celeb_a_hq/256 --data_dir=DIR`, and pass data_dir=DIR."
        ),
    ),
    "shapes3d": _Spec(
        splits={"train": "train", "test": "train"},
        factor_names=_SHAPES3D_FACTORS,
        how_to_provide=(
            "On a machine with internet: `tfds build shapes3d "
            "--data_dir=DIR`, then copy DIR here and pass "
            "data_dir=DIR. Offline, sdn_shapes is a stand-in."
        ),
    ),
    "dsprites": _Spec(
        splits={"train": "train", "test": "train"},
        factor_names=_DSPRITES_FACTORS,
        pixel_scale=255,
        how_to_provide=(
            "On a machine with internet: `tfds build dsprites "
            "--data_dir=DIR`, then copy DIR here and pass "
            "data_dir=DIR. Offline, sdn_sprites is a stand-in."
        ),
    ),
}
"""The papers' TFDS datasets `load` serves like the offline ones, by name,
with how to provide each where it is not on the machine."""


class DatasetUnavailableError(FileNotFoundError):
    """A TFDS dataset is not on this machine and cannot be downloaded."""


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset before it sees data."""

    name: str
    image_shape: tuple
    factor_names: tuple
    has_label: bool
    splits: dict  # split name -> number of examples (None if not prepared)


def _base_name(name):
    return name.split("/")[0].split(":")[0]


def _is_offline(name):
    return _base_name(name) in OFFLINE_DATASETS


def _check_name(name):
    if not isinstance(name, str) or not name:
        raise ValueError(
            "Received an invalid value for argument `name`, expected a dataset "
            f"name, got {name!r}."
        )
    if _base_name(name) not in tfds.list_builders(with_community_datasets=False):
        raise ValueError(
            f"Received an invalid value for argument `name`: no dataset {name!r}. "
            f"Offline datasets: {OFFLINE_DATASETS}; paper datasets: "
            f"{tuple(PAPER_DATASETS)}; or any TFDS image dataset."
        )


def _spec(name, builder):
    if name in PAPER_DATASETS:
        return PAPER_DATASETS[name]
    factor_names = ()
    if _is_offline(name) and hasattr(builder, "ground_truth"):
        factor_names = tuple(builder.ground_truth().factor_names)
    splits = {"train": "train", "test": "test"}
    if (
        not _is_offline(name)
        and builder.info.splits
        and "test" not in builder.info.splits
    ):
        splits["test"] = "train"
    label = "label" if "label" in builder.info.features else None
    return _Spec(splits=splits, factor_names=factor_names, label=label)


def _builder(name, data_dir):
    _check_name(name)
    try:
        return tfds.builder(name, data_dir=data_dir)
    except (ValueError, tfds.core.registered.DatasetNotFoundError) as error:
        raise ValueError(
            f"Received an invalid value for argument `name`: {error}"
        ) from None


def dataset_info(name, data_dir=None):
    """DatasetInfo of `name` (image shape, factors, split sizes if prepared)."""
    builder = _builder(name, data_dir)
    spec = _spec(name, builder)
    image_shape = spec.image_shape or tuple(builder.info.features["image"].shape)
    splits = {split: None for split in spec.splits}
    if builder.info.splits:
        for split, tfds_split in spec.splits.items():
            try:
                splits[split] = builder.info.splits[tfds_split].num_examples
            except (KeyError, ValueError):
                pass
    return DatasetInfo(
        name, image_shape, spec.factor_names, spec.label is not None, splits
    )


def has_ground_truth(name):
    """Whether dataset `name` declares a renderable ground truth, so that
    `ground_truth(name)` (and the disentanglement metrics) work.

    A dataset declares one when its TFDS builder class sets `GROUND_TRUTH`
    (the factor datasets' builder): True for "sdn_circles/xy",
    "sdn_sprites/colored", "sdn_shapes", ...; False for "cifar10",
    "dsprites", "sdn_photo_patches", .... Only the builder's class is read:
    nothing is built, read or downloaded.

    Raises:
      ValueError: when `name` is no dataset.
    """
    _check_name(name)
    builder_class = tfds.builder_cls(_base_name(name))
    return getattr(builder_class, "GROUND_TRUTH", None) is not None


def ground_truth(name):
    """The GroundTruthDataset behind an offline factor dataset (for metrics)."""
    if not has_ground_truth(name):
        factor_datasets = [n for n in OFFLINE_DATASETS if has_ground_truth(n)]
        raise ValueError(
            f"Received an invalid value for argument `name`: {name!r} has no "
            f"renderable ground truth; factor datasets are {factor_datasets}."
        )
    return _builder(name, None).ground_truth()


def _network_reachable(host="storage.googleapis.com", port=443, timeout=3.0):
    """Whether TFDS's download host answers, decided within `timeout` seconds.

    The check runs in a daemon thread because name resolution is not
    covered by the socket timeout and can block far longer on a machine
    without DNS; a thread still blocked after `timeout` is abandoned.
    """
    answers = []

    def connect():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            answers.append(True)
        except OSError:
            answers.append(False)

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answers and answers[0])


def _unavailable(name, builder, data_dir, spec, reason):
    looked = data_dir or tfds.core.constants.DATA_DIR
    how = spec.how_to_provide or (
        f"Build it with `tfds build {name} --data_dir=DIR` on a machine with "
        "internet, copy DIR here and pass data_dir=DIR."
    )
    return DatasetUnavailableError(
        f"Dataset {name!r} is not prepared on this machine: TFDS looked in "
        f"{builder.data_dir} (data_dir {looked!r}) and {reason}. {how}"
    )


def _prepare_offline(name, builder, data_dir, as_dataset_kwargs):
    """Renders an offline dataset once, however many processes ask at once.

    TFDS builds into a temporary folder and renames it: a second process
    building the same dataset at the same time fails with FileExistsError.
    An exclusive lock on a file beside the dataset's folder makes it wait
    for the first build and then read what that built.
    """
    lock_path = builder.data_dir.rstrip("/") + ".lock"
    os.makedirs(os.path.dirname(lock_path), exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        builder = _builder(name, data_dir)  # sees a build that just finished
        try:
            return builder.as_dataset(**as_dataset_kwargs)
        except AssertionError:  # TFDS: "could not find data in ..."
            builder.download_and_prepare()  # rendered locally, no network
            return builder.as_dataset(**as_dataset_kwargs)


def _tfds_dataset(name, builder, split, spec, shuffle, seed, data_dir, download):
    read_config = tfds.ReadConfig(shuffle_seed=seed)
    kwargs = dict(
        split=spec.splits[split], shuffle_files=shuffle, read_config=read_config
    )
    try:
        return builder.as_dataset(**kwargs)
    except AssertionError:  # TFDS: "could not find data in ..."
        pass
    if _is_offline(name):
        return _prepare_offline(name, builder, data_dir, kwargs)
    if not download:
        raise _unavailable(
            name, builder, data_dir, spec, "load() was called with download=False"
        )
    if not _network_reachable():
        raise _unavailable(
            name,
            builder,
            data_dir,
            spec,
            "the download servers cannot be reached from here",
        )
    try:
        builder.download_and_prepare()
    except AssertionError as error:  # e.g. manual download missing
        raise _unavailable(name, builder, data_dir, spec, str(error)) from None
    return builder.as_dataset(**kwargs)


def load(
    name,
    split="train",
    batch_size=64,
    num_bits=8,
    flip=False,
    shuffle=None,
    seed=0,
    data_dir=None,
    repeat=False,
    drop_remainder=None,
    download=False,
    shuffle_buffer=10_000,
):
    """A batched, prefetched tf.data pipeline of one dataset's images.

    Args:
      name: dataset name ("sdn_circles/xy", "cifar10", ...; see module doc).
      split: "train" or "test" (mapped to each dataset's own splits; shapes3d
        and dsprites have only a train split, which both names read), or
        "heldout" for the held-out region of a dependent circles dataset.
      batch_size: positive int.
      num_bits: bits per channel the images are quantized to, 1 to 8.
      flip: random horizontal flips (deterministic given `seed`).
      shuffle: shuffle the examples; defaults to True for "train".
      seed: seed of shuffling and flips.
      data_dir: TFDS data directory (TFDS's default if None).
      repeat: repeat forever.
      drop_remainder: drop a last partial batch; defaults to True for
        "train" (fixed batch shapes for XLA and replicas).
      download: allow TFDS to download a paper dataset that is missing.
      shuffle_buffer: size of the shuffle buffer.

    Returns:
      tf.data.Dataset of dicts with "image" (float32 [B, H, W, C] on the
      [-1, 1] grid), and "label" or "factors" and "factor_values" when the
      dataset has them.

    Raises:
      ValueError: on an unknown dataset or split, or a bad argument.
      DatasetUnavailableError: when a TFDS dataset is not on this machine
        and cannot be downloaded (which dataset, where TFDS looked, how to
        provide it). Nothing blocks on the network for longer than 3 s.
    """
    batch_size = arguments.positive_integer(batch_size, "batch_size")
    shuffle_buffer = arguments.positive_integer(shuffle_buffer, "shuffle_buffer")
    num_bits = arguments.integer_in_range(num_bits, "num_bits", 1, 8)
    builder = _builder(name, data_dir)
    spec = _spec(name, builder)
    if split == "heldout" and _is_offline(name):
        spec = dataclasses.replace(spec, splits={**spec.splits, "heldout": "heldout"})
    if split not in spec.splits:
        raise ValueError(
            f"Received an invalid value for argument `split`, expected one of "
            f"{tuple(spec.splits)} for {name!r}, got {split!r}."
        )
    shuffle = (split == "train") if shuffle is None else bool(shuffle)
    drop_remainder = (
        (split == "train") if drop_remainder is None else bool(drop_remainder)
    )
    dataset = _tfds_dataset(
        name, builder, split, spec, shuffle, seed, data_dir, download
    )
    if shuffle:
        dataset = dataset.shuffle(
            shuffle_buffer, seed=seed, reshuffle_each_iteration=True
        )
    if repeat:
        dataset = dataset.repeat()

    def prepare(index, example):
        pixels = tf.minimum(tf.cast(example["image"], tf.int32) * spec.pixel_scale, 255)
        if spec.image_shape:
            pixels = tf.ensure_shape(pixels, spec.image_shape)
        image = quantization.from_uint8(pixels, num_bits)
        if flip:
            image = tf.image.stateless_random_flip_left_right(
                image, seed=tf.stack([tf.cast(seed, tf.int64), index])
            )
        out = {"image": image}
        if spec.label:
            out["label"] = tf.cast(example[spec.label], tf.int64)
        if spec.factor_names:
            out["factors"] = tf.stack(
                [tf.cast(example[f"label_{f}"], tf.int64) for f in spec.factor_names],
                -1,
            )
            out["factor_values"] = tf.stack(
                [tf.cast(example[f"value_{f}"], tf.float32) for f in spec.factor_names],
                -1,
            )
        return out

    dataset = dataset.enumerate().map(
        prepare, num_parallel_calls=os.cpu_count() or 1, deterministic=True
    )
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return without_autotune(dataset.prefetch(PREFETCH_BATCHES))


PREFETCH_BATCHES = 2


def without_autotune(dataset):
    """`dataset` with tf.data's autotuning off (its buffers fixed instead).

    The autotuner's background thread sleeps for periods that double from
    10 ms to about a minute, and the end of every `fit`, `evaluate` or
    `predict` call waited for the current period to run out: fit calls of
    the SDN-VAE took 10.24 s (10 ms x 2**10) for 6.5 s of steps, a 5-epoch
    call 40.96 s for 29 s. A pipeline this light needs no tuning.
    """
    if not isinstance(dataset, tf.data.Dataset):
        raise ValueError(
            "Received an invalid value for argument `dataset`, expected a "
            f"tf.data.Dataset, got {dataset!r}."
        )
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def as_numpy_images(dataset, limit=None):
    """Concatenates the "image" of a pipeline's batches into one array."""
    images = []
    count = 0
    for batch in dataset:
        images.append(batch["image"].numpy())
        count += len(images[-1])
        if limit is not None and count >= limit:
            break
    out = np.concatenate(images) if images else np.zeros((0,))
    return out[:limit] if limit is not None else out
