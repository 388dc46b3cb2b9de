"""benchmarks.tabulate: the design, chunked atomic collection, resume, subsets, bad input."""

import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from benchmarks.tabulate import blocks, main
from problems.space import Categorical, Condition, Float, Int, SearchSpace
from problems.table_format import META_NAME, chunk_ranges, design_configs

# learning_curve recorded every 3 iterations to 9: seconds per table.
TINY = ["problem=learning_curve", "problem.max_iterations=9", "problem.report_every=3"]


def collect(out, *args):
    return main([*TINY, f"out={out}", *args])


def rows(folder):
    paths = [p for _, _, p in chunk_ranges(folder)]
    frame = pq.read_table(paths).to_pandas()
    return frame.drop(columns=["cum_seconds", "cum_wall_seconds"]).sort_values(["config_id", "seed", "step"]
                                                           ).reset_index(drop=True)


def listing(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else None


# -- the design --------------------------------------------------------------------------
def test_design_is_a_prefix_stable_sequence_inside_the_space():
    space = SearchSpace((
        Float("lr", 1e-4, 1e-1, log=True),
        Int("depth", 1, 4),
        Categorical("kind", ("a", "b", "c")),
        Float("momentum", 0.0, 1.0, condition=Condition("kind", ("b",))),
    ))
    many = design_configs(space, range(256))
    assert design_configs(space, [3, 200]) == {3: many[3], 200: many[200]}
    for config in many.values():
        space.validate(config)  # the conditional is set exactly where active
    assert {c["kind"] for c in many.values()} == {"a", "b", "c"}
    assert {c["depth"] for c in many.values()} == {1, 2, 3, 4}
    # log scale: half the points below the geometric middle of the range
    below = np.mean([c["lr"] < math.sqrt(1e-4 * 1e-1) for c in many.values()])
    assert below == pytest.approx(0.5, abs=0.02)
    assert sum("momentum" in c for c in many.values()) == sum(
        c["kind"] == "b" for c in many.values())


def test_blocks_follow_aligned_chunks():
    assert blocks([0, 1, 2, 24, 25, 26, 30]) == [[0, 1, 2], [24], [25, 26], [30]]


# -- collecting --------------------------------------------------------------------------
def test_collection_records_every_step_of_one_run_with_metadata(tmp_path):
    out = tmp_path / "t"
    assert collect(out, "configs=4", "seeds=[0,1]") == 0
    assert listing(out) == ["ids-000000-000004.parquet", META_NAME]
    frame = pq.read_table(out / "ids-000000-000004.parquet").to_pandas()
    assert len(frame) == 4 * 2 * 3
    assert frame.groupby(["config_id", "seed"])["step"].apply(list).map(tuple).unique().tolist(
        ) == [(3, 6, 9)]
    assert (frame["cum_units"] == frame["step"]).all()
    assert (frame.groupby(["config_id", "seed"])["cum_seconds"].diff().dropna() > 0).all()
    assert {"value", "true_value", "config"} <= set(frame.columns)
    meta = json.loads((out / META_NAME).read_text())
    assert meta["problem"] == "learning_curve" and meta["seeds"] == [0, 1]
    assert meta["design"]["method"] == "scrambled Sobol"
    assert {"numpy", "scipy", "python"} <= set(meta["versions"])
    assert len(meta["data_hash"]) == 64 and meta["n_configs"] == 4
    (run,) = meta["runs"]
    assert run["ids_recorded"] == 4 and run["cpu_seconds"] >= 0 and run["finished"]


def test_subsets_and_resume_give_the_rows_of_one_run(tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert collect(whole, "configs=30", "seeds=[0,1]") == 0
    assert collect(parts, "configs=30", "seeds=[0,1]", "subset=3:27") == 0
    assert listing(parts) == ["ids-000003-000025.parquet", "ids-000025-000027.parquet",
                              META_NAME]
    # resume: only the missing ids are computed, in a pool, into their own chunk files
    assert collect(parts, "configs=30", "seeds=[0,1]", "n_jobs=2") == 0
    assert [(a, b) for a, b, _ in chunk_ranges(parts)] == [(0, 3), (3, 25), (25, 27), (27, 30)]
    assert rows(parts).equals(rows(whole))
    before = {p.name: p.stat().st_mtime_ns for p in parts.iterdir()}
    assert collect(parts, "configs=30", "seeds=[0,1]") == 0  # nothing to do
    assert {p.name: p.stat().st_mtime_ns for p in parts.iterdir()} == before
    # a larger design extends the same sequence of ids
    assert collect(parts, "configs=32", "seeds=[0,1]", "subset=30:32") == 0
    assert json.loads((parts / META_NAME).read_text())["n_configs"] == 32


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["problem=nope", "configs=3"], "`problem` must be one of "),
        (["problem=branin"], "`configs` is required"),
        (["configs=3"], "`problem` is required"),
        ([*TINY, "configs=0"], "`configs` must be a positive int; got '0'."),
        ([*TINY, "configs=x"], "`configs` must be a positive int; got 'x'."),
        ([*TINY, "configs=10", "subset=0:11"],
         "`subset` must be a:b with 0 <= a < b <= configs (10); got '0:11'."),
        ([*TINY, "configs=10", "subset=5:5"], "got '5:5'."),
        ([*TINY, "configs=10", "subset=5"], "got '5'."),
        ([*TINY, "configs=3", "seeds=[1,1]"], "`seeds` must be a non-empty list of distinct"),
        ([*TINY, "configs=3", "n_jobs=0"], "`n_jobs` must be a positive int; got '0'."),
        ([*TINY, "configs=3", "executor=dask"], "`executor` must be local or ray; got 'dask'."),
        ([*TINY, "configs=3", "frobnicate=1"], "`frobnicate` is not a setting of tabulate"),
        ([*TINY, "configs=3", "verbose"], "arguments are key=value; got 'verbose'"),
        ([*TINY, "configs=3", "problem.max_iterations=0"],
         "problem `learning_curve`: `max_iterations` must be an int >= 1, got 0."),
        (["problem=lgbm_table", "problem.table=/nonexistent/table", "configs=3"],
         "`table` '/nonexistent/table' is not a recorded table"),
    ],
)
def test_bad_input_is_one_sentence_exit_2_nothing_written(tmp_path, capsys, args, message):
    out = tmp_path / "t"
    assert main([*args, f"out={out}"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_a_table_problem_is_not_tabulated(tmp_path, capsys):
    assert collect(tmp_path / "src", "configs=2", "seeds=[0]") == 0
    out = tmp_path / "t"
    args = ["problem=lgbm_table", f"problem.table={tmp_path / 'src'}", "configs=2", f"out={out}"]
    assert main(args) == 2
    assert "problem `lgbm_table` is itself a table; tabulate a real problem." in (
        capsys.readouterr().err)
    assert not out.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["seeds=[0,1]"], "holds a table recorded with another `seeds` ([0] here: [0, 1])"),
        (["problem.tau=10"], "holds a table recorded with another `problem_conf`"),
    ],
)
def test_a_mismatched_table_in_out_is_refused(tmp_path, capsys, change, message):
    out = tmp_path / "t"
    assert collect(out, "configs=2", "seeds=[0]") == 0
    before = listing(out)
    assert collect(out, "configs=4", "seeds=[0]", *change) == 2
    assert message in capsys.readouterr().err
    assert listing(out) == before


def test_a_foreign_folder_or_file_in_out_is_refused(tmp_path, capsys):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert collect(foreign, "configs=2") == 2
    assert "is not empty and holds no table.json: not a table" in capsys.readouterr().err
    assert listing(foreign) == ["notes.txt"]
    file = tmp_path / "file"
    file.write_text("x")
    assert collect(file, "configs=2") == 2
    assert "is a file; give a folder for the table." in capsys.readouterr().err


@pytest.mark.ray
def test_a_ray_collection_equals_a_local_one(tmp_path):
    local, ray = tmp_path / "local", tmp_path / "ray"
    assert collect(local, "configs=3", "seeds=[0,1]") == 0
    assert collect(ray, "configs=3", "seeds=[0,1]", "executor=ray", "executor.num_cpus=1") == 0
    assert rows(ray).equals(rows(local))
    assert json.loads((ray / META_NAME).read_text())["runs"][0]["executor"] == "ray"
