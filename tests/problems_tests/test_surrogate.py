"""Surrogate problems: curves, seeds, cost, refusals, the fit command and the shipped models."""

import gzip
import json
import shutil

import numpy as np
import pytest

import problems
from benchmarks.fit_surrogate import fit_spec
from benchmarks.fit_surrogate import main as fit
from benchmarks.tabulate import main as tabulate
from problems.surrogate import SurrogateProblem
from problems.surrogate_model import (
    SurrogateModel,
    features,
    is_held_out,
    model_path,
    residual_pool,
    table_curves,
    training_pool,
)

# learning_curve recorded at iterations 3, 6, 9 for 40 configurations x seeds 0, 1, 2.
TINY = ["problem=learning_curve", "problem.max_iterations=9", "problem.report_every=3"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("table") / "lc"
    assert tabulate([*TINY, "configs=40", "seeds=[0,1,2]", f"out={out}"]) == 0
    return out


@pytest.fixture(scope="module")
def model(folder, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "lc.model.gz"
    assert fit([f"table={folder}", f"out={path}"]) == 0
    return path


@pytest.fixture
def problem(folder, model):
    return SurrogateProblem(str(folder), str(model))


CONFIG = {"learning_rate": 0.0123, "batch_size": 64}


def reports(problem, config, seed, *targets):
    trial = problem.trial(config, seed)
    return [r for target in targets or (None,) for r in trial.advance(target)]


def test_declares_the_tables_problem_and_its_recorded_range(problem):
    assert problem.direction == "maximize"
    assert (problem.fidelity.min, problem.fidelity.max) == (3, 9)
    assert problem.metric_names == ("true_value", "seconds", "residual_id", "residual_seed")


def test_same_seed_same_rows_and_one_curve_however_the_trial_is_advanced(problem):
    whole = reports(problem, CONFIG, 5)
    assert reports(problem, CONFIG, 5) == whole
    assert reports(problem, CONFIG, 5, 3, 6, 9) == whole
    curve = problem.curve(CONFIG, 5)
    assert [r.value for r in whole] == curve["value"].tolist()
    assert len({(r.metrics["residual_id"], r.metrics["residual_seed"]) for r in whole}) == 1


def test_a_step_between_recorded_ones_is_interpolated(problem):
    at = {r.step: r.value for r in reports(problem, CONFIG, 1, 4, 6)}
    assert at[4] == pytest.approx(reports(problem, CONFIG, 1, 3)[0].value * 2 / 3 + at[6] / 3)
    with pytest.raises(ValueError, match="step 2 is outside the recorded steps 3..9"):
        problem.trial(CONFIG, 0)._at(2)


def test_seconds_never_negative_and_add_up_to_the_cumulative_cost(problem):
    for seed in range(10):
        got = reports(problem, CONFIG, seed, 3, 6, 9)
        seconds = [r.metrics["seconds"] for r in got]
        assert min(seconds) >= 0
        assert sum(seconds) == pytest.approx(problem.curve(CONFIG, seed)["cum_seconds"][-1])
        assert [r.units for r in got] == [3, 3, 3]


def test_cell_seeds_draw_residual_curves_of_the_tables_own_size(problem, folder):
    finals = np.array([reports(problem, CONFIG, s)[-1].value for s in range(60)])
    curves = table_curves(problem.fitted.table)
    table_sd = np.median(curves.data["value"][:, :, -1].std(axis=1, ddof=1))
    assert 0.5 <= finals.std(ddof=1) / table_sd <= 2.0
    assert len({r for r in finals.round(12)}) > 5


def test_a_configuration_off_the_table_gets_its_own_mean_curve():
    problem = problems.load("mlp_surrogate")
    x = np.array([features(problem.space, {"hidden_size": 64, "lr": lr, "batch_size": 32})
                  for lr in np.geomspace(2e-4, 8e-3, 9)])
    means = problem.fitted.model.predict_mean(x)[:, 0, -1]
    assert len(set(np.round(means, 6))) == 9  # the table's nearest neighbours repeat


def test_a_column_on_a_grid_is_rounded_to_it():
    problem = problems.load("mlp_surrogate")
    values = [problem.evaluate(problem.space.sample(np.random.default_rng(s)), seed=s).value
              for s in range(10)]
    assert all(abs(v * 200 - round(v * 200)) < 1e-6 for v in values)  # 200 validation rows


def test_values_stay_in_the_tables_range(problem):
    low, high = problem.fitted.model.bounds["value"]
    for seed in range(20):
        values = problem.curve({"learning_rate": 0.1, "batch_size": 128}, seed)["value"]
        assert low <= values.min() and values.max() <= high


def test_a_clone_continues_the_curve_and_a_changed_config_is_refused(problem):
    trial = problem.trial(CONFIG, 3)
    list(trial.advance(3))
    twin = trial.clone()
    assert list(twin.advance()) == reports(problem, CONFIG, 3)[1:]
    with pytest.raises(ValueError, match="cannot change a trial's hyperparameters"):
        trial.clone({**CONFIG, "batch_size": 32})


def test_fitting_is_deterministic_and_holds_out_one_block_in_four(folder, model, tmp_path):
    spec = SurrogateModel.read(model).spec
    refit = fit_spec(str(folder))["arrays"]
    assert all(np.array_equal(refit[name], array) for name, array in spec["arrays"].items())
    assert fit([f"table={folder}", f"out={tmp_path / 'again.model.gz'}"]) == 0
    assert (tmp_path / "again.model.gz").read_bytes() == model.read_bytes()
    assert spec["train_ids"] == list(range(40))  # ids < 75: no held-out block yet
    assert is_held_out(np.array([74, 75, 99, 100, 175])).tolist() == [
        False, True, True, False, True]
    again = SurrogateModel(spec)
    assert again.predict_scores(again.x_train[:3]).shape == (3, again.basis.shape[0])


def test_bad_settings_are_one_sentence(folder, model, tmp_path):
    with pytest.raises(ValueError, match=r"`model` 'nope' is not a fitted surrogate"):
        SurrogateProblem(str(folder), "nope")
    with pytest.raises(ValueError, match="`neighbours` must be an int >= 1, got 0"):
        SurrogateProblem(str(folder), str(model), neighbours=0)


def test_fit_command_refuses_bad_input_writing_nothing(tmp_path, capsys):
    out = tmp_path / "m.model.gz"
    assert fit(["table=nope", f"out={out}"]) == 2
    assert "`table`: `table` 'nope' is not a recorded table" in capsys.readouterr().err
    assert fit(["tables=mlp"]) == 2
    assert "argument 'tables=mlp' is not allowed" in capsys.readouterr().err
    assert fit([]) == 2
    assert "`table` is required" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("optimizer", ["pbt", "ray_pbt"])
def test_pbt_on_a_surrogate_is_refused_before_any_compute(tmp_path, capsys, optimizer):
    from benchmarks.run import main as run

    code = run(["problem=mlp_surrogate", f"optimizer={optimizer}",
                f"results_dir={tmp_path / 'r'}"])
    assert code == 2
    assert (f"optimizer `{optimizer}` changes trials' hyperparameters mid-training, which "
            "table problem `mlp_surrogate` cannot answer") in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("name", ["mlp_surrogate", "lgbm_surrogate"])
def test_shipped_surrogates_answer_any_configuration(name):
    problem = problems.load(name)
    config = problem.space.sample(np.random.default_rng(0))
    low = problem.evaluate(config, step=problem.fidelity.min, seed=0)
    top = problem.evaluate(config, seed=0)
    assert np.isfinite(low.value) and np.isfinite(top.value)
    assert problem.evaluate(config, seed=0) == top
    spec = problem.fitted.model.spec
    assert not set(spec["train_ids"]) & set(np.flatnonzero(is_held_out(np.arange(2000))))


def test_tables_and_models_fit_the_size_budget():
    from problems.surrogate_model import MODELS_DIR
    from problems.table_format import TABLES_DIR

    files = [*TABLES_DIR.rglob("*"), *MODELS_DIR.rglob("*")]
    assert sum(f.stat().st_size for f in files if f.is_file()) <= 25e6


def test_a_model_fitted_on_ids_the_table_lacks_is_refused(model, tmp_path):
    small = tmp_path / "small"
    assert tabulate([*TINY, "configs=10", "seeds=[0,1,2]", f"out={small}"]) == 0
    with pytest.raises(ValueError, match=r"was fitted on table ids the table .* lacks \(e.g. 10\)"):
        SurrogateProblem(str(small), str(model))


@pytest.mark.parametrize("name", ["mlp", "lgbm"])
def test_shipped_models_are_fitted_on_the_shipped_tables(name):
    problem = SurrogateProblem(name)
    ids = problem.fitted.table.ids
    stale = (f"problems/surrogates/{name}.model.gz is not fitted on the shipped `{name}` table "
             f"({len(ids)} ids); refit: python -m benchmarks.fit_surrogate table={name}")
    model = problem.fitted.model
    assert model.train_ids.tolist() == ids[~is_held_out(ids)].tolist(), stale
    # The shipped residual pool's source is the table's, bit for bit, in the table's dtypes.
    curves = table_curves(problem.fitted.table)
    pool = training_pool(curves, model.train_ids, model.columns)
    for column in model.columns:
        assert model.pool[column].dtype == pool[column].dtype, stale
        assert np.array_equal(model.pool[column], pool[column]), stale
    rows = np.searchsorted(curves.ids, model.train_ids)
    recomputed = residual_pool({c: curves.data[c][rows] for c in model.columns}, model.columns)
    assert np.array_equal(problem.fitted.residuals, recomputed), stale
    table = problem.fitted.table
    assert np.array_equal(model.coords, table.coords[np.searchsorted(table.ids, ids[
        ~is_held_out(ids)])]), stale
    assert model.seeds == curves.seeds, stale


def test_building_a_problem_reads_no_table_chunk(folder, model, tmp_path):
    fresh = shutil.copy(model, tmp_path / "fresh.model.gz")  # not in the per-process cache
    problem = SurrogateProblem(str(folder), str(fresh))
    problem.evaluate(CONFIG, seed=0)
    assert "table" not in vars(problem.fitted)  # the cached property was never computed
    assert problem.fitted.table.ids.tolist() == list(range(40))  # read when asked for


@pytest.mark.parametrize(("key", "value"), [("seeds", [0, 1, 5]), ("data_hash", "0" * 64),
                                            ("space", {})])
def test_a_model_fitted_on_another_table_is_refused(folder, model, tmp_path, key, value):
    changed = tmp_path / "changed"
    shutil.copytree(folder, changed)
    meta = json.loads((changed / "table.json").read_text())
    (changed / "table.json").write_text(json.dumps({**meta, key: value}))
    with pytest.raises(ValueError, match=(
            rf"surrogate model lc.model.gz was fitted on a table whose `{key}` differs from "
            rf"table `{changed}`'s; refit it with `python -m benchmarks.fit_surrogate")):
        SurrogateProblem(str(changed), str(model))


def test_a_model_of_an_older_format_is_refused(folder, tmp_path):
    old = tmp_path / "old.model.gz"
    old.write_bytes(gzip.compress(json.dumps({"format": 1}).encode(), mtime=0))
    with pytest.raises(ValueError, match=r"surrogate model format 1 is not 2; refit it"):
        SurrogateProblem(str(folder), str(old))


def test_a_table_with_one_seed_is_refused_by_the_fit(tmp_path, capsys):
    one = tmp_path / "one"
    assert tabulate([*TINY, "configs=12", "seeds=[0]", f"out={one}"]) == 0
    assert fit([f"table={one}", f"out={tmp_path / 'm.model.gz'}"]) == 2
    assert f"table `{one}` has one seed: no seed-to-seed variation" in capsys.readouterr().err
    assert not (tmp_path / "m.model.gz").exists()


def test_shipped_model_names_resolve_to_model_files():
    assert model_path("lgbm").name == "lgbm.model.gz"
    assert model_path("lgbm").is_file()
