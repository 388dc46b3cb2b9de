"""Memory of paused trials: peak RSS of an lgbm ASHA cell with and without `paused_memory`,
and the replay of evicted trials as a share of the cell's wall time.

Measured (``make bench``): ``problem=lgbm optimizer=asha budget.units=3000 'seeds=[0]'`` in
a fresh process each, with ``paused_memory=64`` and ``paused_memory=null``: the bounded peak
must be <= 0.6x the unbounded one, rows equal, and replay <= 40 % of the bounded cell's wall
time. Unmeasured (the default suite) the same runs at 200 units so the test cannot rot.
"""

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks.recorder import read_cell_metadata
from tests.benchmarks_tests.resume_helpers import same_rows

ROOT = Path(__file__).resolve().parents[2]
PEAK_RATIO = 0.6
REPLAY_SHARE = 0.4
# Runs the CLI in this process, then prints its own peak RSS (KiB on Linux).
SCRIPT = ("import resource, sys\nfrom benchmarks.run import main\ncode = main(sys.argv[1:])\n"
          "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\nsys.exit(code)\n")


def _run(tmp_path: Path, units: int, paused_memory: str) -> tuple[float, Path]:
    """Peak RSS (MiB) of one CLI process, and its cell file."""
    results = tmp_path / f"pm_{paused_memory}"
    args = ["problem=lgbm", "optimizer=asha", "seeds=[0]", f"budget.units={units}",
            f"paused_memory={paused_memory}", "study=mem", f"results_dir={results}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT, *args], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024, results / "mem/lgbm/asha/seed=0.parquet"


def test_paused_memory_bounds_peak_rss(benchmark, tmp_path):
    units = 200 if benchmark.disabled else 3000
    runs = {}

    def bounded():
        runs["64"] = _run(tmp_path, units, "64")

    benchmark.pedantic(bounded, rounds=1, iterations=1)
    runs["null"] = _run(tmp_path, units, "null")
    (peak, path), (peak_null, path_null) = runs["64"], runs["null"]
    assert same_rows(pq.read_table(path).to_pydict(), pq.read_table(path_null).to_pydict())
    meta = read_cell_metadata(path)
    share = meta["replay_seconds"] / meta["wall_time"]
    assert read_cell_metadata(path_null)["replay_seconds"] == 0.0
    ratio = peak / peak_null
    benchmark.extra_info.update(peak_mib=peak, peak_mib_unbounded=peak_null, ratio=ratio,
                                replay_share=share, evicted=meta["evicted_trials"],
                                replayed=meta["replayed_trials"])
    print(f"\npeak RSS {peak:.0f} MiB (paused_memory=64) vs {peak_null:.0f} MiB (null), "
          f"ratio {ratio:.2f}; replay {100 * share:.1f} % of wall time "
          f"({meta['replayed_trials']} trials replayed)")
    if benchmark.disabled:
        return
    assert ratio <= PEAK_RATIO
    assert share <= REPLAY_SHARE
