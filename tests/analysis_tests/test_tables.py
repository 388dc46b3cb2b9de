"""Each table's numbers on small hand-made studies, computed by hand."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.load import load_results
from analysis.tables import (
    all_tables,
    asha_savings,
    early_stopping,
    fidelity_counts,
    grid_vs_random,
    overall,
    parameter_importance,
    pbt_summary,
    pruning,
    samplers,
    sha_units,
)
from tests.analysis_tests.cells import write_test_cell

LC = dict(max_step=9, optimum=0.0)


def _row(table, **where):
    frame = table.frame
    for k, v in where.items():
        frame = frame[frame[k] == v]
    assert len(frame) == 1, f"expected one row for {where}, got {len(frame)}"
    return frame.iloc[0]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    # grid vs random on rf (maximize), one seed
    write_test_cell(root, "rf", "grid_rf_chapter", 0, [
        dict(trial=0, value=0.8, test_value=0.7), dict(trial=1, value=0.9, test_value=0.85),
        dict(trial=2, value=0.85, test_value=0.9)], direction="maximize")
    write_test_cell(root, "rf", "random", 0, [
        dict(trial=0, value=0.88, test_value=0.8), dict(trial=1, value=0.86, test_value=0.9)],
        direction="maximize")
    # successive halving on 9 configurations, eta 3, rungs 1, 3, 9 (continuation): 21 units
    sha = [dict(trial=t, step=1, units=1, value=5.0 - 0.1 * t, status="paused")
           for t in range(9)]
    sha += [dict(trial=t, step=3, units=2, value=3.0 - 0.1 * t, status="paused")
            for t in (6, 7, 8)]
    sha += [dict(trial=8, step=9, units=6, value=1.0)]
    write_test_cell(root, "lc", "sha", 0, sha, **LC,
                    optimizer_conf={"reduction_factor": 3, "min_fidelity": 1})
    write_test_cell(root, "lc", "random", 0, [dict(trial=0, step=9, units=9, value=2.0),
                                              dict(trial=1, step=9, units=9, value=1.5)], **LC)
    # pruning: a sampler without a pruner (18 units) and with one (13 units)
    write_test_cell(root, "lc", "tpe", 0, [dict(trial=0, step=9, units=9, value=2.0),
                                           dict(trial=1, step=9, units=9, value=1.2)], **LC)
    write_test_cell(root, "lc", "tpe_median", 0, [
        dict(trial=0, step=9, units=9, value=1.1),
        dict(trial=1, step=3, units=3, value=4.0, status="pruned"),
        dict(trial=2, step=1, units=1, value=5.0, status="pruned")], **LC)
    # PBT: trial 2 clones 0, trial 3 clones 2; 1 survives to the end
    write_test_cell(root, "lc", "pbt", 0, [
        dict(trial=0, step=3, units=3, value=2.0, status="paused"),
        dict(trial=1, step=3, units=3, value=3.0, status="paused"),
        dict(trial=2, parent_trial=0, step=6, units=3, value=1.5, status="paused"),
        dict(trial=1, step=6, units=3, value=2.5, status="paused"),
        dict(trial=3, parent_trial=2, step=9, units=3, value=0.5),
        dict(trial=1, step=9, units=3, value=2.2)], **LC)
    # early stopping: same class and optimizer, 40 units without, 20 with
    for name, es, reps in [
        ("lgbm", None, [dict(trial=0, step=20, units=20, value=0.8, test_value=0.78),
                        dict(trial=1, step=20, units=20, value=0.82, test_value=0.8)]),
        ("lgbm_es", 5, [dict(trial=0, step=8, units=8, value=0.81, test_value=0.79),
                        dict(trial=1, step=12, units=12, value=0.83, test_value=0.81)]),
    ]:
        write_test_cell(root, name, "random", 0, reps, direction="maximize", max_step=20,
                        problem_conf={"cls": "LGBM", "early_stopping_rounds": es})
    # samplers on three copies of a toy problem with optimum 1 (minimize), two seeds
    toy = {"tpe": [[3, 1.02], [1.5, 1.04]], "random": [[2, 1.5], [1.04, 3]],
           "cmaes": [[4, 2], [5, 5]]}
    for problem in ("toy", "toy2", "toy3"):
        for optimizer, seeds in toy.items():
            for seed, values in enumerate(seeds):
                write_test_cell(root, problem, optimizer, seed,
                                [dict(trial=i, value=v) for i, v in enumerate(values)],
                                optimum=1.0)
    return load_results(root / "s")


def test_grid_vs_random_by_hand(study):
    table = grid_vs_random(study)
    grid = _row(table, problem="rf", optimizer="grid_rf_chapter")
    rnd = _row(table, problem="rf", optimizer="random")
    assert (grid.evaluations, grid["best CV score"], grid["test score of incumbent"]) == (
        3, 0.9, 0.85)
    assert (rnd.evaluations, rnd["best CV score"], rnd["test score of incumbent"]) == (
        2, 0.88, 0.8)
    assert grid["wall time (s)"] == pytest.approx(0.3)
    assert rnd["time reduction vs grid"] == pytest.approx(1 - 0.2 / 0.3)
    assert rnd["unit reduction vs grid"] == pytest.approx(1 / 3)


def test_sha_theory_matches_exercise_4():
    assert sha_units(81, 3, 1, 81, resume=False) == 405
    assert sha_units(81, 3, 1, 81, resume=True) == 297
    assert sha_units(9, 3, 1, 9, resume=True) == 21
    with pytest.raises(ValueError, match="`eta` must be >= 2, got 1"):
        sha_units(9, 1, 1, 9, resume=True)


def test_asha_savings_by_hand(study):
    table = asha_savings(study)
    sha = _row(table, problem="lc", optimizer="sha")
    assert (sha.configurations, sha.units) == (9, 21)
    assert sha["full-fidelity units (configs × R)"] == 81
    assert sha["random units, same configs"] == 81  # random: 9 units per configuration
    assert sha["saving vs random"] == pytest.approx(1 - 21 / 81)
    assert (sha["theory SHA restart"], sha["theory SHA continuation"]) == (27, 21)
    assert sha["final best (mean ± std)"] == "1 ± 0"
    assert _row(table, problem="lc", optimizer="random")["saving vs random"] == 0


def test_fidelity_counts_by_hand(study):
    table = fidelity_counts(study)
    sha = table.frame[table.frame.optimizer == "sha"]
    assert sha.step.tolist() == [1, 3, 9]
    assert sha["evaluations per cell"].tolist() == [9, 3, 1]
    assert sha["trials starting here per cell"].tolist() == [9, 0, 0]
    np.testing.assert_allclose(sha["fraction of max"], [1 / 9, 1 / 3, 1])


def test_pruning_by_hand(study):
    table = pruning(study)
    pruned = _row(table, problem="lc", optimizer="tpe_median")
    assert (pruned["completed per cell"], pruned["pruned per cell"]) == (1, 2)
    assert pruned["pruning rate"] == pytest.approx(2 / 3)
    assert pruned["units saved vs trials × R"] == pytest.approx(1 - 13 / 27)
    assert pruned["units saved vs tpe"] == pytest.approx(1 - 13 / 18)
    assert _row(table, problem="lc", optimizer="tpe")["pruning rate"] == 0


def test_pbt_lineage_by_hand(study):
    table = pbt_summary(study)
    pbt = _row(table, problem="lc", optimizer="pbt")
    assert (pbt["exploits per cell"], pbt["incumbent lineage depth"],
            pbt["surviving roots"]) == (2, 2, 2)
    assert pbt["trials per cell"] == 4
    assert set(table.frame.optimizer) == {"pbt", "random", "sha"}


def test_early_stopping_by_hand(study):
    table = early_stopping(study)
    off = _row(table, problem="lgbm")
    on = _row(table, problem="lgbm_es")
    assert (off["early_stopping_rounds"], on["early_stopping_rounds"]) == ("off", 5)
    assert (off["rounds per completed trial"], on["rounds per completed trial"]) == (20, 10)
    assert on["unit reduction vs off"] == pytest.approx(0.5)
    assert on["test value (completed, mean)"] == pytest.approx(0.8)
    assert on["test value of incumbent"] == pytest.approx(0.81)


def test_samplers_by_hand(study):
    table = samplers(study)
    tpe = _row(table, problem="toy", optimizer="tpe")
    rnd = _row(table, problem="toy", optimizer="random")
    cma = _row(table, problem="toy", optimizer="cmaes")
    assert tpe["normalized regret (mean)"] == pytest.approx(0.03)
    assert rnd["normalized regret (mean)"] == pytest.approx(0.27)
    assert cma["normalized regret (mean)"] == pytest.approx(2.5)
    # seed 1: tpe and random tie at 1.04 and share rank 1.5
    assert (tpe["mean rank"], rnd["mean rank"], cma["mean rank"]) == (1.25, 1.75, 3.0)
    assert (tpe["reached target"], rnd["reached target"], cma["reached target"]) == (
        "2/2", "1/2", "0/2")
    assert (tpe["units to target (median)"], rnd["units to target (median)"]) == (2, 1)
    assert np.isnan(cma["units to target (median)"])


def test_overall_wilcoxon_and_critical_difference(study):
    perf, tests, cd = overall(study)
    assert _row(perf, problem="toy", optimizer="tpe")["rank on problem"] == 1.25
    toy_blocks = {"tpe": [0.02, 0.04], "random": [0.5, 0.04], "cmaes": [1.0, 4.0]}
    row = _row(tests, a="cmaes", b="tpe")
    assert row.n_blocks == 6
    a, b = np.tile(toy_blocks["cmaes"], 3), np.tile(toy_blocks["tpe"], 3)
    assert row.p == pytest.approx(sps.wilcoxon(a, b).pvalue)
    assert not cd.empty
    ranks = dict(zip(cd.frame.optimizer, cd.frame["average rank"], strict=True))
    # per problem the mean regret ranks tpe < random < cmaes on all three copies
    assert ranks == {"tpe": 1.0, "random": 2.0, "cmaes": 3.0}
    assert set(cd.frame["problems"]) == {3}


def test_importance_finds_the_parameter_that_matters(tmp_path):
    rng = np.random.default_rng(0)
    space = ["Float(name='x', low=0.0, high=1.0, log=False, condition=None)",
             "Int(name='n', low=1, high=100, log=True, condition=None)",
             "Categorical(name='kind', choices=('a', 'b'), condition=None)"]
    reps = []
    for t in range(30):
        x, n, kind = float(rng.uniform()), int(rng.integers(1, 101)), ["a", "b"][t % 2]
        reps.append(dict(trial=t, value=10 * x + 0.001 * n,
                         config={"x": x, "n": n, "kind": kind}))
    write_test_cell(tmp_path, "imp", "random", 0, reps, space=space)
    table = parameter_importance(load_results(tmp_path / "s"))
    frame = table.frame.set_index("param")
    assert frame.loc["x", "fANOVA"] > 0.8
    assert frame.loc["x", "PED-ANOVA"] > 0.5
    assert frame["fANOVA"].sum() == pytest.approx(1.0)
    assert set(frame.index) == {"x", "n", "kind"}


def test_importance_uses_the_first_trials_of_a_large_cell(tmp_path):
    rng = np.random.default_rng(1)
    space = ["Float(name='x', low=0.0, high=1.0, log=False, condition=None)",
             "Float(name='y', low=0.0, high=1.0, log=False, condition=None)"]
    reps = []
    for t in range(40):
        x, y = float(rng.uniform()), float(rng.uniform())
        reps.append(dict(trial=t, value=x + 0.3 * y, config={"x": x, "y": y}))
    write_test_cell(tmp_path / "all", "imp", "random", 0, reps, space=space)
    write_test_cell(tmp_path / "first", "imp", "random", 0, reps[:25], space=space)
    capped = parameter_importance(load_results(tmp_path / "all" / "s"), max_trials=25)
    first = parameter_importance(load_results(tmp_path / "first" / "s"), max_trials=25)
    whole = parameter_importance(load_results(tmp_path / "all" / "s"), max_trials=None)
    pd.testing.assert_frame_equal(capped.frame, first.frame)
    assert capped.frame.trials.tolist() == [25, 25]
    assert "the first 25 of the 40 full-fidelity trials" in capped.notes[0]
    assert not first.notes and not whole.notes
    assert whole.frame.trials.tolist() == [40, 40]
    assert not np.allclose(whole.frame.fANOVA, capped.frame.fANOVA)


def test_tables_survive_a_study_without_their_runs(tmp_path):
    write_test_cell(tmp_path, "p", "random", 0, [dict(trial=0, value=1.0)])
    tables = all_tables(load_results(tmp_path / "s"))
    empty = {t.name for t in tables if t.empty}
    assert {"grid_vs_random", "asha_savings", "pbt", "samplers", "early_stopping"} <= empty
    for t in tables:
        text = t.markdown()
        assert t.title in text
        if t.empty:
            assert "Not available" in text
            assert t.notes


def test_table_written_as_markdown_and_csv(study, tmp_path):
    table = grid_vs_random(study)
    paths = table.write(tmp_path)
    assert [p.name for p in paths] == ["grid_vs_random.md", "grid_vs_random.csv",
                                      "grid_vs_random.tex"]
    back = pd.read_csv(paths[1])
    assert back["best CV score"].tolist() == [0.9, 0.88]
    assert "*time reduction vs grid*" in paths[0].read_text()


def test_a_failing_table_becomes_a_note(study, monkeypatch):
    import analysis.tables as tables

    def boom(results):
        raise KeyError("unexpected column")

    monkeypatch.setattr(tables, "samplers", boom)
    built = {t.name: t for t in tables.all_tables(study)}
    assert built["samplers"].empty
    assert "could not be built: KeyError" in built["samplers"].notes[0]
    assert not built["grid_vs_random"].empty
