"""The trial store: paused trials within `paused_memory`, rebuilt exactly when evicted."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from benchmarks.compose import compose_runs
from benchmarks.plan import plan_cells
from benchmarks.runner import run_cell
from benchmarks.trial_store import Recipe, Slot, TrialStore
from benchmarks.validate import validate
from problems.errors import UserError
from problems.mlp import MLPProblem
from problems.synthetic import LearningCurveProblem
from tests.benchmarks_tests.resume_helpers import planned_cell, same_rows
from tests.benchmarks_tests.test_resume import TINY_LGBM, TINY_MLP


@pytest.mark.parametrize(("problem", "optimizer", "overrides", "path"), [
    ("lgbm", "asha", ("budget.units=250", *TINY_LGBM), "replayed_trials"),
    ("lgbm", "pbt", ("budget.units=160", "optimizer.n_members=4",
                     "optimizer.perturbation_interval=5", *TINY_LGBM), "replayed_trials"),
    ("mlp", "asha", ("budget.units=40", *TINY_MLP), "restored_trials"),
])
def test_evicted_trials_come_back_exactly(tmp_path, problem, optimizer, overrides, path):
    spec = planned_cell(tmp_path, problem, optimizer, *overrides)
    unbounded = run_cell(replace(spec, paused_memory=None, journal=None))
    assert unbounded.info["evicted_trials"] == 0
    bounded = run_cell(replace(spec, paused_memory=0, journal=None))  # none stays in memory
    assert bounded.info[path] > 0 and bounded.info["evicted_trials"] > 0
    assert bounded.info["replay_seconds"] > 0
    assert bounded.info["cum_units"] == unbounded.info["cum_units"]  # replay is not charged
    assert same_rows(unbounded.columns, bounded.columns)


def test_a_saved_mlp_trial_continues_bit_for_bit():
    problem = MLPProblem(n_samples=200, max_epochs=9)
    config = {"hidden_size": 32, "lr": 3e-3, "batch_size": 16}
    straight = problem.trial(config, 3)
    list(straight.advance(9))
    store = TrialStore(problem, 3, budget_bytes=0)
    paused = problem.trial(config, 3)
    list(paused.advance(4))
    slot = Slot(Recipe(config, None, (4,)), paused, paused.step, paused.last_report)
    store.put(7, slot)
    assert slot.trial is None and slot.state_file is not None  # evicted to a file
    back = store.materialize(store.take(7))
    assert store.n_restored == 1 and store.n_replayed == 0
    list(back.advance(9))
    for a, b in zip(straight._model.state_dict().values(), back._model.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    adam_a, adam_b = straight._optimizer.state_dict(), back._optimizer.state_dict()
    for key, state in adam_a["state"].items():
        for name, value in state.items():
            assert torch.equal(value, adam_b["state"][key][name])
    assert torch.equal(straight._generator.get_state(), back._generator.get_state())
    store.close()


def test_least_recently_used_trials_leave_memory_first():
    problem = LearningCurveProblem()
    store = TrialStore(problem, 0, budget_bytes=25)
    slots = []
    for i in range(4):
        trial = problem.trial(problem.space.sample(np.random.default_rng(i)), 0)
        list(trial.advance(5 + i))
        slots.append(Slot(Recipe(trial.config, None, (trial.step,)), trial, trial.step,
                          trial.last_report, nbytes=10))
    store.put(0, slots[0])
    store.put(1, slots[1])
    store.peek(0)  # 0 is now more recently used than 1
    store.put(2, slots[2])
    assert [s.trial is None for s in slots[:3]] == [False, True, False]
    # an evicted trial is replayed to its step, with the same last report
    reference = slots[1].last_report
    back = store.materialize(store.take(1))
    assert back.step == 6 and back.last_report == reference and store.n_replayed == 1


def test_paused_memory_is_checked_and_not_part_of_a_cells_identity(tmp_path):
    with pytest.raises(UserError, match=r"`paused_memory` must be a number of MiB >= 0 or "
                                        r"null; got -1"):
        validate(compose_runs(["paused_memory=-1"])[0])
    spec = planned_cell(tmp_path, "branin", "random", "budget.trials=3")
    from benchmarks.executors import write_result

    write_result(run_cell(spec), tmp_path / "default" / "branin" / "random" / "seed=0.parquet")
    runs = compose_runs(["problem=branin", "optimizer=random", "seeds=[0]", "budget.trials=3",
                         f"results_dir={tmp_path}", "paused_memory=null"])
    todo, done = plan_cells(runs)
    assert not todo and len(done) == 1
