"""Hyperband: the paper's bracket table, sequential synchronous brackets, exact accounting."""

from __future__ import annotations

import numpy as np
import pytest

from optimizers.base import JobKind, Status
from optimizers.hyperband import HyperbandOptimizer
from problems.synthetic import BraninProblem, LearningCurveProblem
from tests.kits.cells import completed, curve_conf, drive, optimizer_conf, rows, run

# Li et al., JMLR 2018, Table 1: R = 81, eta = 3; (n_i, r_i) per rung of each bracket s.
PAPER_TABLE = [
    [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
    [(34, 3), (11, 9), (3, 27), (1, 81)],
    [(15, 9), (5, 27), (1, 81)],
    [(8, 27), (2, 81)],
    [(5, 81)],
]


def make(**params):
    problem = LearningCurveProblem(max_iterations=81)
    return HyperbandOptimizer(problem.space, problem.fidelity, problem.direction, 0, **params)


def test_brackets_match_the_papers_table():
    assert make().brackets == PAPER_TABLE


@pytest.mark.parametrize(("resume", "units"), [(True, 297 + 276 + 279 + 324 + 405),
                                               (False, 405 + 363 + 351 + 378 + 405)])
def test_one_round_costs_exactly(resume, units):
    result = run(optimizer_conf("hyperband", resume=resume, n_repeats=1))
    assert result.info["stop_reason"] == "optimizer done"
    assert result.info["cum_units"] == units
    new = sum(n for bracket in PAPER_TABLE for n, _ in (bracket if not resume else bracket[:1]))
    assert result.info["n_trials"] == new


def test_brackets_run_in_order_and_wait_at_rungs():
    opt = make(n_repeats=1)
    rng = np.random.default_rng(0)
    seen = []

    def outcome(job):
        seen.append((job.kind, job.target))
        return completed(job, float(rng.random()))

    drive(opt, outcome, rng, n_workers=100, max_events=1000)
    # Group consecutive jobs by target: the (n, r) sequence is the table, read row by row.
    runs = []
    for kind, target in seen:
        if runs and runs[-1][1] == target and (kind is JobKind.NEW) == runs[-1][2]:
            runs[-1][0] += 1
        else:
            runs.append([1, target, kind is JobKind.NEW])
    flat = [(n, r) for bracket in PAPER_TABLE for n, r in bracket]
    assert [(n, r) for n, r, _ in runs] == flat


def test_workers_and_determinism():
    cells = [run("hyperband", curve_conf(noise_std=0.01), seed=1, workers=3, units=700)
             for _ in range(2)]
    assert rows(cells[0]) == rows(cells[1])
    other = run("hyperband", curve_conf(noise_std=0.01), seed=2, workers=3, units=700)
    assert rows(other)["config"][:5] != rows(cells[0])["config"][:5]


def test_failures_are_survived(failing_curve):
    problem = failing_curve
    opt = HyperbandOptimizer(problem.space, problem.fidelity, "maximize", 0, n_repeats=1)
    rng = np.random.default_rng(0)

    def outcome(job):
        if job.config["x"] > 0.8:
            return Status.FAILED, float("nan"), job.target
        return completed(job, float(rng.random()))

    jobs = drive(opt, outcome, rng, n_workers=2, max_events=1000)
    assert opt.ask() is None
    assert all(j.config["x"] <= 0.8 for j in jobs if j.kind is JobKind.RESUME)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"reduction_factor": 0}, r"`reduction_factor` must be an int >= 2, got 0\."),
        ({"max_fidelity": 0}, r"`max_fidelity` must be an int in \[1, 81\]"),
        ({"n_repeats": 0}, r"`n_repeats` must be an int >= 1 or null, got 0\."),
    ],
)
def test_bad_settings(params, match):
    with pytest.raises(ValueError, match=match):
        make(**params)


def test_needs_a_fidelity():
    problem = BraninProblem()
    with pytest.raises(ValueError, match="HyperbandOptimizer needs a problem with a fidelity"):
        HyperbandOptimizer(problem.space, problem.fidelity, problem.direction, 0)
