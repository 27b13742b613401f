"""Tests of the PNG figure helpers."""

import numpy as np
from PIL import Image

from sdn_tf.train import figures


def test_grid_places_images_row_by_row():
    images = np.stack([np.full((4, 5, 1), v, "float32") for v in (-1.0, 0.0, 1.0)])
    canvas = figures.grid(images, columns=2, padding=1)
    assert canvas.shape == (2 * 5 + 1, 2 * 6 + 1, 3) and canvas.dtype == np.uint8
    assert (canvas[1:5, 1:6] == 0).all()  # first image: black
    assert (canvas[1:5, 7:12] == 128).all()  # second: grey (0 -> level 128)
    assert (canvas[6:10, 1:6] == 255).all()  # third, second row: white


def test_latents_are_ordered_by_use_and_traversed_around_the_code():
    stddev = np.array([[1.0, 0.1, 0.5], [1.0, 0.2, 0.4]])
    order = figures.latent_order(stddev)
    assert order.tolist() == [1, 2, 0]
    code = np.array([0.3, -0.1, 0.7], "float32")
    sweep = figures.traversal_latents(code, order[:2], values=(-2.0, 0.0, 2.0))
    assert sweep.shape == (6, 3)
    np.testing.assert_allclose(sweep[:3, 1], [-2.0, 0.0, 2.0])
    np.testing.assert_allclose(sweep[:3, [0, 2]], np.tile(code[[0, 2]], (3, 1)))
    np.testing.assert_allclose(sweep[3:, 2], [-2.0, 0.0, 2.0])


def test_geometry_plot_draws_the_grid(tmp_path):
    rows, cols = np.meshgrid(np.arange(4), np.arange(5), indexing="ij")
    points = np.stack([cols.ravel(), rows.ravel()], axis=1).astype(float)
    held = np.zeros(20, bool)
    held[7] = True
    image = figures.geometry_plot(points, (4, 5), heldout=held, size=200, margin=20)
    assert image.shape == (200, 200, 3)
    # Corners of the grid land at the margins; a held-out point is black.
    assert (image[180, 20] != 255).any() and (image[20, 180] != 255).any()
    x, y = 20 + 2 / 4 * 160, 200 - (20 + 1 / 3 * 160)
    assert (image[int(round(y)), int(round(x))] == 0).all()
    path = figures.save_png(image, str(tmp_path / "g.png"), scale=2)
    assert Image.open(path).size == (400, 400)
