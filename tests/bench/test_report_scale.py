"""Report build time grows linearly with the study: a study with twice the seeds (twice the
cells and reports) must not take more than about twice as long to report."""

import time

import numpy as np
import pytest

from analysis.report import build_report
from tests.analysis_tests.cells import write_test_cell

#: Time of the report on 2x the cells over the time on 1x. Linear work gives <= 2 (the
#: per-problem figures do not grow); a per-cell scan of all reports would give ~4.
MAX_RATIO = 2.5
SINGLE = ("random", "optuna_random", "tpe", "cmaes", "qmc", "grid")
FIDELITY = ("random", "sha", "asha", "hyperband", "pbt", "tpe_median")


def _study(root, n_seeds, n_trials):
    """Write two single-fidelity problems and one with a fidelity, 6 optimizers each."""
    for seed in range(n_seeds):
        rng = np.random.default_rng(seed)
        for problem in ("branin_like", "hartmann_like"):
            for optimizer in SINGLE:
                values = rng.uniform(0.0, 10.0, n_trials)
                write_test_cell(root, problem, optimizer, seed,
                                [dict(trial=t, value=float(v), true_value=float(v))
                                 for t, v in enumerate(values)], optimum=0.0)
        for optimizer in FIDELITY:
            reports, steps = [], 9
            for t in range(n_trials // steps):
                base = float(rng.uniform())
                reports += [dict(trial=t, step=s, value=base * s / steps,
                                 status="completed" if s == steps else "running")
                            for s in range(1, steps + 1)]
            write_test_cell(root, "curve_like", optimizer, seed, reports,
                            direction="maximize", max_step=steps, optimum=1.0,
                            optimizer_conf={"_target_": "x", "reduction_factor": 3})
    return root / "s"


def _build(study, out):
    tick = time.perf_counter()
    build_report([study], out)
    return time.perf_counter() - tick


@pytest.mark.bench
def test_report_time_grows_linearly_with_the_study(benchmark, tmp_path):
    n_seeds, n_trials = (1, 18) if benchmark.disabled else (10, 300)
    small = _study(tmp_path / "small", n_seeds, n_trials)
    large = _study(tmp_path / "large", 2 * n_seeds, n_trials)
    benchmark.pedantic(_build, args=(large, tmp_path / "out_large"), rounds=1, iterations=1)
    report = (tmp_path / "out_large" / "report.md").read_text()
    assert f"{2 * n_seeds * 18} cells, 3 problems" in report
    if benchmark.disabled:
        return
    small_s = min(_build(small, tmp_path / "out_small") for _ in range(2))
    large_s = min(benchmark.stats.stats.min, _build(large, tmp_path / "out_large"))
    ratio = large_s / small_s
    benchmark.extra_info.update(ratio=ratio, small_s=small_s, large_s=large_s)
    print(f"\nreport 2x/1x = {ratio:.2f} ({small_s:.1f} s -> {large_s:.1f} s)")
    assert ratio <= MAX_RATIO
