"""GP-EI / GP-UCB: convergence on the chapter's 1-D toy, encoding, workers, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from optimizers.base import Status
from optimizers.gp_ei import GPEIOptimizer
from problems.synthetic import Synthetic1DProblem
from tests.kits.cells import optimizer_conf, rows, run, run_problem
from tests.kits.toy_problems import failing_curve

TOY = {"_target_": "problems.synthetic.Synthetic1DProblem", "noise_std": 0.0, "low": 0.0,
       "high": 5.0}


def incumbent(result):
    cols = result.columns
    i = int(np.argmin(cols["loss"]))
    return json.loads(cols["config"][i])["x"], cols["true_value"][i]


@pytest.mark.parametrize("seed", range(5))
def test_finds_the_optimum_without_noise(seed):
    result = run("gp_ei", TOY, seed=seed, trials=20)
    x, _ = incumbent(result)
    assert abs(x - 2.0) < 0.05


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_incumbent_is_near_optimal_with_noise(seed):
    result = run("gp_ei", {**TOY, "noise_std": 0.1}, seed=seed, trials=20)
    _, true_value = incumbent(result)
    assert true_value == pytest.approx(5.0, abs=0.05)


def test_ucb_also_converges():
    result = run(optimizer_conf("gp_ucb", n_refine=2), TOY, seed=0, trials=15)
    assert abs(incumbent(result)[0] - 2.0) < 0.1


def test_mixed_conditional_space_workers_and_failures():
    cells = [run_problem(failing_curve(max_step=3), optimizer_conf("gp_ei", n_candidates=100,
                         n_refine=1), seed=1, workers=3, trials=12) for _ in range(2)]
    assert rows(cells[0]) == rows(cells[1])
    cols = cells[0].columns
    assert "failed" in cols["status"]
    configs = [json.loads(c) for c, s in zip(cols["config"], cols["step"], strict=True)
               if s == 3]
    problem = failing_curve()
    for config in configs:
        problem.space.validate(config)
    assert len({json.dumps(c, sort_keys=True) for c in configs}) > 6


def test_encoding_is_documented_unit_cube_and_one_hot(failing_curve):
    problem = failing_curve
    opt = GPEIOptimizer(problem.space, problem.fidelity, "maximize", 0)
    x = opt._encode({"x": 0.25, "n": 4, "kind": "b"})
    unit_n = problem.space["n"].to_unit(4)
    assert x.tolist() == pytest.approx([0.25, unit_n, 0.0, 1.0, 0.0, 0.5])


def test_concurrent_proposals_differ():
    problem = Synthetic1DProblem(noise_std=0.0)
    opt = GPEIOptimizer(problem.space, None, "maximize", 0, n_init=2)
    for _ in range(3):
        job = opt.ask()
        opt.tell(job.trial, Status.COMPLETED, problem.function(job.config), 1)
    a, b = opt.ask(), opt.ask()  # b is proposed while a runs (constant liar)
    assert abs(a.config["x"] - b.config["x"]) > 1e-3


def test_different_seeds_differ():
    a = run("gp_ei", TOY, seed=0, trials=6)
    b = run("gp_ei", TOY, seed=1, trials=6)
    assert rows(a)["config"] != rows(b)["config"]


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_init": 1}, r"`n_init` must be an int >= 2, got 1\."),
        ({"acquisition": "pi"}, r"`acquisition` must be one of ei, ucb, got 'pi'\."),
        ({"xi": -1}, r"`xi` must be a finite number >= 0, got -1\."),
        ({"kappa": float("inf")}, r"`kappa` must be a finite number >= 0, got inf\."),
        ({"n_candidates": 0}, r"`n_candidates` must be an int >= 1, got 0\."),
        ({"n_refine": -1}, r"`n_refine` must be an int >= 0, got -1\."),
        ({"n_restarts": 1.5}, r"`n_restarts` must be an int >= 0, got 1.5\."),
    ],
)
def test_bad_settings(params, match):
    problem = Synthetic1DProblem()
    with pytest.raises(ValueError, match=match):
        GPEIOptimizer(problem.space, None, "maximize", 0, **params)
