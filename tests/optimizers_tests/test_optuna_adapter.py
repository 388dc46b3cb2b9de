"""OptunaAdapter: proposals identical to raw Optuna, pruning through the runner, errors."""

from __future__ import annotations

import math

import optuna
import pytest

from optimizers.base import Decision, Status
from optimizers.grid import grid_points
from optimizers.optuna_adapter import SAMPLERS, OptunaAdapter
from problems.synthetic import BraninProblem, LearningCurveProblem
from tests.kits.cells import optimizer_conf as load_conf
from tests.kits.cells import run_problem, trial_configs
from tests.kits.toy_problems import MixedProblem, NestedProblem, UnevenCurveProblem

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _raw_mixed(trial: optuna.Trial) -> dict:
    config = {
        "n_units": trial.suggest_int("n_units", 1, 20),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1.0, log=True),
        "kind": trial.suggest_categorical("kind", ["linear", "poly", "tree"]),
    }
    if config["kind"] in ("linear", "poly"):
        config["alpha"] = trial.suggest_float("alpha", 0.0, 1.0)
    else:
        config["depth"] = trial.suggest_int("depth", 2, 64, log=True)
    return config


def _raw_nested(trial: optuna.Trial) -> dict:
    config = {
        "x": trial.suggest_float("x", -3.0, 3.0),
        "k": trial.suggest_int("k", 0, 10),
        "model": trial.suggest_categorical("model", ["a", "b"]),
    }
    if config["model"] == "b":
        config["mode"] = trial.suggest_categorical("mode", ["fast", "slow"])
        if config["mode"] == "slow":
            config["gamma"] = trial.suggest_float("gamma", 1e-3, 10.0, log=True)
    return config


PROBLEMS = {"mixed": (MixedProblem, _raw_mixed, 3), "nested": (NestedProblem, _raw_nested, 11)}
#: Enough trials to leave each sampler's start-up phase (GP is slow: kept small).
N_TRIALS = {"tpe": 16, "cmaes": 14, "gp": 11, "qmc": 10, "optuna_random": 10}


@pytest.mark.parametrize("problem_name", sorted(PROBLEMS))
@pytest.mark.parametrize("conf_name", sorted(N_TRIALS))
def test_proposals_equal_raw_optuna(conf_name, problem_name):
    make_problem, raw_space, seed = PROBLEMS[problem_name]
    problem, conf, n_trials = make_problem(), load_conf(conf_name), N_TRIALS[conf_name]
    ours = trial_configs(run_problem(problem, conf, seed, trials=n_trials))

    sampler = SAMPLERS[conf["sampler"]](seed=seed, **conf["sampler_args"])
    study = optuna.create_study(sampler=sampler, direction=problem.direction)
    study.optimize(lambda t: problem.function(raw_space(t)), n_trials=n_trials)
    assert ours == [t.params for t in study.trials]


def _raw_pruned_run(pruner: optuna.pruners.BasePruner, problem, seed: int, n_trials: int):
    """The chapter's pruning loop written against Optuna directly."""
    sampler = SAMPLERS["tpe"](seed=seed, **load_conf("tpe")["sampler_args"])
    study = optuna.create_study(sampler=sampler, pruner=pruner, study_name="hpo-arena",
                                direction=problem.direction)

    def objective(trial: optuna.Trial) -> float:
        config = {"learning_rate": trial.suggest_float("learning_rate", 0.001, 0.3),
                  "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64, 128])}
        for report in problem.trial(config, seed).advance():
            trial.report(report.value, report.step)
            if trial.should_prune():
                raise optuna.TrialPruned
        return report.value

    study.optimize(objective, n_trials=n_trials)
    return study.trials


@pytest.mark.parametrize(("conf_name", "pruner"), [
    ("tpe_median", optuna.pruners.MedianPruner(5, 10, 1, n_min_trials=1)),
    ("optuna_hyperband", optuna.pruners.HyperbandPruner(1, 27, 3, 0)),
    ("optuna_asha", optuna.pruners.SuccessiveHalvingPruner(1, 4, 0, 0)),
])
def test_pruning_through_the_runner_equals_raw_optuna(conf_name, pruner):
    problem, seed, n_trials = LearningCurveProblem(max_iterations=27), 5, 30
    result = run_problem(problem, load_conf(conf_name), seed, trials=n_trials)
    raw = _raw_pruned_run(pruner, problem, seed, n_trials)

    assert trial_configs(result) == [t.params for t in raw]
    cols = result.columns
    last_row = {t: i for i, t in enumerate(cols["trial"])}
    statuses = [cols["status"][last_row[t]] for t in sorted(last_row)]
    assert statuses == [t.state.name.lower().replace("complete", "completed") for t in raw]
    assert "pruned" in statuses
    # A pruned trial costs only the iterations it trained.
    for t, frozen in enumerate(raw):
        units = sum(u for u, tr in zip(cols["units"], cols["trial"], strict=True) if tr == t)
        assert units == frozen.last_step


def test_tells_in_any_order_with_three_workers():
    conf = {**load_conf("optuna_asha"), "sampler_args": {
        **load_conf("tpe")["sampler_args"], "n_startup_trials": 4}}
    problem = UnevenCurveProblem()
    result = run_problem(problem, conf, seed=0, trials=24, workers=3)
    closing = [t for t, s in zip(result.columns["trial"], result.columns["status"], strict=True)
               if s != "running"]
    assert sorted(closing) == list(range(24))
    assert closing != sorted(closing), "the uneven costs should close trials out of order"
    for config in trial_configs(result):
        problem.space.validate(config)


def test_direct_out_of_order_tells_close_every_optuna_trial():
    problem = UnevenCurveProblem()
    adapter = OptunaAdapter(problem.space, problem.fidelity, "minimize", 0, pruner="median",
                            sampler_args={"n_startup_trials": 2})
    jobs = [adapter.ask() for _ in range(3)]
    for job in jobs:
        assert adapter.report(job.trial, 1, 1.0 + job.trial) is Decision.CONTINUE
    adapter.tell(jobs[2].trial, Status.FAILED, math.nan, 1)
    adapter.tell(jobs[0].trial, Status.COMPLETED, 0.5, 1)
    adapter.tell(jobs[1].trial, Status.PRUNED, 2.0, 1)
    states = [t.state.name for t in adapter.study.trials]
    assert states == ["COMPLETE", "PRUNED", "FAIL"]
    problem.space.validate(adapter.ask().config)


def test_grid_sampler_visits_the_native_grid_once_in_a_seeded_order():
    problem = BraninProblem()
    conf = {**load_conf("optuna_grid"), "sampler_args": {"resolution": 3, "values": None}}
    orders = []
    for seed in (0, 1):
        result = run_problem(problem, conf, seed, trials=100)
        orders.append(trial_configs(result))
    expected = sorted(map(sorted, (p.items() for p in grid_points(problem.space, None, 3))))
    for order in orders:
        assert len(order) == 9
        assert sorted(map(sorted, (c.items() for c in order))) == expected
    assert orders[0] != orders[1]


def test_pruner_max_resource_null_is_the_problem_maximum():
    problem = LearningCurveProblem(max_iterations=27)
    adapter = OptunaAdapter(problem.space, problem.fidelity, "maximize", 0, pruner="hyperband")
    assert adapter.study.pruner._max_resource == 27


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"sampler": "bohb"}, r"`sampler` must be one of .*got 'bohb'"),
    ({"sampler_args": {"n_startup": 3}}, r"`sampler_args` do not fit TPESampler"),
    ({"sampler": "grid", "sampler_args": {"step": 3}},
     r"`sampler_args.step` is not an argument of the grid sampler"),
    ({"pruner": "asha"}, r"`pruner` must be one of .*got 'asha'"),
    ({"pruner": "median", "pruner_args": {"warmup": 3}},
     r"`pruner_args.warmup` is not an argument of MedianPruner"),
])
def test_bad_arguments_are_refused(kwargs, match):
    problem = LearningCurveProblem()
    with pytest.raises(ValueError, match=match):
        OptunaAdapter(problem.space, problem.fidelity, "maximize", 0, **kwargs)


def test_pruner_needs_a_fidelity():
    problem = BraninProblem()
    with pytest.raises(ValueError, match=r"`pruner` 'median' needs a problem with a fidelity"):
        OptunaAdapter(problem.space, None, "minimize", 0, pruner="median")


def test_grid_sampler_refuses_conditional_spaces():
    problem = MixedProblem()
    with pytest.raises(ValueError, match=r"'grid' cannot grid a conditional space"):
        OptunaAdapter(problem.space, None, "minimize", 0, sampler="grid",
                      sampler_args={"resolution": 3})


def test_gp_sampler_gets_its_batched_optimizer():
    """greenlet is a dependency: without it GPSampler optimizes its acquisition one start
    at a time, slower and proposing other points, so `gp` results would depend on what
    else happens to be installed.
    """
    from optuna._gp import batched_lbfgsb

    assert batched_lbfgsb._greenlet_imports.is_successful()
