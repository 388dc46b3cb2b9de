"""Cheap test problems: one configurable failing problem, and mixed / conditional spaces.

:class:`FailingProblem` is the tests' only failing problem: its failures (an exception, a
NaN objective, a slow step) are conditions on `x` given at construction, with or without
a fidelity, on `x` alone or a mixed, conditional space. The others never fail: mixed-type
spaces for the adapters, and a curve whose step cost depends on the configuration (so
simulated workers finish out of order).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from problems.base import Direction, Fidelity, Problem, Trial
from problems.space import Categorical, Condition, Float, Int, SearchSpace

__all__ = [
    "FailingProblem",
    "MixedProblem",
    "NestedProblem",
    "UnevenCurveProblem",
    "failing_curve",
]


Where = Mapping[str, tuple[float, float]]


def _hit(where: Where, config: Mapping[str, Any]) -> bool:
    """Whether any named parameter lies strictly inside its interval."""
    return any(name in config and lo < config[name] < hi for name, (lo, hi) in where.items())


class _FailingTrial(Trial):
    problem: FailingProblem

    def _train(self, step: int) -> int:
        p = self.problem
        if step >= p.raise_from_step and _hit(p.raise_where, self.config):
            raise RuntimeError(f"diverged at x={self.config['x']:.3f}")
        if _hit(p.sleep_where, self.config):
            time.sleep(p.sleep_seconds)
        return step - self.step

    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        p, x = self.problem, self.config["x"]
        if _hit(p.nan_where, self.config):
            return math.nan, {"test_value": x}
        loss = (x - 0.5) ** 2 + 0.01 * self.step
        if p.mixed:
            kind = self.config["kind"]
            loss += abs(math.log2(self.config["n"]) - 2) / 10
            loss += abs(self.config["depth"] - 5) / 20 if kind == "a" else (
                0.05 if kind == "b" else 0.1)
        return (loss if p.direction == "minimize" else -loss), {"test_value": x}


class FailingProblem(Problem):
    """A test problem that fails where told to.

    Space: `x` in [0, 1]; with `mixed`, also `n` (log int 1..16), `kind` (a, b, c) and
    `depth` (int 1..9, active for kind a). Objective: loss ``(x - 0.5)^2 + 0.01 step`` (plus
    terms in n, kind, depth when mixed), reported as is when minimizing and negated when
    maximizing; metric ``test_value`` = x.

    Failures are given as ``{parameter: (low, high)}``: a condition holds when any named
    parameter lies strictly between its bounds (``(-inf, 0.1)``: below 0.1). None by default.

    Args:
        max_step: None for a single fidelity, else the fidelity 1..max_step.
        direction: ``minimize`` or ``maximize``.
        mixed: add the mixed, conditional parameters.
        raise_where: training raises ``RuntimeError("diverged at x=...")``, from step
            `raise_from_step` on.
        nan_where: the objective is NaN.
        sleep_where: each training call sleeps `sleep_seconds` (per-trial timeouts).

    """

    metric_names = ("test_value",)

    def __init__(self, *, max_step: int | None = None, direction: Direction = "minimize",
                 mixed: bool = False, raise_where: Where | None = None,
                 raise_from_step: int = 1, nan_where: Where | None = None,
                 sleep_where: Where | None = None, sleep_seconds: float = 0.5) -> None:
        params: tuple = (Float("x", 0.0, 1.0),)
        if mixed:
            params += (
                Int("n", 1, 16, log=True),
                Categorical("kind", ("a", "b", "c")),
                Int("depth", 1, 9, condition=Condition("kind", ("a",))),
            )
        self.space = SearchSpace(params)
        self.direction = direction
        self.fidelity = None if max_step is None else Fidelity("step", 1, max_step)
        self.mixed = mixed
        self.raise_where, self.raise_from_step = dict(raise_where or {}), raise_from_step
        self.nan_where = dict(nan_where or {})
        self.sleep_where, self.sleep_seconds = dict(sleep_where or {}), sleep_seconds

    def trial(self, config: Mapping[str, Any], seed: int) -> Trial:
        """A trial that fails as the problem's conditions say."""
        return _FailingTrial(self, config, seed)


def failing_curve(max_step: int = 27) -> FailingProblem:
    """The multi-fidelity tests' failing problem: mixed space, maximize, x > 0.8 raises
    from step 3 (rungs see its first reports), x < 0.1 reports NaN.
    """
    return FailingProblem(max_step=max_step, direction="maximize", mixed=True,
                          raise_where={"x": (0.8, math.inf)}, raise_from_step=3,
                          nan_where={"x": (-math.inf, 0.1)})


class _OneStepTrial(Trial):
    problem: _FunctionProblem

    def _train(self, step: int) -> int:
        return 1

    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        return self.problem.function(self.config), {}


class _FunctionProblem(Problem):
    direction = "minimize"

    def function(self, config: Mapping[str, Any]) -> float:
        raise NotImplementedError

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
    """A maximized problem with a nested condition (a child of a conditional categorical)."""

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
