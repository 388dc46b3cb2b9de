"""The `Table` every builder returns, and the small helpers the table modules share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.load import Results
from analysis.tables._latex import latex_table

__all__ = ["JOB_END", "Table"]

#: Statuses of the report that closes a job (the trial stopped, paused or finished there).
JOB_END = ("completed", "paused", "pruned", "failed")


@dataclass
class Table:
    """A result table: its frame, the definitions written under it, and notes."""

    name: str
    title: str
    frame: pd.DataFrame
    definitions: str
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when the study holds none of the runs this table needs."""
        return self.frame.empty

    def markdown(self) -> str:
        """Render the table (or its notes when empty) followed by its definitions."""
        parts = [f"### {self.title}", ""]
        if self.empty:
            parts.append("_Not available in this study._")
        else:
            parts.append(self.frame.to_markdown(index=False, floatfmt=".4g"))
        parts.append("")
        parts.extend(f"_Note:_ {n}  " for n in self.notes)
        if self.notes:
            parts.append("")
        parts.append(self.definitions.strip())
        return "\n".join(parts) + "\n"

    def write(self, folder: Path) -> list[Path]:
        """Write `<name>.md`, `<name>.csv` and `<name>.tex` (booktabs; CSV and LaTeX only
        when not empty); return the paths.
        """
        folder.mkdir(parents=True, exist_ok=True)
        md = folder / f"{self.name}.md"
        md.write_text(self.markdown())
        paths = [md]
        if not self.empty:
            csv = folder / f"{self.name}.csv"
            self.frame.to_csv(csv, index=False)
            tex = folder / f"{self.name}.tex"
            tex.write_text(latex_table(self.frame, self.title, self.name))
            paths += [csv, tex]
        return paths


# -- helpers shared by the table modules --------------------------------------------------
def _present_on(results: Results, problem: str, names: Iterable[str]) -> list[str]:
    have = results.optimizers_on(problem)
    return [n for n in names if n in have]


def _mean_std(values: pd.Series) -> str:
    v = values.dropna()
    if v.empty:
        return "n/a"
    std = v.std(ddof=1) if len(v) > 1 else 0.0
    return f"{v.mean():.4g} ± {std:.2g}"


def _optimizer_param(results: Results, problem: str, optimizer: str,
                     keys: Sequence[str]) -> float | None:
    cells = results.cells[(results.cells.problem == problem)
                          & (results.cells.optimizer == optimizer)]
    for meta in cells.meta:
        conf = (meta.get("config") or {}).get("optimizer") or {}
        for key in keys:
            if isinstance(conf.get(key), int | float) and not isinstance(conf.get(key), bool):
                return float(conf[key])
    return None


def _trial_ends(reports: pd.DataFrame) -> pd.DataFrame:
    """Rows that close a job (the trial stopped, paused or finished there)."""
    return reports[reports.status.isin(JOB_END)]


def _final_status(reports: pd.DataFrame) -> pd.Series:
    """Per (problem, optimizer, seed, trial), the status of its last report."""
    return reports.groupby(["problem", "optimizer", "seed", "trial"], sort=True).status.last()
