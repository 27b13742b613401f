"""Tests of how bench/density_curve.py reads curves (no training)."""

import density_curve  # bench/, on pytest's pythonpath
import numpy as np
import pytest


def _runs(bpd_per_seed, seconds_per_step):
    return [
        [
            dict(step=100 * (i + 1), seconds=seconds_per_step * 100 * (i + 1), bpd=b)
            for i, b in enumerate(bpds)
        ]
        for bpds in bpd_per_seed
    ]


def test_first_lead_is_where_sdn_stays_ahead():
    x = np.array([1, 2, 3, 4])
    sdn = np.array([[5.0, 4.0, 4.5, 3.0]])
    iaf = np.array([[4.0, 4.5, 4.2, 3.5]])
    # Ahead at 2, behind at 3, ahead from 4 on.
    assert density_curve.first_lead(x, sdn, iaf) == 4
    assert density_curve.first_lead(x, iaf + 1, iaf) is None


def test_curves_at_equal_seconds_interpolate_each_run():
    runs = _runs([[6.0, 5.0, 4.0]], seconds_per_step=0.5)  # at 50, 100, 150 s
    values = density_curve.at_seconds(runs, np.array([50.0, 75.0, 150.0, 200.0]))
    np.testing.assert_allclose(values[0, :3], [6.0, 5.5, 4.0])
    assert np.isnan(values[0, 3])


def test_markdown_reports_the_lead_by_steps_and_by_time():
    results = {
        "steps": 300,
        "every": 100,
        # SDN better per step but twice as slow per step.
        "sdn": _runs([[5.0, 4.0, 3.0], [5.2, 4.2, 3.2]], seconds_per_step=1.0),
        "iaf": _runs([[5.5, 4.5, 3.5], [5.5, 4.5, 3.5]], seconds_per_step=0.5),
    }
    text = density_curve.markdown(results)
    assert "| 300 | 3.100 ± 0.141 | 3.500 ± 0.000 | -0.400 ± 0.141 |" in text
    assert "ahead (mean) from: step 100;" in text
    # Over 100-150 s both ran: SDN 5.1 -> 4.6, IAF 4.5 -> 3.5.
    assert "never, by training time" in text


@pytest.mark.parametrize("points", [5, 50])
def test_seconds_grid_covers_only_the_time_every_run_covers(points):
    results = {
        "sdn": _runs([[5.0, 4.0, 3.0]], seconds_per_step=1.0),
        "iaf": _runs([[5.5, 4.5, 3.5]], seconds_per_step=0.5),
    }
    grid = density_curve.seconds_grid(results, points)
    assert grid[0] == 100.0 and grid[-1] == 150.0 and len(grid) == points


def test_curves_of_other_seeds_join_into_one_row():
    first = {"steps": 300, "every": 100, "sdn": _runs([[6.0, 5.0, 4.0]], 0.5)}
    first["iaf"] = _runs([[6.5, 5.5, 4.5]], 0.2)
    second = {"steps": 300, "every": 100, "sdn": _runs([[5.0, 4.0, 3.0]], 0.5)}
    second["iaf"] = _runs([[6.0, 5.0, 4.0]], 0.2)
    joined = density_curve.joined(first, second)
    assert joined["sdn"] == first["sdn"] + second["sdn"]
    assert joined["iaf"] == first["iaf"] + second["iaf"]
    _, bpd = density_curve.by_step(joined["sdn"])
    assert bpd.shape == (2, 3)


def test_curves_of_other_settings_do_not_join():
    first = {"steps": 300, "every": 100, "sdn": [], "iaf": []}
    with pytest.raises(ValueError, match="steps/every 300/100 and 400/100"):
        density_curve.joined(first, dict(first, steps=400))
