"""The one rule that decides a report's status (README, Results)."""

from __future__ import annotations

import math

import pytest

from benchmarks.runner import report_status
from optimizers.base import Decision, Status
from problems.base import Report

C, P, S = Decision.CONTINUE, Decision.PAUSE, Decision.STOP


@pytest.mark.parametrize(("step", "value", "final", "decision", "status"), [
    (3, math.nan, False, C, Status.FAILED),
    (9, math.nan, True, S, Status.FAILED),
    (3, 1.0, False, S, Status.PRUNED),
    (9, 1.0, False, S, Status.PRUNED),  # a stop at the target is a prune, as in raw Optuna
    (9, 1.0, False, C, Status.COMPLETED),
    (9, 1.0, False, P, Status.COMPLETED),
    (4, 1.0, True, C, Status.COMPLETED),  # early stopping ended the trial below its target
    (3, 1.0, False, P, Status.PAUSED),
    (3, 1.0, False, C, Status.RUNNING),
])
def test_report_status(step, value, final, decision, status) -> None:
    assert report_status(Report(step, value, 1, {}, final), decision, target=9) is status
