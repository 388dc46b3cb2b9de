"""The console summary: one row per (problem, optimizer) over the cells of a run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from benchmarks.recorder import read_cell_metadata

__all__ = ["summarize", "summary_table"]

_COLUMNS = ["problem", "optimizer", "trial", "status", "value", "loss", "best_loss", "cum_units",
            "wall_time", "virtual_time"]


def summarize(paths: Sequence[Path]) -> pd.DataFrame:
    """Per (problem, optimizer): seeds, trials, final incumbent (mean ± std, in the
    problem's direction), compute units and wall time per cell.
    """
    cells = []
    for path in paths:
        table = pq.read_table(path, columns=_COLUMNS).to_pandas()
        if table.empty:
            continue
        last = table.iloc[-1]
        direction = read_cell_metadata(path)["problem_info"]["direction"]
        sign = 1.0 if direction == "minimize" else -1.0
        cells.append(
            {
                "problem": last.problem,
                "optimizer": last.optimizer,
                "best": sign * last.best_loss if pd.notna(last.best_loss) else float("nan"),
                "trials": table.trial.nunique(),
                "failed": int((table.status == "failed").sum()),
                "pruned": int((table.status == "pruned").sum()),
                "units": int(last.cum_units),
                "wall": float(table.wall_time.max()),
            }
        )
    if not cells:
        return pd.DataFrame()
    frame = pd.DataFrame(cells)
    grouped = frame.groupby(["problem", "optimizer"], sort=True)
    return grouped.agg(
        seeds=("best", "size"),
        best_mean=("best", "mean"),
        best_std=("best", "std"),
        trials=("trials", "mean"),
        pruned=("pruned", "sum"),
        failed=("failed", "sum"),
        units=("units", "mean"),
        wall_s=("wall", "mean"),
    ).reset_index()


def summary_table(summary: pd.DataFrame) -> str:
    """Render the summary as a plain-text table."""
    if summary.empty:
        return "(no results)"
    from tabulate import tabulate

    rows = []
    for r in summary.itertuples():
        std = 0.0 if pd.isna(r.best_std) else r.best_std
        rows.append(
            [r.problem, r.optimizer, r.seeds, f"{r.best_mean:.6g} ± {std:.2g}", f"{r.trials:.1f}",
             r.pruned, r.failed, f"{r.units:.0f}", f"{r.wall_s:.2f}"]
        )
    headers = ["problem", "optimizer", "seeds", "final best (mean ± std)", "trials/cell",
               "pruned", "failed", "units/cell", "wall s/cell"]
    return tabulate(rows, headers=headers, tablefmt="github")
