"""A damaged, foreign or incompatible file in a study: one sentence naming it, exit 2."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.load import SchemaError, load_results
from analysis.report import main
from tests.analysis_tests.cells import write_test_cell


def _study(tmp_path):
    for seed in (0, 1):
        write_test_cell(tmp_path, "toy", "random", seed,
                        [{"trial": 0, "value": 1.0}, {"trial": 1, "value": 0.5}])
    return tmp_path / "s", tmp_path / "s" / "toy" / "random" / "seed=0.parquet"


def _report_fails(study, capsys, match):
    assert main([str(study)]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert match in lines[0]
    assert not (study / "_report").exists()


@pytest.mark.parametrize("keep", [0.0, 0.01, 0.5, 0.99])
def test_truncated_file_is_named(tmp_path, capsys, keep):
    study, path = _study(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:int(keep * len(data))])
    with pytest.raises(SchemaError, match=r"seed=0\.parquet is not a readable Parquet file"):
        load_results(study)
    _report_fails(study, capsys, "seed=0.parquet is not a readable Parquet file")


def test_file_that_is_not_parquet_is_named(tmp_path, capsys):
    study, path = _study(tmp_path)
    path.write_text("hello")
    _report_fails(study, capsys, "seed=0.parquet is not a readable Parquet file")


def test_foreign_parquet_file_is_named(tmp_path, capsys):
    study, path = _study(tmp_path)
    path.unlink()
    pq.write_table(pa.table({"a": [1, 2]}), path)
    _report_fails(study, capsys, "seed=0.parquet has no hpo-arena metadata")


def test_metadata_that_is_not_json_is_named(tmp_path, capsys):
    study, path = _study(tmp_path)
    table = pq.read_table(path)
    path.unlink()
    pq.write_table(table.replace_schema_metadata({b"hpo_arena": b"{not json"}), path)
    _report_fails(study, capsys, "seed=0.parquet has unreadable hpo-arena metadata")


def test_column_of_the_wrong_type_is_named(tmp_path, capsys):
    study, path = _study(tmp_path)
    table = pq.read_table(path)
    meta = table.schema.metadata
    i = table.schema.get_field_index("value")
    table = table.set_column(i, "value", pa.array([str(v) for v in table.column("value")
                                                   .to_pylist()]))
    path.unlink()
    pq.write_table(table.replace_schema_metadata(meta), path)
    _report_fails(study, capsys, "seed=0.parquet has column(s) of the wrong type: value "
                                 "(string, expected double)")
    assert json.loads(meta[b"hpo_arena"])["seed"] == 0
