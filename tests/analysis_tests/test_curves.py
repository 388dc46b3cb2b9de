"""Step-function sampling (no look-ahead), anytime curves and aggregation over seeds."""

import numpy as np
import pandas as pd
import pytest

from analysis.curves import aggregate, anytime_curves, bootstrap_ci, sample_step
from analysis.load import load_results
from tests.analysis_tests.cells import write_test_cell


def test_sample_step_takes_last_observation_at_or_before_each_point():
    got = sample_step([1, 3, 3, 5], [4, 3, 2, 1], [0, 1, 2, 2.999, 3, 4, 5, 6])
    np.testing.assert_array_equal(got, [np.nan, 4, 4, 4, 2, 2, 1, 1])


def test_sample_step_never_looks_ahead():
    # an improvement recorded at x=10 must not show at x=9.999
    got = sample_step([0, 10], [5.0, 1.0], [9.999, 10.0])
    np.testing.assert_array_equal(got, [5.0, 1.0])


def test_sample_step_rejects_decreasing_x():
    with pytest.raises(ValueError, match="`x` must be non-decreasing"):
        sample_step([2, 1], [1, 1], [1])
    with pytest.raises(ValueError, match="`x` and `y` must have the same length"):
        sample_step([1, 2], [1], [1])


def test_anytime_curves_on_shared_grid_in_problem_direction(tmp_path):
    # maximize: values 0.2, 0.5, 0.4 at units 2, 4, 6 -> incumbent 0.2, 0.5, 0.5
    reps = [dict(trial=0, value=0.2, units=2), dict(trial=1, value=0.5, units=2),
            dict(trial=2, value=0.4, units=2)]
    write_test_cell(tmp_path, "p", "random", 0, reps, direction="maximize")
    write_test_cell(tmp_path, "p", "grid", 0, reps[:1], direction="maximize")
    res = load_results(tmp_path / "s")
    curves = anytime_curves(res, "cum_units", grids={"p": np.array([0, 1, 2, 3, 4, 8])})
    rnd = curves[curves.optimizer == "random"]
    np.testing.assert_array_equal(rnd.best, [np.nan, np.nan, 0.2, 0.2, 0.5, 0.5])
    np.testing.assert_array_equal(rnd.best_loss, [np.nan, np.nan, -0.2, -0.2, -0.5, -0.5])
    grid = curves[curves.optimizer == "grid"]
    # a cell that ended keeps its last incumbent
    np.testing.assert_array_equal(grid.best, [np.nan, np.nan, 0.2, 0.2, 0.2, 0.2])
    # default grid: 0 .. largest x of the problem's cells
    default = anytime_curves(res, "cum_units", n_points=4)
    np.testing.assert_allclose(sorted(set(default.x)), [0, 2, 4, 6])
    with pytest.raises(ValueError, match="`axis` must be one of"):
        anytime_curves(res, "steps")


def _curves(values_by_seed):
    rows = []
    for seed, values in enumerate(values_by_seed):
        for x, v in enumerate(values):
            rows.append({"problem": "p", "optimizer": "o", "seed": seed, "x": float(x),
                         "best": v})
    return pd.DataFrame(rows)


def test_aggregate_median_iqr_mean_by_hand():
    agg = aggregate(_curves([[1.0, 1.0], [2.0, np.nan], [4.0, 3.0]]), n_boot=200)
    first, second = agg.iloc[0], agg.iloc[1]
    assert (first.n, first["median"], first.q25, first.q75) == (3, 2.0, 1.5, 3.0)
    assert first["mean"] == pytest.approx(7 / 3)
    # a seed without an observation is left out of that point
    assert (second.n, second["median"], second["mean"]) == (2, 2.0, 2.0)
    assert first.ci_low <= first["mean"] <= first.ci_high
    assert first.ci_low >= 1.0
    assert first.ci_high <= 4.0


def test_bootstrap_is_seeded_and_matches_a_direct_resampling():
    v = np.array([0.1, 0.4, 0.35, 0.8, 0.2])
    rng = np.random.default_rng(7)
    means = v[rng.integers(0, v.size, size=(500, v.size))].mean(axis=1)
    expected = (np.quantile(means, 0.025), np.quantile(means, 0.975))
    assert bootstrap_ci(v, n_boot=500, seed=7) == pytest.approx(expected)
    assert bootstrap_ci(v, n_boot=500, seed=7) == bootstrap_ci(v, n_boot=500, seed=7)
    assert bootstrap_ci(v, n_boot=500, seed=8) != bootstrap_ci(v, n_boot=500, seed=7)
    # the curve aggregate uses the same resampling at every point
    agg = aggregate(_curves([[x] for x in v]), n_boot=500, seed=7)
    assert (agg.ci_low[0], agg.ci_high[0]) == pytest.approx(expected)
