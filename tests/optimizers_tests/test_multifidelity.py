"""The chapter's multi-fidelity scheme: levels, budget shares, carrying the best up."""

from __future__ import annotations

from collections import Counter

import pytest

from optimizers.multifidelity import MultiFidelityOptimizer
from problems.synthetic import BraninProblem, LearningCurveProblem
from tests.kits.cells import curve_conf, optimizer_conf, rows, run, run_problem


def make(**params):
    problem = LearningCurveProblem(max_iterations=81)
    return MultiFidelityOptimizer(problem.space, problem.fidelity, problem.direction, 0,
                                  **params)


def test_chapter_levels_and_shares():
    # 50/30/15/5 % of 100 evaluations at 0.1/0.3/0.5/1.0 of 81 iterations.
    assert make().rungs == [(50, 8), (30, 24), (15, 40), (5, 81)]


@pytest.mark.parametrize(("resume", "units"), [
    (True, 50 * 8 + 30 * 16 + 15 * 16 + 5 * 41),
    (False, 50 * 8 + 30 * 24 + 15 * 40 + 5 * 81),
])
def test_one_round_costs_exactly_and_carries_the_best_up(resume, units):
    result = run(optimizer_conf("multifidelity", resume=resume, n_repeats=1))
    cols = result.columns
    assert result.info["cum_units"] == units
    ends = Counter(s for s, st in zip(cols["step"], cols["status"], strict=True)
                   if st == "completed")
    assert ends == {8: 50, 24: 30, 40: 15, 81: 5}
    # The 30 carried to 24 iterations are the 30 best at 8 (noise off: by true value).
    at = {s: {} for s in (8, 24)}
    for t, p, s, v, st in zip(cols["trial"], cols["parent_trial"], cols["step"], cols["value"],
                              cols["status"], strict=True):
        if st == "completed" and s in at:
            at[s][t if resume else (p if s == 24 else t)] = v
    best = sorted(at[8], key=lambda t: -at[8][t])[:30]
    assert sorted(at[24]) == sorted(best)


def test_workers_and_determinism():
    cells = [run("multifidelity", curve_conf(noise_std=0.01), seed=1, workers=4, units=900)
             for _ in range(2)]
    assert rows(cells[0]) == rows(cells[1])


def test_failures_are_survived(failing_curve):
    result = run_problem(failing_curve, optimizer_conf("multifidelity"), workers=3,
                         units=600)
    assert "failed" in result.columns["status"]
    assert result.info["cum_units"] >= 600


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"levels": [0.5, 0.3, 1.0], "shares": [0.5, 0.3, 0.2]},
         r"`levels` must increase strictly within \(0, 1\]"),
        ({"shares": [0.5, 0.5]}, r"`shares` must have one entry per level \(4\)"),
        ({"shares": [0.6, 0.3, 0.15, 0.05]}, r"`shares` must be > 0 and sum to at most 1"),
        ({"n_evaluations": 10}, r"`n_evaluations` = 10 gives \[5, 3, 1, 0\] evaluations"),
        ({"n_evaluations": 0}, r"`n_evaluations` must be an int >= 1, got 0\."),
    ],
)
def test_bad_settings(params, match):
    with pytest.raises(ValueError, match=match):
        make(**params)


def test_levels_must_be_numbers():
    with pytest.raises(TypeError, match=r"`levels` must be a non-empty list of numbers"):
        make(levels="0.1")


def test_needs_a_fidelity():
    problem = BraninProblem()
    with pytest.raises(ValueError, match="MultiFidelityOptimizer needs a problem with a fidelity"):
        MultiFidelityOptimizer(problem.space, problem.fidelity, problem.direction, 0)
