"""Scale: native ASHA's cost per decision does not grow with its history, and many workers
or long cells cost in proportion to their reports.

Targets (ratios measured in one run, rounds alternating between the two sides, medians;
the whole-process pair runs 5 rounds, as one process's CPU time moves by up to 40 % between
consecutive runs on these machines):

- one ask+tell of `asha` with 100,000 trials in its rungs <= 2x one with 1,000;
- the whole process of ``python -m benchmarks.run problem=learning_curve optimizer=asha
  workers=256 budget.units=200000 'seeds=[0]'`` <= 1.3x the same with `sha` in CPU seconds
  (both run ~54,000 short trials in ~81,000 jobs, so this compares what each keeps and
  decides; the issue's absolute target, <= 30 s on 2 cores, is printed and saved, not
  asserted, as the machines are shared);
- an `asha` cell at ``workers=1000`` costs per report at 32,000 units <= 1.5x what it costs
  at 8,000 units (time in proportion to reports: the event queue and the "anything to
  promote?" checks scan neither all workers nor all trials per event).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.runner import run_cell
from optimizers.asha import ASHAOptimizer
from optimizers.base import Status
from problems.synthetic import LearningCurveProblem
from tests.kits.cells import cell_spec, curve_conf, optimizer_conf
from tests.optimizers_tests._reference_rungs import ReferenceASHA

ROOT = Path(__file__).resolve().parents[2]
DECISION_RATIO = 2.0
PROCESS_RATIO = 1.3
WORKERS_RATIO = 1.5


def _asha(cls: type = ASHAOptimizer) -> ASHAOptimizer:
    problem = LearningCurveProblem()
    return cls(problem.space, problem.fidelity, problem.direction, 0)


def _steps(opt: ASHAOptimizer, rng: np.random.Generator, n: int) -> list[tuple]:
    """n ask+tell pairs, each job told at once with a random value; the jobs handed out."""
    jobs = []
    for _ in range(n):
        job = opt.ask()
        opt.tell(job.trial, Status.COMPLETED, float(rng.random()), job.target)
        jobs.append((job.kind, job.trial, job.target, job.parent))
    return jobs


def _primed(n_trials: int) -> tuple[ASHAOptimizer, np.random.Generator]:
    opt, rng = _asha(), np.random.default_rng(0)
    while sum(len(rung) for rung in opt.rungs) < n_trials:
        _steps(opt, rng, 1000)
    return opt, rng


def test_asha_decision_cost_does_not_grow_with_history(benchmark):
    if benchmark.disabled:  # unmeasured: the decisions are still the reference's
        fast, slow = _asha(), _asha(ReferenceASHA)
        assert _steps(fast, np.random.default_rng(1), 3000) == _steps(
            slow, np.random.default_rng(1), 3000)
        benchmark.pedantic(_steps, args=(fast, np.random.default_rng(2), 10), rounds=1)
        return
    small, small_rng = _primed(1_000)
    large, large_rng = _primed(100_000)
    n_ops, small_costs = 200, []

    def small_side() -> tuple[tuple, dict]:
        # pedantic's setup runs (untimed) before each of its rounds: the two sides alternate,
        # so a drift of the CPU's speed hits both alike.
        tick = time.perf_counter()
        _steps(small, small_rng, n_ops)
        small_costs.append(time.perf_counter() - tick)
        return (large, large_rng, n_ops), {}

    benchmark.pedantic(_steps, setup=small_side, rounds=15, iterations=1)
    ratio = benchmark.stats.stats.median / statistics.median(small_costs)
    benchmark.extra_info.update(
        ratio=ratio, us_per_decision_1000=statistics.median(small_costs) / n_ops * 1e6,
        us_per_decision_100000=benchmark.stats.stats.median / n_ops * 1e6)
    print(f"\nasha ask+tell at 100,000 / 1,000 trials = {ratio:.2f}")
    assert ratio <= DECISION_RATIO


def _process(optimizer: str, units: int, workers: int, tmp_path: Path,
             tag: str) -> tuple[float, float]:
    """CPU seconds (user + system) and wall seconds of one whole `benchmarks.run` process."""
    command = [sys.executable, "-m", "benchmarks.run", "problem=learning_curve",
               f"optimizer={optimizer}", f"workers={workers}", f"budget.units={units}",
               "seeds=[0]", f"study={tag}", f"results_dir={tmp_path}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before, tick = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - tick
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert (tmp_path / tag / "learning_curve" / optimizer / "seed=0.parquet").is_file()
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def test_asha_process_beside_sha_at_200000_units(benchmark, tmp_path):
    units, workers, rounds = (2000, 16, 1) if benchmark.disabled else (200_000, 256, 5)
    tags = iter(range(100))
    times: dict[str, list[tuple[float, float]]] = {"asha": [], "sha": []}

    def run(optimizer: str) -> tuple[tuple, dict]:
        times[optimizer].append(_process(optimizer, units, workers, tmp_path,
                                         f"{optimizer}{next(tags)}"))
        return ("asha",), {}

    # pedantic's setup (untimed) runs sha before each round of asha: the two alternate.
    benchmark.pedantic(run, setup=lambda: run("sha"), rounds=rounds, iterations=1)
    if benchmark.disabled:
        return
    # The ratio compares CPU seconds, which the other agents' load on the shared machine
    # disturbs much less than wall seconds (both are saved).
    cpu = {name: statistics.median(t[0] for t in ts) for name, ts in times.items()}
    wall = {name: statistics.median(t[1] for t in ts) for name, ts in times.items()}
    ratio = cpu["asha"] / cpu["sha"]
    benchmark.extra_info.update(ratio=ratio, cpu_s=cpu, wall_s=wall, load=os.getloadavg())
    print(f"\nCPU s: asha {cpu['asha']:.1f}, sha {cpu['sha']:.1f}, ratio {ratio:.2f}; "
          f"wall s: asha {wall['asha']:.1f}, sha {wall['sha']:.1f}")
    assert ratio <= PROCESS_RATIO


def _cell(units: int, workers: int) -> tuple[float, int]:
    spec = cell_spec(curve_conf(noise_std=0.01), optimizer_conf("asha"), workers=workers,
                     units=units)
    tick = time.perf_counter()
    n_reports = len(run_cell(spec).columns["trial"])
    return time.perf_counter() - tick, n_reports


def test_thousand_workers_cost_in_proportion_to_reports(benchmark):
    small_units, large_units, rounds = (250, 1000, 1) if benchmark.disabled else (
        8000, 32000, 5)
    small: list[float] = []

    def small_side() -> tuple[tuple, dict]:
        seconds, n_reports = _cell(small_units, 1000)
        assert n_reports == small_units  # one unit per report on learning_curve
        small.append(seconds / n_reports)
        return (large_units, 1000), {}

    seconds, n_reports = benchmark.pedantic(_cell, setup=small_side, rounds=rounds,
                                            iterations=1)
    assert n_reports == large_units
    if benchmark.disabled:
        return
    ratio = benchmark.stats.stats.median / large_units / statistics.median(small)
    benchmark.extra_info.update(ratio=ratio, us_per_report_8000=statistics.median(small) * 1e6,
                                us_per_report_32000=benchmark.stats.stats.median / large_units
                                * 1e6)
    print(f"\nworkers=1000, per report at {large_units} / {small_units} units = {ratio:.2f}")
    assert ratio <= WORKERS_RATIO
