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
    "sample_step",
]

#: The x axes an anytime curve can use (columns of the reports).
AXES = ("cum_units", "virtual_time", "wall_time")


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
    reports = results.reports
    out = []
    for problem, prob_rows in reports.groupby("problem", sort=True):
        grid = (grids or {}).get(problem)
        if grid is None:
            grid = budget_grid(float(prob_rows[axis].max()), n_points)
        sign = results.sign(problem)
        for (optimizer, seed), rows in prob_rows.groupby(["optimizer", "seed"], sort=True):
            # wall/virtual time can tie; cum_units is non-decreasing in recorded order.
            x = np.maximum.accumulate(rows[axis].to_numpy(dtype=float))
            best = sample_step(x, rows.best_loss.to_numpy(dtype=float), grid)
            out.append(pd.DataFrame({
                "problem": problem, "optimizer": optimizer, "seed": int(seed), "x": grid,
                "best_loss": best, "best": sign * best,
            }))
    if not out:
        return pd.DataFrame(columns=["problem", "optimizer", "seed", "x", "best_loss", "best"])
    return pd.concat(out, ignore_index=True)


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
        wide = group.pivot_table(index="x", columns="seed", values=value, dropna=False,
                                 aggfunc="first").sort_index()
        m = wide.to_numpy(dtype=float)
        n = (~np.isnan(m)).sum(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # points with no seed yet
            low, high = _bootstrap(m, n_boot, level, np.random.default_rng(seed))
            frame = pd.DataFrame({
                "problem": problem, "optimizer": optimizer, "x": wide.index.to_numpy(),
                "n": n, "median": np.nanmedian(m, axis=1),
                "q25": np.nanquantile(m, 0.25, axis=1), "q75": np.nanquantile(m, 0.75, axis=1),
                "mean": np.nanmean(m, axis=1), "ci_low": low, "ci_high": high,
            })
        out.append(frame)
    if not out:
        return pd.DataFrame(columns=["problem", "optimizer", "x", "n", "median", "q25", "q75",
                                     "mean", "ci_low", "ci_high"])
    return pd.concat(out, ignore_index=True)
