"""Kept for branches written against it: the checks live in tests/kits/problem_kit.py."""

from tests.kits.problem_kit import assert_clone as check_clone
from tests.kits.problem_kit import assert_deterministic as check_deterministic
from tests.kits.problem_kit import assert_incremental as check_incremental
from tests.kits.problem_kit import compose_problem, run, same_reports

__all__ = ["check_clone", "check_deterministic", "check_incremental", "compose_problem", "run",
           "same_reports"]
