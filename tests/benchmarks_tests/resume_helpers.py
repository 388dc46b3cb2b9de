"""Helpers for the trial-store and journal tests: planned cells, rows without timing."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from benchmarks.cells import CellSpec
from benchmarks.compose import compose_runs
from benchmarks.plan import plan_cells
from benchmarks.runner import run_cell
from benchmarks.schema import TIMING_COLUMNS


def planned_cell(tmp_path: Path, problem: str, optimizer: str, *overrides: str) -> CellSpec:
    """The one cell of `problem` x `optimizer` at seed 0, as the CLI plans it (journal set)."""
    runs = compose_runs([f"problem={problem}", f"optimizer={optimizer}", "seeds=[0]",
                         f"results_dir={tmp_path}", *overrides])
    (spec, _), = plan_cells(runs)[0]
    return spec


def rows(columns: dict[str, list]) -> list[tuple]:
    """The rows of a cell without its timing columns."""
    names = [n for n in columns if n not in TIMING_COLUMNS]
    return list(zip(*(columns[n] for n in names), strict=True))


def same_rows(a: dict[str, list], b: dict[str, list]) -> bool:
    """Rows equal bit for bit (NaN equals NaN), timing columns aside."""
    ra, rb = rows(a), rows(b)
    return len(ra) == len(rb) and all(
        x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x)
                   and math.isnan(y))
        for row_a, row_b in zip(ra, rb, strict=True) for x, y in zip(row_a, row_b, strict=True)
    )


def run_unjournaled(spec: CellSpec, **changes) -> dict[str, list]:
    """The cell's columns run without a journal (and with any other spec changes)."""
    return run_cell(replace(spec, journal=None, **changes)).columns
