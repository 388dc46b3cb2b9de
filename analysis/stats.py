"""Statistics over cells: final values, regret, ranks (final, over budget), Wilcoxon + Holm, CD."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.curves import anytime_curves
from analysis.load import Reference, Results, problem_references

__all__ = [
    "average_ranks",
    "block_losses",
    "cd_selection",
    "final_values",
    "friedman_nemenyi",
    "holm",
    "nanmean",
    "nemenyi_cd",
    "normalized_regret",
    "pairwise_wilcoxon",
    "rank_over_budget",
    "rank_rows",
]


def final_values(results: Results) -> pd.DataFrame:
    """Return one row per cell: the final incumbent and what goes with it.

    Columns: `best_loss`, `best` (in the problem's direction), `regret_loss`, the test and
    noise-free values of the incumbent's report, trials, units and wall time. Computed once
    per loaded `results` (cached on it); callers get a copy.
    """
    cached = results.__dict__.get("_final_values")
    if cached is not None:
        return cached.copy()
    rows = []
    reports = results.reports
    # numpy columns walked cell by cell: a pandas frame per cell costs more than its work
    failed = (reports.status == "failed").to_numpy()
    column = {c: reports[c].to_numpy(dtype=float)
              for c in ("best_loss", "loss", "test_value", "true_value", "wall_time")}
    trials = reports.trial.to_numpy()
    cum_units = reports.cum_units.to_numpy()
    for (problem, optimizer, seed), at in results.cell_index():
        sign = results.sign(problem)
        ok = at[~failed[at]]
        best = column["best_loss"][at]
        best_loss = float(best[-1]) if (~np.isnan(best)).any() else np.nan
        if len(ok) and not np.isnan(best_loss):
            # the first report that reached the final incumbent holds its test value
            inc = ok[column["loss"][ok] <= best_loss][0]
            test, true = column["test_value"][inc], column["true_value"][inc]
            inc_trial = int(trials[inc])
        else:
            test = true = np.nan
            inc_trial = -1
        wall = column["wall_time"][at]
        rows.append({
            "problem": problem, "optimizer": optimizer, "seed": int(seed),
            "best_loss": best_loss, "best": sign * best_loss,
            # the noise-free loss of the incumbent where the problem records one: regret
            # measured on it is not flattered by lucky noise
            "regret_loss": sign * float(true) if true is not None and not pd.isna(true)
            else best_loss,
            "test_value": np.nan if test is None else float(test),
            "true_value": np.nan if true is None else float(true),
            "incumbent_trial": inc_trial,
            "n_trials": len(np.unique(trials[at])),
            "n_failed": int(failed[at].sum()),
            "units": int(cum_units[at][-1]),
            "wall_time": float(np.nanmax(wall)) if (~np.isnan(wall)).any() else np.nan,
        })
    frame = pd.DataFrame(rows, columns=_FINAL_COLUMNS)
    results.__dict__["_final_values"] = frame
    return frame.copy()


_FINAL_COLUMNS = ["problem", "optimizer", "seed", "best_loss", "best", "regret_loss", "test_value",
                  "true_value", "incumbent_trial", "n_trials", "n_failed", "units", "wall_time"]


def normalized_regret(best_loss: float | np.ndarray, reference: Reference | None,
                      sign: float) -> float | np.ndarray:
    """Return (loss − reference loss) / |reference| (/ 1 when the reference is 0).

    NaN without a reference. `reference.value` is in the problem's direction, `sign` is +1
    (minimize) or -1 (maximize).
    """
    loss = np.asarray(best_loss, dtype=float)
    if reference is None:
        out = np.full_like(loss, np.nan)
    else:
        scale = abs(reference.value) or 1.0
        out = (loss - sign * reference.value) / scale
    return out if np.ndim(best_loss) else float(out)


def nanmean(values: np.ndarray) -> float:
    """Mean without NaNs; NaN (no warning) when nothing is left."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else np.nan


def rank_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rank each row's columns (1 = lowest loss), ties sharing their average rank."""
    values = table.to_numpy(dtype=float)
    ranks = np.vstack([sps.rankdata(row) for row in values]) if len(values) else values
    return pd.DataFrame(ranks, index=table.index, columns=table.columns)


def average_ranks(table: pd.DataFrame) -> pd.Series:
    """Mean rank of each column over rows (blocks) without missing values."""
    complete = table.dropna()
    if complete.empty:
        return pd.Series(np.nan, index=table.columns)
    return rank_rows(complete).mean(axis=0)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979), in the input order; NaNs kept."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        out[idx] = running
    return out


def pairwise_wilcoxon(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Two-sided Wilcoxon signed-rank tests for every pair of columns, Holm-corrected.

    `table` has one row per block (e.g. a (problem, seed) pair) and one column per
    optimizer (losses: lower is better). Each pair uses the blocks where both have values;
    pairs whose differences are all zero or with fewer than 2 blocks get NaN.
    """
    rows = []
    for a, b in itertools.combinations(table.columns, 2):
        pair = table[[a, b]].dropna()
        diff = (pair[a] - pair[b]).to_numpy()
        n = len(pair)
        if n < 2 or np.all(diff == 0):
            stat = p = np.nan
        else:
            res = sps.wilcoxon(pair[a], pair[b], zero_method="wilcox", alternative="two-sided")
            stat, p = float(res.statistic), float(res.pvalue)
        rows.append({"a": a, "b": b, "n_blocks": n, "a_better": int((diff < 0).sum()),
                     "b_better": int((diff > 0).sum()), "statistic": stat, "p": p})
    out = pd.DataFrame(rows, columns=["a", "b", "n_blocks", "a_better", "b_better",
                                      "statistic", "p"])
    out["p_holm"] = holm(out.p.to_numpy()) if len(out) else []
    out["significant"] = out.p_holm < alpha
    return out


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Return the critical difference of average ranks for k methods on n data sets.

    Demšar (2006): CD = q_alpha * sqrt(k (k + 1) / (6 n)), q_alpha the studentized range
    quantile (infinite degrees of freedom) / sqrt 2.
    """
    if k < 2 or n < 1:
        raise ValueError(f"the critical difference needs k >= 2 and n >= 1, got k={k}, n={n}.")
    q = sps.studentized_range.ppf(1.0 - alpha, k, np.inf) / math.sqrt(2.0)
    return float(q * math.sqrt(k * (k + 1) / (6.0 * n)))


def friedman_nemenyi(table: pd.DataFrame, alpha: float = 0.05) -> Mapping[str, object]:
    """Run the Friedman test and Nemenyi's critical difference on the complete rows.

    `table`: rows are data sets, columns methods, values losses.
    """
    complete = table.dropna()
    k, n = complete.shape[1], complete.shape[0]
    ranks = average_ranks(complete)
    if k >= 3 and n >= 2:
        p = float(sps.friedmanchisquare(*[complete[c] for c in complete.columns]).pvalue)
    else:
        p = np.nan
    return {"ranks": ranks.sort_values(), "n": n, "k": k, "friedman_p": p,
            "cd": nemenyi_cd(k, n, alpha) if k >= 2 and n >= 1 else np.nan}


def rank_over_budget(results: Results, n_points: int = 20,
                     axis: str = "cum_units") -> pd.DataFrame:
    """Mean rank of each optimizer at budget fractions 1/n..1 of each problem's units.

    (Or of its largest `axis` value: "virtual_time" ranks at equal simulated time, in the
    unit of the cells' clock, see `analysis.curves.clock_unit`.)

    Per problem and seed, optimizers are ranked by incumbent loss at each fraction of the
    problem's largest cell budget (an optimizer with no observation yet ranks last, ties
    share the average rank); ranks are averaged over seeds and problems. Computed once per
    loaded `results` (the report's table and figure share it); callers get a copy.
    """
    cached = results._cache.get(("rank_over_budget", n_points, axis))
    if cached is not None:
        return cached.copy()
    empty = pd.DataFrame(columns=["fraction", "optimizer", "rank"])
    curves = anytime_curves(results, axis, grids={
        p: np.linspace(1.0 / n_points, 1.0, n_points) * float(top)
        for p, top in results.reports.groupby("problem")[axis].max().items()})
    if curves.empty:
        return empty
    curves["fraction"] = curves.groupby("problem").x.transform(lambda x: x / x.max())
    curves["fraction"] = curves.fraction.round(6)
    # Rank within each (problem, seed, fraction) block of two or more optimizers, the blocks
    # in key order and each block's rows in curve (optimizer) order, as a loop over the
    # sorted groups would; the mean below then adds the same numbers in the same order.
    keys = ["problem", "seed", "fraction"]
    curves = curves.sort_values(keys, kind="stable", ignore_index=True)
    curves = curves[curves.groupby(keys).optimizer.transform("nunique") >= 2]
    if curves.empty:
        return empty
    ranks = pd.DataFrame({
        "fraction": curves.fraction.to_numpy(), "optimizer": curves.optimizer.to_numpy(),
        "rank": curves.best_loss.fillna(np.inf).groupby([curves[k] for k in keys])
        .rank(method="average").to_numpy()})
    out = ranks.groupby(["fraction", "optimizer"], as_index=False)["rank"].mean()
    results._cache[("rank_over_budget", n_points, axis)] = out
    return out.copy()


def block_losses(results: Results) -> pd.DataFrame:
    """Return rows (problem, seed) × optimizer columns of final normalized regret.

    Problems without a reference contribute their raw final loss.
    """
    refs = problem_references(results)
    finals = final_values(results)
    finals["score"] = [
        normalized_regret(r.regret_loss, refs.get(r.problem), results.sign(r.problem))
        if refs.get(r.problem) is not None else r.best_loss
        for r in finals.itertuples()]
    return finals.pivot_table(index=["problem", "seed"], columns="optimizer", values="score")


def cd_selection(per_problem: pd.DataFrame, min_problems: int = 3) -> pd.DataFrame:
    """Return the largest complete block of problems × optimizers for a CD diagram.

    Maximizes the block's size with at least `min_problems` problems and 2 optimizers.
    """
    best, best_size = pd.DataFrame(), 0
    problems = list(per_problem.index)
    for n in range(len(problems), min_problems - 1, -1):
        for subset in itertools.combinations(problems, n):
            block = per_problem.loc[list(subset)].dropna(axis=1)
            if block.shape[1] >= 2 and block.size > best_size:
                best, best_size = block, block.size
        if len(problems) > 12:  # subsets explode; the full set and one size less suffice
            break
    return best
