"""Tests of sdn_tf.data.load: TFDS datasets (mocked), offline datasets, errors."""

import os
import time

import concurrent_processes
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
import tfds_test_util  # noqa: F401

import sdn_tf
from sdn_tf.data import pipeline
from sdn_tf.distributions import quantization

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _fixed_size_examples(builder, split, **kwargs):
    """Mock examples for datasets whose TFDS image shape is (None, None, 3)."""
    rng = np.random.default_rng(0)
    shape = pipeline.PAPER_DATASETS[
        builder.info.full_name.rsplit("/", 1)[0]
    ].image_shape
    images = rng.integers(0, 256, size=(10, *shape), dtype=np.uint8)
    return tf.data.Dataset.from_tensor_slices({"image": images})


def _mock(name, num_examples):
    if pipeline.PAPER_DATASETS.get(name, pipeline._Spec()).image_shape:
        return tfds.testing.mock_data(
            num_examples=num_examples, as_dataset_fn=_fixed_size_examples
        )
    return tfds.testing.mock_data(num_examples=num_examples)


def _raw(name, split, n):
    """The mocked TFDS examples themselves, in order."""
    builder = tfds.builder(name)
    ds = builder.as_dataset(
        split=pipeline.PAPER_DATASETS[name].splits[split], shuffle_files=False
    )
    return list(tfds.as_numpy(ds.take(n)))


@pytest.mark.parametrize(
    "name, shape",
    [
        ("cifar10", (32, 32, 3)),
        ("downsampled_imagenet/32x32", (32, 32, 3)),
        ("celeb_a_hq/256", (256, 256, 3)),
    ],
)
def test_paper_image_datasets_quantize_scale_and_batch(name, shape):
    with _mock(name, 10):
        ds = sdn_tf.data.load(name, "test", batch_size=4, num_bits=5, shuffle=False)
        batches = list(ds)
        raw = _raw(name, "test", 10)
    assert [b["image"].shape[0] for b in batches] == [4, 4, 2]  # no drop for test
    images = np.concatenate([b["image"].numpy() for b in batches])
    assert images.shape == (10, *shape) and images.dtype == np.float32
    expected = np.stack([e["image"] for e in raw]) >> 3  # 8 -> 5 bits
    np.testing.assert_array_equal(images, quantization.grid(5)[expected])
    if name == "cifar10":
        labels = np.concatenate([b["label"].numpy() for b in batches])
        np.testing.assert_array_equal(labels, [e["label"] for e in raw])


def test_train_split_drops_the_remainder_and_flips_deterministically():
    with tfds.testing.mock_data(num_examples=12):
        plain = list(sdn_tf.data.load("cifar10", "train", batch_size=5, shuffle=False))
        flipped = list(
            sdn_tf.data.load(
                "cifar10", "train", batch_size=5, shuffle=False, flip=True, seed=3
            )
        )
        again = list(
            sdn_tf.data.load(
                "cifar10", "train", batch_size=5, shuffle=False, flip=True, seed=3
            )
        )
    assert [b["image"].shape[0] for b in plain] == [5, 5]
    a = np.concatenate([b["image"].numpy() for b in plain])
    f = np.concatenate([b["image"].numpy() for b in flipped])
    np.testing.assert_array_equal(
        f, np.concatenate([b["image"].numpy() for b in again])
    )
    was_flipped = [np.array_equal(fi, ai[:, ::-1]) for fi, ai in zip(f, a)]
    unchanged = [np.array_equal(fi, ai) for fi, ai in zip(f, a)]
    assert all(x or y for x, y in zip(was_flipped, unchanged))
    assert any(was_flipped) and any(unchanged)


def test_pipelines_run_without_the_autotuner_and_keep_their_elements():
    # The autotuner's sleeping thread delayed the end of every fit call
    # (see pipeline.without_autotune); a pipeline must not start it.
    with tfds.testing.mock_data(num_examples=6):
        ds = sdn_tf.data.load("cifar10", "test", batch_size=4, shuffle=False)
        assert ds.options().autotune.enabled is False
        numbers = tf.data.Dataset.range(5).prefetch(tf.data.AUTOTUNE)
        untuned = sdn_tf.data.without_autotune(numbers)
        assert untuned.options().autotune.enabled is False
        assert list(untuned.as_numpy_iterator()) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match=r"argument `dataset`.*\[0, 1\]"):
        sdn_tf.data.without_autotune([0, 1])


def test_shuffling_is_seeded():
    with tfds.testing.mock_data(num_examples=20):
        first = [
            b["label"].numpy()
            for b in sdn_tf.data.load("cifar10", batch_size=20, seed=1)
        ]
        second = [
            b["label"].numpy()
            for b in sdn_tf.data.load("cifar10", batch_size=20, seed=1)
        ]
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    "name, factors, max_value",
    [
        ("shapes3d", pipeline._SHAPES3D_FACTORS, None),
        ("dsprites", pipeline._DSPRITES_FACTORS, 1),
    ],
)
def test_factor_datasets_give_factors(name, factors, max_value):
    with tfds.testing.mock_data(num_examples=6, max_value=max_value):
        batch = next(iter(sdn_tf.data.load(name, "test", batch_size=6, shuffle=False)))
        raw = _raw(name, "test", 6)
    assert batch["factors"].shape == (6, len(factors))
    assert batch["factor_values"].dtype == tf.float32
    np.testing.assert_array_equal(
        batch["factors"].numpy(), [[e[f"label_{f}"] for f in factors] for e in raw]
    )
    if name == "dsprites":  # 0/1 pixels become black and white
        pixels = np.stack([e["image"] for e in raw])
        np.testing.assert_array_equal(
            batch["image"].numpy(), np.where(pixels == 1, 1.0, -1.0)
        )


def test_offline_factor_dataset_through_the_same_pipeline():
    with tfds.testing.mock_data(num_examples=4):
        batch = next(iter(sdn_tf.data.load("sdn_sprites/colored", batch_size=4)))
    assert batch["image"].shape == (4, 64, 64, 3)
    assert batch["factors"].shape == (4, 8)
    info = sdn_tf.data.dataset_info("sdn_sprites/colored")
    assert info.factor_names[-1] == "color_value" and info.image_shape == (64, 64, 3)


def test_offline_dataset_builds_on_first_load(tmp_path):
    ds = sdn_tf.data.load(
        "sdn_photo_patches", "test", batch_size=500, num_bits=8, data_dir=str(tmp_path)
    )
    images = np.concatenate([b["image"].numpy() for b in ds])
    assert images.shape == (2000, 32, 32, 3)
    assert images.min() >= -1.0 and images.max() <= 1.0
    levels = (images + 1) * 127.5
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)
    info = sdn_tf.data.dataset_info("sdn_photo_patches", data_dir=str(tmp_path))
    assert info.splits == {"train": 8000, "test": 2000}


# Loads the photo patches' test split from data_dir argv[1], prints its size.
_LOAD = (
    "import sys, sdn_tf; ds = sdn_tf.data.load('sdn_photo_patches', 'test', "
    "batch_size=500, data_dir=sys.argv[1]); "
    "print(sum(int(b['image'].shape[0]) for b in ds))"
)


def test_two_processes_building_one_offline_dataset_both_read_it(tmp_path):
    # Without the build lock, the second to finish fails with TFDS's
    # FileExistsError when it renames its build into place.
    results = concurrent_processes.run([["-c", _LOAD, str(tmp_path)]] * 2, cwd=ROOT)
    for returncode, stdout, stderr in results:
        assert returncode == 0, stderr[-3000:]
        assert stdout.split()[-1] == "2000"  # after TFDS's build messages


def test_missing_dataset_says_which_where_and_how(tmp_path):
    started = time.monotonic()
    with pytest.raises(sdn_tf.data.DatasetUnavailableError) as error:
        sdn_tf.data.load("cifar10", data_dir=str(tmp_path))
    message = str(error.value)
    assert "'cifar10'" in message and str(tmp_path) in message
    assert "tfds build cifar10" in message and "data_dir" in message
    with pytest.raises(sdn_tf.data.DatasetUnavailableError, match="manual download"):
        sdn_tf.data.load("celeb_a_hq/256", data_dir=str(tmp_path))
    assert time.monotonic() - started < 10


def test_download_without_network_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "_network_reachable", lambda: False)
    with pytest.raises(sdn_tf.data.DatasetUnavailableError, match="cannot be reached"):
        sdn_tf.data.load("cifar10", data_dir=str(tmp_path), download=True)


def test_network_check_never_blocks_longer_than_its_timeout(monkeypatch):
    # A connection that hangs (as name resolution can without DNS); no
    # traffic leaves the machine.
    class Socket:
        def close(self):
            pass

    def hang(*args, **kwargs):
        time.sleep(5.0)
        return Socket()

    monkeypatch.setattr(pipeline.socket, "create_connection", hang)
    started = time.monotonic()
    assert pipeline._network_reachable(timeout=0.5) is False
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="not_a_dataset"), "no dataset 'not_a_dataset'"),
        (dict(name="cifar10", split="validation"), "argument `split`"),
        (dict(name="cifar10", batch_size=0), "argument `batch_size`"),
        (dict(name="cifar10", num_bits=9), "argument `num_bits`"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sdn_tf.data.load(**kwargs)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("sdn_circles/xy", True),
        ("sdn_circles", True),
        ("sdn_sprites/colored", True),
        ("sdn_shapes", True),
        ("sdn_photo_patches", False),
        ("cifar10", False),
        ("downsampled_imagenet/32x32", False),
        ("dsprites", False),  # factors, but no renderer here
    ],
)
def test_has_ground_truth_reads_the_builder_without_building(
    name, expected, monkeypatch
):
    def forbidden(*args, **kwargs):
        raise AssertionError("has_ground_truth built, read or downloaded data")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", forbidden)
    monkeypatch.setattr(tfds.core.DatasetBuilder, "as_dataset", forbidden)
    monkeypatch.setattr(pipeline.socket, "create_connection", forbidden)
    assert sdn_tf.data.has_ground_truth(name) is expected
    if expected:
        data = sdn_tf.data.ground_truth(name)
        assert isinstance(data, sdn_tf.data.GroundTruthDataset)
    else:
        with pytest.raises(ValueError, match="no renderable ground truth.*sdn_shapes"):
            sdn_tf.data.ground_truth(name)


def test_has_ground_truth_of_an_unknown_dataset_raises():
    with pytest.raises(ValueError, match="no dataset 'not_a_dataset'"):
        sdn_tf.data.has_ground_truth("not_a_dataset")
