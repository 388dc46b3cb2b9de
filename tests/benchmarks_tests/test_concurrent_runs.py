"""Two runs of one study at once cooperate: both exit 0 and the files equal a serial run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks.recorder import write_cell
from benchmarks.schema import TIMING_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["-m", "problem=branin,hartmann6", "optimizer=random,tpe", "seeds=[0,1,2]",
        "budget.trials=6", "study=c"]


def _rows(study: Path) -> dict[str, dict]:
    out = {}
    for path in sorted(study.rglob("seed=*.parquet")):
        table = pq.read_table(path)
        keep = [c for c in table.column_names if c not in TIMING_COLUMNS]
        out[str(path.relative_to(study))] = table.select(keep).to_pydict()
    return out


def _start(results: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "benchmarks.run", *ARGS,
                             f"results_dir={results}"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_runs_of_one_study_at_once_both_exit_0(tmp_path):
    together, serial = tmp_path / "together", tmp_path / "serial"
    first, second = _start(together), _start(together)
    outs = [p.communicate(timeout=300) for p in (first, second)]
    for proc, (_, err) in zip((first, second), outs, strict=True):
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        assert "Error" not in err
    alone = _start(serial)
    _, err = alone.communicate(timeout=300)
    assert alone.returncode == 0, err
    expected = _rows(serial / "c")
    assert len(expected) == 12
    assert _rows(together / "c") == expected
    assert not list((together / "c").rglob(".*.tmp"))


def test_a_cell_written_meanwhile_is_kept(tmp_path):
    from tests.analysis_tests.cells import write_test_cell

    path = write_test_cell(tmp_path, "toy", "random", 0, [{"trial": 0, "value": 1.0}])
    before = path.read_bytes()
    table = pq.read_table(path)
    meta = {"schema_version": 1, "seed": 0}
    assert write_cell(path, table.to_pydict(), meta) is False
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["seed=0.parquet"]
