"""The cell lock (a second run leaves a cell another live process holds) and the refusal of
a journal written with other settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.journal import CellLock, CellTakenError, cell_is_locked, journal_path
from benchmarks.run import main
from benchmarks.runner import run_cell
from tests.benchmarks_tests.resume_helpers import planned_cell, same_rows

ROOT = Path(__file__).resolve().parents[2]
HOLD = ("import sys, time\nfrom benchmarks.journal import CellLock\n"
        "with CellLock(sys.argv[1]) as lock:\n"
        "    print(lock.acquired, flush=True)\n    time.sleep(60)\n")


def _holder(path: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], env=env,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "True"
    return proc


def test_a_cell_held_by_another_process_is_left_to_it(tmp_path, capsys):
    args = ["problem=branin", "optimizer=random", "seeds=[0,1]", "budget.trials=4",
            f"results_dir={tmp_path}"]
    cells = tmp_path / "default" / "branin" / "random"
    journal = journal_path(cells / "seed=0.parquet")
    assert not cell_is_locked(journal)
    holder = _holder(journal)
    try:
        assert cell_is_locked(journal) and cell_is_locked(cells / "seed=0.parquet")
        spec = planned_cell(tmp_path, "branin", "random", "budget.trials=4")
        with pytest.raises(CellTakenError, match="another live process is running it"):
            run_cell(spec)
        assert main(args) == 0
        err = capsys.readouterr().err
        assert err.count("left to another process") == 1
        assert not (cells / "seed=0.parquet").exists() and (cells / "seed=1.parquet").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert not cell_is_locked(journal)  # the lock dies with its process
    assert main(args) == 0  # now this run takes the cell
    assert (cells / "seed=0.parquet").exists() and not journal.exists()


def test_a_lock_in_this_process_excludes_a_second_one(tmp_path):
    path = tmp_path / ".seed=0.journal"
    with CellLock(path) as first, CellLock(path) as second:
        assert first.acquired and not second.acquired
    with CellLock(path) as again:
        assert again.acquired


def test_a_journal_written_with_other_settings_is_refused(tmp_path, capsys):
    spec = planned_cell(tmp_path, "learning_curve", "asha", "budget.units=100")
    run_cell(spec)  # leaves its journal, as a killed run would
    assert Path(spec.journal).exists()
    code = main(["problem=learning_curve", "optimizer=asha", "seeds=[0]", "budget.units=200",
                 f"results_dir={tmp_path}"])
    assert code == 2
    err = capsys.readouterr().err
    assert "is the journal of a cell run with other settings" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_killed_cli_run_resumes_with_the_same_rows(tmp_path):
    """A real SIGKILL mid-cell, then the same command: rows equal an uninterrupted run."""
    import pyarrow.parquet as pq

    args = ["problem=learning_curve", "optimizer=asha", "seeds=[0]", "budget.units=1500",
            "problem.noise_std=0.01"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "benchmarks.run", *args]
    subprocess.run([*command, f"results_dir={tmp_path / 'a'}"], env=env, check=True,
                   capture_output=True)
    cell = Path("default", "learning_curve", "asha", "seed=0.parquet")
    journal = journal_path(tmp_path / "b" / cell)
    proc = subprocess.Popen([*command, f"results_dir={tmp_path / 'b'}"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and (not journal.exists() or journal.stat().st_size < 20_000):
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if (tmp_path / "b" / cell).exists():
        pytest.skip("the cell finished before the kill (machine too fast)")
    done = subprocess.run([*command, f"results_dir={tmp_path / 'b'}"], env=env, check=True,
                          capture_output=True, text=True)
    assert "resumes from its journal" in done.stderr
    a, b = (pq.read_table(tmp_path / d / cell).to_pydict() for d in ("a", "b"))
    assert same_rows(a, b)
    assert not journal.exists()
