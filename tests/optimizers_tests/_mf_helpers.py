"""Kept for branches written against it: the helpers live in tests/kits (cells, toy_problems)."""

from tests.kits.cells import (
    completed,
    curve_conf,
    drive,
    optimizer_conf,
    rows,
    run,
    run_problem,
)
from tests.kits.toy_problems import failing_curve as FlakyProblem  # noqa: N812

__all__ = ["FlakyProblem", "completed", "curve_conf", "drive", "optimizer_conf", "rows", "run",
           "run_problem"]
