"""Anytime (incumbent) curves: step functions sampled on a shared grid, aggregated over seeds."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.load import Results

__all__ = [
    "AXES",
    "aggregate",
    "anytime_curves",
    "bootstrap_ci",
    "budget_grid",
    "clock_unit",
    "sample_step",
]

#: The x axes an anytime curve can use (columns of the reports).
AXES = ("cum_units", "virtual_time", "wall_time")


def clock_unit(results: Results, problem: str) -> str:
    """What the `virtual_time` of a problem's cells counts: "units", "seconds" (cells run
    with `clock=seconds`) or "mixed" (both: their virtual times are not comparable).
    """
    clocks = set(results.cells.clock[results.cells.problem == problem]) if (
        "clock" in results.cells) else {"units"}
    return clocks.pop() if len(clocks) == 1 else "mixed" if clocks else "units"


def sample_step(x: Sequence[float], y: Sequence[float], grid: Sequence[float]) -> np.ndarray:
    """Sample the step function through (x, y) at `grid`: the last y with x <= point.

    No interpolation and no look-ahead: a point before the first observation is NaN, and an
    observation at exactly the point counts. `x` must be non-decreasing; among equal x the
    last observation wins (it was recorded last).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    grid = np.asarray(grid, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"`x` and `y` must have the same length, got {x.size} and {y.size}.")
    if x.size and np.any(np.diff(x) < 0):
        raise ValueError("`x` must be non-decreasing (the recorded order of a cell's reports).")
    index = np.searchsorted(x, grid, side="right") - 1
    out = np.full(grid.shape, np.nan)
    ok = index >= 0
    out[ok] = y[index[ok]]
    return out


def budget_grid(max_x: float, n_points: int = 50, log: bool = False,
                min_x: float = 1.0) -> np.ndarray:
    """Return a shared grid from 0 (or `min_x` on a log grid) to `max_x` inclusive."""
    if n_points < 2:
        raise ValueError(f"`n_points` must be >= 2, got {n_points}.")
    if max_x <= 0:
        return np.zeros(1)
    if log and max_x > min_x > 0:
        return np.unique(np.geomspace(min_x, max_x, n_points))
    return np.linspace(0.0, max_x, n_points)


def anytime_curves(results: Results, axis: str = "cum_units", n_points: int = 50,
                   grids: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Each cell's incumbent on a grid shared by all cells of its problem.

    Returns a long frame with columns problem, optimizer, seed, x, best_loss, best (the
    incumbent in the problem's direction). The grid of a problem runs from 0 to the largest
    `axis` value of its cells unless `grids` gives it. After a cell's last report its
    incumbent stays constant (the last observation at or before each point).
    """
    if axis not in AXES:
        raise ValueError(f"`axis` must be one of {', '.join(AXES)}, got {axis!r}.")
    cells = results.cell_index()
    if not cells:
        return pd.DataFrame(columns=["problem", "optimizer", "seed", "x", "best_loss", "best"])
    values = results.reports[axis].to_numpy(dtype=float)
    losses = results.reports.best_loss.to_numpy(dtype=float)
    problem_grids = {}
    for problem in sorted({key[0] for key, _ in cells}):
        grid = (grids or {}).get(problem)
        if grid is None:
            top = max(np.nanmax(values[rows]) for key, rows in cells if key[0] == problem)
            grid = budget_grid(float(top), n_points)
        problem_grids[problem] = np.asarray(grid)
    columns: dict[str, list] = {"problem": [], "optimizer": [], "seed": [], "x": [],
                                "best_loss": [], "best": []}
    # One pass over the cells with numpy only; the frame is built once at the end.
    for (problem, optimizer, seed), rows in cells:
        grid = problem_grids[problem]
        # wall/virtual time can tie; cum_units is non-decreasing in recorded order.
        x = np.maximum.accumulate(values[rows])
        best = sample_step(x, losses[rows], grid)
        n = grid.size
        columns["problem"].extend([problem] * n)
        columns["optimizer"].extend([optimizer] * n)
        columns["seed"].append(np.full(n, int(seed), dtype=np.int64))
        columns["x"].append(grid)
        columns["best_loss"].append(best)
        columns["best"].append(results.sign(problem) * best)
    return pd.DataFrame({k: v if k in ("problem", "optimizer") else np.concatenate(v)
                         for k, v in columns.items()})


def bootstrap_ci(values: Sequence[float], n_boot: int = 1000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean (seeded; NaNs dropped)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return (np.nan, np.nan)
    low, high = _bootstrap(v[None, :], n_boot, level, np.random.default_rng(seed))
    return float(low[0]), float(high[0])


def _bootstrap(matrix: np.ndarray, n_boot: int, level: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise percentile bootstrap of the mean; the same resampled seeds for every row.

    A row's NaNs (seeds not observed yet) are left out of each resample's mean.
    """
    n = matrix.shape[1]
    index = rng.integers(0, n, size=(n_boot, n))
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN resamples give NaN
        means = np.nanmean(matrix[:, index], axis=2)  # (rows, n_boot)
        alpha = (1.0 - level) / 2.0
        return (np.nanquantile(means, alpha, axis=1), np.nanquantile(means, 1.0 - alpha, axis=1))


def _by_x_and_seed(group: pd.DataFrame, value: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the sorted x values and the matrix x × seed (sorted) of `value`, NaN if absent.

    A curve has one value per (x, seed), so the matrix is filled directly; anything else
    (repeated points, NaN x) goes through `pivot_table`, which keeps the first value.
    """
    x, seed = group.x.to_numpy(), group.seed.to_numpy()
    xs, xi = np.unique(x, return_inverse=True)
    seeds, si = np.unique(seed, return_inverse=True)
    cell = xi * seeds.size + si
    if np.isnan(xs.astype(float)).any() or np.unique(cell).size != cell.size:
        wide = group.pivot_table(index="x", columns="seed", values=value, dropna=False,
                                 aggfunc="first").sort_index()
        return wide.index.to_numpy(), wide.to_numpy(dtype=float)
    m = np.full((xs.size, seeds.size), np.nan)
    m[xi, si] = group[value].to_numpy(dtype=float)
    return xs, m


def aggregate(curves: pd.DataFrame, value: str = "best", n_boot: int = 1000,
              seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Across seeds, per (problem, optimizer, x): n, median, q25, q75, mean, ci_low, ci_high.

    Quantiles interpolate linearly between order statistics (numpy's default); the CI is
    the percentile bootstrap of the mean over seeds (`n_boot` resamples of the seeds, from a
    generator seeded by `seed`, the same resamples at every x of a curve). Seeds with no
    observation yet at a point (NaN) are left out of that point's statistics.
    """
    out = []
    for (problem, optimizer), group in curves.groupby(["problem", "optimizer"], sort=True):
        xs, m = _by_x_and_seed(group, value)
        n = (~np.isnan(m)).sum(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # points with no seed yet
            low, high = _bootstrap(m, n_boot, level, np.random.default_rng(seed))
            frame = pd.DataFrame({
                "problem": problem, "optimizer": optimizer, "x": xs,
                "n": n, "median": np.nanmedian(m, axis=1),
                "q25": np.nanquantile(m, 0.25, axis=1), "q75": np.nanquantile(m, 0.75, axis=1),
                "mean": np.nanmean(m, axis=1), "ci_low": low, "ci_high": high,
            })
        out.append(frame)
    if not out:
        return pd.DataFrame(columns=["problem", "optimizer", "x", "n", "median", "q25", "q75",
                                     "mean", "ci_low", "ci_high"])
    return pd.concat(out, ignore_index=True)
