"""PBT: exploit copies state (the clone continues its source's curve), explore, lineage."""

from __future__ import annotations

import pytest

from optimizers.pbt import PBTOptimizer
from problems.synthetic import BraninProblem, LearningCurveProblem
from tests.kits.cells import curve_conf, optimizer_conf, rows, run, run_problem


def make(seed=0, **params):
    problem = LearningCurveProblem(max_iterations=27)
    return PBTOptimizer(problem.space, problem.fidelity, problem.direction, seed, **params)


def test_exploit_copies_state_and_records_lineage():
    problem = LearningCurveProblem(max_iterations=27, noise_std=0.0)
    result = run(optimizer_conf("pbt", n_members=5, perturbation_interval=3),
                 curve_conf(max_iterations=27))
    cols = result.columns
    step_of = {}  # the last step each trial reached before a row
    clones = 0
    for i, (t, p, s, u) in enumerate(zip(cols["trial"], cols["parent_trial"], cols["step"],
                                         cols["units"], strict=True)):
        if p is not None and t not in step_of:  # a clone's first report
            clones += 1
            assert s == step_of[p] + 1 and u == 1  # continues from the source's step
            config = __import__("json").loads(cols["config"][i])
            assert cols["value"][i] == pytest.approx(problem.curve(config, s))
        step_of[t] = s
    assert clones >= 3
    assert result.info["cum_units"] < 5 * 27  # copied steps are not retrained


def test_clone_continues_the_source_noise_stream():
    problem = LearningCurveProblem(max_iterations=27, noise_std=0.5)
    source = problem.trial({"learning_rate": 0.1, "batch_size": 32}, seed=0)
    list(source.advance(9))
    twin = source.clone({"learning_rate": 0.2, "batch_size": 32})
    reference = source.clone()
    a, b = next(twin.advance(10)), next(reference.advance(10))
    assert a.step == b.step == 10
    noise = b.value - problem.curve(reference.config, 10)
    assert a.value == pytest.approx(problem.curve(twin.config, 10) + noise)


def test_explore_perturbs_within_the_space(failing_curve):
    problem = failing_curve
    opt = PBTOptimizer(problem.space, problem.fidelity, "maximize", 0,
                       resample_probability=0.0)
    config = {"x": 0.9, "n": 10, "kind": "a", "depth": 5}
    for _ in range(50):
        new = opt._explore(config)
        problem.space.validate(new)
        assert new["x"] in (pytest.approx(0.72), 1.0)  # 0.9 * 0.8, or 0.9 * 1.2 clipped
        assert new["n"] in (8, 12)
        assert new["kind"] == "b"  # the only neighbour of the first choice
        assert "depth" not in new  # inactive once kind moved away from "a"
    middle = {"x": 0.5, "n": 4, "kind": "b"}
    kinds = {opt._explore(middle)["kind"] for _ in range(50)}
    assert kinds == {"a", "c"}
    assert all("depth" in c for c in (opt._explore(middle) for _ in range(30))
               if c["kind"] == "a")


def test_asynchronous_workers_and_determinism():
    cells = [run(optimizer_conf("pbt", n_members=6, perturbation_interval=4), curve_conf(
        max_iterations=27, noise_std=0.01), seed=3, workers=3) for _ in range(2)]
    assert rows(cells[0]) == rows(cells[1])
    assert any(p is not None for p in cells[0].columns["parent_trial"])
    other = run(optimizer_conf("pbt", n_members=6, perturbation_interval=4), curve_conf(
        max_iterations=27, noise_std=0.01), seed=4, workers=3)
    assert rows(other)["config"] != rows(cells[0])["config"]


def test_population_ends_at_max_fidelity_and_survives_failures(failing_curve):
    result = run_problem(failing_curve, optimizer_conf(
        "pbt", n_members=8, perturbation_interval=3), workers=2)
    cols = result.columns
    assert result.info["stop_reason"] == "optimizer done"
    assert "failed" in cols["status"]
    assert max(cols["step"]) == 27


def test_bottom_member_exploits_an_idle_top_member():
    opt = make(n_members=5, perturbation_interval=3, quantile_fraction=0.2)
    jobs = [opt.ask() for _ in range(5)]
    for job in jobs:
        opt.tell(job.trial, "completed", float(job.trial), job.target)  # trial 4 is best
    first = opt.ask()  # member 0 is ready first and is the worst
    assert (first.kind.value, first.parent, first.target, first.trial) == ("clone", 4, 6, 5)
    # The clone carries its source's value, so member 1 is now the worst and exploits too.
    second = opt.ask()
    assert (second.kind.value, second.parent, second.trial) == ("clone", 4, 6)
    opt.members[2].loss = -10.0  # member 2 now ranks best: it resumes its own training
    third = opt.ask()
    assert (third.kind.value, third.trial, third.target) == ("resume", 2, 6)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_members": 1}, r"`n_members` must be an int >= 2, got 1\."),
        ({"perturbation_interval": 0}, r"`perturbation_interval` must be an int >= 1, got 0\."),
        ({"quantile_fraction": 0.6}, r"`quantile_fraction` must be a number in \[0, 0.5\]"),
        ({"resample_probability": 2}, r"`resample_probability` must be a number in \[0, 1.0\]"),
        ({"perturbation_factors": []}, r"`perturbation_factors` must be a non-empty list"),
        ({"max_fidelity": 28}, r"`max_fidelity` must be an int in \[1, 27\] or null"),
    ],
)
def test_bad_settings(params, match):
    with pytest.raises(ValueError, match=match):
        make(**params)


def test_needs_a_fidelity():
    problem = BraninProblem()
    with pytest.raises(ValueError, match="PBTOptimizer needs a problem with a fidelity"):
        PBTOptimizer(problem.space, problem.fidelity, problem.direction, 0)


def test_explore_changes_only_the_listed_hyperparameters():
    from optimizers.pbt import PBTOptimizer
    from problems.synthetic import LearningCurveProblem

    p = LearningCurveProblem()
    opt = PBTOptimizer(p.space, p.fidelity, p.direction, 0, hyperparameters=["learning_rate"])
    config = {"learning_rate": 0.1, "batch_size": 64}
    explored = [opt._explore(config) for _ in range(50)]
    assert {c["batch_size"] for c in explored} == {64}
    assert len({c["learning_rate"] for c in explored}) > 1
    with pytest.raises(ValueError, match=r"`hyperparameters` must be a non-empty list of parameters"):
        PBTOptimizer(p.space, p.fidelity, p.direction, 0, hyperparameters=["momentum"])
