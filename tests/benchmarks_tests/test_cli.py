import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from benchmarks.recorder import SCHEMA, SCHEMA_VERSION, read_cell_metadata
from benchmarks.run import main
from tests.kits.cells import file_rows as rows

ROOT = Path(__file__).resolve().parents[2]


def run(tmp_path, *args):
    return main([*args, f"results_dir={tmp_path / 'r'}"])


def files(tmp_path):
    return sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["problem=nope"], "`problem` must be one of branin, "),
        (["optimizer=nope"], "`optimizer` must be one of "),
        (["-m", "optimizer=random,nope"], "`optimizer` must be one of "),
        (["seeds=3"], "`seeds` must be a non-empty list of distinct non-negative ints such as [0,1,2]; got 3."),
        (["seeds=[]"], "`seeds` must be a non-empty list"),
        (["seeds=[0,-1]"], "got [0, -1]."),
        (["seeds=[1,1]"], "got [1, 1]."),
        (["seeds=[a]"], "got ['a']."),
        (["budget.trials=0"], "`budget.trials` must be a positive int or null; got 0."),
        (["budget.units=-5"], "`budget.units` must be a positive int or null; got -5."),
        (["budget.seconds=0"], "`budget.seconds` must be a positive number or null; got 0."),
        (["budget.trials=null"], "`budget` has no limit: set at least one of"),
        (["workers=0"], "`workers` must be a positive int; got 0."),
        (["n_jobs=0"], "`n_jobs` must be a positive int; got 0."),
        (["trial_timeout=-1"], "`trial_timeout` must be a positive number of seconds or null; got -1."),
        (["study=a/b"], "`study` must be a folder name"),
        (["problem.noise=0.3"], "`problem.noise` is not a setting of problem `branin`; its settings are noise_std."),
        (["+problem.noise=0.3"], "`problem.noise` is not a setting of BraninProblem; its settings are noise_std."),
        (["problem=learning_curve", "optimizer.foo=1"], "`optimizer.foo` is not a setting of optimizer `random`"),
        (["problem.noise_std=-1"], "problem `branin`: `noise_std` must be a finite number >= 0, got -1."),
        (["optimizer=grid", "optimizer.values={}"], "`optimizer.values` is empty"),
        (["optimizer=grid", "optimizer.values={x1:[]}"], "`optimizer.values.x1` is empty: a grid with no values."),
        (["optimizer=grid", "optimizer.resolution=1"], "`optimizer.resolution` must be an int >= 2, got 1."),
        (["foo=1"], "`foo` is not a configuration key"),
        (["optimizer=random,grid"], "`optimizer=random,grid` sweeps several values; add -m (multirun) to sweep."),
        (["problem=[1"], "cannot parse the override `problem=[1`"),
        (["--frobnicate"], "unknown option `--frobnicate`"),
        (["optimizer._target_=os.system"], "only classes under problems, optimizers"),
    ],
)
def test_user_errors_exit_2_with_one_sentence_and_write_nothing(tmp_path, capsys, args, message):
    assert run(tmp_path, *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err
    assert "\n" not in err and "Traceback" not in err
    assert files(tmp_path) == []


def test_unwritable_results_dir_is_a_user_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main([f"results_dir={blocker / 'sub'}"]) == 2
    assert "is not writable" in capsys.readouterr().err
    assert main(["results_dir=/proc/hpo-arena"]) == 2
    assert "is not writable" in capsys.readouterr().err


def test_fidelity_requirement_message(tmp_path, capsys, monkeypatch):
    from optimizers.random_search import RandomSearchOptimizer

    monkeypatch.setattr(RandomSearchOptimizer, "needs_fidelity", True)
    assert run(tmp_path, "problem=branin") == 2
    err = capsys.readouterr().err
    assert "random needs a problem with a fidelity; `branin` has none. Pick learning_curve" in err


def test_rerun_skips_complete_cells_and_a_deleted_cell_is_recomputed_identically(tmp_path, capsys):
    args = ("problem=branin", "optimizer=random", "seeds=[0,1,2]", "budget.trials=50", "study=demo")
    assert run(tmp_path, *args) == 0
    cells = sorted((tmp_path / "r" / "demo" / "branin" / "random").glob("*.parquet"))
    assert [c.name for c in cells] == ["seed=0.parquet", "seed=1.parquet", "seed=2.parquet"]
    before = {c: (c.stat().st_mtime_ns, rows(c)) for c in cells}
    capsys.readouterr()
    assert run(tmp_path, *args) == 0
    out = capsys.readouterr()
    assert "skipping 3 complete cell(s)" in out.err and "wrote" not in out.out
    assert "| branin    | random      |       3 |" in out.out
    assert all(c.stat().st_mtime_ns == before[c][0] for c in cells)
    cells[1].unlink()
    assert run(tmp_path, *args) == 0
    assert cells[0].stat().st_mtime_ns == before[cells[0]][0]
    pd.testing.assert_frame_equal(rows(cells[1]), before[cells[1]][1])


def test_changed_settings_under_the_same_study_are_refused(tmp_path, capsys):
    assert run(tmp_path, "seeds=[0]", "budget.trials=5", "study=s") == 0
    capsys.readouterr()
    assert run(tmp_path, "seeds=[0]", "budget.trials=6", "study=s") == 2
    err = capsys.readouterr().err
    assert "was produced with other settings (budget.trials: 5 -> 6)" in err


def test_file_schema_and_metadata(tmp_path):
    assert run(tmp_path, "problem=learning_curve", "seeds=[3]", "budget.units=200", "study=m") == 0
    path = tmp_path / "r" / "m" / "learning_curve" / "random" / "seed=3.parquet"
    table = pq.read_table(path)
    assert table.schema.remove_metadata() == SCHEMA
    meta = read_cell_metadata(path)
    assert meta["schema_version"] == SCHEMA_VERSION
    assert meta["config"]["problem"]["_target_"] == "problems.synthetic.LearningCurveProblem"
    assert meta["config"]["seed"] == 3 and meta["cell_config"]["budget"]["units"] == 200
    assert {"optuna", "greenlet", "numpy", "python"} <= set(meta["versions"])
    assert meta["versions"]["greenlet"] != "not installed"
    assert meta["problem_info"]["direction"] == "maximize"
    assert {"host", "started", "finished", "git_commit"} <= set(meta)
    df = table.to_pandas()
    assert df.study.unique().tolist() == ["m"] and df.seed.unique().tolist() == [3]
    assert df.cum_units.iloc[-1] == 200 and df.units.sum() == 200


def test_workers_and_n_jobs_are_deterministic_and_n_jobs_matches_serial(tmp_path):
    base = ("problem=learning_curve", "seeds=[0,1]", "budget.units=400", "workers=4")
    assert run(tmp_path, *base, "study=serial") == 0
    assert run(tmp_path, *base, "study=serial2") == 0
    assert run(tmp_path, *base, "study=pool", "n_jobs=2") == 0
    root = tmp_path / "r"
    for seed in (0, 1):
        ref = rows(root / "serial" / "learning_curve" / "random" / f"seed={seed}.parquet")
        for study in ("serial2", "pool"):
            other = rows(root / study / "learning_curve" / "random" / f"seed={seed}.parquet")
            pd.testing.assert_frame_equal(ref.drop(columns="study"), other.drop(columns="study"))
    assert ref.virtual_time.max() < ref.cum_units.max()  # four workers overlap in virtual time


def test_multirun_ends_with_one_combined_table(tmp_path, capsys):
    assert run(tmp_path, "-m", "problem=branin,synthetic1d", "optimizer=random,grid",
               "seeds=[0]", "budget.trials=4", "study=mr") == 0
    out = capsys.readouterr().out
    table = [ln for ln in out.splitlines() if ln.startswith("| ") and "problem" not in ln]
    assert len(table) == 4
    assert (tmp_path / "r" / "mr" / "synthetic1d" / "grid" / "seed=0.parquet").exists()


def test_help_lists_groups(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "problem: branin" in out and "optimizer:" in out


def test_sigkill_mid_cell_leaves_no_partial_file_and_rerun_completes(tmp_path):
    args = ["problem=learning_curve", "seeds=[0,1,2]", "budget.units=30000", "study=k",
            f"results_dir={tmp_path / 'r'}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.run", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cell_dir = tmp_path / "r" / "k" / "learning_curve" / "random"
    deadline = time.monotonic() + 120
    while not list(cell_dir.glob("seed=*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sorted(p.name for p in cell_dir.glob("seed=*.parquet"))
    assert 1 <= len(done) < 3, "kill came too late to interrupt a cell"
    for path in cell_dir.glob("seed=*.parquet"):
        pq.read_table(path)  # every visible file is complete and readable
    assert main(args) == 0
    assert not list(cell_dir.glob(".*.tmp"))
    assert main([*args[:-2], "study=k2", f"results_dir={tmp_path / 'r'}"]) == 0
    for seed in (0, 1, 2):
        a = rows(cell_dir / f"seed={seed}.parquet").drop(columns="study")
        b = rows(tmp_path / "r" / "k2" / "learning_curve" / "random" / f"seed={seed}.parquet")
        pd.testing.assert_frame_equal(a, b.drop(columns="study"))


def test_a_broken_cell_is_reported_and_the_others_are_saved(tmp_path, capsys, monkeypatch):
    from optimizers.random_search import RandomSearchOptimizer

    original = RandomSearchOptimizer.ask

    def ask(self):
        if self.seed == 1:
            raise RuntimeError("optimizer bug")
        return original(self)

    monkeypatch.setattr(RandomSearchOptimizer, "ask", ask)
    args = ("seeds=[0,1,2]", "budget.trials=5", "study=b")
    assert run(tmp_path, *args) == 1
    err = capsys.readouterr().err
    assert "cell branin/random/seed=1 failed: RuntimeError at test_cli.py:" in err
    assert "1 cell(s) failed and were not written" in err
    cells = tmp_path / "r" / "b" / "branin" / "random"
    assert sorted(p.name for p in cells.glob("*.parquet")) == ["seed=0.parquet", "seed=2.parquet"]
    monkeypatch.setattr(RandomSearchOptimizer, "ask", original)
    assert run(tmp_path, *args) == 0
    assert "skipping 2 complete cell(s)" in capsys.readouterr().err
    assert (cells / "seed=1.parquet").exists()


def test_stale_temp_files_of_dead_writers_are_removed_live_ones_kept(tmp_path):
    from benchmarks.recorder import remove_stale_temp_files

    cell_dir = tmp_path / "s" / "p" / "o"
    cell_dir.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = cell_dir / f".seed=0.parquet.{dead}.tmp"
    live = cell_dir / f".seed=1.parquet.{os.getpid()}.tmp"
    stale.write_bytes(b"partial")
    live.write_bytes(b"partial")
    assert remove_stale_temp_files(tmp_path / "s") == 1
    assert not stale.exists() and live.exists()
