"""Small problems and optimizers for runner tests (importable by tests of any package)."""

from __future__ import annotations

import math
import time

from benchmarks.runner import Budget, CellSpec
from optimizers.base import Decision, Job, JobKind, Optimizer
from problems.base import Fidelity, Problem, Trial
from problems.space import Float, SearchSpace


class _FlakyTrial(Trial):
    def _train(self, step: int) -> int:
        x = self.config["x"]
        if x < self.problem.raise_below:
            raise RuntimeError(f"diverged at x={x:.3f}")
        if x > self.problem.sleep_above:
            time.sleep(0.5)
        return step - self.step

    def _evaluate(self):
        x = self.config["x"]
        if self.problem.nan_between[0] < x < self.problem.nan_between[1]:
            return math.nan, {}
        return (x - 0.5) ** 2 + 0.01 * self.step, {"test_value": x}


class FlakyProblem(Problem):
    """x in [0, 1], minimize; raises for small x, NaN in a band, sleeps for large x."""

    def __init__(self, raise_below=0.1, nan_between=(0.45, 0.5), sleep_above=2.0,
                 max_step=None):
        self.space = SearchSpace((Float("x", 0.0, 1.0),))
        self.direction = "minimize"
        self.fidelity = None if max_step is None else Fidelity("step", 1, max_step)
        self.raise_below, self.nan_between, self.sleep_above = raise_below, nan_between, sleep_above

    def trial(self, config, seed):
        return _FlakyTrial(self, config, seed)


class ScriptedOptimizer(Optimizer):
    """Hands out a fixed list of jobs; decisions by (trial, step); logs every call."""

    keeps_trials = True

    def __init__(self, space, fidelity, direction, seed, jobs=(), decisions=None):
        super().__init__(space, fidelity, direction, seed)
        self.jobs = list(jobs)
        self.decisions = decisions or {}
        self.calls = []

    def ask(self):
        if not self.jobs:
            return None
        job = self.jobs[0]
        if job == "wait":
            self.jobs.pop(0)
            return None
        return self.jobs.pop(0)

    def report(self, trial, step, value):
        self.calls.append(("report", trial, step))
        return self.decisions.get((trial, step), Decision.CONTINUE)

    def tell(self, trial, status, value, step):
        self.calls.append(("tell", trial, status, step))


def new(trial, x, target=None, parent=None):
    return Job(JobKind.NEW, trial, {"x": x}, target, parent)


def spec(problem_conf, optimizer_conf, seed=0, study="t", workers=1, trial_timeout=None, **budget):
    return CellSpec(
        study=study,
        problem="p",
        optimizer="o",
        seed=seed,
        problem_conf=problem_conf,
        optimizer_conf=optimizer_conf,
        budget=Budget(**budget),
        workers=workers,
        trial_timeout=trial_timeout,
        config={"problem": problem_conf, "optimizer": optimizer_conf},
    )
