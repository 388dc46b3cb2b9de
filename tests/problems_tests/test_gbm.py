import math

import pytest
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import cross_val_score

from problems.ensembles import GradientBoostingProblem
from tests.kits.problem_kit import compose_problem, run

SMALL = {"n_estimators": 50, "learning_rate": 0.1, "max_depth": 3, "subsample": 0.8,
         "max_features": "sqrt"}


@pytest.fixture(scope="module")
def problem():
    return GradientBoostingProblem(cv=2)


# Determinism, one report at step 1 costing 1 unit, training once, clones and metric
# names: the problem kit (tests/problems_tests/test_problem_conformance.py) checks them on
# conf/problem/gbm.yaml.
def test_values_in_range_and_metrics_recorded(problem):
    (report,) = run(problem, SMALL, 0, None)
    m = report.metrics
    assert 0.8 < report.value <= 1
    assert 0.8 < m["test_value"] <= 1
    assert m["n_trees"] == 50 * 3
    assert m["n_folds"] == 2
    assert m["cv_log_loss"] < math.log(2)


def test_without_test_set_the_value_is_the_chapters_cross_val_score():
    problem = GradientBoostingProblem(test_size=0)
    (report,) = run(problem, SMALL, 0, None)
    expected = cross_val_score(
        GradientBoostingClassifier(random_state=42, **SMALL),
        problem.x_train, problem.y_train, cv=5, scoring="accuracy",
    ).mean()
    assert problem.x_train.shape == (569, 30)
    assert report.value == expected
    assert "test_value" not in report.metrics


def test_max_features_none_is_a_choice(problem):
    assert None in problem.space["max_features"].choices
    assert run(problem, {"n_estimators": 50, "max_features": None}, 0, None)[0].value > 0.8


def test_conf_composes_and_builds():
    problem, cfg = compose_problem("gbm")
    assert isinstance(problem, GradientBoostingProblem)
    assert len(problem.folds) == 5
    assert problem.x_test.shape == (114, 30)
    assert cfg.budget.trials > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cv": 0}, r"`cv` must be an int >= 2, got 0\."),
        ({"test_size": -0.1}, r"`test_size` must be a number in \[0, 1\), got -0\.1\."),
        ({"split_seed": 1.5}, r"`split_seed` must be an int >= 0, got 1\.5\."),
    ],
)
def test_bad_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GradientBoostingProblem(**kwargs)


def test_unknown_parameter_raises(problem):
    with pytest.raises(ValueError, match=r"`loss` is not a parameter of `gbm`"):
        problem.trial({"loss": "exponential"}, 0)
