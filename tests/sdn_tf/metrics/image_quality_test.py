"""Tests of the picture statistics, against plain loops."""

import numpy as np
import pytest

from sdn_tf.metrics import image_quality


def test_local_contrast_is_the_mean_of_neighbour_differences():
    images = np.random.default_rng(0).uniform(-1, 1, (2, 3, 4, 2))
    differences = []
    for n in range(2):
        for c in range(2):
            for y in range(3):
                for x in range(4):
                    if x + 1 < 4:
                        differences.append(
                            abs(images[n, y, x, c] - images[n, y, x + 1, c])
                        )
                    if y + 1 < 3:
                        differences.append(
                            abs(images[n, y, x, c] - images[n, y + 1, x, c])
                        )
    assert image_quality.local_contrast(images) == pytest.approx(np.mean(differences))


def test_flat_images_have_no_contrast_and_a_checkerboard_the_most():
    flat = np.full((1, 4, 4, 1), 0.3)
    i, j = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    board = ((-1.0) ** (i + j))[None, :, :, None]
    assert image_quality.local_contrast(flat) == 0.0
    assert image_quality.local_contrast(board) == pytest.approx(2.0)


def test_reconstruction_distance_to_own_and_to_previous_input():
    rng = np.random.default_rng(1)
    inputs = rng.uniform(-1, 1, (3, 4, 4, 1))
    own, other = image_quality.reconstruction_distance(inputs, inputs)
    assert own == 0.0
    expected = np.mean([np.abs(inputs[k] - inputs[k - 1]).mean() for k in range(3)])
    assert other == pytest.approx(expected)
    # A model that draws the batch mean for every input: no closer to its own.
    mean = np.broadcast_to(inputs.mean(axis=0), inputs.shape)
    own, other = image_quality.reconstruction_distance(mean, inputs)
    assert own == pytest.approx(other)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            (np.zeros((1, 4, 4, 1)), np.zeros((1, 4, 4, 1))),
            r"`reconstructions`.*N >= 2",
        ),
        ((np.zeros((2, 4, 4, 1)), np.zeros((2, 4, 5, 1))), r"`inputs`, expected the"),
    ],
)
def test_bad_arguments_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        image_quality.reconstruction_distance(*args)
