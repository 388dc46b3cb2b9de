"""Cheap mixed-type test problems (int, log, categorical, conditional, failing configs)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from benchmarks import runner
from benchmarks.runner import Budget, CellResult, CellSpec
from problems.base import Fidelity, Problem, Trial
from problems.space import Categorical, Condition, Float, Int, SearchSpace

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


class _OneStepTrial(Trial):
    problem: _FunctionProblem

    def _train(self, step: int) -> int:
        return 1

    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        return self.problem.function(self.config), {}


class _FunctionProblem(Problem):
    direction = "minimize"

    def trial(self, config: Mapping[str, Any], seed: int) -> Trial:
        self.space.validate(config)  # a proposal outside the space fails loudly
        return _OneStepTrial(self, config, seed)


class MixedProblem(_FunctionProblem):
    """Five parameters: an int, a log float, a categorical, a float active for two of the
    categorical's choices and a log int active for the third."""

    def __init__(self) -> None:
        self.space = SearchSpace((
            Int("n_units", 1, 20),
            Float("learning_rate", 1e-4, 1.0, log=True),
            Categorical("kind", ("linear", "poly", "tree")),
            Float("alpha", 0.0, 1.0, condition=Condition("kind", ("linear", "poly"))),
            Int("depth", 2, 64, log=True, condition=Condition("kind", ("tree",))),
        ))

    def function(self, config: Mapping[str, Any]) -> float:
        value = (config["n_units"] - 7) ** 2 / 40 + (math.log10(config["learning_rate"]) + 2) ** 2
        if config["kind"] == "tree":
            return value + abs(math.log2(config["depth"]) - 3)
        return value + (config["alpha"] - 0.3) ** 2 + (0.5 if config["kind"] == "poly" else 0.0)


class NestedProblem(_FunctionProblem):
    """A maximized problem with a nested condition (a child of a conditional categorical)
    and a maximize direction."""

    direction = "maximize"

    def __init__(self) -> None:
        self.space = SearchSpace((
            Float("x", -3.0, 3.0),
            Int("k", 0, 10),
            Categorical("model", ("a", "b")),
            Categorical("mode", ("fast", "slow"), condition=Condition("model", ("b",))),
            Float("gamma", 1e-3, 10.0, log=True, condition=Condition("mode", ("slow",))),
        ))

    def function(self, config: Mapping[str, Any]) -> float:
        value = -(config["x"] - 1) ** 2 - abs(config["k"] - 4) / 3
        if config["model"] == "b":
            value += 0.5 if config["mode"] == "fast" else -abs(math.log10(config["gamma"]))
        return value


class FlakyProblem(MixedProblem):
    """MixedProblem that raises for some configurations and returns NaN for others."""

    def function(self, config: Mapping[str, Any]) -> float:
        if config["n_units"] % 4 == 0:
            raise RuntimeError("diverged")
        if config["kind"] == "poly" and config["alpha"] > 0.5:
            return math.nan
        return super().function(config)


class _UnevenTrial(Trial):
    problem: UnevenCurveProblem

    def _train(self, step: int) -> int:
        # Steps cost 1-3 units by configuration, so simulated workers finish out of order.
        return (step - self.step) * (1 + self.config["n_units"] % 3)

    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        final = self.problem.base.function(self.config)
        return final + 2.0 / self.step, {}


class UnevenCurveProblem(Problem):
    """MixedProblem's space with a fidelity (1..9) whose step cost depends on the config."""

    direction = "minimize"

    def __init__(self, max_step: int = 9) -> None:
        self.base = MixedProblem()
        self.space = self.base.space
        self.fidelity = Fidelity("step", 1, max_step)

    def trial(self, config: Mapping[str, Any], seed: int) -> Trial:
        self.space.validate(config)
        return _UnevenTrial(self, config, seed)


def run_problem(problem: Problem, optimizer_conf: Mapping[str, Any], seed: int,
                n_trials: int, workers: int = 1) -> CellResult:
    """Run a cell of a problem defined in the tests (not buildable from a conf) through
    the runner's loop, exactly as `run_cell` would."""
    spec = CellSpec("test", type(problem).__name__, "opt", seed, {}, dict(optimizer_conf),
                    Budget(trials=n_trials), workers=workers)
    return runner.run_problem(spec, problem)


def trial_configs(result: CellResult) -> list[dict[str, Any]]:
    """The configuration of each trial, by trial id."""
    seen: dict[int, dict[str, Any]] = {}
    for trial, config in zip(result.columns["trial"], result.columns["config"], strict=True):
        seen.setdefault(trial, json.loads(config))
    return [seen[t] for t in sorted(seen)]


def load_conf(name: str) -> dict[str, Any]:
    """A conf/optimizer/<name>.yaml node as a plain dict."""
    return OmegaConf.to_container(OmegaConf.load(CONF_DIR / "optimizer" / f"{name}.yaml"))
