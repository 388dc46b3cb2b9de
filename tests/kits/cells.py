"""Running cells in tests: building a CellSpec, rows without timing, scripted optimizers."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from benchmarks import runner
from benchmarks.cells import CellResult, CellSpec
from benchmarks.schema import TIMING_COLUMNS
from optimizers.base import Decision, Job, JobKind, Optimizer, Status
from optimizers.budget import Budget
from problems.base import Problem

__all__ = [
    "CONF_DIR",
    "ScriptedOptimizer",
    "cell_spec",
    "completed",
    "curve_conf",
    "drive",
    "file_rows",
    "new_job",
    "optimizer_conf",
    "rows",
    "run",
    "run_problem",
    "trial_configs",
]

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def cell_spec(problem_conf: Mapping[str, Any] | None = None,
              optimizer_conf: Mapping[str, Any] | None = None, seed: int = 0, *,
              study: str = "t", problem: str = "p", optimizer: str = "o", workers: int = 1,
              trial_timeout: float | None = None, record_config: bool = False,
              **budget: Any) -> CellSpec:
    """A CellSpec for tests; `budget` holds Budget's limits (trials, units, seconds).

    `record_config` fills the spec's resolved config (problem and optimizer nodes) as the
    planner does, for tests that read it back from file metadata.
    """
    pconf = dict(problem_conf or {})
    oconf = dict(optimizer_conf or {})
    config = {"problem": pconf, "optimizer": oconf} if record_config else {}
    return CellSpec(study, problem, optimizer, seed, pconf, oconf, Budget(**budget),
                    workers=workers, trial_timeout=trial_timeout, config=config)


def rows(result: CellResult) -> dict[str, list]:
    """The cell's columns without the timing ones (which differ between runs)."""
    return {k: v for k, v in result.columns.items() if k not in TIMING_COLUMNS}


def file_rows(path: str | Path) -> Any:
    """A cell file's rows as a DataFrame, without the timing columns."""
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pandas().drop(columns=list(TIMING_COLUMNS))


def optimizer_conf(name: str, **overrides: Any) -> dict[str, Any]:
    """The node of conf/optimizer/<name>.yaml (read as YAML) with `overrides` applied."""
    conf = yaml.safe_load((CONF_DIR / "optimizer" / f"{name}.yaml").read_text())
    conf.update(overrides)
    return conf


def curve_conf(**overrides: Any) -> dict[str, Any]:
    """A learning_curve problem node (noise off unless overridden)."""
    conf = {"_target_": "problems.synthetic.LearningCurveProblem", "max_iterations": 81,
            "min_iterations": 1, "report_every": 1, "noise_std": 0.0, "tau": 20.0}
    conf.update(overrides)
    return conf


def run(optimizer: str | Mapping[str, Any], problem: Mapping[str, Any] | None = None,
        seed: int = 0, workers: int = 1, **budget: Any) -> CellResult:
    """Run one cell of conf nodes through the real runner (default problem: a curve)."""
    oconf = optimizer_conf(optimizer) if isinstance(optimizer, str) else optimizer
    return runner.run_cell(cell_spec(problem or curve_conf(), oconf, seed, workers=workers,
                                     **budget))


def run_problem(problem: Problem, optimizer_conf: Mapping[str, Any], seed: int = 0,
                workers: int = 1, **budget: Any) -> CellResult:
    """Run a cell on a problem object (test problems are not allow-listed conf targets)."""
    spec = cell_spec({}, optimizer_conf, seed, problem=type(problem).__name__,
                     workers=workers, **budget)
    return runner.run_problem(spec, problem)


def trial_configs(result: CellResult) -> list[dict[str, Any]]:
    """The configuration of each trial, by trial id."""
    seen: dict[int, dict[str, Any]] = {}
    for trial, config in zip(result.columns["trial"], result.columns["config"], strict=True):
        seen.setdefault(trial, json.loads(config))
    return [seen[t] for t in sorted(seen)]


class ScriptedOptimizer(Optimizer):
    """Hands out a fixed list of jobs ("wait": ask returns None once); decisions by
    (trial, step); logs every report and tell in `calls`.
    """

    keeps_trials = True

    def __init__(self, space: Any, fidelity: Any, direction: str, seed: int,
                 jobs: Any = (), decisions: Mapping | None = None) -> None:
        super().__init__(space, fidelity, direction, seed)
        self.jobs = list(jobs)
        self.decisions = dict(decisions or {})
        self.calls: list[tuple] = []

    def ask(self) -> Job | None:
        """The next scripted job, or None."""
        if not self.jobs:
            return None
        job = self.jobs.pop(0)
        return None if job == "wait" else job

    def report(self, trial: int, step: int, value: float) -> Decision:
        """The scripted decision at (trial, step), else continue."""
        self.calls.append(("report", trial, step))
        return self.decisions.get((trial, step), Decision.CONTINUE)

    def tell(self, trial: int, status: Status, value: float, step: int) -> None:
        """Logged."""
        self.calls.append(("tell", trial, status, step))


def new_job(trial: int, x: float, target: int | None = None, parent: int | None = None) -> Job:
    """A NEW job of the configuration ``{"x": x}``."""
    return Job(JobKind.NEW, trial, {"x": x}, target, parent)


def drive(optimizer: Optimizer, values: Callable[[Job], tuple[Status, float, int]],
          rng: np.random.Generator, n_workers: int = 3, max_events: int = 500,
          check: Callable[[Optimizer], None] | None = None) -> list[Job]:
    """Ask/tell by hand: up to `n_workers` jobs outstanding, told in random order with
    ``values(job) -> (status, value, step)``; `check(optimizer)` runs after every call."""
    jobs: list[Job] = []
    running: list[Job] = []
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
