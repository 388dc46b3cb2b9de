"""Helpers for the native optimizers' tests: run cells, a failing problem, a stepwise driver."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from benchmarks import runner
from benchmarks.recorder import TIMING_COLUMNS
from benchmarks.runner import Budget, CellResult, CellSpec, run_cell
from optimizers.base import Job, JobKind, Optimizer, Status
from problems.base import Fidelity, Problem, Trial
from problems.space import Categorical, Condition, Float, Int, SearchSpace

CONF = Path(__file__).resolve().parents[2] / "conf"


def optimizer_conf(name: str, **overrides: Any) -> dict[str, Any]:
    """The node of conf/optimizer/<name>.yaml with `overrides` applied."""
    conf = yaml.safe_load((CONF / "optimizer" / f"{name}.yaml").read_text())
    conf.update(overrides)
    return conf


def curve_conf(**overrides: Any) -> dict[str, Any]:
    """A learning_curve problem node (noise off unless overridden)."""
    conf = {"_target_": "problems.synthetic.LearningCurveProblem", "max_iterations": 81,
            "min_iterations": 1, "report_every": 1, "noise_std": 0.0, "tau": 20.0}
    conf.update(overrides)
    return conf


def run(optimizer: str | dict[str, Any], problem: dict[str, Any] | None = None, seed: int = 0,
        workers: int = 1, **budget: Any) -> CellResult:
    """Run one cell through the real runner."""
    oconf = optimizer_conf(optimizer) if isinstance(optimizer, str) else optimizer
    spec = CellSpec("t", "p", "o", seed, problem or curve_conf(), oconf, Budget(**budget),
                    workers=workers)
    return run_cell(spec)


def run_problem(problem: Problem, oconf: Mapping[str, Any], seed: int = 0, workers: int = 1,
                **budget: Any) -> CellResult:
    """Run a cell on a problem object (test problems are not allow-listed conf targets)."""
    spec = CellSpec("t", "p", "o", seed, {}, oconf, Budget(**budget), workers=workers)
    return runner.run_problem(spec, problem)


def rows(result: CellResult) -> dict[str, list]:
    """The cell's columns without the timing ones (which differ between runs)."""
    return {k: v for k, v in result.columns.items() if k not in TIMING_COLUMNS}


class _FlakyTrial(Trial):
    problem: FlakyProblem

    def _train(self, step: int) -> int:
        if self.config["x"] > 0.8 and step >= 3:
            raise RuntimeError("diverged")
        return step - self.step

    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        if self.config["x"] < 0.1:
            return math.nan, {}
        x, n = self.config["x"], self.config["n"]
        bonus = 0.1 if self.config["kind"] == "b" else self.config.get("depth", 0) / 100
        return (1 - (x - 0.4) ** 2 + bonus - abs(n - 4) / 50) * (1 - math.exp(-self.step / 5)), {}


class FlakyProblem(Problem):
    """Mixed, conditional space; x > 0.8 raises past step 2, x < 0.1 reports NaN; maximize."""

    def __init__(self, max_step: int = 27) -> None:
        self.space = SearchSpace((
            Float("x", 0.0, 1.0),
            Int("n", 1, 16, log=True),
            Categorical("kind", ("a", "b", "c")),
            Int("depth", 1, 9, condition=Condition("kind", ("a",))),
        ))
        self.direction = "maximize"
        self.fidelity = Fidelity("step", 1, max_step)

    def trial(self, config: Mapping[str, Any], seed: int) -> Trial:
        return _FlakyTrial(self, config, seed)


def drive(optimizer: Optimizer, values: Any, rng: np.random.Generator, n_workers: int = 3,
          max_events: int = 500, check: Any = None) -> list[Job]:
    """Ask/tell by hand: up to `n_workers` jobs outstanding, told in random order with
    ``values(job) -> (status, value, step)``; `check(optimizer)` runs after every call."""
    jobs, running = [], []
    for _ in range(max_events):
        while len(running) < n_workers:
            job = optimizer.ask()
            if check is not None:
                check(optimizer)
            if job is None:
                break
            optimizer.space.validate(job.config)
            assert job.kind in (JobKind.NEW, JobKind.RESUME, JobKind.CLONE)
            jobs.append(job)
            running.append(job)
        if not running:
            break
        job = running.pop(int(rng.integers(len(running))))
        status, value, step = values(job)
        optimizer.tell(job.trial, status, value, step)
        if check is not None:
            check(optimizer)
    return jobs


def completed(job: Job, value: float = 0.5) -> tuple[Status, float, int]:
    """A job told completed at its target with `value`."""
    return Status.COMPLETED, value, job.target
