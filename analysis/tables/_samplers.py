"""Chapters 2.2-2.3: samplers per problem: final best, regret, rank, cost to a target."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.load import Results, problem_references
from analysis.stats import final_values, nanmean, normalized_regret, rank_rows
from analysis.tables._table import Table, _mean_std, _present_on
from analysis.tables.families import family

__all__ = ["TARGET_REGRET", "samplers"]

#: Normalized regret at or below which a cell has "reached the target" (samplers table).
TARGET_REGRET = 0.05


def _reach(reports: pd.DataFrame, target_loss: float) -> tuple[float, float]:
    hit = reports[reports.best_loss <= target_loss]
    if hit.empty:
        return (np.nan, np.nan)
    first = hit.iloc[0]
    return (float(first.cum_units), float(first.wall_time))


def samplers(results: Results, names: Sequence[str] | None = None,
             target_regret: float = TARGET_REGRET) -> Table:
    """Chapters 2.2–2.3: samplers per problem: final best, regret, rank, cost to a target."""
    names = family(results, "sampler") if names is None else names
    refs = problem_references(results)
    finals = final_values(results)
    rows, notes = [], []
    for problem in sorted(set(results.cells.problem)):
        present = _present_on(results, problem, names)
        if len(present) < 2:
            continue
        sign = results.sign(problem)
        ref = refs.get(problem)
        f = finals[(finals.problem == problem) & finals.optimizer.isin(present)]
        ranks = rank_rows(f.pivot(index="seed", columns="optimizer", values="best_loss")
                          .dropna())
        target_loss = (sign * ref.value + target_regret * (abs(ref.value) or 1.0)
                       if ref is not None else None)
        if ref is None:
            notes.append(f"`{problem}` has no reference value: regret and target are n/a.")
        for optimizer in present:
            o = f[f.optimizer == optimizer]
            reg = normalized_regret(o.regret_loss.to_numpy(), ref, sign)
            reach_units, reach_wall, reached = [], [], 0
            if target_loss is not None:
                r = results.rows(problem, optimizer)
                for _, cell in r.groupby("seed"):
                    u, w = _reach(cell, target_loss)
                    if not np.isnan(u):
                        reached += 1
                        reach_units.append(u)
                        reach_wall.append(w)
            rows.append({
                "problem": problem, "optimizer": optimizer, "seeds": len(o),
                "final best (mean ± std)": _mean_std(o.best),
                "normalized regret (mean)": nanmean(reg),
                "mean rank": ranks[optimizer].mean() if optimizer in ranks else np.nan,
                "reached target": f"{reached}/{len(o)}" if target_loss is not None else "n/a",
                "units to target (median)": np.median(reach_units) if reach_units else np.nan,
                "wall s to target (median)": np.median(reach_wall) if reach_wall else np.nan,
            })
    if not rows:
        notes.append("needs at least two of tpe, cmaes, gp, optuna_random/random, "
                     "hyperopt_tpe on the same problem.")
    return Table(
        "samplers", "Samplers: TPE vs CMA-ES vs GP vs random, Optuna vs Hyperopt (2.2–2.3)",
        pd.DataFrame(rows), f"""\
- *final best*: the final incumbent in the problem's direction, mean ± std over seeds.
- *normalized regret*: (final loss − reference loss) / |reference| (/ 1 when the reference
  is 0), with the problem's fixed reference (see the references table); n/a where a
  problem has none. The final loss is the incumbent's noise-free value (`true_value`)
  where the problem records one, else its observed value.
- *mean rank*: per seed, optimizers ranked by final loss among those in this table for the
  problem (1 = best, ties share the average rank), then averaged over seeds present for all.
- *target*: normalized regret <= {target_regret:g}; *reached target*: cells that got there;
  *units / wall s to target*: compute units and wall seconds when the incumbent first met
  the target, median over the cells that reached it.
""", notes)
