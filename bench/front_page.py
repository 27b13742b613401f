"""The front page's picture of the main job: python bench/front_page.py.

Runs the main job (the README's first command, `python -m train.density`,
without --export) into --output_dir unless a finished run is there, then
copies what it drew (samples.png: test patches, their reconstructions, prior
samples per temperature) to docs/images/main_job_samples.png, and what it
printed, its results and the machine to docs/images/main_job.json, the
figures the README quotes. Time it on a quiet machine: the JSON keeps the
wall-clock minutes.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import machine
from absl import app, flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES = os.path.join(ROOT, "docs", "images")

FLAGS = flags.FLAGS
flags.DEFINE_string("output_dir", "runs/photo_patches", "The main job's run directory.")
flags.DEFINE_string("images_dir", IMAGES, "Where the picture and JSON go.")


def run_main_job(output_dir):
    """(console output, minutes) of `python -m train.density` into output_dir."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "train.density", f"--output_dir={output_dir}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the main job failed:\n{done.stderr[-3000:]}")
    return done.stdout, (time.perf_counter() - started) / 60


def main(argv):
    del argv
    output_dir = os.path.abspath(FLAGS.output_dir)
    results_path = os.path.join(output_dir, "results.json")
    lines = machine.describe()
    for line in lines:
        print(line)
    record = {
        "machine": lines,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    if not os.path.exists(results_path):
        record["console"], record["minutes"] = run_main_job(output_dir)
        print(record["console"])
    with open(results_path, encoding="utf-8") as f:
        results = json.load(f)
    record["test_bpd"] = results["test_bpd"]
    record["steps"] = results["step"]
    os.makedirs(FLAGS.images_dir, exist_ok=True)
    picture = os.path.join(FLAGS.images_dir, "main_job_samples.png")
    shutil.copyfile(results["figures"]["samples"], picture)
    with open(os.path.join(FLAGS.images_dir, "main_job.json"), "w") as f:
        json.dump(record, f, indent=2)
    print(f"Picture: {picture}; test bits/dim {record['test_bpd']:.3f}")


if __name__ == "__main__":
    app.run(main)
