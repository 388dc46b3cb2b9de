"""Problem conformance kit: the checks every ``conf/problem/*.yaml`` passes.

Discovered, not listed: every file of ``conf/problem/`` is a case, and each conf
documents the facts it is held to (``problem_facts``: see :mod:`tests.kits.problem_facts`).

Checks, each a function a test calls with a conf name: :func:`check_builds` (via
:func:`problems.load`), :func:`check_deterministic`, :func:`check_incremental` (two jobs
equal one), :func:`check_clone` (clone-then-continue equals continuing, and a clone with a
changed configuration behaves as documented), :func:`check_units`, :func:`check_metrics`
(``Problem.metric_names`` is exactly what reports record) and :func:`check_paused_memory`
(fresh subprocess, `K_PAUSED` trials held, RSS growth per trial within 2x of the figure).
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import problems
from problems import loading
from problems.base import Problem, Report
from problems.space import Float
from tests.kits.problem_facts import ProblemFacts, cases, facts, memory_cases, names

__all__ = [
    "K_PAUSED",
    "MEMORY_FLOOR_MIB",
    "ProblemFacts",
    "assert_clone",
    "assert_deterministic",
    "assert_incremental",
    "cases",
    "check_builds",
    "check_clone",
    "check_deterministic",
    "check_incremental",
    "check_metrics",
    "check_paused_memory",
    "check_problem",
    "check_units",
    "compose_problem",
    "facts",
    "memory_cases",
    "names",
    "quick_problem",
    "run",
    "same_reports",
]

REPO = Path(__file__).resolve().parents[2]
#: Paused trials held in the memory measurement.
K_PAUSED = 8
#: RSS moves in pages and allocator chunks: growth per held trial below this (MiB) is
#: noise, so a figure is within bounds if |measured - documented| is under it too.
MEMORY_FLOOR_MIB = 0.02


# -- running trials ----------------------------------------------------------------------
def run(problem: Problem, config: Mapping[str, Any], seed: int,
        *targets: int | None) -> list[Report]:
    """Reports of one fresh trial advanced to each target in turn."""
    trial = problem.trial(config, seed)
    return [r for t in targets for r in trial.advance(t)]


def same_reports(a: Sequence[Report], b: Sequence[Report]) -> bool:
    """Identical steps, values, metrics and finality (units may differ where jobs split)."""
    key = [(r.step, r.value, dict(r.metrics), r.final) for r in a]
    return key == [(r.step, r.value, dict(r.metrics), r.final) for r in b]


def compose_problem(name: str, *overrides: str) -> tuple[Problem, Any]:
    """Compose `problem=<name>` with Hydra (as the CLI does) and build it."""
    from benchmarks.building import build_problem
    from benchmarks.compose import compose_runs

    (job,) = compose_runs([f"problem={name}", *overrides])
    return build_problem(job.cfg.problem), job.cfg


def quick_problem(name: str) -> Problem:
    """The conf's problem built by :func:`problems.load` with its quick settings (one
    instance per conf for the whole session: problems are immutable).
    """
    return _quick_problem(str(loading.CONF_DIR), name)


@functools.lru_cache(maxsize=64)
def _quick_problem(conf_dir: str, name: str) -> Problem:
    return problems.load(name, **facts(name).quick_settings)


def configs(problem: Problem, fixed: Mapping[str, Any] | None = None, n: int = 2,
            seed: int = 0) -> list[dict[str, Any]]:
    """`n` configurations drawn from the space with a seeded generator, `fixed`
    parameters (a conf's `quick_params`) replacing the drawn values.
    """
    rng = np.random.default_rng(seed)
    return [{**problem.space.sample(rng), **(fixed or {})} for _ in range(n)]


def _targets(problem: Problem) -> tuple[int, int]:
    """A split point `a` off the report grid (where one exists) and the end `b`."""
    fid = problem.fidelity
    if fid is None:
        return 1, 1
    a = fid.min + max(1, (fid.max - fid.min) // 3)
    if a % fid.report_every == 0 and a + 1 < fid.max:
        a += 1
    return min(a, fid.max), fid.max


# -- checks --------------------------------------------------------------------------------
def check_builds(name: str) -> Problem:
    """`problems.load` builds the conf's class; it declares a space, direction, metrics."""
    f = facts(name)
    problem = problems.load(name, **f.quick_settings)
    cls = loading.target_class(f.conf, "problem")
    assert isinstance(problem, cls)
    assert problem.direction in ("minimize", "maximize")
    assert len(problem.space) > 0
    assert all(isinstance(m, str) for m in problem.metric_names)
    json.dumps(problem.describe())  # recorded in every result file
    if f.units == "one":
        assert problem.fidelity is None, f"{name}: `units: one` documents a single fidelity"
    return problem


def assert_deterministic(problem: Problem, config: Mapping[str, Any],
                         target: int | None = None, seed: int = 3) -> list[Report]:
    """Two fresh trials of the same configuration and seed report identically."""
    first = run(problem, config, seed, target)
    assert first, "a fresh trial reports at least once"
    assert run(problem, config, seed, target) == first
    return first


def _split_targets(problem: Problem) -> tuple[tuple[int | None, ...], tuple[int | None, ...]]:
    """Targets of the straight job and of the split jobs (a single-fidelity trial is
    advanced once more, to show it reports nothing more).
    """
    a, b = _targets(problem)
    return (b,), (a, b, *((None,) if problem.fidelity is None else ()))


@functools.lru_cache(maxsize=256)
def _recorded(conf_dir: str, name: str, index: int, targets: tuple) -> tuple[Report, ...]:
    """Reports of the conf's `index`-th drawn configuration at seed 0 advanced to each
    target in turn: trained once per session and read by several checks.
    """
    problem = quick_problem(name)
    config = configs(problem, facts(name).quick_params)[index]
    return tuple(run(problem, config, 0, *targets))


def _runs(name: str) -> list[tuple[dict[str, Any], list[Report], list[Report]]]:
    """(configuration, straight reports, split reports) for each drawn configuration."""
    problem = quick_problem(name)
    straight, split = _split_targets(problem)
    here = str(loading.CONF_DIR)
    return [(config, list(_recorded(here, name, i, straight)), list(_recorded(here, name, i, split)))
            for i, config in enumerate(configs(problem, facts(name).quick_params))]


def check_deterministic(name: str) -> None:
    """A fresh trial reports as the first one of the same configuration and seed did
    (to the maximum fidelity).
    """
    problem = quick_problem(name)
    for config, straight, _ in _runs(name):
        assert straight, "a fresh trial reports at least once"
        assert run(problem, config, 0, _targets(problem)[1]) == straight


def assert_incremental(problem: Problem, config: Mapping[str, Any], a: int, b: int,
                       cost_metrics: Sequence[str] = ()) -> None:
    """Advancing one trial to `a` then `b` equals advancing one to `b` in one job: reports
    at shared steps identical, units and `cost_metrics` adding up to the same totals. A
    single-fidelity trial trains once: advancing it again reports nothing.
    """

    straight = run(problem, config, 0, b)
    split = run(problem, config, 0, a, b, *((None,) if problem.fidelity is None else ()))
    _assert_same_by_split(straight, split, cost_metrics)


def _assert_same_by_split(straight: Sequence[Report], split: Sequence[Report],
                          cost_metrics: Sequence[str]) -> None:
    def state(r: Report) -> tuple:
        kept = {k: v for k, v in r.metrics.items() if k not in cost_metrics}
        return r.value, kept, r.final

    assert sum(r.units for r in split) == sum(r.units for r in straight)
    for cost in cost_metrics:
        assert sum(r.metrics[cost] for r in split) == pytest.approx(
            sum(r.metrics[cost] for r in straight), rel=1e-9, abs=1e-12)
    at = {r.step: r for r in straight}
    for r in split:  # shared steps identical; `a` is an extra report
        if r.step in at:
            assert state(r) == state(at[r.step]), r.step
    assert split[-1].step == straight[-1].step
    assert split[-1].value == straight[-1].value


def assert_clone(problem: Problem, config: Mapping[str, Any], a: int, b: int) -> None:
    """A clone taken at step `a` (before training for a single fidelity) and the original,
    both advanced to `b`, report identically, as a trial never cloned does.
    """
    start = 0 if problem.fidelity is None else a
    trial = problem.trial(config, 1)
    list(trial.advance(start) if start else ())
    twin = trial.clone()
    assert twin.step == trial.step
    rest = list(trial.advance(b))
    assert same_reports(list(twin.advance(b)), rest)
    straight = [r for r in run(problem, config, 1, b) if r.step > start]
    assert [(r.step, r.value) for r in rest] == [(r.step, r.value) for r in straight]


def check_incremental(name: str) -> None:
    """:func:`assert_incremental` on the conf's problem, split off the report grid."""
    for _, straight, split in _runs(name):
        _assert_same_by_split(straight, split, facts(name).cost_metrics)


def check_clone(name: str) -> None:
    """Clone-then-continue equals continuing (:func:`assert_clone`); a clone with a
    changed float hyperparameter continues from the copied state (and a clone of it
    replays the change) or is refused, as the conf documents.
    """
    f = facts(name)
    problem = quick_problem(name)
    a, b = _targets(problem)
    start = 0 if problem.fidelity is None else a  # single fidelity: clone before training
    drawn = configs(problem, f.quick_params)
    for config in drawn:
        assert_clone(problem, config, a, b)
    _check_changed_clone(problem, drawn[0], start, b, f.clone_with_new_config)


def _changed(problem: Problem, config: Mapping[str, Any]) -> dict[str, Any]:
    """`config` with its first active float parameter moved (to a quarter or three
    quarters of its range, in its own scale).
    """
    for p in problem.space:
        if isinstance(p, Float) and p.name in config:
            u = p.to_unit(float(config[p.name]))
            return {**config, p.name: p.from_unit(0.25 if u > 0.5 else 0.75)}
    pytest.skip(f"the space has no float parameter to change ({problem.space.names}).")
    return {}  # pragma: no cover


def _check_changed_clone(problem: Problem, config: Mapping[str, Any], start: int, b: int,
                         documented: str) -> None:
    trial = problem.trial(config, 1)
    list(trial.advance(start) if start else ())
    new = _changed(problem, config)
    if documented == "refused":
        with pytest.raises(ValueError, match="cannot change"):
            trial.clone(new)
        return
    twin = trial.clone(new)
    assert twin.config == new and trial.config == dict(config)
    assert twin.step == trial.step
    again = twin.clone()  # a clone of a changed clone carries the change
    later = list(twin.advance(b))
    assert same_reports(later, list(again.advance(b)))
    if problem.fidelity is None:  # nothing trained before: the new configuration's report
        assert same_reports(later, run(problem, new, 1, b))
    elif later:
        original = list(trial.advance(b))
        assert not same_reports(later, original), "the changed hyperparameter had no effect"


def check_units(name: str) -> None:
    """Each report costs what the conf documents: the steps trained since the trial's
    previous report (`steps`), or 1 at step 1 (`one`).
    """
    f = facts(name)
    for _, straight, split in _runs(name):
        for reports in (straight, split):
            if f.units == "one":
                assert [(r.step, r.units) for r in reports] == [(1, 1)]
                continue
            previous = 0
            for r in reports:
                assert r.units == r.step - previous, (r, previous)
                previous = r.step


def check_metrics(name: str) -> None:
    """The extra metrics of every report are exactly ``Problem.metric_names``."""
    problem = quick_problem(name)
    declared = set(problem.metric_names)
    assert len(declared) == len(problem.metric_names), "metric_names repeats a name"
    for _, straight, split in _runs(name):
        for r in straight + split:
            assert set(r.metrics) == declared, (
                f"{name} records {sorted(r.metrics)}, declares {sorted(declared)}")


def measure_paused_mib(conf: Mapping[str, Any], paused_at: int, k: int = K_PAUSED,
                       fixed: Mapping[str, Any] | None = None) -> float:
    """RSS growth per paused trial (MiB), measured in a fresh subprocess."""
    args = json.dumps({"conf": dict(conf), "k": k, "paused_at": paused_at,
                       "fixed": dict(fixed or {})})
    out = subprocess.run(
        [sys.executable, "-m", "tests.kits.paused_memory", args], cwd=REPO,
        capture_output=True, text=True, check=False, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return float(json.loads(out.stdout.strip().splitlines()[-1])["per_trial_mib"])


def check_paused_memory(name: str) -> float:
    """The memory a paused trial holds is within 2x of the documented figure (or within
    the measurement floor of it). Returns the measurement.
    """
    if not Path("/proc/self/statm").exists():
        pytest.skip("RSS is read from /proc (Linux).")
    f = facts(name)
    problem = problems.load(name)
    at = f.paused_at or (1 if problem.fidelity is None else problem.fidelity.min)
    k = f.paused_k or K_PAUSED
    measured = measure_paused_mib(f.conf, at, k, f.quick_params)
    doc = float(f.paused_trial_mib)
    near = abs(measured - doc) <= MEMORY_FLOOR_MIB
    assert near or doc / 2 <= measured <= doc * 2, (
        f"conf/problem/{name}.yaml documents paused_trial_mib: {doc}; a paused trial "
        f"(step {at}, {k} held) measures {measured:.4f} MiB.")
    return measured


def check_problem(name: str, memory: bool = True) -> None:
    """Every check of the kit on one conf."""
    check_builds(name)
    check_deterministic(name)
    check_incremental(name)
    check_clone(name)
    check_units(name)
    check_metrics(name)
    if memory:
        check_paused_memory(name)

