import numpy as np
import pytest
import torch

from problems.mlp import MLPProblem, SimpleNet
from tests.kits.problem_kit import compose_problem, run

CONFIG = {"hidden_size": 32, "lr": 3e-3, "batch_size": 64}


@pytest.fixture(scope="module")
def problem():
    return MLPProblem(max_epochs=6, report_every=1)


# Determinism, two jobs = one, clones, units and metric names: the problem kit
# (tests/problems_tests/test_problem_conformance.py) checks them on conf/problem/mlp.yaml.
def test_reports_every_epoch_and_the_seed_drives_the_init(problem):
    reports = run(problem, CONFIG, 3, None)
    assert [r.step for r in reports] == [1, 2, 3, 4, 5, 6]
    assert reports != run(problem, CONFIG, 4, None)  # another cell seed, another init


def test_clone_with_new_lr_continues_from_the_copied_state(problem):
    trial = problem.trial(CONFIG, 0)
    list(trial.advance(3))
    twin = trial.clone({**CONFIG, "lr": 1e-4, "batch_size": 16})
    assert twin._optimizer.param_groups[0]["lr"] == 1e-4
    assert trial._optimizer.param_groups[0][
        "lr"] == 3e-3
    assert twin._optimizer.state_dict()["state"][0]["step"] == trial._optimizer.state_dict()[
        "state"][0]["step"]
    assert list(twin.advance(4))[-1].metrics != list(trial.advance(4))[-1].metrics
    assert twin._model.fc1.weight.data_ptr() != trial._model.fc1.weight.data_ptr()
    assert problem.tensors is twin.problem.tensors  # data is shared, not copied
    with pytest.raises(ValueError, match=r"`hidden_size` cannot change in a cloned mlp trial"):
        trial.clone({**CONFIG, "hidden_size": 64})


def test_values_in_range_and_metrics_recorded(problem):
    reports = run(problem, CONFIG, 0, None)
    for r in reports:
        assert 0 <= r.value <= 1
        assert 0 <= r.metrics["test_value"] <= 1
        assert r.units == 1
        assert r.metrics["valid_loss"] > 0
        assert r.metrics["train_loss"] > 0
    assert reports[-1].value > 0.7  # the network learns
    assert problem.direction == "maximize"


def test_global_random_state_is_left_alone(problem):
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 (checking it is untouched)
    run(problem, CONFIG, 0, 2)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002


def test_simple_net_is_the_chapters_architecture():
    net = SimpleNet(20, 64, 2, torch.Generator().manual_seed(0))
    assert [type(m).__name__ for m in net.children()] == ["Linear", "ReLU", "Linear"]
    assert net(torch.zeros(3, 20)).shape == (3, 2)
    same = SimpleNet(20, 64, 2, torch.Generator().manual_seed(0))
    assert torch.equal(net.fc1.weight, same.fc1.weight)


def test_conf_composes_and_builds():
    problem, cfg = compose_problem("mlp")
    assert isinstance(problem, MLPProblem)
    assert problem.fidelity.max == 27
    assert [len(problem.tensors[p][1]) for p in ("train", "valid", "test")] == [600, 200, 200]
    assert cfg.budget.units > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_epochs": 0}, r"`max_epochs` must be an int >= 1, got 0\."),
        ({"test_share": 1.0}, r"`test_share` must be a number in \(0, 1\), got 1\.0\."),
        ({"num_threads": 0}, r"`num_threads` must be an int >= 1, got 0\."),
        ({"min_epochs": 5, "max_epochs": 3}, r"`min <= max` must hold"),
    ],
)
def test_bad_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLPProblem(**kwargs)


def test_unknown_parameter_raises(problem):
    with pytest.raises(ValueError, match=r"`dropout` is not a parameter of `mlp`"):
        problem.trial({"dropout": 0.1}, 0)
