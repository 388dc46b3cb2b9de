"""Chapter 2.1: LightGBM boosting rounds and accuracy with and without early stopping."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.load import Results
from analysis.stats import final_values
from analysis.tables._table import Table, _mean_std

__all__ = ["early_stopping"]


def _problem_setting(meta: dict, key: str) -> object:
    return ((meta.get("config") or {}).get("problem") or {}).get(key)


def early_stopping(results: Results, key: str = "early_stopping_rounds") -> Table:
    """Chapter 2.1: boosting rounds and accuracy with and without early stopping."""
    cells = results.cells.copy()
    cells["setting"] = [_problem_setting(m, key) for m in cells.meta]
    cells["class"] = [(m.get("problem_info") or {}).get("class") for m in cells.meta]
    has_key = cells[[key in ((m.get("config") or {}).get("problem") or {})
                     for m in cells.meta]]
    rows = []
    finals = final_values(results)
    for (_, optimizer), group in has_key.groupby(["class", "optimizer"], sort=True):
        per = []
        for problem, g in group.groupby("problem", sort=True):
            setting = g.setting.iloc[0]
            r = results.rows(problem, optimizer)
            done = r[r.status == "completed"]
            o = finals[(finals.problem == problem) & (finals.optimizer == optimizer)]
            per.append({
                "problem": problem, "optimizer": optimizer,
                key: "off" if setting is None or pd.isna(setting) or not setting
                else int(setting),
                "seeds": len(o), "trials per cell": o.n_trials.mean(),
                "rounds per completed trial": done.step.mean(),
                "max rounds": g.max_step.iloc[0],
                "units per cell": o.units.mean(),
                "validation value (completed, mean)": done.value.mean(),
                "test value (completed, mean)": done.test_value.mean(),
                "best (mean ± std)": _mean_std(o.best),
                "test value of incumbent": o.test_value.mean(),
            })
        off = [p for p in per if p[key] == "off"]
        for p in per:
            p["unit reduction vs off"] = (1.0 - p["units per cell"] / off[0]["units per cell"]
                                          if off and off[0]["units per cell"] else np.nan)
        rows.extend(per)
    notes = []
    if not rows:
        notes.append(f"needs LightGBM cells whose problem conf sets `{key}` (the same "
                     "optimizer on `lgbm` and on a problem conf with early stopping on).")
    elif not any(r[key] == "off" for r in rows) or all(r[key] == "off" for r in rows):
        notes.append("only one early-stopping setting is present; the comparison needs "
                     "both.")
    return Table(
        "early_stopping", "Early stopping in LightGBM (chapter 2.1)", pd.DataFrame(rows), f"""\
- Rows are grouped by problem class and optimizer; `{key}` is read from each cell's
  problem configuration ("off" when unset or 0).
- *rounds per completed trial*: the boosting round at which completed trials stopped
  (the maximum without early stopping), mean over trials and seeds.
- *validation value* / *test value*: the problem's objective (validation metric) and the
  held-out test metric of completed trials, mean.
- *unit reduction vs off*: 1 − units / units without early stopping (same optimizer and
  problem class, same seeds and trial budget), i.e. the computation saved.
""", notes)
