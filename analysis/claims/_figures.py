"""The one figure per claim: anytime curves with bootstrap bands, or paired effects per seed."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.claims._measures import pair_rows  # noqa: E402
from analysis.claims._spec import Claim  # noqa: E402
from analysis.curves import aggregate, anytime_curves, budget_grid, clock_unit  # noqa: E402
from analysis.load import Results  # noqa: E402

__all__ = ["plot_claim"]

_AXIS = {"cum_units": "compute units", "virtual_time": "virtual time",
         "trials": "trials"}
_EFFECT = {"quality": "loss(b) − loss(a), normalized regret",
           "test": "test loss(b) − test loss(a)",
           "saving": "saving of a: 1 − units(a) / units(b)",
           "saving_full": "saving: 1 − units / (configurations × R)",
           "exploration": "spread(a) − spread(b), unit cube"}


def plot_claim(results: Results, claim: Claim, paired: pd.DataFrame,
               budget: pd.Series | None, row: pd.Series, folder: Path) -> Path:
    """Draw the claim's figure into `folder`; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    if claim.figure == "anytime" and claim.b is not None:
        fig = _anytime(results, claim, budget)
    else:
        fig = _paired(claim, paired, row)
    path = folder / f"claim_{claim.key}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _anytime(results: Results, claim: Claim, budget: pd.Series | None) -> plt.Figure:
    axis = claim.axis
    fig, ax = plt.subplots(figsize=(7, 4.2))
    arms = [claim.a, claim.b]
    rows = {arm: pair_rows(results, arm.problem, arm.optimizer) for arm in arms}
    top = max(float(r[axis].max()) for r in rows.values())
    grid = budget_grid(top, n_points=80)
    for arm, color in zip(arms, ("tab:blue", "tab:orange"), strict=True):
        # one pair's few columns, not a mask over (or a take of) every report
        cells = results.cells[(results.cells.problem == arm.problem)
                              & (results.cells.optimizer == arm.optimizer)]
        sub = Results(rows[arm].assign(problem=arm.problem, optimizer=arm.optimizer), cells)
        curves = anytime_curves(sub, axis, grids={arm.problem: grid})
        agg = aggregate(curves, value="best", n_boot=500)
        ax.step(agg.x, agg["mean"], where="post", color=color, label=f"{arm} (mean)")
        ax.fill_between(agg.x, agg.ci_low, agg.ci_high, step="post", color=color,
                        alpha=0.2, lw=0, label="95 % bootstrap CI")
    if budget is not None and not budget.empty:
        ax.axvline(float(budget.min()), color="k", ls=":", lw=1,
                   label="compared here (lowest seed budget)")
    label = _AXIS.get(axis, axis)
    if axis == "virtual_time":
        seconds = clock_unit(results, claim.a.problem) == "seconds"
        label += " (s, recorded)" if seconds else " (units)"
    ax.set_xlabel(label)
    direction = results.directions()[claim.a.problem]
    ax.set_ylabel(f"incumbent ({'lower' if direction == 'minimize' else 'higher'} is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(f"{claim.key}: {claim.hypothesis}", fontsize=8, wrap=True)
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.13, top=0.88)
    return fig


def _paired(claim: Claim, paired: pd.DataFrame, row: pd.Series) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    d = paired.effect.to_numpy(dtype=float)
    seeds = paired.seed.to_numpy()
    ax.axhspan(-claim.margin, claim.margin, color="0.85", lw=0,
               label=f"equivalence margin ±{claim.margin:g}")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.plot(seeds, d, "o", ms=4, color="tab:blue", label="effect per seed")
    if len(d):
        ax.axhline(float(row.effect), color="tab:red", lw=1.2, label="mean effect")
        ax.axhspan(float(row.ci_low), float(row.ci_high), color="tab:red", alpha=0.15, lw=0,
                   label="95 % bootstrap CI")
    if claim.chapter is not None:
        ax.axhline(claim.chapter, color="tab:green", ls="--", lw=1.2,
                   label=f"chapter: {claim.chapter:g}")
    ax.set_xlabel("seed")
    ax.set_ylabel(_EFFECT.get(claim.measure, "effect") + "\n(positive favours the claim)",
                  fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False, loc="best")
    ax.set_title(f"{claim.key}: {claim.hypothesis}\nverdict: {row.verdict}", fontsize=8)
    fig.subplots_adjust(left=0.15, right=0.97, bottom=0.13, top=0.86)
    return fig
