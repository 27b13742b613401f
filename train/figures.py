"""PNG figures: image grids, latent traversals, latent-space geometry.

Images are on the [-1, 1] grid; figures are written with Pillow.
"""

import os

import numpy as np
from PIL import Image, ImageDraw

from sdn_tf.distributions import quantization
from sdn_tf.train import callbacks


def to_uint8(images):
    """[N, H, W, C] in [-1, 1] -> uint8 RGB [N, H, W, 3]."""
    images = np.asarray(quantization.to_uint8(np.asarray(images, np.float32), 8))
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images


def grid(images, columns, padding=2):
    """Tiles [N, H, W, C] images row by row into one uint8 image."""
    images = to_uint8(images)
    n, h, w, _ = images.shape
    rows = -(-n // columns)
    canvas = np.full(
        (rows * (h + padding) + padding, columns * (w + padding) + padding, 3),
        255,
        np.uint8,
    )
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        canvas[top : top + h, left : left + w] = image
    return canvas


def save_png(array, path, scale=1):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    image = Image.fromarray(np.asarray(array, np.uint8))
    if scale != 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    image.save(path)
    return path


def latent_order(posterior_stddev):
    """Latents sorted by how much they are used: smallest mean posterior
    standard deviation first (an unused latent keeps the prior's 1)."""
    return np.argsort(np.asarray(posterior_stddev).mean(axis=0))


TRAVERSAL_VALUES = tuple(np.linspace(-2.0, 2.0, 7))


def traversal_latents(code, order, values=TRAVERSAL_VALUES):
    """Codes [len(order) * len(values), D]: each latent in `order` swept
    over `values` (-2 to +2) around `code`, one row per latent."""
    rows = []
    for latent in order:
        for value in values:
            z = np.array(code, np.float32)
            z[latent] = value
            rows.append(z)
    return np.stack(rows)


def geometry_plot(points, grid_shape, heldout=None, size=384, margin=24):
    """The Spatial Broadcast paper's latent-space geometry plot.

    Args:
      points: [rows * cols, 2] latent coordinates of a factor grid, in row
        major order (first factor along rows).
      grid_shape: (rows, cols).
      heldout: optional [rows * cols] bool, grid points from a held-out
        region (drawn black).

    Returns:
      uint8 [size, size, 3]: neighbours on the factor grid joined by lines,
      coloured by the first factor (red) and second factor (blue).
    """
    rows, cols = grid_shape
    points = np.asarray(points, np.float64)
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    xy = margin + (points - low) / span * (size - 2 * margin)
    xy[:, 1] = size - xy[:, 1]  # up is up
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    xy = xy.reshape(rows, cols, 2)

    def colour(r, c):
        return (int(255 * r / max(rows - 1, 1)), 80, int(255 * c / max(cols - 1, 1)))

    for r in range(rows):
        for c in range(cols):
            if c + 1 < cols:
                draw.line(
                    [tuple(xy[r, c]), tuple(xy[r, c + 1])], fill=colour(r, c), width=2
                )
            if r + 1 < rows:
                draw.line(
                    [tuple(xy[r, c]), tuple(xy[r + 1, c])], fill=colour(r, c), width=2
                )
    held = np.zeros(rows * cols, bool) if heldout is None else np.asarray(heldout)
    for index, (x, y) in enumerate(xy.reshape(-1, 2)):
        r, c = divmod(index, cols)
        fill = (0, 0, 0) if held[index] else colour(r, c)
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=fill)
    return np.asarray(image)


LABEL_WIDTH = 140  # pixels, at the sheet's scale


def labelled_sheet(rows, scale=2, padding=2):
    """One image of labelled rows: [(label, images [N, H, W, C]), ...],
    each row's images side by side (scaled `scale` times, nearest), its
    label on the left.

    Returns:
      uint8 [height, width, 3].
    """
    strips = [grid(images, columns=len(images), padding=padding) for _, images in rows]
    width = max(strip.shape[1] for strip in strips) * scale
    height = sum(strip.shape[0] for strip in strips) * scale
    sheet = Image.new("RGB", (LABEL_WIDTH + width, height), "white")
    draw = ImageDraw.Draw(sheet)
    top = 0
    for (label, _), strip in zip(rows, strips):
        image = Image.fromarray(strip)
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
        sheet.paste(image, (LABEL_WIDTH, top))
        text_top = top + image.height // 2 - 6
        draw.text((6, text_top), label, fill=(0, 0, 0))
        top += image.height
    return np.asarray(sheet)


def density_sheet(model, test_images, temperatures, per_row=8):
    """The density command's picture, with the EMA weights: `per_row` test
    images, their reconstructions, then prior samples at each temperature,
    a labelled row each (see `labelled_sheet`)."""
    inputs = np.asarray(test_images[:per_row])
    with callbacks.ema_weights(model):
        rows = [
            ("test patches", inputs),
            ("reconstructions", np.asarray(model.reconstruct(inputs))),
        ]
        rows += [
            (f"samples, t = {t:g}", np.asarray(model.sample(per_row, temperature=t)))
            for t in temperatures
        ]
    return labelled_sheet(rows)


def sample_grid(model, temperatures, per_row=8):
    """Samples from the prior with the EMA weights, one row per temperature,
    [rows * per_row, H, W, C]."""
    with callbacks.ema_weights(model):
        rows = [np.asarray(model.sample(per_row, temperature=t)) for t in temperatures]
    return np.concatenate(rows)
