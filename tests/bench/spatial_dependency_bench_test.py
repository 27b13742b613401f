"""Tests of what bench/spatial_dependency_bench.py writes (no timing)."""

import json

import pytest
import spatial_dependency_bench as bench  # bench/, on pytest's pythonpath
from PIL import Image

SCALES = [4, 8]
PASSES = ["forward", "forward+backward"]


def _results(authors):
    """Synthetic timings: every layer k times Conv2D 3x3's at each scale."""
    names = ["3x3CNN", "5x5CNN", *bench.sdn_names(bench.sdn_variants())]
    if authors:
        names += ["authors-2dir-SDN", "torch-3x3CNN"]
    return {
        (p, s, name): (float((k + 1) * s), 0.1)
        for p in PASSES
        for s in SCALES
        for k, name in enumerate(names)
    }


@pytest.mark.parametrize("authors", [False, True])
def test_the_ratios_are_drawn_into_a_png(tmp_path, authors):
    path = bench.draw_ratios(
        _results(authors),
        SCALES,
        PASSES,
        bench.sdn_variants(),
        authors,
        str(tmp_path / "ratios.png"),
        "title",
    )
    with Image.open(path) as image:
        width, height = image.size
    assert image.format == "PNG"
    # Two panels (against Conv2D and against the authors) are twice as wide.
    assert width == (1100 if authors else 550) and height == 400


def test_the_json_keeps_every_timing(tmp_path):
    results = _results(authors=True)
    path = tmp_path / "timings.json"
    bench.save_json(results, path, {"batch": 32})
    saved = json.loads(path.read_text())
    assert saved["settings"] == {"batch": 32}
    restored = {
        (p, int(s), n): tuple(v)
        for key, v in saved["results"].items()
        for p, s, n in [key.split("|")]
    }
    assert restored == results
