import gc
import math

import pandas as pd
import pytest

from benchmarks.runner import _Loop, run_cell, run_problem
from benchmarks.runner_parts import YOUNG_THRESHOLD
from optimizers.base import Decision, Job, JobKind, Status
from optimizers.random_search import RandomSearchOptimizer
from problems.synthetic import LearningCurveProblem
from tests.kits.cells import ScriptedOptimizer, cell_spec
from tests.kits.cells import new_job as new
from tests.kits.cells import rows as timeless
from tests.kits.toy_problems import FailingProblem

LC = {"_target_": "problems.synthetic.LearningCurveProblem", "noise_std": 0.01}
RANDOM = {"_target_": "optimizers.random_search.RandomSearchOptimizer"}

def frame(result):
    return pd.DataFrame(result.columns)


def spec(problem_conf, optimizer_conf, seed=0, **kwargs):
    return cell_spec(problem_conf, optimizer_conf, seed, record_config=True, **kwargs)


def flaky(max_step=None, raise_below=0.1, sleep_above=math.inf):
    """x < `raise_below` raises, x in (0.45, 0.5) is NaN, x > `sleep_above` sleeps."""
    return FailingProblem(max_step=max_step, raise_where={"x": (-math.inf, raise_below)},
                          nan_where={"x": (0.45, 0.5)}, sleep_where={"x": (sleep_above, math.inf)})


def scripted_loop(problem, jobs, workers=1, decisions=None, **budget):
    optimizer = ScriptedOptimizer(problem.space, problem.fidelity, problem.direction, 0,
                                  jobs=jobs, decisions=decisions)
    s = spec({}, {}, workers=workers, **budget)
    result = _Loop(s, problem, optimizer, None).run()
    return frame(result), optimizer, result


def test_same_cell_twice_gives_identical_rows_timing_aside():
    s = spec(LC, RANDOM, seed=4, units=500, workers=3)
    a, b = pd.DataFrame(timeless(run_cell(s))), pd.DataFrame(timeless(run_cell(s)))
    pd.testing.assert_frame_equal(a, b)
    other = frame(run_cell(spec(LC, RANDOM, seed=5, units=500, workers=3)))
    assert not a.config.equals(other.config)


def test_simulated_workers_order_reports_by_virtual_time_fifo_on_ties():
    problem = LearningCurveProblem(max_iterations=10)
    jobs = [
        Job(JobKind.NEW, 0, {"learning_rate": 0.1, "batch_size": 32}, 4),
        Job(JobKind.NEW, 1, {"learning_rate": 0.2, "batch_size": 32}, 2),
        Job(JobKind.NEW, 2, {"learning_rate": 0.3, "batch_size": 32}, 3),
    ]
    rows, opt, _ = scripted_loop(problem, jobs, workers=2, units=100)
    seen = list(zip(rows.trial, rows.step, rows.virtual_time, strict=True))
    assert seen == [
        (0, 1, 1.0), (1, 1, 1.0), (0, 2, 2.0), (1, 2, 2.0),  # ties: trial 0 was filed first
        (0, 3, 3.0), (2, 1, 3.0), (0, 4, 4.0), (2, 2, 4.0), (2, 3, 5.0),
    ]
    assert list(rows.status) == ["running", "running", "running", "completed", "running",
                                 "running", "completed", "running", "completed"]
    assert list(rows.cum_units) == list(range(1, 10))
    tells = [c[1] for c in opt.calls if c[0] == "tell"]
    assert tells == [1, 0, 2]


def test_workers_one_is_sequential():
    problem = LearningCurveProblem(max_iterations=10)
    jobs = [Job(JobKind.NEW, i, {"learning_rate": 0.1, "batch_size": 32}, 3) for i in range(3)]
    rows, _, _ = scripted_loop(problem, jobs, workers=1, units=100)
    assert list(rows.trial) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert list(rows.virtual_time) == list(map(float, range(1, 10)))


def test_prune_pause_resume_and_clone_account_units_exactly():
    problem = LearningCurveProblem(max_iterations=30, noise_std=0.0)
    cfg = {"learning_rate": 0.1, "batch_size": 32}
    jobs = [
        Job(JobKind.NEW, 0, cfg, 10),
        Job(JobKind.NEW, 1, {"learning_rate": 0.3, "batch_size": 128}, 10),
        Job(JobKind.RESUME, 0, cfg, 30),
        Job(JobKind.CLONE, 2, {"learning_rate": 0.1, "batch_size": 64}, 28, parent=0),
    ]
    decisions = {(1, 4): Decision.STOP, (0, 25): Decision.PAUSE}
    rows, opt, _ = scripted_loop(problem, jobs, decisions=decisions, units=1000)
    by_trial = rows.groupby("trial").units.sum().to_dict()
    # trial 0: 10 + (11..25) = 25; trial 1 pruned at 4; the clone goes on from 25 to 28.
    assert by_trial == {0: 25, 1: 4, 2: 3}
    assert rows[rows.trial == 1].status.iloc[-1] == "pruned"
    assert rows[rows.trial == 0].status.tolist()[-1] == "paused"
    assert ("tell", 0, Status.PAUSED, 25) in opt.calls
    clone_rows = rows[rows.trial == 2]
    assert clone_rows.parent_trial.tolist() == [0, 0, 0] and clone_rows.step.tolist() == [26, 27, 28]
    assert ("tell", 2, Status.COMPLETED, 28) in opt.calls
    # The clone continues the source's curve with its own (new) configuration.
    assert clone_rows.true_value.iloc[0] == pytest.approx(problem.curve(jobs[3].config, 26))


def test_failures_are_recorded_and_the_cell_goes_on():
    problem = flaky()
    jobs = [new(0, 0.05), new(1, 0.47), new(2, 0.9)]
    rows, opt, _ = scripted_loop(problem, jobs, trials=10)
    assert rows.status.tolist() == ["failed", "failed", "completed"]
    assert rows.error.tolist()[:2] == ["RuntimeError: diverged at x=0.050", "objective is NaN"]
    assert math.isnan(rows.value[0]) and rows.best_loss.tolist()[-1] == pytest.approx(0.17)
    assert pd.isna(rows.best_loss[0]) and pd.isna(rows.best_loss[1])
    assert ("tell", 0, Status.FAILED, 0) in opt.calls and ("tell", 1, Status.FAILED, 1) in opt.calls
    assert rows.test_value.tolist()[2] == 0.9


def test_trial_timeout_marks_the_trial_failed():
    problem = flaky(sleep_above=0.8)
    rows, _, _ = scripted_loop_with_timeout(problem, [new(0, 0.9), new(1, 0.6)], timeout=0.1)
    assert rows.status.tolist() == ["failed", "completed"]
    assert "trial_timeout" in rows.error[0]


def scripted_loop_with_timeout(problem, jobs, timeout):
    optimizer = ScriptedOptimizer(problem.space, None, problem.direction, 0, jobs=jobs)
    s = spec({}, {}, trials=10, trial_timeout=timeout)
    return frame(_Loop(s, problem, optimizer, None).run()), optimizer, None


def test_budgets_trials_units_and_optimizer_done():
    rows = frame(run_cell(spec(LC, RANDOM, trials=3)))
    assert rows.trial.nunique() == 3 and rows.cum_units.iloc[-1] == 3 * 81
    rows = frame(run_cell(spec(LC, RANDOM, units=100)))
    assert rows.cum_units.iloc[-1] == 100 and rows.trial.nunique() == 2
    rows = frame(run_cell(spec(LC, {**RANDOM, "n_trials": 2}, units=10_000)))
    assert rows.trial.nunique() == 2
    result = run_cell(spec(LC, RANDOM, seconds=0.2))
    assert result.info["stop_reason"] == "seconds" and result.info["wall_time"] >= 0.2


def test_incumbent_tracks_best_loss_in_the_problem_direction():
    rows = frame(run_cell(spec(LC, RANDOM, trials=4, seed=1)))
    assert (rows.loss == -rows.value).all()
    assert (rows.best_loss == rows.loss.cummin()).all()
    assert rows.config.str.startswith('{"batch_size":').all()


def test_waiting_optimizer_with_nothing_running_ends_the_cell():
    problem = flaky()
    rows, _, result = scripted_loop(problem, [new(0, 0.7), "wait", new(1, 0.8)], trials=10)
    assert rows.trial.tolist() == [0]
    assert result.info["stop_reason"] == "optimizer done"


def test_a_problem_failing_everywhere_ends_the_cell():
    from benchmarks.runner import MAX_CONSECUTIVE_FAILURES

    problem = flaky(raise_below=2.0, max_step=5)
    optimizer = ScriptedOptimizer(problem.space, problem.fidelity, problem.direction, 0,
                                  jobs=[new(i, 0.5) for i in range(10_000)])
    result = _Loop(spec({}, {}, units=100), problem, optimizer, None).run()
    assert result.info["stop_reason"] == "failures"
    assert len(result.columns["trial"]) == MAX_CONSECUTIVE_FAILURES


def test_a_clone_the_problem_refuses_is_a_failed_trial():
    from problems.mlp import MLPProblem

    problem = MLPProblem(max_epochs=3)
    base = {"hidden_size": 32, "lr": 0.01, "batch_size": 64}
    jobs = [
        Job(JobKind.NEW, 0, base, 1),
        Job(JobKind.CLONE, 1, {**base, "hidden_size": 64}, 2, parent=0),
        Job(JobKind.CLONE, 2, {**base, "lr": 0.005}, 2, parent=0),
    ]
    rows, opt, _ = scripted_loop(problem, jobs, units=100)
    failed = rows[rows.trial == 1]
    assert failed.status.tolist() == ["failed"] and failed.parent_trial.tolist() == [0]
    assert "hidden_size" in failed.error.iloc[0]
    assert rows[rows.trial == 2].status.tolist() == ["completed"]
    assert ("tell", 1, Status.FAILED, 0) in opt.calls


def test_a_cell_collects_young_objects_less_often_then_restores_the_thresholds(monkeypatch):
    seen = []
    growth = LearningCurveProblem.growth
    monkeypatch.setattr(LearningCurveProblem, "growth",
                        lambda self, t: seen.append(gc.get_threshold()) or growth(self, t))
    before = gc.get_threshold()
    result = run_problem(spec({}, RANDOM, units=5), LearningCurveProblem())
    assert len(result.columns["trial"]) == 5
    assert set(seen) == {(max(before[0], YOUNG_THRESHOLD), *before[1:])}
    assert gc.get_threshold() == before

    def broken(*args):
        raise RuntimeError("an optimizer's bug")

    monkeypatch.setattr(RandomSearchOptimizer, "tell", broken)
    with pytest.raises(RuntimeError, match="optimizer's bug"):
        run_problem(spec({}, RANDOM, units=200), LearningCurveProblem())
    assert gc.get_threshold() == before
