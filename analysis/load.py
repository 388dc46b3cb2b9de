"""Load `results/<study>/` (one or several studies) into DataFrames, checking the schema."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from benchmarks.schema import CELL_COLUMNS, COLUMNS, METADATA_KEY, SCHEMA_VERSION

__all__ = [
    "METADATA_KEY",
    "SCHEMA_VERSION",
    "Reference",
    "Results",
    "SchemaError",
    "load_results",
    "problem_references",
]


class SchemaError(ValueError):
    """A results file this version of the analysis cannot read."""


@dataclass(frozen=True)
class Reference:
    """The fixed value a problem's regret is measured against (in the problem's direction)."""

    value: float
    how: str


@dataclass
class Results:
    """Reports of every loaded cell plus one row of metadata per cell.

    Attributes:
        reports: one row per report (the Parquet columns), in recorded order per cell.
        cells: one row per cell: study, problem, optimizer, seed, direction, optimum,
            max_step (None without a fidelity), wall_time, cum_units, stop_reason, path and
            `meta` (the whole metadata dict).

    """

    reports: pd.DataFrame
    cells: pd.DataFrame

    def directions(self) -> dict[str, str]:
        """Problem name -> "minimize" / "maximize"."""
        return dict(zip(self.cells.problem, self.cells.direction, strict=True))

    def sign(self, problem: str) -> float:
        """+1 for a minimized problem, -1 for a maximized one (value = sign * loss)."""
        return 1.0 if self.directions()[problem] == "minimize" else -1.0

    def max_steps(self) -> dict[str, int | None]:
        """Problem name -> maximum fidelity step (None for single-fidelity problems)."""
        return dict(zip(self.cells.problem, self.cells.max_step, strict=True))

    def subset(self, problems: Iterable[str] | None = None,
               optimizers: Iterable[str] | None = None) -> Results:
        """Return the results restricted to some problems and/or optimizers."""
        rmask = pd.Series(True, index=self.reports.index)
        cmask = pd.Series(True, index=self.cells.index)
        if problems is not None:
            problems = list(problems)
            rmask &= self.reports.problem.isin(problems)
            cmask &= self.cells.problem.isin(problems)
        if optimizers is not None:
            optimizers = list(optimizers)
            rmask &= self.reports.optimizer.isin(optimizers)
            cmask &= self.cells.optimizer.isin(optimizers)
        return Results(self.reports[rmask], self.cells[cmask])


def load_results(paths: str | Path | Iterable[str | Path]) -> Results:
    """Read every cell file under one or several study folders (or the files themselves).

    Raises:
        FileNotFoundError: a path does not exist or holds no cell files.
        SchemaError: a file has another schema version, no hpo-arena metadata, or misses
            columns.

    """
    if isinstance(paths, str | Path):
        paths = [paths]
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            found = sorted(p for p in path.rglob("seed=*.parquet") if not p.name.startswith("."))
            if not found:
                raise FileNotFoundError(f"{path} holds no cell files (seed=<n>.parquet).")
            files.extend(found)
        else:
            raise FileNotFoundError(f"results path {str(path)!r} does not exist.")
    frames, cells = [], []
    for file in files:
        meta = read_metadata(file)
        table = pq.read_table(file)
        missing = [c for c in COLUMNS if c not in table.column_names]
        if missing:
            raise SchemaError(
                f"{file} misses the column(s) {', '.join(missing)} of schema version "
                f"{SCHEMA_VERSION}; it was not written by a compatible hpo-arena."
            )
        frame = table.select(list(COLUMNS)).to_pandas()
        frames.append(frame)
        cells.append(_cell_row(file, meta, frame))
    reports = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=list(COLUMNS))
    cell_frame = pd.DataFrame(cells).sort_values(list(CELL_COLUMNS), ignore_index=True)
    duplicated = cell_frame.duplicated(list(CELL_COLUMNS))
    if duplicated.any():
        row = cell_frame[duplicated].iloc[0]
        raise ValueError(
            f"cell ({row.study}, {row.problem}, {row.optimizer}, seed={row.seed}) was loaded "
            "twice; pass each study folder once."
        )
    return Results(reports, cell_frame)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Return the hpo-arena metadata of one cell file, after checking its schema version."""
    meta = pq.read_schema(path).metadata or {}
    if METADATA_KEY not in meta:
        raise SchemaError(f"{path} has no hpo-arena metadata; it was not written by hpo-arena.")
    data = json.loads(meta[METADATA_KEY])
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise SchemaError(
            f"{path} has schema version {version!r}; this analysis reads version "
            f"{SCHEMA_VERSION}. Re-run the study or use a matching hpo-arena version."
        )
    return data


def _cell_row(path: Path, meta: Mapping[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    info = meta.get("problem_info") or {}
    direction = info.get("direction")
    if direction not in ("minimize", "maximize"):
        raise SchemaError(f"{path}: `problem_info.direction` must be minimize or maximize, "
                          f"got {direction!r}.")
    fidelity = info.get("fidelity")
    first = frame.iloc[0] if len(frame) else None
    return {
        "study": meta.get("study", None if first is None else first.study),
        "problem": meta.get("problem", None if first is None else first.problem),
        "optimizer": meta.get("optimizer", None if first is None else first.optimizer),
        "seed": int(meta.get("seed", -1 if first is None else first.seed)),
        "direction": direction,
        "optimum": info.get("optimum"),
        "max_step": None if not fidelity else int(fidelity["max"]),
        "min_step": None if not fidelity else int(fidelity["min"]),
        "wall_time": float(meta.get("wall_time", frame.wall_time.max() if len(frame) else 0.0)),
        "cum_units": int(frame.cum_units.iloc[-1]) if len(frame) else 0,
        "stop_reason": meta.get("stop_reason"),
        "path": str(path),
        "meta": dict(meta),
    }


def problem_references(results: Results) -> dict[str, Reference | None]:
    """Per problem, the fixed reference of normalized regret, or None when there is none.

    The known optimum recorded in `problem_info.optimum` comes first; otherwise the
    best-known value stored in the problem conf (`problem.reference: {value, how}`, in the
    file metadata). Never computed from the loaded results, so adding a run never changes
    another's numbers.
    """
    out: dict[str, Reference | None] = {}
    for problem, group in results.cells.groupby("problem", sort=True):
        ref: Reference | None = None
        for meta in group.meta:
            optimum = (meta.get("problem_info") or {}).get("optimum")
            if _finite(optimum):
                ref = Reference(float(optimum), "known optimum of the problem")
                break
            conf = ((meta.get("config") or {}).get("problem") or {}).get("reference")
            if isinstance(conf, Mapping) and _finite(conf.get("value")):
                ref = Reference(float(conf["value"]), str(conf.get("how", "best-known value")))
                break
        out[problem] = ref
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
