"""Kept for branches written against it: the problems live in tests/kits/toy_problems.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmarks.cells import CellResult
from problems.base import Problem
from tests.kits import cells
from tests.kits.cells import optimizer_conf as load_conf
from tests.kits.cells import trial_configs
from tests.kits.optimizer_kit import failing_problem as FlakyProblem  # noqa: N812
from tests.kits.toy_problems import MixedProblem, NestedProblem, UnevenCurveProblem

__all__ = ["FlakyProblem", "MixedProblem", "NestedProblem", "UnevenCurveProblem", "load_conf",
           "run_problem", "trial_configs"]


def run_problem(problem: Problem, optimizer_conf: Mapping[str, Any], seed: int,
                n_trials: int, workers: int = 1) -> CellResult:
    """The old signature of :func:`tests.kits.cells.run_problem` (a trial budget)."""
    return cells.run_problem(problem, optimizer_conf, seed, workers, trials=n_trials)
