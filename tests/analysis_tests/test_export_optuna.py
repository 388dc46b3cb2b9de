"""Optuna export: a cell's exported trials equal its Parquet rows; storages; bad input."""

from __future__ import annotations

import json

import optuna
import pandas as pd
import pytest

from analysis.export_optuna import main as export_main
from analysis.load import load_results
from analysis.optuna_plots import plot_optuna_cells
from benchmarks.run import main as run_main

STATES = {"completed": optuna.trial.TrialState.COMPLETE,
          "pruned": optuna.trial.TrialState.PRUNED, "failed": optuna.trial.TrialState.FAIL}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    assert run_main(["problem=learning_curve", "optimizer=tpe_median", "seeds=[0]",
                     "budget.trials=12", "budget.units=null", "study=o",
                     f"results_dir={root}"]) == 0
    assert run_main(["problem=branin", "optimizer=tpe", "seeds=[0]", "budget.trials=8",
                     "study=o", f"results_dir={root}"]) == 0
    return root / "o"


def _check_cell(trials, rows: pd.DataFrame) -> None:
    by_trial = dict(tuple(rows.groupby("trial", sort=True)))
    assert [t.user_attrs["trial"] for t in trials] == sorted(by_trial)
    for t in trials:
        r = by_trial[t.user_attrs["trial"]]
        last = r.iloc[-1]
        assert t.params == {k: v for k, v in json.loads(r.config.iloc[0]).items()
                            if v is not None}
        assert t.state == STATES[last.status]
        assert t.value == (last.value if last.status == "completed" else None)
        assert t.intermediate_values == {int(s): float(v) for s, v in zip(r.step, r.value,
                                                                          strict=True)}
        assert t.user_attrs["units"] == int(r.units.sum())
        assert t.user_attrs["cum_units"] == int(last.cum_units)
        assert t.user_attrs["virtual_time"] == float(last.virtual_time)
        assert t.user_attrs["wall_time"] == float(last.wall_time)
        for name, value in t.params.items():
            assert t.distributions[name]._contains(t.distributions[name].to_internal_repr(value))


@pytest.mark.parametrize("suffix", ["sqlite", "journal"])
def test_exported_trials_equal_the_parquet_rows(study, tmp_path, suffix, capsys):
    url = f"sqlite:///{tmp_path / 'x.db'}" if suffix == "sqlite" else str(tmp_path / "x.log")
    assert export_main([str(study), "--storage", url]) == 0
    assert "wrote 2 Optuna studies" in capsys.readouterr().out
    storage = (url if suffix == "sqlite" else optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(url)))
    results = load_results(study)
    pruned = 0
    for cell in results.cells.itertuples():
        loaded = optuna.load_study(study_name=f"o/{cell.problem}/{cell.optimizer}/seed=0",
                                   storage=storage)
        assert loaded.direction.name.lower() == cell.direction
        rows = results.rows(cell.problem, cell.optimizer)
        _check_cell(loaded.trials, rows)
        pruned += sum(t.state == optuna.trial.TrialState.PRUNED for t in loaded.trials)
        if cell.optimizer == "tpe":
            assert loaded.best_value == rows[rows.status == "completed"].value.min()
            assert set(loaded.trials[0].distributions) == {"x1", "x2"}
            low = loaded.trials[0].distributions["x1"]
            assert (low.low, low.high, low.log) == (-5.0, 10.0, False)
    assert pruned > 0  # tpe_median pruned some: the PRUNED state is exercised


def test_storage_inside_the_study_or_used_twice_is_one_sentence(study, tmp_path, capsys):
    inside = study / "x.db"
    assert export_main([str(study), "--storage", f"sqlite:///{inside}"]) == 2
    err = capsys.readouterr().err
    assert "is inside the study folder" in err
    assert len(err.strip().splitlines()) == 1
    assert not inside.exists()
    url = str(tmp_path / "x.log")
    assert export_main([str(study), "--storage", url]) == 0
    assert export_main([str(study), "--storage", url]) == 2
    assert "already holds the Optuna study" in capsys.readouterr().err
    assert export_main([str(study)]) == 2
    assert "give study folders and --storage" in capsys.readouterr().err


def test_report_figures_from_exported_studies(study, tmp_path):
    paths = plot_optuna_cells(load_results(study), tmp_path)
    assert {p.name for p in paths} == {
        f"optuna_{kind}_{problem}.png" for problem in ("branin", "learning_curve")
        for kind in ("optimization_history", "param_importances", "parallel_coordinate")}
    assert all(p.stat().st_size > 1000 for p in paths)


def test_importance_plot_draws_the_importances_it_is_given(study, tmp_path, monkeypatch):
    import optuna.visualization.matplotlib as ovm

    drawn = {}
    real = ovm.plot_param_importances

    def spy(study, evaluator=None, params=None, **kwargs):
        drawn[study.study_name] = evaluator.evaluate(study, params)
        return real(study, evaluator=evaluator, params=params, **kwargs)

    monkeypatch.setattr(ovm, "plot_param_importances", spy)
    given = {"branin": {"x1": 0.25, "x2": 0.75}}
    paths = plot_optuna_cells(load_results(study), tmp_path, given)
    assert (tmp_path / "optuna_param_importances_branin.png") in paths
    branin = [v for k, v in drawn.items() if "branin" in k]
    assert branin == [{"x2": 0.75, "x1": 0.25}]  # the table's values, largest first
    assert any("learning_curve" in k for k in drawn)  # not given: Optuna's fANOVA
