"""Table problems: matching, interpolation, seeds, cost, refusals, and the shipped tables."""

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from benchmarks.executors import library_versions
from benchmarks.tabulate import RESULT_LIBRARIES, collect_block, main
from problems.table import TableProblem, load_table
from problems.table_format import TABLES_DIR, chunk_ranges, data_hash, read_meta
from tests.kits.cells import file_rows as cell_rows

# learning_curve recorded at iterations 3, 6, 9 for 16 configurations x seeds 0, 1, 2.
TINY = ["problem=learning_curve", "problem.max_iterations=9", "problem.report_every=3"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("table") / "lc"
    assert main([*TINY, "configs=16", "seeds=[0,1,2]", f"out={out}"]) == 0
    return out


@pytest.fixture(scope="module")
def recorded(folder):
    frame = pq.read_table([p for _, _, p in chunk_ranges(folder)]).to_pandas()
    return frame.set_index(["config_id", "seed", "step"]).sort_index()


@pytest.fixture
def problem(folder):
    return TableProblem(str(folder))


def reports(problem, config, seed, *targets):
    trial = problem.trial(config, seed)
    return [r for target in targets or (None,) for r in trial.advance(target)]


def test_declares_the_source_problem_and_its_recorded_range(problem):
    assert problem.direction == "maximize"
    assert (problem.fidelity.min, problem.fidelity.max, problem.fidelity.report_every) == (
        3, 9, 3)
    assert problem.metric_names == ("true_value", "table_id", "table_seed", "seconds")
    assert [p.name for p in problem.space] == ["learning_rate", "batch_size"]


def test_a_table_configuration_answers_with_its_recorded_rows(problem, recorded):
    table = problem.table
    for config_id in (0, 7, 15):
        config = table.configs[config_id]
        got = reports(problem, config, 4)
        (seed,) = {r.metrics["table_seed"] for r in got}
        assert [r.metrics["table_id"] for r in got] == [config_id] * 3
        rows = recorded.loc[(config_id, seed)]
        assert [r.step for r in got] == rows.index.tolist()
        assert np.array_equal(np.float32([r.value for r in got]), rows["value"].to_numpy())
        assert np.array_equal(np.float32([r.metrics["true_value"] for r in got]),
                              rows["true_value"].to_numpy())
        # shortest decimals: 0.53 stored as float32 reads back as 0.53
        assert all(r.value == float(str(np.float32(r.value))) for r in got)


def test_a_proposal_is_answered_by_its_nearest_table_configuration(problem):
    table = problem.table
    for config_id in (2, 9):
        config = dict(table.configs[config_id])
        config["learning_rate"] *= 1.0001
        assert reports(problem, config, 0, 3)[0].metrics["table_id"] == config_id
    # a different categorical choice is far: the nearest shares the proposal's batch size
    for batch_size in (16, 32, 64, 128):
        proposal = {"learning_rate": 0.15, "batch_size": batch_size}
        matched = table.configs[problem.trial(proposal, 0).table_id]
        same = [c for c in table.configs.values() if c["batch_size"] == batch_size]
        if same:
            assert matched["batch_size"] == batch_size
            best = min(abs(c["learning_rate"] - 0.15) for c in same)
            assert abs(matched["learning_rate"] - 0.15) == best


def test_steps_between_recorded_ones_are_linear_interpolations(problem):
    config = problem.table.configs[5]
    r3, r6 = reports(problem, config, 1, 3, 6)
    r3b, r4, r5, r6b = reports(problem, config, 1, 4, 5, 6)  # report_every=3 reports 3
    assert r3b == r3
    for r, w in ((r4, 1 / 3), (r5, 2 / 3)):
        assert r.value == pytest.approx(r3.value + w * (r6.value - r3.value), rel=1e-12)
        assert r.metrics["true_value"] == pytest.approx(
            r3.metrics["true_value"] + w * (r6.metrics["true_value"] - r3.metrics["true_value"]))
    assert r6b.value == r6.value
    # costs add up along any schedule: 3 + 1 + 1 + 1 units, seconds summing to step 6's
    assert [r.units for r in (r3, r4, r5, r6b)] == [3, 1, 1, 1]
    assert sum(r.metrics["seconds"] for r in (r3b, r4, r5, r6b)) == pytest.approx(
        r3.metrics["seconds"] + r6.metrics["seconds"])
    assert all(r.metrics["seconds"] >= 0 for r in (r3, r4, r5, r6, r6b))


def test_nothing_is_invented_outside_the_recorded_steps(problem):
    trial = problem.trial(problem.table.configs[0], 0)
    with pytest.raises(ValueError, match=r"step 2 is outside the recorded steps 3..9 of table"):
        list(trial.advance(2))


def test_seeds_draw_table_seeds_per_configuration(problem):
    table = problem.table
    draws = {s: [problem.trial(table.configs[c], s).table_seed for c in range(16)]
             for s in range(30)}
    assert {d for row in draws.values() for d in row} == {0, 1, 2}
    assert all(draws[s] != draws[s + 3] for s in range(27))  # a different landscape
    config = table.configs[3]
    assert reports(problem, config, 7) == reports(problem, config, 7)  # same seed, same rows


def test_clones_keep_the_curve_and_refuse_new_hyperparameters(problem):
    config = problem.table.configs[1]
    trial = problem.trial(config, 0)
    list(trial.advance(3))
    twin = trial.clone(dict(config))
    assert twin.problem is problem  # the table is shared, not copied
    assert list(twin.advance(9)) == list(trial.advance(9))
    changed = {**config, "learning_rate": config["learning_rate"] / 2}
    with pytest.raises(ValueError, match="cannot change a trial's hyperparameters mid-training"):
        trial.clone(changed)


def test_unknown_or_missing_parameters_and_tables_are_refused(problem, tmp_path):
    with pytest.raises(ValueError, match="`lr` is not a parameter of this table"):
        problem.trial({"lr": 0.1, "batch_size": 32}, 0)
    with pytest.raises(ValueError, match="misses the active parameter `batch_size`"):
        problem.trial({"learning_rate": 0.1}, 0)
    with pytest.raises(ValueError, match="`table` 'nope' is not a recorded table"):
        TableProblem("nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no benchmark table"):
        TableProblem(str(tmp_path / "empty"))


def test_loading_is_cached_per_process(folder):
    assert load_table(str(folder)) is load_table(folder)


# -- through the runner ------------------------------------------------------------------
def test_cells_on_a_table_are_deterministic_with_workers(folder, tmp_path):
    from benchmarks.run import main as run

    args = ["problem=mlp_table", f"problem.table={folder}", "optimizer=asha", "workers=3",
            "budget.units=300", "seeds=[5]"]
    assert run([*args, "study=a", f"results_dir={tmp_path}"]) == 0
    assert run([*args, "study=b", f"results_dir={tmp_path}"]) == 0
    a = cell_rows(tmp_path / "a/mlp_table/asha/seed=5.parquet")
    b = cell_rows(tmp_path / "b/mlp_table/asha/seed=5.parquet")
    assert a.drop(columns="study").equals(b.drop(columns="study"))
    metrics = a["metrics"].map(json.loads)
    assert metrics.map(lambda m: {"table_id", "table_seed", "seconds"} <= set(m)).all()


@pytest.mark.parametrize("optimizer", ["pbt", "ray_pbt"])
def test_pbt_on_a_table_problem_is_refused_before_any_compute(folder, tmp_path, capsys,
                                                              optimizer):
    from benchmarks.run import main as run

    code = run(["problem=mlp_table", f"problem.table={folder}", f"optimizer={optimizer}",
                f"results_dir={tmp_path / 'r'}"])
    assert code == 2
    assert (f"optimizer `{optimizer}` changes trials' hyperparameters mid-training, which "
            "table problem `mlp_table` cannot answer") in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


# -- the shipped tables ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mlp", "lgbm"])
def test_shipped_table_rows_are_recomputed_bit_for_bit(name):
    folder = TABLES_DIR / name
    if not chunk_ranges(folder):
        pytest.skip(f"no recorded chunk of the shipped {name} table yet.")
    meta = read_meta(folder)
    installed = {k: library_versions()[k] for k in RESULT_LIBRARIES}
    if installed != meta["versions"]:
        pytest.skip(f"installed library versions {installed} differ from the table's "
                    f"{meta['versions']}; its rows are only reproducible under those.")
    from problems.loading import build_problem

    conf = meta["problem_conf"]
    assert data_hash(build_problem(conf)) == meta["data_hash"]
    table = load_table(name)
    # The cheapest recorded training of the last chunk, and the one after it in the
    # chunk's order, so the test costs a second or two.
    start, _, path = chunk_ranges(folder)[-1]
    frame = pq.read_table(path).to_pandas()
    ends = frame[frame.step == frame.step.max()].sort_values(["cum_seconds", "config_id"])
    picks = ends.head(2)[["config_id", "seed"]].itertuples(index=False)
    got, want = [], []
    for config_id, seed in picks:
        got += collect_block(conf, {config_id: table.configs[config_id]}, [seed])["rows"]
        want.append(frame[(frame.config_id == config_id) & (frame.seed == seed)])
    want = pd.concat(want)
    assert [(r["seed"], r["step"]) for r in got] == list(zip(want.seed, want.step, strict=True))
    for column in ["value", *meta["metric_names"]]:
        assert np.array_equal(np.asarray([r[column] for r in got], dtype=np.float32),
                              want[column].to_numpy(dtype=np.float32)), column


def test_a_single_fidelity_table_answers_at_step_one(tmp_path):
    out = tmp_path / "branin"
    assert main(["problem=branin", "configs=4", "seeds=[0]", f"out={out}"]) == 0
    problem = TableProblem(str(out))
    assert problem.fidelity is None and problem.direction == "minimize"
    (report,) = problem.trial(problem.table.configs[2], 0).advance()
    assert (report.step, report.units, report.metrics["table_id"]) == (1, 1, 2)


def test_a_study_on_a_missing_table_is_refused_before_any_compute(folder, tmp_path, capsys):
    from benchmarks.run import main as run

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "table.json").write_text((folder / "table.json").read_text())
    for table, message in (("rf", "`table` 'rf' is not a recorded table; shipped tables are "),
                           (str(empty), "has no recorded chunk yet.")):
        code = run(["problem=lgbm_table", f"problem.table={table}", "optimizer=random",
                    f"results_dir={tmp_path / 'r'}"])
        assert code == 2
        err = capsys.readouterr().err
        assert "problem `lgbm_table`: " in err and message in err
    assert not (tmp_path / "r").exists()
