"""Checks shared by the ML problems' tests: determinism, incremental training, clones."""

from __future__ import annotations

from benchmarks.building import build_problem
from benchmarks.compose import compose_runs
from problems.base import Problem, Report


def run(problem: Problem, config: dict, seed: int, *targets: int | None) -> list[Report]:
    """Reports of one trial advanced to each target in turn."""
    trial = problem.trial(config, seed)
    return [r for t in targets for r in trial.advance(t)]


def same_reports(a: list[Report], b: list[Report]) -> bool:
    """Identical steps, values and metrics (units may differ where jobs were split)."""
    key = [(r.step, r.value, dict(r.metrics), r.final) for r in a]
    return key == [(r.step, r.value, dict(r.metrics), r.final) for r in b]


def check_deterministic(problem: Problem, config: dict, target: int | None) -> list[Report]:
    first = run(problem, config, 3, target)
    assert first == run(problem, config, 3, target)
    return first


def check_incremental(problem: Problem, config: dict, a: int, b: int) -> None:
    straight = run(problem, config, 0, b)
    split = run(problem, config, 0, a, b)
    assert sum(r.units for r in split) == sum(r.units for r in straight) == b
    steps = {r.step: r for r in straight}
    for r in split:  # reports at shared steps are identical; `a` is an extra report
        if r.step in steps:
            assert (r.value, dict(r.metrics)) == (steps[r.step].value, dict(steps[r.step].metrics))
    assert split[-1].value == straight[-1].value


def check_clone(problem: Problem, config: dict, a: int, b: int) -> None:
    trial = problem.trial(config, 1)
    list(trial.advance(a))
    twin = trial.clone()
    assert twin.step == trial.step == a
    rest = list(trial.advance(b))
    assert same_reports(list(twin.advance(b)), rest)
    straight = [r for r in run(problem, config, 1, b) if r.step > a]
    assert [(r.step, r.value) for r in rest] == [(r.step, r.value) for r in straight]


def compose_problem(name: str, *overrides: str) -> tuple[Problem, dict]:
    """Compose `problem=<name>` with Hydra (as the CLI does) and build it."""
    (job,) = compose_runs([f"problem={name}", *overrides])
    return build_problem(job.cfg.problem), job.cfg
