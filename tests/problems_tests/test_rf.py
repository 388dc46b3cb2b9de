import math

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV, ParameterGrid

from benchmarks.runner import run_cell
from problems.ensembles import RandomForestProblem
from tests.kits.cells import cell_spec
from tests.kits.problem_kit import compose_problem, run

CHAPTER_GRID = {
    "n_estimators": [50, 100, 200],
    "max_depth": [5, 10, 15, 20],
    "min_samples_split": [2, 5, 10],
}
SMALL = {"n_estimators": 50, "max_depth": 5, "min_samples_split": 5, "max_features": 0.5}


@pytest.fixture(scope="module")
def problem():
    return RandomForestProblem()


# Determinism, one report at step 1 costing 1 unit, training once, clones and metric
# names: the problem kit (tests/problems_tests/test_problem_conformance.py) checks them on
# conf/problem/rf.yaml.
def test_the_cell_seed_does_not_matter(problem):
    (report,) = run(problem, SMALL, 3, None)
    assert not report.final
    # the forest's random_state is the problem's, so the cell seed does not matter
    assert run(problem, SMALL, 7, None)[0].value == report.value


def test_values_in_range_and_metrics_recorded(problem):
    (report,) = run(problem, SMALL, 0, None)
    m = report.metrics
    assert 0.5 < report.value <= 1
    assert 0.5 < m["test_value"] <= 1
    assert m["n_trees"] == 50 * 4
    assert m["n_folds"] == 3
    assert 0 < m["cv_log_loss"] < math.log(2)
    assert m["cv_accuracy_std"] >= 0
    assert problem.direction == "maximize"
    assert problem.fidelity is None


def test_missing_parameters_take_the_model_defaults(problem):
    a = run(problem, {"n_estimators": 50}, 0, None)[0]
    b = run(problem, {"n_estimators": 50, "min_samples_leaf": 1, "max_features": "sqrt"}, 0, None)
    assert a.value == b[0].value


def _grid_search(problem, grid, n_jobs=1):
    search = GridSearchCV(
        RandomForestClassifier(random_state=42), grid, cv=3, scoring="accuracy", n_jobs=n_jobs
    )
    search.fit(problem.x_train, problem.y_train)
    return search.cv_results_


def test_values_equal_grid_search_cv_on_a_few_chapter_points(problem):
    grid = {"n_estimators": [50], "max_depth": [5, 20], "min_samples_split": [2, 10]}
    results = _grid_search(problem, grid)
    for params, score in zip(results["params"], results["mean_test_score"], strict=True):
        value = run(problem, params, 0, None)[0].value
        assert abs(value - score) <= 1e-12, params


def test_chapter_grid_conf_lists_the_36_points():
    _, cfg = compose_problem("rf", "optimizer=grid_rf_chapter")
    from benchmarks.building import build_optimizer

    problem, _ = compose_problem("rf")
    optimizer = build_optimizer(cfg.optimizer, problem, 0)
    expected = list(ParameterGrid(CHAPTER_GRID))
    assert len(optimizer.points) == 36
    key = lambda c: tuple(sorted(c.items()))  # noqa: E731
    assert sorted(map(key, optimizer.points)) == sorted(map(key, expected))


@pytest.mark.slow
def test_chapter_grid_cell_equals_grid_search_cv_at_every_point(tmp_path):
    """All 36 points, run as a cell from the shipped confs (about a minute on 2 cores)."""
    problem, cfg = compose_problem("rf", "optimizer=grid_rf_chapter")
    spec = cell_spec(cfg.problem, cfg.optimizer, problem="rf", optimizer="grid_rf_chapter")
    result = run_cell(spec)
    rows = result.columns
    assert len(rows["value"]) == 36
    assert set(rows["status"]) == {"completed"}
    results = _grid_search(problem, CHAPTER_GRID, n_jobs=2)
    expected = {
        tuple(sorted(p.items())): s
        for p, s in zip(results["params"], results["mean_test_score"], strict=True)
    }
    import json

    for config, value in zip(rows["config"], rows["value"], strict=True):
        key = tuple(sorted(json.loads(config).items()))
        assert abs(value - expected[key]) <= 1e-12, key


def test_conf_composes_and_builds():
    problem, cfg = compose_problem("rf")
    assert isinstance(problem, RandomForestProblem)
    assert cfg.budget.trials > 0
    assert problem.model_seed == 42
    assert len(problem.folds) == 3
    assert problem.x_train.shape == (800, 20)
    assert problem.x_test.shape == (200, 20)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cv": 1}, r"`cv` must be an int >= 2, got 1\."),
        ({"test_size": 1.0}, r"`test_size` must be a number in \[0, 1\), got 1\.0\."),
        ({"model_seed": -1}, r"`model_seed` must be an int >= 0, got -1\."),
        ({"n_jobs": 0}, r"`n_jobs` must be an int >= 1, got 0\."),
        ({"n_samples": "many"}, r"`n_samples` must be an int >= 10, got 'many'\."),
    ],
)
def test_bad_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RandomForestProblem(**kwargs)


def test_unknown_or_non_integral_parameters_raise(problem):
    with pytest.raises(ValueError, match=r"`n_trees` is not a parameter of `rf`; its param"):
        problem.trial({"n_trees": 10}, 0)
    with pytest.raises(ValueError, match=r"parameter `max_depth` must be an integer, got 2\.5"):
        problem.trial({"max_depth": 2.5}, 0)
    # Hyperopt's quniform gives integral floats: accepted as ints
    assert np.isfinite(run(problem, {"n_estimators": 50.0, "max_depth": 3.0}, 0, None)[0].value)
