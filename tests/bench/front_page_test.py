"""Tests of bench/front_page.py on a finished run (it trains nothing then)."""

import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_a_finished_runs_picture_and_numbers_go_to_the_images_dir(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    pixels = np.random.default_rng(0).integers(0, 256, (8, 8, 3), np.uint8)
    Image.fromarray(pixels).save(run / "samples.png")
    results = {
        "test_bpd": 4.5,
        "step": 400,
        "figures": {"samples": str(run / "samples.png")},
    }
    (run / "results.json").write_text(json.dumps(results))
    images = tmp_path / "images"
    done = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "bench", "front_page.py"),
            f"--output_dir={run}",
            f"--images_dir={images}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with Image.open(images / "main_job_samples.png") as copied:
        np.testing.assert_array_equal(np.asarray(copied), pixels)
    record = json.loads((images / "main_job.json").read_text())
    assert (record["test_bpd"], record["steps"]) == (4.5, 400)
    assert record["machine"][0].startswith("CPU: ")
    assert "console" not in record  # nothing was run
