"""Resume inside a cell: a long cell killed at 75 % of its run finishes sooner than a rerun.

Measured (``make bench``): ``problem=lgbm optimizer=asha budget.units=3000 'seeds=[0]'``
run once in full, then again and killed with SIGKILL at 75 % of the full run's wall time,
then the same command once more: it resumes from the journal and must take <= 0.6x the
full run (a restart from zero takes ~1.0-1.2x), rows equal to the full run's. Whole
processes, start-up included, as a user sees them. Unmeasured (the default suite) the same
runs at 300 units, so the test cannot rot.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from tests.benchmarks_tests.resume_helpers import same_rows

ROOT = Path(__file__).resolve().parents[2]
RESUME_RATIO = 0.6
KILL_AT = 0.75


def _command(units: int, results: Path, study: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.run", "problem=lgbm", "optimizer=asha",
            f"budget.units={units}", "seeds=[0]", f"results_dir={results}", f"study={study}"]


def test_resume_after_kill_beside_full_run(benchmark, tmp_path):
    units = 300 if benchmark.disabled else 3000
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cell = Path("lgbm/asha/seed=0.parquet")
    journal = tmp_path / "killed/lgbm/asha/.seed=0.journal"

    tick = time.perf_counter()
    subprocess.run(_command(units, tmp_path, "full"), cwd=ROOT, env=env, check=True,
                   capture_output=True)
    full = time.perf_counter() - tick

    killed = subprocess.Popen(_command(units, tmp_path, "killed"), cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(KILL_AT * full)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    journaled = journal.read_bytes().count(b"\n") - 1 if journal.exists() else 0

    seconds = []

    def resume() -> None:
        tick = time.perf_counter()
        subprocess.run(_command(units, tmp_path, "killed"), cwd=ROOT, env=env, check=True,
                       capture_output=True)
        seconds.append(time.perf_counter() - tick)

    benchmark.pedantic(resume, rounds=1, iterations=1)
    resumed = seconds[0]
    a = pq.read_table(tmp_path / "full" / cell).to_pydict()
    b = pq.read_table(tmp_path / "killed" / cell).to_pydict()
    a.pop("study"), b.pop("study")  # the two runs are two studies
    assert same_rows(a, b)
    assert not journal.exists()
    ratio = resumed / full
    benchmark.extra_info.update(full_s=full, resumed_s=resumed, ratio=ratio,
                                journaled_reports=journaled, reports=len(a["trial"]))
    print(f"\nfull run {full:.1f} s; killed at {KILL_AT:.0%} with {journaled} of "
          f"{len(a['trial'])} reports journaled; resumed in {resumed:.1f} s = {ratio:.2f}x")
    if benchmark.disabled:
        return
    assert ratio <= RESUME_RATIO
