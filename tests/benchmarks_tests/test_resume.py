"""Resume inside a cell: a journal cut at seeded points (torn records included) resumes to
the rows of an uninterrupted run, on native, Optuna and Hyperopt optimizers."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from benchmarks.journal import journal_path
from benchmarks.runner import run_cell
from tests.benchmarks_tests.resume_helpers import planned_cell, run_unjournaled, same_rows

TINY_LGBM = ("problem.n_samples=400", "problem.max_rounds=40", "problem.min_rounds=5",
             "problem.report_every=5")
TINY_MLP = ("problem.n_samples=200", "problem.max_epochs=9", "problem.min_epochs=1")

CASES = {
    "asha": ("learning_curve", "asha", "budget.units=300", "workers=3"),
    "hyperband": ("learning_curve", "hyperband", "budget.units=300", "workers=2"),
    "pbt": ("learning_curve", "pbt", "budget.units=300", "workers=2"),
    "tpe": ("branin", "tpe", "budget.trials=20"),
    "tpe_median": ("learning_curve", "tpe_median", "budget.units=150", "workers=2"),
    "hyperopt_tpe": ("branin", "hyperopt_tpe", "budget.trials=15"),
    "lgbm_asha": ("lgbm", "asha", "budget.units=250", *TINY_LGBM, "paused_memory=0"),
    "mlp_asha": ("mlp", "asha", "budget.units=40", *TINY_MLP, "paused_memory=0"),
}


def _cuts(data: bytes, seed: int) -> list[int]:
    """Seeded kill points: one torn inside a record, one at a record boundary, one anywhere."""
    rng = random.Random(seed)
    ends = [i + 1 for i, b in enumerate(data) if b == ord("\n")][1:-1]  # after the header
    boundary = rng.choice(ends)
    torn = rng.choice(ends) - rng.randint(2, 20)  # mid-record: its line is incomplete
    return [torn, boundary, rng.randrange(len(data))]


@pytest.mark.parametrize("case", list(CASES))
def test_a_killed_cell_resumes_to_the_uninterrupted_rows(tmp_path, case):
    spec = planned_cell(tmp_path, *CASES[case])
    full = run_cell(spec)
    assert full.info["resumed_reports"] == 0
    assert same_rows(full.columns, run_unjournaled(spec, paused_memory=None))
    journal = Path(spec.journal)
    data = journal.read_bytes()
    assert data.count(b"\n") == len(full.columns["trial"]) + 1  # a header, then every row
    for cut in _cuts(data, seed=sum(map(ord, case))):
        journal.write_bytes(data[:cut])
        resumed = run_cell(spec)
        assert 0 < resumed.info["resumed_reports"] < len(full.columns["trial"]), cut
        assert same_rows(full.columns, resumed.columns), f"{case}: cut at byte {cut}"
        wall = resumed.columns["wall_time"]
        assert wall == sorted(wall)  # wall time goes on from the killed run's


def test_a_torn_header_restarts_the_cell(tmp_path):
    spec = planned_cell(tmp_path, *CASES["asha"])
    full = run_cell(spec)
    journal = Path(spec.journal)
    journal.write_bytes(journal.read_bytes()[:10])
    again = run_cell(spec)
    assert again.info["resumed_reports"] == 0
    assert same_rows(full.columns, again.columns)


def test_journal_sits_beside_the_cell_file_hidden_from_dataset_readers(tmp_path):
    spec = planned_cell(tmp_path, "branin", "random", "budget.trials=3")
    cell = tmp_path / "default" / "branin" / "random" / "seed=0.parquet"
    assert Path(spec.journal) == journal_path(cell) == cell.with_name(".seed=0.journal")
    assert not Path(spec.journal).name.endswith(".parquet")


@pytest.mark.parametrize("overrides", [("budget.seconds=60",), ("trial_timeout=30",)])
def test_wall_clock_cells_restart_instead_and_say_so(tmp_path, caplog, overrides):
    spec = planned_cell(tmp_path, "learning_curve", "asha", "budget.units=100", *overrides)
    full = run_cell(spec)
    journal = Path(spec.journal)
    assert journal.read_bytes().count(b"\n") == 1  # the header only: nothing to resume from
    with caplog.at_level("WARNING"):
        again = run_cell(spec)
    assert again.info["resumed_reports"] == 0
    assert "restarts from zero" in caplog.text
    assert same_rows(full.columns, again.columns)


def test_pbt_with_many_workers_resumes_at_every_tenth_record(tmp_path):
    """Clones of trials whose later jobs are journaled: a copy built for a clone must not
    stand in for its source, which the journal has moved on."""
    spec = planned_cell(tmp_path, "learning_curve", "pbt", "budget.units=500", "workers=4",
                        "optimizer.n_members=6", "optimizer.perturbation_interval=5")
    full = run_cell(spec)
    assert any(p is not None for p in full.columns["parent_trial"])  # clones happened
    journal = Path(spec.journal)
    data = journal.read_bytes()
    ends = [i + 1 for i, b in enumerate(data) if b == ord("\n")][1::10]
    for cut in ends:
        journal.write_bytes(data[:cut])
        assert same_rows(full.columns, run_cell(spec).columns), f"cut at byte {cut}"
