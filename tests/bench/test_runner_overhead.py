"""Runner overhead per trial: random search through the runner (Parquet written) against a
bare loop drawing the same configurations from the same sampler and evaluating them."""

import time

import numpy as np

from benchmarks.executors import execute_cell, write_result
from problems.synthetic import BraninProblem
from tests.kits.cells import cell_spec

N_TRIALS = 2000
#: Per-trial cost of the runner relative to the bare loop; the bare loop costs a few µs per
#: trial, so this bounds absolute overhead (rows, events, bookkeeping), not a library's cost.
MAX_RATIO = 12.0


def bare_loop(n_trials):
    problem = BraninProblem()
    rng = np.random.default_rng(0)
    best = np.inf
    for _ in range(n_trials):
        config = problem.space.sample(rng)
        best = min(best, problem.function(config))
    return best


def runner_cell(tmp_path, n_trials, tag):
    s = cell_spec({"_target_": "problems.synthetic.BraninProblem"},
                  {"_target_": "optimizers.random_search.RandomSearchOptimizer"},
                  record_config=True, trials=n_trials)
    result = execute_cell(s)
    write_result(result, tmp_path / f"seed={tag}.parquet")
    return result.columns["best_loss"][-1]


def test_runner_overhead_against_bare_loop(benchmark, tmp_path):
    n = 50 if benchmark.disabled else N_TRIALS
    counter = iter(range(10**6))
    best = benchmark.pedantic(lambda: runner_cell(tmp_path, n, next(counter)), rounds=5,
                              iterations=1)
    assert best == bare_loop(n)  # same sampler, same seed: the same trials
    if benchmark.disabled:
        return
    bare = []
    for _ in range(5):
        tick = time.perf_counter()
        bare_loop(n)
        bare.append(time.perf_counter() - tick)
    ratio = benchmark.stats.stats.median / float(np.median(bare))
    per_trial_us = (benchmark.stats.stats.median - float(np.median(bare))) / n * 1e6
    benchmark.extra_info.update(ratio=ratio, overhead_us_per_trial=per_trial_us)
    print(f"\nrunner/bare = {ratio:.2f}; overhead {per_trial_us:.1f} µs per trial")
    assert ratio <= MAX_RATIO
