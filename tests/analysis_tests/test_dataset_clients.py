"""A study folder is a Parquet dataset for pandas, pyarrow, DuckDB and polars, report or not."""

from __future__ import annotations

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pytest

from analysis.load import load_results
from analysis.report import main as report_main
from benchmarks.run import main as run_main

KEY = ["problem", "optimizer", "seed", "trial", "step"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    assert run_main(["-m", "problem=branin,learning_curve", "optimizer=random,tpe",
                     "seeds=[0,1]", "budget.trials=4", "budget.units=null", "study=s",
                     f"results_dir={root}"]) == 0
    return root / "s"


def _read_all(folder) -> dict[str, pd.DataFrame]:
    glob = f"{folder}/**/*.parquet"
    frames = {
        "pandas": pd.read_parquet(folder),
        "pyarrow": ds.dataset(folder, format="parquet").to_table().to_pandas(),
        "duckdb": duckdb.sql(f"SELECT * FROM read_parquet('{glob}')").df(),
        "polars": pl.read_parquet(glob).to_pandas(),
    }
    return {k: f.sort_values(KEY, ignore_index=True) for k, f in frames.items()}


def _check_same(folder) -> None:
    expected = load_results(folder).reports.sort_values(KEY, ignore_index=True)
    for client, frame in _read_all(folder).items():
        assert len(frame) == len(expected), client
        for column in ("study", "problem", "optimizer", "seed", "trial", "step", "status",
                       "units", "cum_units", "config"):
            assert frame[column].astype(str).tolist() == \
                expected[column].astype(str).tolist(), (client, column)
        for column in ("value", "loss", "best_loss"):
            pd.testing.assert_series_equal(frame[column].astype(float),
                                           expected[column].astype(float),
                                           check_names=False, obj=f"{client} {column}")


def test_four_clients_read_the_study_before_and_after_the_report(study):
    _check_same(study)
    assert report_main([str(study)]) == 0
    assert (study / "_report" / "report.md").is_file()
    assert (study / "_report" / "figures").is_dir()
    assert (study / "_report" / "tables").is_dir()
    assert not (study / "report.md").exists()
    _check_same(study)
