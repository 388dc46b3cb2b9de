"""Loading results: schema checks with clear errors, cell metadata, fixed references."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.load import (
    ANALYSIS_COLUMNS,
    SchemaError,
    cell_reports,
    load_results,
    problem_references,
)
from tests.analysis_tests.cells import write_test_cell


def test_loads_reports_and_cells(tmp_path):
    write_test_cell(tmp_path, "p", "random", 0, [dict(trial=0, value=2.0)], optimum=1.0)
    write_test_cell(tmp_path, "p", "random", 1, [dict(trial=0, value=3.0),
                                                  dict(trial=1, value=1.5)], optimum=1.0)
    res = load_results(tmp_path / "s")
    assert len(res.reports) == 3
    assert list(res.cells.seed) == [0, 1]
    assert res.directions() == {"p": "minimize"}
    assert res.cells.cum_units.tolist() == [1, 2]


def _three_cells(root):
    for problem, optimizer, seed in (("p", "random", 0), ("p", "tpe", 0), ("q", "random", 1)):
        write_test_cell(root, problem, optimizer, seed,
                        [dict(trial=t, value=float(t + seed)) for t in range(3)])
    return root / "s"


def test_rows_and_cell_reports_match_filtering_every_report(tmp_path):
    study = _three_cells(tmp_path)
    full = load_results(study)
    lean = load_results(study, columns=ANALYSIS_COLUMNS)
    assert "config" in full.reports and "config" not in lean.reports
    for problem, optimizer in (("p", "random"), ("p", "tpe"), ("q", "random"), ("q", "tpe")):
        mask = (full.reports.problem == problem) & (full.reports.optimizer == optimizer)
        assert full.rows(problem, optimizer).equals(full.reports[mask])
        assert full.rows(problem).equals(full.reports[full.reports.problem == problem])
    from_file = cell_reports(lean, "p", "tpe", 0)
    in_memory = cell_reports(full, "p", "tpe", 0)
    assert from_file.config.tolist() == in_memory.config.tolist() == [
        json.dumps({"x": float(t)}) for t in range(3)]
    assert from_file.value.tolist() == in_memory.value.tolist() == [0.0, 1.0, 2.0]


def test_unknown_columns_are_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="`columns` must be schema columns; bogus are not"):
        load_results(_three_cells(tmp_path), columns=["loss", "bogus"])


def _rewrite(path, table, meta):
    pq.write_table(table.replace_schema_metadata({b"hpo_arena": json.dumps(meta).encode()}),
                   path)


def test_wrong_schema_version_is_a_clear_error(tmp_path):
    path = write_test_cell(tmp_path, "p", "random", 0, [dict(trial=0, value=2.0)])
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[b"hpo_arena"])
    path.unlink()
    _rewrite(path, table, {**meta, "schema_version": 2})
    with pytest.raises(SchemaError, match="schema version 2; this analysis reads version 1"):
        load_results(tmp_path / "s")


def test_missing_columns_are_named(tmp_path):
    path = write_test_cell(tmp_path, "p", "random", 0, [dict(trial=0, value=2.0)])
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[b"hpo_arena"])
    path.unlink()
    _rewrite(path, table.drop_columns(["best_loss", "cum_units"]), meta)
    with pytest.raises(SchemaError, match="misses the column.s. cum_units, best_loss"):
        load_results(path)


def test_file_without_metadata_and_missing_paths(tmp_path):
    path = tmp_path / "s" / "p" / "o" / "seed=0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"a": [1]}), path)
    with pytest.raises(SchemaError, match="has no hpo-arena metadata"):
        load_results(tmp_path / "s")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_results(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no cell files"):
        load_results(tmp_path / "empty")


def test_same_cell_twice_is_refused(tmp_path):
    write_test_cell(tmp_path, "p", "random", 0, [dict(trial=0, value=2.0)])
    with pytest.raises(ValueError, match="was loaded twice"):
        load_results([tmp_path / "s", tmp_path / "s"])


def test_references_come_from_optimum_then_conf_never_from_results(tmp_path):
    write_test_cell(tmp_path, "known", "random", 0, [dict(trial=0, value=2.0)], optimum=1.0)
    write_test_cell(tmp_path, "conf", "random", 0, [dict(trial=0, value=0.9)],
                    direction="maximize",
                    problem_conf={"reference": {"value": 0.95, "how": "1000 random trials"}})
    write_test_cell(tmp_path, "none", "random", 0, [dict(trial=0, value=0.9)])
    refs = problem_references(load_results(tmp_path / "s"))
    assert (refs["known"].value, refs["known"].how) == (1.0, "known optimum of the problem")
    assert (refs["conf"].value, refs["conf"].how) == (0.95, "1000 random trials")
    assert refs["none"] is None
