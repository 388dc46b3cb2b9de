"""Figures (PNG, matplotlib Agg): anytime curves, final box plots, ranks, PBT, CD diagram."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window; safe in workers and CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.curves import aggregate, anytime_curves, clock_unit  # noqa: E402
from analysis.load import Results, cell_reports  # noqa: E402
from analysis.stats import final_values  # noqa: E402
from analysis.tables.families import family  # noqa: E402

__all__ = [
    "plot_anytime",
    "plot_cd_diagram",
    "plot_final_boxes",
    "plot_pbt_schedules",
    "plot_rank_over_budget",
]

_AXIS_LABELS = {"cum_units": "compute units", "virtual_time": "virtual time (units)",
                "wall_time": "wall time (s)"}
#: The virtual-time axis by the clock of the problem's cells (see `clock_unit`).
_VIRTUAL_LABELS = {"units": "virtual time (units)", "seconds": "virtual time (s, recorded)",
                   "mixed": "virtual time (units, or s where clock=seconds)"}


def _colors(names: list[str]) -> dict[str, tuple]:
    # tab10 while it lasts (distinct hues), then tab20's lighter shades
    palette = [*plt.get_cmap("tab10").colors, *plt.get_cmap("tab20").colors[1::2]]
    return {n: palette[i % len(palette)] for i, n in enumerate(sorted(names))}


def plot_anytime(results: Results, folder: Path, n_points: int = 60) -> list[Path]:
    """One PNG per problem: incumbent vs units, virtual time and wall time, median + IQR."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    colors = _colors(list(set(results.cells.optimizer)))
    aggs = {axis: aggregate(anytime_curves(results, axis, grids=_log_grids(results, axis,
                                                                           n_points)),
                            n_boot=200)
            for axis in _AXIS_LABELS}
    for problem in sorted(set(results.cells.problem)):
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
        for ax, (axis, label) in zip(axes, _AXIS_LABELS.items(), strict=True):
            if axis == "virtual_time":
                label = _VIRTUAL_LABELS[clock_unit(results, problem)]
            agg = aggs[axis]
            agg = agg[agg.problem == problem]
            for optimizer, g in agg.groupby("optimizer", sort=True):
                ax.step(g.x, g["median"], where="post", color=colors[optimizer],
                        label=optimizer, lw=1.5)
                ax.fill_between(g.x, g.q25, g.q75, step="post", color=colors[optimizer],
                                alpha=0.15, lw=0)
            ax.set_xlabel(f"{label}, log scale")
            ax.set_xscale("log")
            ax.grid(alpha=0.3)
        direction = results.directions()[problem]
        axes[0].set_ylabel(f"incumbent ({'lower' if direction == 'minimize' else 'higher'} "
                           "is better)")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="center right", fontsize=8, frameon=False)
        fig.suptitle(f"{problem}: anytime incumbent, median and interquartile range over seeds")
        fig.subplots_adjust(left=0.05, right=0.88, bottom=0.14, top=0.88, wspace=0.22)
        path = folder / f"anytime_{problem}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def _log_grids(results: Results, axis: str, n_points: int) -> dict[str, np.ndarray]:
    """Return per problem log-spaced points from the first positive `axis` value to the last.

    Early progress stays visible next to long budgets.
    """
    grids = {}
    for problem, rows in results.reports.groupby("problem"):
        x = rows[axis].to_numpy(dtype=float)
        positive = x[x > 0]
        if positive.size:
            grids[problem] = np.unique(np.geomspace(positive.min(), positive.max(), n_points))
    return grids


def plot_final_boxes(results: Results, folder: Path) -> list[Path]:
    """One PNG per problem: final incumbent per optimizer over seeds (box + points)."""
    folder.mkdir(parents=True, exist_ok=True)
    finals = final_values(results)
    paths = []
    for problem, f in finals.groupby("problem", sort=True):
        names = sorted(set(f.optimizer))
        data = [f[f.optimizer == n].best.dropna().to_numpy() for n in names]
        fig, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(names) + 2.5), 4))
        ax.boxplot(data, tick_labels=names, showmeans=True)
        for i, d in enumerate(data, start=1):
            ax.plot(np.full(d.size, i), d, "o", ms=3, alpha=0.5, color="k")
        ax.set_ylabel("final incumbent")
        ax.set_title(f"{problem}: final performance ({results.directions()[problem]})",
                     fontsize=10)
        ax.tick_params(axis="x", rotation=45)
        ax.grid(axis="y", alpha=0.3)
        fig.subplots_adjust(left=0.2, right=0.97, bottom=0.3, top=0.9)
        path = folder / f"final_{problem}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_rank_over_budget(ranks: pd.DataFrame, folder: Path, label: str = "compute units",
                          name: str = "rank_over_budget") -> list[Path]:
    """Mean rank vs fraction of the budget, one line per optimizer.

    `label` names the budget's axis (e.g. "virtual time (s, recorded)" for ranks from
    ``rank_over_budget(results, axis="virtual_time")``), `name` the PNG file.
    """
    if ranks.empty:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    colors = _colors(list(set(ranks.optimizer)))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for optimizer, g in ranks.groupby("optimizer", sort=True):
        ax.plot(g.fraction, g["rank"], marker=".", color=colors[optimizer], label=optimizer)
    ax.set_xlabel(f"fraction of the problem's budget ({label})")
    ax.set_ylabel("mean rank (1 = best)")
    ax.invert_yaxis()
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    ax.set_title("Rank over budget (averaged over problems and seeds)")
    fig.subplots_adjust(left=0.08, right=0.78, bottom=0.12, top=0.92)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return [path]


def pbt_schedule(cell: pd.DataFrame, trial: int) -> pd.DataFrame:
    """Return the hyperparameters along one trial's lineage: rows (step, param, value).

    Walks `parent_trial` links from `trial` to its root; each ancestor contributes the
    steps it trained before its descendant was cloned from it.
    """
    parents = cell.groupby("trial").parent_trial.first()
    chain = [trial]
    while not pd.isna(parents.get(chain[-1], np.nan)) and len(chain) <= len(parents):
        chain.append(int(parents[chain[-1]]))
    rows, upper = [], np.inf
    for t in chain:  # from the incumbent back to the root
        r = cell[(cell.trial == t) & (cell.step <= upper)]
        for rep in r.itertuples():
            for k, v in json.loads(rep.config).items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    rows.append({"step": int(rep.step), "param": k, "value": float(v)})
        if len(r):
            upper = r.step.min() - 1
    frame = pd.DataFrame(rows, columns=["step", "param", "value"])
    return frame.drop_duplicates(["step", "param"]).sort_values(["param", "step"])


def plot_pbt_schedules(results: Results, folder: Path,
                       optimizers: tuple[str, ...] | None = None) -> list[Path]:
    """For each PBT cell of the lowest seed: the incumbent's hyperparameters over steps."""
    optimizers = family(results, "population") if optimizers is None else optimizers
    folder.mkdir(parents=True, exist_ok=True)
    finals = final_values(results)
    paths = []
    for (problem, optimizer), f in finals[finals.optimizer.isin(optimizers)].groupby(
            ["problem", "optimizer"], sort=True):
        first = f.sort_values("seed").iloc[0]
        cell = cell_reports(results, problem, optimizer, first.seed)
        sched = pbt_schedule(cell, int(first.incumbent_trial))
        params = sorted(set(sched.param))
        if not params:
            continue
        fig, axes = plt.subplots(1, len(params), figsize=(max(8.0, 4.5 * len(params)), 3.8),
                                 squeeze=False)
        for ax, p in zip(axes[0], params, strict=True):
            s = sched[sched.param == p]
            ax.step(s.step, s.value, where="post")
            ax.set_xlabel("fidelity step")
            ax.set_ylabel(p)
            ax.grid(alpha=0.3)
        fig.suptitle(f"{problem} / {optimizer} seed={first.seed}: hyperparameter schedule\n"
                     f"along the incumbent's lineage (trial {first.incumbent_trial})",
                     fontsize=10)
        fig.subplots_adjust(left=0.1, right=0.97, bottom=0.15, top=0.82, wspace=0.35)
        path = folder / f"pbt_{problem}_{optimizer}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_cd_diagram(ranks: pd.Series, cd: float, folder: Path, title: str = "") -> list[Path]:
    """Draw Demšar's critical-difference diagram.

    Average ranks on an axis, a bar of length CD, and thick lines joining groups of
    optimizers whose average ranks differ by less than CD.
    """
    if ranks.empty or not np.isfinite(cd):
        return []
    folder.mkdir(parents=True, exist_ok=True)
    ranks = ranks.sort_values()
    k = len(ranks)
    names, values = list(ranks.index), ranks.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(9, 1.4 + 0.2 * k))
    lo, hi = 1, max(k, 2)
    ax.set_xlim(lo - 2.8, hi + 2.8)  # room for the names on both sides
    ax.set_ylim(-(((k + 1) // 2) * 0.55 + 0.9), 2.0)
    ax.axis("off")
    ax.hlines(0, lo, hi, color="k", lw=1)
    for t in range(lo, hi + 1):
        ax.vlines(t, 0, 0.2, color="k", lw=1)
        ax.text(t, 0.35, str(t), ha="center", fontsize=9)
    ax.hlines(1.4, lo, lo + cd, color="k", lw=2)
    ax.text(lo + cd / 2, 1.6, f"CD = {cd:.2f}", ha="center", fontsize=9)
    half = (k + 1) // 2
    for i, (n, v) in enumerate(zip(names, values, strict=True)):
        left = i < half
        y = -(i if left else k - 1 - i) * 0.55 - 0.8
        x_text = lo - 0.2 if left else hi + 0.2
        ax.plot([v, v, x_text], [0, y, y], color="k", lw=0.8)
        ax.text(x_text, y, f"{n} ({v:.2f})", ha="right" if left else "left", va="center",
                fontsize=8)
    # cliques: maximal runs of consecutive optimizers within CD of each other
    cliques, y = [], -0.35
    for i in range(k):
        j = i
        while j + 1 < k and values[j + 1] - values[i] < cd:
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in cliques):
            cliques.append((i, j))
    for a, b in cliques:
        ax.hlines(y, values[a] - 0.03, values[b] + 0.03, color="k", lw=3)
        y -= 0.15
    ax.set_title(title or "Critical difference (Nemenyi, α = 0.05)", fontsize=10)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9)
    path = folder / "critical_difference.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return [path]
