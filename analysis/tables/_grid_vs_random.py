"""Chapter 2.1: grid search against random search (wall time, units, scores)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.load import Results
from analysis.stats import final_values
from analysis.tables._table import Table, _mean_std, _trial_ends
from analysis.tables.families import family, first_of

__all__ = ["grid_vs_random"]


def grid_vs_random(results: Results, random: str | None = None) -> Table:
    """Chapter 2.1: the chapter grid against random search (on `rf`; any problem with both)."""
    random = random or first_of(results, "random_baseline")
    grid_family = family(results, "grid")
    finals = final_values(results)
    rows, notes = [], []
    problems = sorted(set(results.cells.problem))
    problems.sort(key=lambda p: p != "rf")
    for problem in problems:
        sub = finals[finals.problem == problem]
        grids = [g for g in grid_family if g in set(sub.optimizer)]
        if not grids or random not in set(sub.optimizer):
            continue
        grid = grids[0]
        grid_wall = sub[sub.optimizer == grid].wall_time.mean()
        grid_units = sub[sub.optimizer == grid].units.mean()
        for optimizer in (grid, random):
            o = sub[sub.optimizer == optimizer]
            evaluations = results.rows(problem, optimizer)
            n_eval = _trial_ends(evaluations).groupby("seed").size().mean()
            rows.append({
                "problem": problem, "optimizer": optimizer, "seeds": len(o),
                "evaluations": n_eval, "best CV score": o.best.mean(),
                "best (mean ± std)": _mean_std(o.best),
                "test score of incumbent": o.test_value.mean(),
                "wall time (s)": o.wall_time.mean(), "compute units": o.units.mean(),
                "time reduction vs grid": 1.0 - o.wall_time.mean() / grid_wall
                if grid_wall > 0 else np.nan,
                "unit reduction vs grid": 1.0 - o.units.mean() / grid_units
                if grid_units > 0 else np.nan,
            })
    if not rows:
        notes.append("needs `problem=rf` with `optimizer=grid_rf_chapter` (or grid / "
                     "optuna_grid) and `optimizer=random`.")
    elif "rf" not in {r["problem"] for r in rows}:
        notes.append("the chapter's version uses `rf` with `grid_rf_chapter`; this study "
                     "compares grid and random on the problems listed.")
    return Table(
        "grid_vs_random", "Grid search vs random search (chapter 2.1)", pd.DataFrame(rows),
        """\
- *evaluations*: evaluations recorded per cell (mean over seeds).
- *best CV score*: the final incumbent in the problem's direction (for `rf`, the mean 3-fold
  CV accuracy of the best configuration), mean over seeds; *best (mean ± std)* adds the std.
- *test score of incumbent*: the held-out test metric recorded with the report that first
  reached the final incumbent (`test_value`), mean over seeds.
- *wall time (s)*: real seconds per cell (mean); *compute units*: units spent per cell.
- *time reduction vs grid*: 1 − wall(random) / wall(grid), as the chapter prints it
  (wall time depends on the machine; the unit reduction does not).
""", notes)
