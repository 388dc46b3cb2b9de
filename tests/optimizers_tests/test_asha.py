"""ASHA: rung schedule, promotion rule (never more than 1/eta of a rung), restarts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optimizers.asha import ASHAOptimizer
from optimizers.base import JobKind, Status
from problems.synthetic import BraninProblem, LearningCurveProblem
from tests.kits.cells import completed, curve_conf, drive, optimizer_conf, rows, run


def make(seed=0, **params):
    problem = LearningCurveProblem(max_iterations=81)
    return ASHAOptimizer(problem.space, problem.fidelity, problem.direction, seed, **params)


def checked_ask(opt):
    """Wrap `opt.ask` to check that every promotion comes from its rung's top 1/eta (the
    rungs' contents recorded from `opt.tell`, where each job reports to the rung it aims at).
    """
    ask, tell = opt.ask, opt.tell
    losses = [{} for _ in opt.rung_steps]  # per rung: trial id -> loss
    aims = {}  # trial id -> the rung its running job aims at

    def wrapped_ask():
        job = ask()
        if job is not None:
            aims[job.trial] = opt.rung_steps.index(job.target)
            if job.target > opt.rung_steps[0]:
                k = aims[job.trial] - 1
                earlier = job.trial if job.kind is JobKind.RESUME else job.parent
                ranked = sorted(losses[k], key=lambda t: (losses[k][t], t))
                assert earlier in ranked[: len(ranked) // opt.eta]
        return job

    def wrapped_tell(trial, status, value, step):
        loss = math.inf if status is Status.FAILED else opt.loss(value)
        losses[aims.pop(trial)][trial] = loss
        tell(trial, status, value, step)

    opt.ask, opt.tell = wrapped_ask, wrapped_tell
    return opt


def test_rungs_from_grace_period():
    assert make().rung_steps == [1, 3, 9, 27, 81]
    assert make(grace_period=2, max_fidelity=50).rung_steps == [2, 6, 18, 50]
    assert make(reduction_factor=4).rung_steps == [1, 4, 16, 64, 81]


def test_promotes_when_a_third_of_a_rung_is_better():
    opt = make()
    first = [opt.ask() for _ in range(3)]
    assert [(j.kind, j.target) for j in first] == [(JobKind.NEW, 1)] * 3
    opt.tell(0, Status.COMPLETED, 0.2, 1)
    opt.tell(1, Status.COMPLETED, 0.9, 1)
    assert opt.ask().kind is JobKind.NEW  # 2 results: floor(2/3) = 0 promotable
    opt.tell(2, Status.COMPLETED, 0.5, 1)
    job = opt.ask()  # 3 results: the best (trial 1) goes to rung 3
    assert (job.kind, job.trial, job.target, job.config) == (
        JobKind.RESUME, 1, 3, first[1].config)
    assert opt.ask().kind is JobKind.NEW  # promoted once only


@pytest.mark.parametrize("resume", [True, False])
def test_promotes_only_from_the_top_third_of_a_rung(resume):
    opt = checked_ask(make(seed=1, resume=resume, n_configs=60))
    rng = np.random.default_rng(1)
    jobs = drive(opt, lambda job: completed(job, float(rng.random())), rng, n_workers=5,
                 max_events=2000)
    promotions = [j for j in jobs if j.target > 1]
    assert len(promotions) == sum(rung.n_promoted for rung in opt.rungs) > 20
    assert {j.kind for j in promotions} == {JobKind.RESUME if resume else JobKind.NEW}
    assert all((j.parent is None) is resume for j in promotions)
    assert sum(j.target == 1 for j in jobs) == 60
    assert opt.ask() is None  # n_configs reached and nothing left to promote


def test_results_best_first_promote_exactly_one_eta_of_each_rung():
    opt = checked_ask(make(n_configs=81))
    rng = np.random.default_rng(0)
    # Each result worse than all before it: the top 1/eta never changes membership.
    jobs = drive(opt, lambda job: completed(job, -job.trial - 100 * job.target), rng,
                 n_workers=1, max_events=1000)
    assert [rung.n_promoted for rung in opt.rungs] == [27, 9, 3, 1, 0]
    assert [len(r) for r in opt.rungs] == [81, 27, 9, 3, 1]
    assert len(jobs) == 81 + 27 + 9 + 3 + 1


def test_restarts_cost_more_than_continuation():
    cont = run(optimizer_conf("asha", n_configs=27))
    restart = run(optimizer_conf("asha_restart", n_configs=27))
    assert cont.info["stop_reason"] == restart.info["stop_reason"] == "optimizer done"
    assert cont.info["cum_units"] < restart.info["cum_units"]
    parents = [p for p in restart.columns["parent_trial"] if p is not None]
    assert parents and all(p is None for p in cont.columns["parent_trial"])


def test_asynchronous_workers_are_deterministic():
    cells = [run("asha", curve_conf(noise_std=0.01), seed=2, workers=4, units=500)
             for _ in range(2)]
    assert rows(cells[0]) == rows(cells[1])
    other = run("asha", curve_conf(noise_std=0.01), seed=5, workers=4, units=500)
    assert rows(other)["config"][:5] != rows(cells[0])["config"][:5]


def test_failed_trials_count_in_rungs_but_are_not_promoted(failing_curve):
    problem = failing_curve
    opt = ASHAOptimizer(problem.space, problem.fidelity, problem.direction, 0, n_configs=40)
    rng = np.random.default_rng(0)

    def outcome(job):
        if job.config["x"] > 0.8:
            return Status.FAILED, float("nan"), job.target
        return completed(job, float(rng.random()))

    jobs = drive(checked_ask(opt), outcome, rng, n_workers=3)
    assert all(j.config["x"] <= 0.8 for j in jobs if j.kind is JobKind.RESUME)
    assert any(j.config["x"] > 0.8 for j in jobs)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"reduction_factor": 1}, r"`reduction_factor` must be an int >= 2, got 1\."),
        ({"grace_period": 0}, r"`min_fidelity` must be an int in \[1, 81\]"),
        ({"max_fidelity": 82}, r"`max_fidelity` must be an int in \[1, 81\]"),
        ({"n_configs": 0}, r"`n_configs` must be an int >= 1 or null, got 0\."),
    ],
)
def test_bad_settings(params, match):
    with pytest.raises(ValueError, match=match):
        make(**params)


def test_needs_a_fidelity():
    problem = BraninProblem()
    with pytest.raises(ValueError, match="ASHAOptimizer needs a problem with a fidelity"):
        ASHAOptimizer(problem.space, problem.fidelity, problem.direction, 0)
