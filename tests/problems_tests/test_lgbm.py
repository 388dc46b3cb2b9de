import lightgbm as lgb
import pytest

from problems.lgbm import LightGBMProblem
from tests.kits.problem_kit import assert_incremental, compose_problem, run

CONFIG = {"learning_rate": 0.2, "num_leaves": 20, "max_depth": 4, "min_child_samples": 20,
          "subsample": 0.8, "colsample_bytree": 0.7, "reg_alpha": 0.5, "reg_lambda": 1.0}


@pytest.fixture(scope="module")
def problem():
    return LightGBMProblem(max_rounds=40, report_every=5)


# Determinism, two jobs = one, clones, units and metric names: the problem kit
# (tests/problems_tests/test_problem_conformance.py) checks them on conf/problem/lgbm.yaml.
def test_reports_every_report_every_rounds_and_the_seed_drives_bagging(problem):
    reports = run(problem, CONFIG, 3, None)
    assert [r.step for r in reports] == list(range(5, 41, 5))
    assert reports[-1].value != run(problem, CONFIG, 4, None)[-1].value  # seed drives bagging


def test_clone_with_new_learning_rate_changes_only_later_rounds(problem):
    trial = problem.trial(CONFIG, 0)
    list(trial.advance(10))
    twin = trial.clone({**CONFIG, "learning_rate": 0.01})
    again = twin.clone()  # a clone of a clone replays the parameter change too
    assert twin.step == 10
    assert twin.last_report.value == trial.last_report.value
    later = list(twin.advance(20))
    assert later == list(again.advance(20))
    assert later[-1].value != list(trial.advance(20))[-1].value
    with pytest.raises(ValueError, match=r"a cloned lgbm trial must set the same parameters"):
        trial.clone({"learning_rate": 0.1})


def test_matches_lightgbm_train_and_its_early_stopping():
    problem = LightGBMProblem(max_rounds=300, report_every=50, early_stopping_rounds=5)
    config = {**CONFIG, "learning_rate": 0.3, "num_leaves": 60, "max_depth": 10}
    trial = problem.trial(config, 0)
    reports = list(trial.advance(20)) + list(trial.advance())
    last = reports[-1]
    assert last.final
    assert trial.finished
    assert last.step < 300
    assert sum(r.units for r in reports) == last.step  # the rounds not trained are saved
    assert list(trial.advance()) == []
    # the same training through lgb.train with LightGBM's own early stopping callback
    params = problem.booster_params(config, 0)
    d = problem.data
    train = lgb.Dataset(d.x_train, d.y_train)
    valid = lgb.Dataset(d.x_valid, d.y_valid, reference=train)
    booster = lgb.train(
        {**params, "metric": "binary_logloss"}, train, 300, valid_sets=[valid],
        valid_names=["valid"], callbacks=[lgb.early_stopping(5, verbose=False)],
    )
    assert booster.best_iteration == last.metrics["best_round"] == last.step - 5
    assert booster.best_score["valid"]["binary_logloss"] == last.value


def test_values_in_range_and_metrics_recorded(problem):
    for r in run(problem, CONFIG, 0, None):
        assert 0 < r.value < 1
        assert 0.5 <= r.metrics["valid_accuracy"] <= 1
        assert r.metrics["test_value"] == r.metrics["test_log_loss"] > 0
        assert r.metrics["best_round"] == r.step
        assert r.units == 5
    assert problem.direction == "minimize"
    acc = LightGBMProblem(max_rounds=5, objective_metric="accuracy")
    (r,) = [x for x in run(acc, CONFIG, 0, None) if x.step == 5]
    assert acc.direction == "maximize"
    assert r.value == r.metrics["valid_accuracy"]


def test_subsample_leaves_the_space_when_bagging_is_off():
    assert "subsample" in LightGBMProblem().space
    assert "subsample" not in LightGBMProblem(bagging_freq=0).space


def test_dart_is_an_optional_boosting_type():
    problem = LightGBMProblem(max_rounds=10, report_every=5, boosting_types=["gbdt", "dart"])
    assert problem.space["boosting_type"].choices == ("gbdt", "dart")
    assert_incremental(problem, {**CONFIG, "boosting_type": "dart"}, 3, 10)


def test_conf_composes_and_builds():
    problem, cfg = compose_problem("lgbm")
    assert isinstance(problem, LightGBMProblem)
    assert problem.fidelity.max == 1000
    assert problem.data.x_train.shape == (4000, 50)
    assert problem.data.x_valid.shape == (500, 50)
    assert cfg.budget.units > 0
    assert problem.early_stopping_rounds is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"objective_metric": "auc"}, r"`objective_metric` must be one of log_loss, accuracy"),
        ({"boosting_types": ["goss"]}, r"`boosting_types` must list gbdt and/or dart"),
        ({"early_stopping_rounds": 0}, r"`early_stopping_rounds` must be an int >= 1, got 0"),
        ({"num_threads": 0}, r"`num_threads` must be an int >= 1, got 0\."),
        ({"report_every": 0}, r"`report_every` must be an int >= 1, got 0\."),
        ({"holdout_size": 0}, r"`holdout_size` must be a number in \(0, 1\), got 0\."),
    ],
)
def test_bad_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LightGBMProblem(**kwargs)


def test_unknown_parameter_raises(problem):
    with pytest.raises(ValueError, match=r"`n_estimators` is not a parameter of `lgbm`"):
        problem.trial({"n_estimators": 10}, 0)
