"""Smoke test of the claims script (its numbers are in the README)."""

import json
import math
import os
import subprocess
import sys

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _quick_claims(*flags):
    """bench/claims.py --quick with `flags`, in its own process."""
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "claims.py"), "--quick", *flags],
        capture_output=True,
        text=True,
        timeout=400,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def test_quick_claims_run_end_to_end(tmp_path):
    output = tmp_path / "claims.json"
    result = _quick_claims("--rows=vae", f"--output_json={output}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| sdn |" in result.stdout and "| deconv |" in result.stdout
    assert result.stdout.startswith("CPU: ")  # the machine, named
    report = json.loads(output.read_text())
    for decoder in ("sdn", "deconv"):
        terms = report["vae"][decoder]
        assert len(terms["nelbo"]) == len(report["seeds"]) == 1
        # The negative ELBO is its two terms' sum.
        assert math.isclose(
            terms["nelbo"][0], terms["kl"][0] + terms["recon"][0], rel_tol=1e-4
        )


def test_quick_density_curve_draws_and_reads_its_curves(tmp_path):
    output, figures = tmp_path / "claims.json", tmp_path / "figures"
    result = _quick_claims(
        "--rows=density_curve", f"--output_json={output}", f"--figures_dir={figures}"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(output.read_text())["density_curve"]
    for name in ("sdn", "iaf"):
        (records,) = report[name]  # one seed
        assert [r["step"] for r in records] == [2, 4]
        seconds = [r["seconds"] for r in records]
        assert 0 < seconds[0] < seconds[1]
        assert all(math.isfinite(r["bpd"]) and r["bpd"] > r["kl_bpd"] for r in records)
    assert "| 4 |" in result.stdout and "SDN-VAE ahead (mean) from:" in result.stdout
    assert (figures / "density_curve.png").stat().st_size > 10_000


def test_quick_figure7_row_draws_figure_7_and_prints_table_2(tmp_path):
    figures = tmp_path / "figures"
    result = _quick_claims("--rows=figure7", f"--figures_dir={figures}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "**Figure 7 in miniature, sdn_shapes**" in result.stdout
    assert "**Table 2 in miniature, sdn_shapes**" in result.stdout
    for decoder in ("CNN", "SDN"):
        assert f"| 1 | {decoder} |" in result.stdout  # Figure 7's rows
        assert f"| {decoder} |" in result.stdout  # Table 2's
    # The figure (two panels, 1000x400 at 100 dpi), its numbers beside it.
    assert Image.open(figures / "figure7_miniature.png").size == (1000, 400)
    report = json.loads((figures / "figure7_miniature.json").read_text())
    assert len(report["runs"]) == 2 * len(report["betas"])  # CNN, SDN; 1 seed
    for run in report["runs"]:
        assert 0 <= run["active_latents"] <= 10
        assert 0.0 <= run["beta_vae"] <= 1.0 and 0.0 <= run["factor_vae"] <= 1.0
        assert math.isclose(run["nelbo"], run["kl"] + run["recon"], rel_tol=1e-4)
    assert report["anneal_schedule"] == "authors" and report["anneal_steps"] == 2
