"""`problems.load` builds a conf file's problem; `Problem.evaluate` is one fresh evaluation."""

from __future__ import annotations

import pytest

import problems
from problems.errors import UserError
from problems.lgbm import LightGBMProblem
from problems.synthetic import BraninProblem, LearningCurveProblem

CURVE = {"learning_rate": 0.05, "batch_size": 64}


def test_load_builds_the_conf_files_problem() -> None:
    branin = problems.load("branin")
    assert isinstance(branin, BraninProblem)
    assert branin.optimum == pytest.approx(0.397887, abs=1e-6)
    # defaults lists are composed: lgbm_es is lgbm with early stopping
    lgbm_es = problems.load("lgbm_es", max_rounds=20)
    assert isinstance(lgbm_es, LightGBMProblem)
    assert lgbm_es.describe() == LightGBMProblem(max_rounds=20, early_stopping_rounds=50,
                                                 min_rounds=10, report_every=10).describe()


def test_settings_replace_the_conf_files_own() -> None:
    curve = problems.load("learning_curve", max_iterations=27)
    assert curve.fidelity.max == 27
    assert problems.load("learning_curve").fidelity.max == 81


def test_unknown_name_is_one_sentence() -> None:
    with pytest.raises(UserError, match=r"^`problem` must be one of branin, .*learning_curve.*; "
                                        r"got 'nope'\.$"):
        problems.load("nope")


def test_unknown_setting_is_one_sentence() -> None:
    with pytest.raises(UserError, match=r"^`noise` is not a setting of problem `branin`; its "
                                        r"settings are noise_std\.$"):
        problems.load("branin", noise=0.1)


def test_bad_value_is_the_problems_own_error() -> None:
    with pytest.raises(ValueError, match="max_iterations"):
        problems.load("learning_curve", max_iterations=0)


def test_evaluate_is_the_last_report_of_a_fresh_trial() -> None:
    curve = LearningCurveProblem(max_iterations=27)
    *_, last = curve.trial(CURVE, 3).advance(9)
    assert curve.evaluate(CURVE, step=9, seed=3) == last
    *_, full = curve.trial(CURVE, 0).advance()
    assert curve.evaluate(CURVE) == full
    assert full.step == 27
    branin = BraninProblem()
    assert branin.evaluate({"x1": 1.0, "x2": 2.0}).value == pytest.approx(21.6276354)


@pytest.mark.parametrize("step", [0, 28, 2.5, True])
def test_evaluate_refuses_a_step_outside_the_fidelity(step) -> None:
    with pytest.raises(ValueError, match=rf"^`step` must be an int in \[1, 27\] or None, "
                                         rf"got {step!r}\.$"):
        LearningCurveProblem(max_iterations=27).evaluate(CURVE, step=step)
