"""The anytime axes follow a cell's clock: a study run with `clock=seconds` is read, curved
and drawn over virtual time in seconds; cells stored before the clock existed read as units."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.curves import aggregate, anytime_curves, clock_unit
from analysis.load import load_results
from analysis.plots import plot_anytime, plot_rank_over_budget
from analysis.stats import rank_over_budget
from benchmarks.run import main


def _study(tmp_path, name, *args, optimizers="asha,sha"):
    assert main(["problem=lgbm_table", f"optimizer={optimizers}", "-m", "seeds=[0,1]",
                 "budget.units=1500", f"study={name}", f"results_dir={tmp_path}", *args]) == 0
    return load_results(tmp_path / name)


def test_a_seconds_clock_study_has_curves_over_virtual_seconds(tmp_path):
    results = _study(tmp_path, "sec", "workers=8", "clock=seconds", "budget.virtual_time=1.0")
    assert set(results.cells.clock) == {"seconds"}
    assert set(results.cells.stop_reason) <= {"virtual_time", "units"}
    assert clock_unit(results, "lgbm_table") == "seconds"
    curves = anytime_curves(results, "virtual_time", grids={"lgbm_table": [0.25, 0.5, 1.0]})
    assert len(curves) == 2 * 2 * 3  # optimizers x seeds x points
    for (optimizer, seed), g in curves.groupby(["optimizer", "seed"]):
        rows = results.reports[(results.reports.optimizer == optimizer)
                               & (results.reports.seed == seed)]
        at = rows[rows.virtual_time <= 0.5].best_loss  # the incumbent at 0.5 s, by hand
        expected = at.iloc[-1] if len(at) else np.nan
        np.testing.assert_equal(g[g.x == 0.5].best_loss.to_numpy(), [expected])
    table = aggregate(curves, n_boot=50)
    assert set(table.x) == {0.25, 0.5, 1.0} and set(table.optimizer) == {"asha", "sha"}
    figure, = plot_anytime(results, tmp_path / "figures")
    assert figure.stat().st_size > 0


def test_units_cells_and_mixed_clocks_say_so(tmp_path):
    units = _study(tmp_path, "units", "workers=2")
    assert set(units.cells.clock) == {"units"}
    assert "clock" not in units.cells.meta[0]["cell_config"]  # as stored before the clock
    assert clock_unit(units, "lgbm_table") == "units"
    _study(tmp_path, "sec", "workers=2", "clock=seconds")
    both = load_results([tmp_path / "units", tmp_path / "sec"])
    assert clock_unit(both, "lgbm_table") == "mixed"


def test_ranks_over_virtual_time_rank_at_equal_simulated_time(tmp_path):
    results = _study(tmp_path, "sec", "workers=8", "clock=seconds",
                     optimizers="asha,sha,random,hyperband")
    ranks = rank_over_budget(results, n_points=4, axis="virtual_time")
    top = results.reports.virtual_time.max()
    curves = anytime_curves(results, "virtual_time",
                            grids={"lgbm_table": np.array([0.25, 0.5, 0.75, 1.0]) * top})
    curves["fraction"] = (curves.x / top).round(6)
    by_hand = (curves.assign(rank=curves.fillna({"best_loss": np.inf})
                             .groupby(["seed", "fraction"]).best_loss.rank())
               .groupby(["fraction", "optimizer"])["rank"].mean())
    assert ranks.set_index(["fraction", "optimizer"])["rank"].to_dict() == pytest.approx(
        by_hand.to_dict())
    path, = plot_rank_over_budget(ranks, tmp_path / "f", label="virtual time (s, recorded)",
                                  name="rank_over_virtual_time")
    assert path.name == "rank_over_virtual_time.png" and path.stat().st_size > 0
