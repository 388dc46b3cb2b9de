"""HyperoptAdapter: proposals identical to ``hyperopt.fmin``, types, conditions, errors."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hyperopt import Trials, fmin, hp

from optimizers.base import Status
from optimizers.hyperopt_adapter import ALGORITHMS, HyperoptAdapter
from problems.space import Categorical, Condition, Float, SearchSpace
from tests.kits.cells import optimizer_conf as load_conf
from tests.kits.cells import run_problem, trial_configs
from tests.kits.toy_problems import MixedProblem, NestedProblem


def _raw_mixed_space() -> dict:
    """MixedProblem written as a Hyperopt user would write it."""
    alpha = hp.uniform("alpha", 0.0, 1.0)  # one node shared by two branches
    return {
        "n_units": hp.quniform("n_units", 1, 20, 1),
        "learning_rate": hp.loguniform("learning_rate", math.log(1e-4), math.log(1.0)),
        "kind": hp.choice("kind", [
            {"kind": "linear", "alpha": alpha},
            {"kind": "poly", "alpha": alpha},
            {"kind": "tree", "depth": hp.qloguniform("depth", math.log(2), math.log(64), 1)},
        ]),
    }


def _raw_nested_space() -> dict:
    return {
        "x": hp.uniform("x", -3.0, 3.0),
        "k": hp.quniform("k", 0, 10, 1),
        "model": hp.choice("model", [
            {"model": "a"},
            {"model": "b", "mode": hp.choice("mode", [
                {"mode": "fast"},
                {"mode": "slow", "gamma": hp.loguniform("gamma", math.log(1e-3), math.log(10))},
            ])},
        ]),
    }


def _flat(values: dict, ints: tuple[str, ...]) -> dict:
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flat(value, ints))
        else:
            out[key] = int(value) if key in ints else value
    return out


PROBLEMS = {
    "mixed": (MixedProblem, _raw_mixed_space, ("n_units", "depth"), 4),
    "nested": (NestedProblem, _raw_nested_space, ("k",), 9),
}
CASES = [
    ("hyperopt_tpe", {}, 24),
    ("hyperopt_tpe", {"n_startup_jobs": 5}, 15),  # mostly TPE proposals, conditions included
    ("hyperopt_random", {}, 15),
    ("hyperopt_anneal", {}, 15),
]


@pytest.mark.parametrize("problem_name", sorted(PROBLEMS))
@pytest.mark.parametrize(("conf_name", "args", "n_trials"), CASES)
def test_proposals_equal_raw_fmin(conf_name, args, n_trials, problem_name):
    make_problem, raw_space, ints, seed = PROBLEMS[problem_name]
    problem, conf = make_problem(), load_conf(conf_name)
    conf["algorithm_args"] = {**conf["algorithm_args"], **args}
    ours = trial_configs(run_problem(problem, conf, seed, trials=n_trials))

    raw_configs = []
    sign = 1.0 if problem.direction == "minimize" else -1.0

    def objective(values: dict) -> float:
        raw_configs.append(_flat(values, ints))
        return sign * problem.function(raw_configs[-1])

    algo = functools.partial(ALGORITHMS[conf["algorithm"]], **conf["algorithm_args"])
    fmin(objective, raw_space(), algo=algo, max_evals=n_trials, trials=Trials(),
         rstate=np.random.default_rng(seed), show_progressbar=False)
    assert ours == raw_configs
    for config in ours:
        problem.space.validate(config)  # ints come back as int, conditions respected


def test_out_of_order_tells_and_failures():
    problem = MixedProblem()
    adapter = HyperoptAdapter(problem.space, None, "minimize", 0, "tpe",
                              {"n_startup_jobs": 2})
    jobs = [adapter.ask() for _ in range(3)]
    adapter.tell(jobs[2].trial, Status.COMPLETED, 0.3, 1)
    adapter.tell(jobs[0].trial, Status.FAILED, math.nan, 1)
    adapter.tell(jobs[1].trial, Status.COMPLETED, 0.1, 1)
    assert adapter._trials.statuses() == ["fail", "ok", "ok"]
    assert adapter._trials.losses() == [None, 0.1, 0.3]
    for _ in range(3):
        job = adapter.ask()
        problem.space.validate(job.config)
        adapter.tell(job.trial, Status.COMPLETED, problem.function(job.config), 1)


def test_maximize_is_told_as_a_loss():
    problem = NestedProblem()
    adapter = HyperoptAdapter(problem.space, None, "maximize", 0, "random", {})
    job = adapter.ask()
    adapter.tell(job.trial, Status.COMPLETED, 2.5, 1)
    assert adapter._trials.losses() == [-2.5]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"algorithm": "bayes"}, r"`algorithm` must be one of .*got 'bayes'"),
    ({"algorithm": "tpe", "algorithm_args": {"n_startup": 3}},
     r"`algorithm_args.n_startup` is not an argument of Hyperopt's tpe; its arguments are"),
    ({"algorithm": "random", "algorithm_args": {"gamma": 0.2}},
     r"`algorithm_args.gamma` is not an argument of Hyperopt's random; .*\(none\)"),
])
def test_bad_arguments_are_refused(kwargs, match):
    problem = MixedProblem()
    with pytest.raises(ValueError, match=match):
        HyperoptAdapter(problem.space, None, "minimize", 0, **kwargs)


def test_conditions_on_numeric_parents_are_refused():
    space = SearchSpace((Float("x", 0.0, 1.0), Categorical("c", ("a", "b")),
                         Float("y", 0.0, 1.0, condition=Condition("x", (0.5,)))))
    with pytest.raises(ValueError, match=r"parameter `y`: Hyperopt can only condition on a "
                                         r"categorical parent, and `x` is numeric"):
        HyperoptAdapter(space, None, "minimize", 0)
