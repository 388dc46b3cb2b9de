"""Kept for branches written against it: the helpers live in tests/kits (cells, toy_problems)."""

from __future__ import annotations

import math
from typing import Any

from benchmarks.cells import CellSpec
from tests.kits.cells import ScriptedOptimizer, cell_spec
from tests.kits.cells import new_job as new
from tests.kits.toy_problems import FailingProblem

__all__ = ["FlakyProblem", "ScriptedOptimizer", "new", "spec"]


def FlakyProblem(raise_below: float = 0.1, nan_between: tuple[float, float] = (0.45, 0.5),  # noqa: N802
                 sleep_above: float = 2.0, max_step: int | None = None) -> FailingProblem:
    """The old runner tests' failing problem, as a FailingProblem."""
    return FailingProblem(max_step=max_step, raise_where={"x": (-math.inf, raise_below)},
                          nan_where={"x": nan_between}, sleep_where={"x": (sleep_above, math.inf)})


def spec(problem_conf: Any, optimizer_conf: Any, seed: int = 0, study: str = "t",
         workers: int = 1, trial_timeout: float | None = None, **budget: Any) -> CellSpec:
    """The old signature of :func:`tests.kits.cells.cell_spec` (config recorded)."""
    return cell_spec(problem_conf, optimizer_conf, seed, study=study, workers=workers,
                     trial_timeout=trial_timeout, record_config=True, **budget)
