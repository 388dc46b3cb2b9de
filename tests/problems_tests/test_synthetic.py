import math

import numpy as np
import pytest

from problems.base import Fidelity
from problems.synthetic import (
    BraninProblem,
    Hartmann6Problem,
    LearningCurveProblem,
    Synthetic1DProblem,
)


def values(trial, to_step=None):
    return [(r.step, r.value, r.units) for r in trial.advance(to_step)]


def test_synthetic1d_optimum_and_noise():
    clean = Synthetic1DProblem(noise_std=0.0)
    assert clean.direction == "maximize" and clean.optimum == 5.0
    [(step, value, units)] = values(clean.trial({"x": 2.0}, seed=0))
    assert (step, value, units) == (1, 5.0, 1)
    noisy = Synthetic1DProblem()  # chapter default sigma = 0.1
    draws = np.array([values(noisy.trial({"x": 2.0}, seed=s))[0][1] for s in range(300)])
    assert abs(draws.mean() - 5.0) < 0.03 and 0.08 < draws.std() < 0.12
    report = next(noisy.trial({"x": 1.0}, seed=3).advance())
    assert report.metrics["true_value"] == 4.0 and report.value != 4.0


@pytest.mark.parametrize(
    "x", [(-math.pi, 12.275), (math.pi, 2.275), (9.42478, 2.475)]
)
def test_branin_has_its_three_minimizers(x):
    p = BraninProblem()
    [(_, value, _)] = values(p.trial({"x1": x[0], "x2": x[1]}, seed=0))
    assert value == pytest.approx(p.optimum, abs=1e-5)
    assert p.direction == "minimize"


def test_hartmann6_optimum():
    p = Hartmann6Problem()
    xstar = [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]
    [(_, value, _)] = values(p.trial({f"x{i + 1}": v for i, v in enumerate(xstar)}, seed=0))
    assert value == pytest.approx(-3.32237, abs=1e-4)
    center = values(p.trial({f"x{i}": 0.5 for i in range(1, 7)}, seed=0))[0][1]
    assert center > value


def test_same_config_and_seed_give_identical_values_different_seed_other_noise():
    p = LearningCurveProblem()
    config = {"learning_rate": 0.05, "batch_size": 64}
    a = values(p.trial(config, seed=7), 30)
    b = values(p.trial(config, seed=7), 30)
    c = values(p.trial(config, seed=8), 30)
    assert a == b
    assert [v for _, v, _ in a] != [v for _, v, _ in c]


def test_learning_curve_matches_chapter_formula_and_optimum():
    p = LearningCurveProblem(noise_std=0.0)
    config = {"learning_rate": 0.2, "batch_size": 128}
    base = ((1 - abs(0.2 - 0.1)) + (1 - abs(128 - 32) / 64)) / 2
    reports = list(p.trial(config, seed=0).advance(81))
    assert [r.step for r in reports] == list(range(1, 82))
    assert reports[19].value == pytest.approx(base * (1 - math.exp(-1)))
    assert p.optimum == pytest.approx(1 - math.exp(-81 / 20))
    best = list(p.trial({"learning_rate": 0.1, "batch_size": 32}, seed=0).advance())
    assert best[-1].value == pytest.approx(p.optimum)


def test_incremental_training_costs_only_the_difference():
    p = LearningCurveProblem()
    config = {"learning_rate": 0.1, "batch_size": 16}
    trial = p.trial(config, seed=1)
    first = list(trial.advance(10))
    second = list(trial.advance(30))
    assert sum(r.units for r in first) == 10 and sum(r.units for r in second) == 20
    assert sum(r.units for r in first + second) == 30
    straight = list(p.trial(config, seed=1).advance(30))
    assert [(r.step, r.value) for r in first + second] == [(r.step, r.value) for r in straight]


def test_report_every_and_target_off_the_grid():
    p = LearningCurveProblem(max_iterations=27, report_every=5)
    trial = p.trial({"learning_rate": 0.1, "batch_size": 16}, seed=1)
    assert [(r.step, r.units) for r in trial.advance(12)] == [(5, 5), (10, 5), (12, 2)]
    assert [(r.step, r.units) for r in trial.advance(27)] == [(15, 3), (20, 5), (25, 5), (27, 2)]
    with pytest.raises(ValueError, match="beyond the fidelity maximum 27"):
        list(trial.advance(28))


def test_clone_continues_the_source_curve_and_is_independent():
    p = LearningCurveProblem()
    config = {"learning_rate": 0.1, "batch_size": 64}
    source = p.trial(config, seed=3)
    list(source.advance(20))
    twin = source.clone()
    assert [r.value for r in twin.advance(40)] == [r.value for r in source.advance(40)]
    moved = source.clone({"learning_rate": 0.1, "batch_size": 32})
    nxt = next(moved.advance(41))
    assert nxt.metrics["true_value"] == pytest.approx(p.curve(moved.config, 41))
    assert source.config["batch_size"] == 64


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Synthetic1DProblem(noise_std=-1), r"`noise_std` must be a finite number >= 0, got -1"),
        (lambda: LearningCurveProblem(max_iterations=0), r"`max_iterations` must be an int >= 1, got 0"),
        (lambda: LearningCurveProblem(tau=0), r"`tau` must be a number > 0, got 0"),
        (lambda: LearningCurveProblem(min_iterations=5, max_iterations=3), r"`min <= max` must hold"),
        (lambda: Fidelity("epochs", 1, 5, report_every=0), r"`report_every` must be an int >= 1"),
    ],
)
def test_bad_settings_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()
