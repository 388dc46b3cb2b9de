"""Successive halving: rung sizes, synchronous rungs, exact compute-unit accounting."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from optimizers.base import JobKind, Status
from optimizers.successive_halving import SuccessiveHalvingOptimizer
from problems.synthetic import BraninProblem, LearningCurveProblem
from tests.kits.cells import completed, curve_conf, drive, optimizer_conf, rows, run, run_problem


def make(**params):
    problem = LearningCurveProblem(max_iterations=81)
    return SuccessiveHalvingOptimizer(problem.space, problem.fidelity, problem.direction, 0,
                                      **params)


def test_81_configs_eta_3_rungs():
    assert make().rungs == [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)]
    assert make(n_configs=27, min_fidelity=3).rungs == [(27, 3), (9, 9), (3, 27), (1, 81)]


@pytest.mark.parametrize(("resume", "units"), [(True, 297), (False, 405)])
def test_compute_units_are_exact(resume, units):
    result = run(optimizer_conf("sha" if resume else "sha_restart", n_repeats=1))
    cols = result.columns
    assert result.info["stop_reason"] == "optimizer done"
    assert result.info["cum_units"] == units == sum(cols["units"])
    ends = Counter(s for s, st in zip(cols["step"], cols["status"], strict=True)
                   if st == "completed")
    assert ends == {1: 81, 3: 27, 9: 9, 27: 3, 81: 1}
    restarted = {p for p in cols["parent_trial"] if p is not None}
    assert (len(restarted) == 27 + 9 + 3 + 1) is not resume
    assert result.info["n_trials"] == (81 if resume else 121)


def test_rungs_wait_for_every_job_and_promote_the_best():
    opt = make()
    jobs = [opt.ask() for _ in range(81)]
    assert opt.ask() is None  # the rung boundary: nothing to do until all are told
    for job in reversed(jobs):  # tells in any order
        opt.tell(job.trial, Status.COMPLETED, job.trial / 100, 1)
    promoted = [opt.ask() for _ in range(27)]
    assert opt.ask() is None
    assert {j.kind for j in promoted} == {JobKind.RESUME}
    assert {j.target for j in promoted} == {3}
    # maximize: the 27 largest values (trials 54..80) go on, best first
    assert [j.trial for j in promoted] == list(range(80, 53, -1))


def test_restart_promotions_are_new_trials_naming_their_parent():
    opt = make(resume=False, n_configs=9, min_fidelity=9)
    assert not opt.keeps_trials
    jobs = [opt.ask() for _ in range(9)]
    for job in jobs:
        opt.tell(job.trial, *completed(job, value=-job.trial)[:2], job.target)
    job = opt.ask()
    assert (job.kind, job.parent, job.target, job.trial) == (JobKind.NEW, 0, 27, 9)
    assert job.config == jobs[0].config


def test_workers_and_determinism():
    first, second = (run("sha", curve_conf(noise_std=0.01), seed=3, workers=4, units=600)
                     for _ in range(2))
    assert rows(first) == rows(second)
    other = run("sha", curve_conf(noise_std=0.01), seed=4, workers=4, units=600)
    assert rows(other)["config"] != rows(first)["config"]
    assert first.info["cum_units"] >= 600


def test_failed_trials_are_survived_and_never_promoted(failing_curve):
    problem = failing_curve
    for conf in (optimizer_conf("sha"), optimizer_conf("sha_restart")):
        result = run_problem(problem, conf, workers=2, units=400)
        cols = result.columns
        failed = {t for t, s in zip(cols["trial"], cols["status"], strict=True) if s == "failed"}
        assert failed
        assert not failed & {p for p in cols["parent_trial"] if p is not None}
        for t, c, s in zip(cols["trial"], cols["config"], cols["step"], strict=True):
            assert s <= 27 and t >= 0 and c


def test_tells_in_any_order_with_failures(failing_curve):
    problem = failing_curve
    opt = SuccessiveHalvingOptimizer(problem.space, problem.fidelity, "maximize", 1,
                                     n_repeats=2)
    rng = np.random.default_rng(0)

    def outcome(job):
        if job.trial % 5 == 0:
            return Status.FAILED, float("nan"), job.target
        return completed(job, float(rng.random()))

    jobs = drive(opt, outcome, rng, n_workers=4)
    assert sum(j.kind is JobKind.NEW for j in jobs) == 2 * 27
    assert all(j.trial % 5 for j in jobs if j.kind is JobKind.RESUME)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"reduction_factor": 1}, r"`reduction_factor` must be an int >= 2, got 1\."),
        ({"min_fidelity": 0}, r"`min_fidelity` must be an int in \[1, 81\]"),
        ({"max_fidelity": 100}, r"`max_fidelity` must be an int in \[1, 81\]"),
        ({"min_fidelity": 9, "max_fidelity": 9}, r"`min_fidelity < max_fidelity` must hold"),
        ({"n_configs": 0}, r"`n_configs` must be an int >= 1 or null, got 0\."),
        ({"n_repeats": -1}, r"`n_repeats` must be an int >= 1 or null, got -1\."),
    ],
)
def test_bad_settings(params, match):
    with pytest.raises(ValueError, match=match):
        make(**params)


def test_resume_must_be_a_bool():
    with pytest.raises(TypeError, match=r"`resume` must be true or false, got 'yes'\."):
        make(resume="yes")


def test_needs_a_fidelity():
    problem = BraninProblem()
    with pytest.raises(ValueError, match="needs a problem with a fidelity"):
        SuccessiveHalvingOptimizer(problem.space, problem.fidelity, problem.direction, 0)
