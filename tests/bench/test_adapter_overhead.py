"""Adapter overhead: 300 trials through the runner (Parquet written) vs the raw library loop.

Target: time(runner + adapter + Parquet) / time(raw library loop) <= 1.10 for tpe, cmaes,
optuna_random and hyperopt_tpe, measured in the same process on the same trivial problem.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from hyperopt import Trials, fmin, hp
from omegaconf import OmegaConf

from benchmarks.building import build_optimizer
from benchmarks.executors import git_commit, write_result
from benchmarks.runner import Budget, CellSpec, _Loop
from optimizers.hyperopt_adapter import ALGORITHMS
from optimizers.optuna_adapter import SAMPLERS
from problems.base import Problem, Trial
from problems.space import Categorical, Float, Int, SearchSpace

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
TARGET = 1.10


def _function(c: Mapping[str, Any]) -> float:
    return (c["a"] - 3) ** 2 + math.log10(c["b"]) ** 2 + c["c"] + len(c["d"]) + c["e"] / 100


class _TrivialTrial(Trial):
    def _train(self, step: int) -> int:
        return 1

    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        return _function(self.config), {}


class TrivialProblem(Problem):
    """Five parameters (int, log float, float, categorical, log int), a closed form."""

    direction = "minimize"

    def __init__(self) -> None:
        self.space = SearchSpace((
            Int("a", 0, 10), Float("b", 1e-3, 1.0, log=True), Float("c", -1.0, 1.0),
            Categorical("d", ("x", "yy", "zzz")), Int("e", 1, 256, log=True),
        ))

    def trial(self, config: Mapping[str, Any], seed: int) -> Trial:
        return _TrivialTrial(self, config, seed)


def _optuna_objective(trial: optuna.Trial) -> float:
    return _function({
        "a": trial.suggest_int("a", 0, 10), "b": trial.suggest_float("b", 1e-3, 1.0, log=True),
        "c": trial.suggest_float("c", -1.0, 1.0),
        "d": trial.suggest_categorical("d", ["x", "yy", "zzz"]),
        "e": trial.suggest_int("e", 1, 256, log=True),
    })


HYPEROPT_SPACE = {
    "a": hp.quniform("a", 0, 10, 1), "b": hp.loguniform("b", math.log(1e-3), 0.0),
    "c": hp.uniform("c", -1.0, 1.0), "d": hp.choice("d", ["x", "yy", "zzz"]),
    "e": hp.qloguniform("e", 0.0, math.log(256), 1),
}


def _raw(conf: dict, n_trials: int) -> None:
    if "sampler" in conf:
        sampler = SAMPLERS[conf["sampler"]](seed=0, **conf["sampler_args"])
        study = optuna.create_study(sampler=sampler, study_name="hpo-arena")
        study.optimize(_optuna_objective, n_trials=n_trials)
    else:
        algo = functools.partial(ALGORITHMS[conf["algorithm"]], **conf["algorithm_args"])
        fmin(_function, HYPEROPT_SPACE, algo=algo, max_evals=n_trials, trials=Trials(),
             rstate=np.random.default_rng(0), show_progressbar=False)


def _through_runner(conf: dict, n_trials: int, out: Path) -> None:
    problem = TrivialProblem()
    spec = CellSpec("bench", "trivial", "opt", 0, {}, conf, Budget(trials=n_trials),
                    config={"optimizer": conf})
    optimizer = build_optimizer(conf, problem, 0)
    try:
        result = _Loop(spec, problem, optimizer, None).run()
    finally:
        optimizer.close()
    path = out / f"{time.perf_counter_ns()}.parquet"
    write_result(result, path)


@pytest.fixture(autouse=True)
def _quiet_optuna():
    # Optuna logs one INFO line per trial by default; both loops run without it.
    logger, level = logging.getLogger("optuna"), logging.getLogger("optuna").level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


@pytest.mark.bench
@pytest.mark.parametrize("name", ["tpe", "cmaes", "optuna_random", "hyperopt_tpe"])
def test_adapter_overhead(benchmark, name, tmp_path):
    conf = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "optimizer" / f"{name}.yaml"))
    n_trials, rounds = (30, 1) if benchmark.disabled else (300, 3)
    git_commit()  # cached; its subprocess is not part of any loop
    _raw(conf, 5), _through_runner(conf, 5, tmp_path)  # imports and caches warmed up

    raw_times, runner_times = [], []
    for _ in range(rounds):  # interleaved, so drifts in machine load hit both alike
        tick = time.perf_counter()
        _raw(conf, n_trials)
        raw_times.append(time.perf_counter() - tick)
        tick = time.perf_counter()
        _through_runner(conf, n_trials, tmp_path)
        runner_times.append(time.perf_counter() - tick)
    benchmark.pedantic(_through_runner, args=(conf, n_trials, tmp_path), rounds=1, iterations=1)
    ratio = min(runner_times) / min(raw_times)
    benchmark.extra_info.update(raw_s=min(raw_times), runner_s=min(runner_times), ratio=ratio,
                                n_trials=n_trials)
    assert len(list(tmp_path.glob("*.parquet"))) == rounds + 2
    if not benchmark.disabled:
        assert ratio <= TARGET, f"{name}: runner/raw = {ratio:.3f} > {TARGET}"
