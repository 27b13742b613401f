"""PNG figures: image grids, latent traversals, latent-space geometry, and
line plots with error bars.

Images are on the [-1, 1] grid; figures are written with Pillow.
"""

import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sdn_tf.distributions import quantization
from train import callbacks


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


def sample_grid(model, temperatures, per_row=8):
    """Samples from the prior with the EMA weights, one row per temperature,
    [rows * per_row, H, W, C]."""
    with callbacks.ema_weights(model):
        rows = [np.asarray(model.sample(per_row, temperature=t)) for t in temperatures]
    return np.concatenate(rows)


# Line colours of `error_bar_plot`, one per series in order.
SERIES_COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189))


def _ticks(low, high, count=5):
    """About `count` round tick values covering [low, high]."""
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10.0 ** np.floor(np.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10)), key=lambda s: abs(s - raw))
    first = np.ceil(low / step - 1e-9) * step
    ticks = np.arange(first, high + step * 1e-6, step)
    return [float(t) + 0.0 for t in np.round(ticks, 12)]  # + 0.0: no "-0"


def error_bar_plot(
    x_values,
    series,
    title="",
    x_label="",
    y_label="",
    y_range=None,
    size=(400, 300),
):
    """A line plot with error bars, drawn with Pillow (no matplotlib).

    Args:
      x_values: the K x values; drawn evenly spaced, each a labelled tick
        (as categories: the papers' beta grids are far from linear).
      series: {name: (means [K], spreads [K])}: one line per name, in
        `SERIES_COLOURS` order, with bars from mean - spread to mean +
        spread and the name in a legend.
      title, x_label, y_label: text above the plot and along its axes.
      y_range: (low, high) of the y axis; defaults to the data's, padded.
      size: (width, height) in pixels.

    Returns:
      uint8 [height, width, 3].
    """
    width, height = size
    font = ImageFont.load_default(size=13)
    left, right, top, bottom = 58, 14, 28, 46
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    series = {
        name: (np.asarray(m, np.float64), np.asarray(s, np.float64))
        for name, (m, s) in series.items()
    }
    if y_range is None:
        lows = [np.nanmin(m - s) for m, s in series.values()]
        highs = [np.nanmax(m + s) for m, s in series.values()]
        low, high = min(lows), max(highs)
        pad = 0.1 * (high - low) if high > low else 0.5
        y_range = (low - pad, high + pad)
    low, high = y_range
    count = len(x_values)
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(index):
        return left + plot_w * (index + 0.5) / count

    def py(value):
        return top + plot_h * (high - value) / (high - low)

    # Axes, ticks and labels
    for tick in _ticks(low, high):
        y = py(tick)
        draw.line([left, y, left + plot_w, y], fill=(230, 230, 230))
        draw.line([left - 4, y, left, y], fill="black")
        draw.text((left - 6, y), f"{tick:g}", fill="black", font=font, anchor="rm")
    draw.rectangle([left, top, left + plot_w, top + plot_h], outline="black")
    for index, value in enumerate(x_values):
        x = px(index)
        draw.line([x, top + plot_h, x, top + plot_h + 4], fill="black")
        draw.text(
            (x, top + plot_h + 6), f"{value:g}", fill="black", font=font, anchor="mt"
        )
    draw.text((left + plot_w / 2, 6), title, fill="black", font=font, anchor="mt")
    draw.text(
        (left + plot_w / 2, height - 6), x_label, fill="black", font=font, anchor="mb"
    )
    label = Image.new("RGB", (plot_h, 18), "white")
    ImageDraw.Draw(label).text(
        (plot_h / 2, 9), y_label, fill="black", font=font, anchor="mm"
    )
    image.paste(label.rotate(90, expand=True), (2, top))
    # Lines, error bars, legend
    for number, (name, (means, spreads)) in enumerate(series.items()):
        colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
        shift = (number - (len(series) - 1) / 2) * 4  # bars side by side
        points = [(px(i) + shift, py(m)) for i, m in enumerate(means)]
        draw.line(points, fill=colour, width=2)
        for (x, y), mean, spread in zip(points, means, spreads):
            y_low, y_high = py(mean - spread), py(mean + spread)
            draw.line([x, y_low, x, y_high], fill=colour, width=1)
            draw.line([x - 4, y_low, x + 4, y_low], fill=colour, width=1)
            draw.line([x - 4, y_high, x + 4, y_high], fill=colour, width=1)
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        y = top + 8 + 16 * number
        draw.line([left + 8, y, left + 26, y], fill=colour, width=2)
        draw.text((left + 30, y), name, fill="black", font=font, anchor="lm")
    return np.asarray(image)
