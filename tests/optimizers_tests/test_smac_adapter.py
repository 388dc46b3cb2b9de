"""SMAC adapters: proposals identical to SMAC's own `optimize()`, translation, hygiene, errors."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import ConfigSpace as CS
import numpy as np
import psutil
import pytest
from mixed_problems import (
    FlakyProblem,
    MixedProblem,
    NestedProblem,
    UnevenCurveProblem,
    load_conf,
    run_problem,
    trial_configs,
)
from smac import BlackBoxFacade, HyperparameterOptimizationFacade, MultiFidelityFacade, Scenario
from smac.acquisition.function import EI
from smac.acquisition.maximizer.local_search import LocalSearch
from smac.runhistory.enumerations import StatusType

from optimizers._configspace import configspace, decode
from optimizers._smac_order import ORIGINAL
from optimizers.base import Status
from optimizers.smac_adapter import SMACAdapter, SMACMultiFidelityAdapter
from problems.base import Fidelity
from problems.space import Categorical, Condition, Float, Int, SearchSpace

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _conf(name: str, n_configs: int, **overrides) -> dict:
    conf = load_conf(name)
    conf["initial_design"]["n_configs"] = n_configs
    conf.update(overrides)
    return conf


def _raw_mixed_space(seed: int) -> CS.ConfigurationSpace:
    """MixedProblem's space written as a SMAC user would write it."""
    cs = CS.ConfigurationSpace(seed=seed)
    kind = CS.Categorical("kind", ["linear", "poly", "tree"])
    alpha = CS.Float("alpha", (0.0, 1.0))
    depth = CS.Integer("depth", (2, 64), log=True)
    cs.add([CS.Integer("n_units", (1, 20)), CS.Float("learning_rate", (1e-4, 1.0), log=True),
            kind, alpha, depth])
    cs.add([CS.InCondition(alpha, kind, ["linear", "poly"]), CS.EqualsCondition(depth, kind, "tree")])
    return cs


def _plain(config) -> dict:
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in dict(config).items()}


def _raw_optimize(facade, target, n_trials: int, n_configs: int, seed: int, out: Path,
                  **scenario_args) -> None:
    """SMAC's documented loop: a Scenario, the facade with a customized initial design (all
    other components at SMAC's defaults), `optimize()`."""
    scenario = Scenario(_raw_mixed_space(seed), deterministic=True, n_trials=n_trials, seed=seed,
                        output_directory=out, **scenario_args)
    design = facade.get_initial_design(scenario, n_configs=n_configs, max_ratio=1.0)
    facade(scenario, target, initial_design=design, overwrite=True, logging_level=False).optimize()


@pytest.mark.parametrize(("name", "facade", "n_trials", "n_configs"), [
    ("smac", HyperparameterOptimizationFacade, 12, 2),  # 10 proposals: two forest fits
    ("smac_bb", BlackBoxFacade, 5, 3),  # GP fits cost seconds each
])
def test_proposals_equal_smac_optimize(name, facade, n_trials, n_configs, tmp_path):
    """Same seed, same objective: the adapter proposes what `facade.optimize()` evaluates,
    which also shows the conf's pinned component arguments are SMAC's defaults. (Both run
    with `_smac_order`'s fix, which importing the adapter installs for the process.)"""
    problem, seed = MixedProblem(), 3
    seen = []

    def target(config, seed: int) -> float:
        seen.append(_plain(config))
        return problem.function(seen[-1])

    _raw_optimize(facade, target, n_trials, n_configs, seed, tmp_path)
    result = run_problem(problem, _conf(name, n_configs), seed=seed, n_trials=n_trials)
    assert trial_configs(result) == seen
    assert len(seen) == n_trials


def test_multi_fidelity_proposals_equal_smac_optimize(tmp_path):
    """SMAC's Hyperband retrains each (configuration, budget) from scratch in `optimize()`; the
    adapter resumes paused trials instead, and SMAC proposes the same sequence."""
    problem, seed, n_configs = UnevenCurveProblem(), 1, 4
    seen = []

    def target(config, seed: int, budget: float) -> float:
        step = round(budget)
        seen.append((_plain(config), step))
        reports = list(problem.trial(seen[-1][0], seed=1).advance(step))
        return reports[-1].value

    result = run_problem(problem, _conf("smac_mf", n_configs), seed=seed, n_trials=16)
    jobs = _jobs(result)
    _raw_optimize(MultiFidelityFacade, target, len(jobs), n_configs, seed, tmp_path,
                  min_budget=1, max_budget=9)
    assert jobs == seen
    assert {s for _, s in jobs} == {1, 3, 9}  # eta 3 over steps 1..9
    assert len(set(result.columns["trial"])) == 16 < len(jobs)  # promotions resumed trials


def _jobs(result) -> list[tuple[dict, int]]:
    cols = result.columns
    return [(json.loads(c), s) for c, s, st in zip(cols["config"], cols["step"], cols["status"],
                                                   strict=True) if st == "completed"]


def test_resume_charges_only_extra_steps_and_restart_retrains():
    """Resumed or retrained, SMAC sees the same values and asks for the same jobs; resuming
    trains each step of a trial once, retraining starts a new trial (with its parent)."""
    problem, runs = UnevenCurveProblem(), {}
    for resume in (True, False):
        result = run_problem(problem, _conf("smac_mf", 4, resume=resume), seed=0, n_trials=14)
        cols, configs = result.columns, trial_configs(result)
        units: dict[int, int] = {}
        for t, u in zip(cols["trial"], cols["units"], strict=True):
            units[t] = units.get(t, 0) + u
        last = dict(zip(cols["trial"], cols["step"], strict=True))
        # UnevenCurveProblem charges 1 + n_units % 3 units a step
        assert all(units[t] == last[t] * (1 + configs[t]["n_units"] % 3) for t in units)
        n_jobs = sum(st == "completed" for st in cols["status"])
        restarted = {t for t, p in zip(cols["trial"], cols["parent_trial"], strict=True)
                     if p is not None}
        ends = [cum for cum, st in zip(cols["cum_units"], cols["status"], strict=True)
                if st == "completed"]  # units spent when each job ended
        runs[resume] = (_jobs(result), ends)
        if resume:
            assert n_jobs > len(units) and not restarted
        else:
            assert n_jobs == len(units) and restarted
    (jobs_resumed, ends_resumed), (jobs_retrained, ends_retrained) = runs[True], runs[False]
    n = min(len(jobs_resumed), len(jobs_retrained))
    assert jobs_resumed[:n] == jobs_retrained[:n]
    assert ends_resumed[n - 1] < ends_retrained[n - 1]  # the same jobs, fewer units


def test_failures_are_told_as_the_worst_loss_so_far():
    opt = SMACAdapter(MixedProblem().space, None, "minimize", 0, initial_design={"n_configs": 5})
    jobs = [opt.ask() for _ in range(4)]
    opt.tell(jobs[0].trial, Status.FAILED, math.nan, 1)  # no loss yet: held back
    assert [v.status for v in opt.smac.runhistory.values()] == [StatusType.RUNNING] * 4
    opt.tell(jobs[1].trial, Status.COMPLETED, 5.0, 1)
    opt.tell(jobs[2].trial, Status.COMPLETED, 3.0, 1)
    opt.tell(jobs[3].trial, Status.COMPLETED, math.nan, 1)
    told = sorted((v.cost, v.status) for v in opt.smac.runhistory.values())  # RUNNING: none
    assert told == [(3.0, StatusType.SUCCESS), (5.0, StatusType.SUCCESS),
                    (5.0, StatusType.CRASHED), (5.0, StatusType.CRASHED)]
    opt.close()
    fixed = SMACAdapter(MixedProblem().space, None, "maximize", 0, crash_cost=100.0)
    job = fixed.ask()
    fixed.tell(job.trial, Status.FAILED, math.nan, 1)
    assert [(v.cost, v.status) for v in fixed.smac.runhistory.values()] == [
        (100.0, StatusType.CRASHED)]
    fixed.close()


def test_flaky_problem_with_three_workers_survives():
    result = run_problem(FlakyProblem(), _conf("smac", 4), seed=0, n_trials=10, workers=3)
    assert "failed" in result.columns["status"]
    assert len(set(result.columns["trial"])) == 10


def test_space_translation_keeps_scales_types_and_conditions():
    space = SearchSpace((
        Int("k", 0, 10), Float("lr", 1e-4, 1.0, log=True), Int("width", 2, 512, log=True),
        Categorical("flag", (True, False, None)),
        Float("f", 0.0, 1.0, condition=Condition("k", (1, 2, 3))),
        Categorical("mode", ("a", "b"), condition=Condition("flag", (True,))),
        Float("g", 1e-3, 10.0, log=True, condition=Condition("mode", ("b",))),
    ))
    cs = configspace(space, 0)
    assert cs["lr"].log and cs["width"].log and not cs["k"].log
    assert isinstance(cs["k"], CS.UniformIntegerHyperparameter)
    assert isinstance(cs["width"], CS.UniformIntegerHyperparameter)
    assert list(cs["flag"].choices) == [True, False, None]
    conditions = {c.child.name: c for c in cs.conditions}
    assert isinstance(conditions["f"], CS.InCondition) and list(conditions["f"].values) == [1, 2, 3]
    assert isinstance(conditions["mode"], CS.EqualsCondition)
    for config in cs.sample_configuration(200):
        values = decode(space, config)
        space.validate(values)  # active exactly where our conditions say, in bounds
        assert all(type(v) is type(space[k].choices[0]) or v is None or isinstance(v, bool)
                   for k, v in values.items() if isinstance(space[k], Categorical))
        assert all(type(values[k]) is int for k in ("k", "width"))
        assert list(values) == [n for n in space.names if n in values]


def test_local_search_start_points_keep_their_documented_order():
    """SMAC 2.4.1 returns the start points as `list(set(...))`; the fix returns the same points,
    first occurrences left to right."""
    cs = _raw_mixed_space(0)
    search = LocalSearch(cs, seed=0)
    search._acquisition_function = EI()  # no model: only the additional points count
    points = cs.sample_configuration(6)
    additional = [(0.0, c) for c in [*points, points[2], points[0]]]
    ours = search._get_init_points_from_previous_configs([], 6, additional)
    assert ours == points
    assert set(ORIGINAL(search, [], 6, additional)) == set(points)


def test_cell_leaves_no_files_threads_processes_output_or_rng_change(tmp_path, monkeypatch,
                                                                        capfd, caplog):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.chdir(tmp_path)
    caplog.set_level("DEBUG")
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 (checking it is untouched)
    py_state = random.getstate()
    threads = threading.active_count()
    # children other tests of the session left (e.g. a process pool's) are not the cells'
    children = {c.pid for c in psutil.Process().children()}
    for name, problem in (("smac", NestedProblem()), ("smac_mf", UnevenCurveProblem())):
        opt_seen = run_problem(problem, _conf(name, 3), seed=0, n_trials=8, workers=2)
        assert opt_seen.columns["trial"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]  # no smac3_output/
    assert list((tmp_path / "tmp").iterdir()) == []  # the cells' SMAC folders are removed
    assert threading.active_count() == threads
    assert [c for c in psutil.Process().children() if c.pid not in children] == []
    assert (np.random.get_state()[1] == np_state).all()  # noqa: NPY002
    assert random.getstate() == py_state
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert not [r for r in caplog.records if r.name.startswith("smac") and r.levelno < 30]


def test_output_folder_exists_while_the_adapter_lives():
    opt = SMACAdapter(MixedProblem().space, None, "minimize", 0)
    folder = Path(opt._output)
    assert folder.is_dir() and Path(tempfile.gettempdir()) in folder.parents
    opt.close()
    assert not folder.exists()


_SCRIPT = """
import json, sys
sys.path.insert(0, {here!r})
from mixed_problems import NestedProblem, UnevenCurveProblem, load_conf, run_problem
rows = []
for name, problem in (("smac", NestedProblem()), ("smac_mf", UnevenCurveProblem())):
    conf = load_conf(name)
    conf["initial_design"]["n_configs"] = 3
    result = run_problem(problem, conf, seed=5, n_trials=8, workers=2)
    cols = {{k: v for k, v in result.columns.items() if k not in ("wall_time", "optimizer_time")}}
    rows.append(cols)
print(json.dumps(rows, sort_keys=True))
"""


def test_reproducible_across_processes():
    """Two fresh interpreters with different hash seeds give identical rows."""
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed,
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run([sys.executable, "-c", _SCRIPT.format(here=str(HERE))], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=240, check=True)
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])[0]["trial"]


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"facade": "bohb"}, ValueError, r"^`facade` must be one of \['blackbox', 'hpo'\], got 'bohb'\.$"),
    ({"model": {"n_tress": 5}}, ValueError,
     r"^`model\.n_tress` is not a setting of HyperparameterOptimizationFacade\.get_model; "
     r"its settings are n_trees, ratio_features, .*bootstrapping\.$"),
    ({"initial_design": {"max_ratio": 0.5}}, ValueError,
     r"^`initial_design\.max_ratio` is not a setting of .*its settings are n_configs\.$"),
    ({"initial_design": {"n_configs": -1}}, ValueError,
     r"^`initial_design\.n_configs` must be an int >= 0 or null, got -1\.$"),
    ({"crash_cost": math.inf}, ValueError,
     r"^`crash_cost` must be a finite number or null \(the worst loss so far\), got inf\.$"),
    ({"deterministic": "yes"}, TypeError, r"^`deterministic` must be true or false, got 'yes'\.$"),
])
def test_bad_settings_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        SMACAdapter(MixedProblem().space, None, "minimize", 0, **kwargs)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"intensifier": {"eta": 1}}, ValueError, r"^`intensifier\.eta` must be an int >= 2, got 1\.$"),
    ({"min_fidelity": 0}, ValueError, r"^`min_fidelity` must be an int in \[1, 9\]"),
    ({"resume": 1}, TypeError, r"^`resume` must be true or false, got 1\.$"),
])
def test_bad_multi_fidelity_settings_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        SMACMultiFidelityAdapter(MixedProblem().space, Fidelity("step", 1, 9), "minimize", 0,
                                 **kwargs)


def test_multi_fidelity_needs_a_fidelity():
    with pytest.raises(ValueError, match="needs a problem with a fidelity"):
        SMACMultiFidelityAdapter(MixedProblem().space, None, "minimize", 0)
