"""A cell of `asha` on `lgbm_surrogate` against the same cell on the real `lgbm`.

Target (issue 14): a cell of asha on lgbm_surrogate, **including** building the problem,
loading the table and the fitted model (caches cleared first), >= 100x faster than the same
cell on real lgbm, at lgbm's default budget (5000 rounds) for both, measured in one run as a
ratio (as tests/bench/test_table_speed.py). The surrogate cell at its own default budget
(30000 rounds) and the load alone are reported beside the ratio. Unmeasured (the default
suite), both run once at a small budget so the benchmark cannot rot.
"""

import time

from benchmarks.compose import compose_runs
from benchmarks.plan import plan_cells
from benchmarks.runner import run_cell
from problems import loading, surrogate, table


def _spec(problem, tmp_path, units=None):
    overrides = [f"problem={problem}", "optimizer=asha", "seeds=[0]",
                 f"results_dir={tmp_path}", f"study={problem}"]
    jobs = compose_runs(overrides + ([f"budget.units={units}"] if units else []))
    (spec, _), = plan_cells(jobs)[0]
    return spec


def _clear():
    loading._cached_problem.cache_clear()
    table._load.cache_clear()
    surrogate._fitted.cache_clear()


def _timed_cell(spec):
    _clear()
    tick = time.perf_counter()
    result = run_cell(spec)
    return time.perf_counter() - tick, result


def test_asha_on_lgbm_surrogate_vs_lgbm(benchmark, tmp_path):
    real_spec = _spec("lgbm", tmp_path, 300 if benchmark.disabled else None)
    surrogate_spec = _spec("lgbm_surrogate", tmp_path, real_spec.budget.units)
    real_seconds: list[float] = []

    def time_real():  # pedantic's untimed setup
        real_seconds.append(_timed_cell(real_spec)[0])

    def surrogate_cell():
        return _timed_cell(surrogate_spec)[1]

    result = benchmark.pedantic(surrogate_cell,
                                setup=None if benchmark.disabled else time_real,
                                rounds=1, iterations=1)
    assert max(result.columns["cum_units"]) <= surrogate_spec.budget.units
    if benchmark.disabled:
        return
    _clear()
    tick = time.perf_counter()
    loading.load("lgbm_surrogate")
    load_seconds = time.perf_counter() - tick
    at_default, _ = _timed_cell(_spec("lgbm_surrogate", tmp_path / "default"))
    ours = benchmark.stats.stats.median
    benchmark.extra_info.update(units=real_spec.budget.units, surrogate_seconds=ours,
                                real_seconds=real_seconds[0], ratio=real_seconds[0] / ours,
                                load_seconds=load_seconds, surrogate_default_seconds=at_default)
    print(f"\nasha cell at {real_spec.budget.units} units: lgbm_surrogate {ours:.2f} s, lgbm "
          f"{real_seconds[0]:.1f} s, ratio {real_seconds[0] / ours:.0f}; lgbm_surrogate at its "
          f"default budget {at_default:.2f} s; load {load_seconds:.2f} s")
    assert load_seconds <= 2.0
    assert real_seconds[0] / ours >= 100
