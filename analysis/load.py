"""Load `results/<study>/` (one or several studies) into DataFrames, checking the schema."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks.schema import CELL_COLUMNS, COLUMNS, METADATA_KEY, SCHEMA, SCHEMA_VERSION

__all__ = [
    "ANALYSIS_COLUMNS",
    "METADATA_KEY",
    "SCHEMA_VERSION",
    "Reference",
    "Results",
    "SchemaError",
    "load_results",
    "cell_reports",
    "problem_references",
]

#: The columns the report's tables and figures read from every cell; the per-trial JSON
#: (`config`, `metrics`), `error` and `optimizer_time` are left on disk (the few tables that
#: need `config` read it from their one cell's file with `cell_reports`).
ANALYSIS_COLUMNS = tuple(c for c in COLUMNS
                         if c not in ("config", "metrics", "error", "optimizer_time"))


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
            max_step (None without a fidelity), wall_time, cum_units, stop_reason, clock
            (what its `virtual_time` counts: "units", or "seconds" for `clock=seconds`),
            path and `meta` (the whole metadata dict).

    """

    reports: pd.DataFrame
    cells: pd.DataFrame
    # Derived once per loaded study (tables and figures ask for the same things many times);
    # the frames above are not meant to change after loading.
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def directions(self) -> dict[str, str]:
        """Problem name -> "minimize" / "maximize"."""
        if "directions" not in self._cache:
            self._cache["directions"] = dict(zip(self.cells.problem, self.cells.direction,
                                                 strict=True))
        return dict(self._cache["directions"])

    def sign(self, problem: str) -> float:
        """+1 for a minimized problem, -1 for a maximized one (value = sign * loss)."""
        if "directions" not in self._cache:
            self.directions()
        return 1.0 if self._cache["directions"][problem] == "minimize" else -1.0

    def max_steps(self) -> dict[str, int | None]:
        """Problem name -> maximum fidelity step (None for single-fidelity problems)."""
        return dict(zip(self.cells.problem, self.cells.max_step, strict=True))

    def rows(self, problem: str, optimizer: str | None = None) -> pd.DataFrame:
        """Return the reports of one problem (and optimizer), in recorded order.

        The same frame as filtering `reports` on those columns, found through an index
        built once instead of a scan of every report per call.
        """
        key = "rows_po" if optimizer is not None else "rows_p"
        if key not in self._cache:
            by = ["problem", "optimizer"] if optimizer is not None else "problem"
            self._cache[key] = self.reports.groupby(by, sort=False).indices
        found = self._cache[key].get((problem, optimizer) if optimizer is not None
                                     else problem)
        return self.reports.iloc[found if found is not None else []]

    def cell_index(self) -> list[tuple[tuple[str, str, int], np.ndarray]]:
        """Each cell's key (problem, optimizer, seed) and row positions, in key order.

        Built once per loaded study; curves and final values walk the cells through it.
        """
        if "cell_index" not in self._cache:
            groups = self.reports.groupby(["problem", "optimizer", "seed"], sort=False).indices
            self._cache["cell_index"] = sorted(groups.items(), key=lambda kv: kv[0])
        return self._cache["cell_index"]

    def optimizers_on(self, problem: str) -> set[str]:
        """Optimizers with at least one cell on `problem`."""
        return set(self.cells.optimizer[self.cells.problem == problem])

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


def load_results(paths: str | Path | Iterable[str | Path],
                 columns: Iterable[str] | None = None) -> Results:
    """Read every cell file under one or several study folders (or the files themselves).

    `columns` restricts the reports to those schema columns (the cell keys always come);
    by default all of them are read.

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
    wanted = _columns(columns)
    tables, cells = [], []
    for file in files:
        table, meta = _read_cell_file(file, wanted)
        tables.append(table)
        cells.append(_cell_row(file, meta, table))
    # One conversion of all cells at once: the same frame as concatenating each file's,
    # without a pandas frame per file.
    if tables:
        combined = pa.concat_tables(tables, promote_options="permissive")
        tables.clear()  # self_destruct frees each Arrow column once converted: one copy held
        reports = combined.to_pandas(self_destruct=True, split_blocks=True)
        del combined
    else:
        reports = pd.DataFrame(columns=wanted)
    cell_frame = pd.DataFrame(cells).sort_values(list(CELL_COLUMNS), ignore_index=True)
    duplicated = cell_frame.duplicated(list(CELL_COLUMNS))
    if duplicated.any():
        row = cell_frame[duplicated].iloc[0]
        raise ValueError(
            f"cell ({row.study}, {row.problem}, {row.optimizer}, seed={row.seed}) was loaded "
            "twice; pass each study folder once."
        )
    return Results(reports, cell_frame)


def _read_cell_file(file: Path, wanted: list[str]) -> tuple[pa.Table, dict[str, Any]]:
    """Read one cell file; anything unreadable or incompatible is a SchemaError naming it."""
    try:
        parquet = pq.ParquetFile(file)
        schema = parquet.schema_arrow
    except (OSError, pa.ArrowException) as err:
        raise SchemaError(f"{file} is not a readable Parquet file ({_first_line(err)}); "
                          "delete it (or re-run its cell) and build the report again.") from None
    meta = _checked_metadata(file, schema.metadata)
    missing = [c for c in COLUMNS if c not in schema.names]
    if missing:
        raise SchemaError(
            f"{file} misses the column(s) {', '.join(missing)} of schema version "
            f"{SCHEMA_VERSION}; it was not written by a compatible hpo-arena."
        )
    wrong = [f"{c} ({schema.field(c).type}, expected {SCHEMA.field(c).type})"
             for c in COLUMNS if not schema.field(c).type.equals(SCHEMA.field(c).type)]
    if wrong:
        raise SchemaError(f"{file} has column(s) of the wrong type: {', '.join(wrong)}; it "
                          "was not written by a compatible hpo-arena.")
    try:
        return parquet.read(columns=wanted), meta
    except (OSError, pa.ArrowException) as err:
        raise SchemaError(f"{file} is damaged ({_first_line(err)}); delete it (or re-run "
                          "its cell) and build the report again.") from None


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def cell_reports(results: Results, problem: str, optimizer: str, seed: int) -> pd.DataFrame:
    """Return one cell's reports with every column, read from its file if not loaded.

    For the tables that need what `ANALYSIS_COLUMNS` leaves on disk (`config`).
    """
    if all(c in results.reports.columns for c in COLUMNS):
        rows = results.rows(problem, optimizer)
        return rows[rows.seed == seed]
    cells = results.cells
    path = cells.path[(cells.problem == problem) & (cells.optimizer == optimizer)
                      & (cells.seed == seed)]
    return pd.concat([pq.read_table(p, columns=list(COLUMNS)).to_pandas() for p in path],
                     ignore_index=True)


def _columns(columns: Iterable[str] | None) -> list[str]:
    if columns is None:
        return list(COLUMNS)
    columns = set(columns)
    unknown = sorted(columns - set(COLUMNS))
    if unknown:
        raise ValueError(f"`columns` must be schema columns; {', '.join(unknown)} are not "
                         f"(the schema has {', '.join(COLUMNS)}).")
    return [c for c in COLUMNS if c in columns or c in CELL_COLUMNS
            or c in ("cum_units", "wall_time")]


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Return the hpo-arena metadata of one cell file, after checking its schema version."""
    return _checked_metadata(path, pq.read_schema(path).metadata)


def _checked_metadata(path: str | Path, meta: Mapping[bytes, bytes] | None) -> dict[str, Any]:
    meta = meta or {}
    if METADATA_KEY not in meta:
        raise SchemaError(f"{path} has no hpo-arena metadata; it was not written by hpo-arena.")
    try:
        data = json.loads(meta[METADATA_KEY])
    except ValueError:
        raise SchemaError(f"{path} has unreadable hpo-arena metadata (not JSON); it was "
                          "not written by a compatible hpo-arena.") from None
    if not isinstance(data, dict):
        raise SchemaError(f"{path} has hpo-arena metadata that is not a JSON object; it was "
                          "not written by a compatible hpo-arena.")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise SchemaError(
            f"{path} has schema version {version!r}; this analysis reads version "
            f"{SCHEMA_VERSION}. Re-run the study or use a matching hpo-arena version."
        )
    return data


def _cell_row(path: Path, meta: Mapping[str, Any], table: pa.Table) -> dict[str, Any]:
    info = meta.get("problem_info") or {}
    direction = info.get("direction")
    if direction not in ("minimize", "maximize"):
        raise SchemaError(f"{path}: `problem_info.direction` must be minimize or maximize, "
                          f"got {direction!r}.")
    fidelity = info.get("fidelity")
    n = table.num_rows

    def first(column: str, default: Any) -> Any:
        return meta.get(column, table.column(column)[0].as_py() if n else default)

    return {
        "study": first("study", None),
        "problem": first("problem", None),
        "optimizer": first("optimizer", None),
        "seed": int(first("seed", -1)),
        "direction": direction,
        "optimum": info.get("optimum"),
        "max_step": None if not fidelity else int(fidelity["max"]),
        "min_step": None if not fidelity else int(fidelity["min"]),
        "wall_time": float(meta["wall_time"] if "wall_time" in meta
                           else pc.max(table.column("wall_time")).as_py() if n
                           else 0.0),
        "cum_units": int(table.column("cum_units")[-1].as_py()) if n else 0,
        "stop_reason": meta.get("stop_reason"),
        # a cell's identity names its clock only when not units (cells stored before too)
        "clock": (meta.get("cell_config") or {}).get("clock") or "units",
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
