import itertools
import math

import numpy as np
import pytest

from optimizers.base import JobKind, Status
from optimizers.grid import GridOptimizer, grid_points
from optimizers.random_search import RandomSearchOptimizer
from problems.space import Categorical, Condition, Float, Int, SearchSpace

SPACE = SearchSpace(
    (
        Float("lr", 1e-3, 1e-1, log=True),
        Int("depth", 2, 4),
        Categorical("kind", ("a", "b")),
        Float("extra", 0.0, 1.0, condition=Condition("kind", ("b",))),
    )
)


def drain(opt):
    jobs = []
    while (job := opt.ask()) is not None:
        jobs.append(job)
        opt.tell(job.trial, Status.COMPLETED, 0.0, 1)
    return jobs


def test_grid_is_exhaustive_in_declaration_order_last_fastest():
    space = SearchSpace((Int("a", 1, 2), Categorical("b", ("x", "y", "z"))))
    opt = GridOptimizer(space, None, "minimize", 0, values={"a": [1, 2], "b": ["x", "y", "z"]})
    configs = [dict(j.config) for j in drain(opt)]
    expected = [{"a": a, "b": b} for a, b in itertools.product([1, 2], ["x", "y", "z"])]
    assert configs == expected
    assert opt.ask() is None  # exhausted, stays exhausted


def test_grid_combines_conditional_parameters_only_where_active():
    points = grid_points(SPACE, resolution=3)
    # lr 3 x depth 3 x (kind=a: 1 + kind=b: 3 extras) = 9 * 4
    assert len(points) == 36
    assert all(("extra" in p) == (p["kind"] == "b") for p in points)
    assert all(SPACE.contains(p) for p in points)
    assert len({tuple(sorted(p.items())) for p in points}) == 36
    lrs = sorted({p["lr"] for p in points})
    np.testing.assert_allclose(lrs, [1e-3, 1e-2, 1e-1])  # geometric spacing on a log scale


def test_grid_values_leave_unlisted_parameters_to_the_problem():
    points = grid_points(SPACE, values={"depth": [2, 4]})
    assert points == [{"depth": 2}, {"depth": 4}]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"values": {}}, r"`optimizer.values` is empty: a grid needs at least one parameter"),
        ({"values": {"depth": []}}, r"`optimizer.values.depth` is empty: a grid with no values"),
        ({"values": {"nope": [1]}}, r"`optimizer.values` names `nope`, which the problem does not have"),
        ({"values": {"depth": [9]}}, r"`optimizer.values.depth` has 9, which is outside the space"),
        ({"resolution": 1}, r"`optimizer.resolution` must be an int >= 2, got 1"),
    ],
)
def test_grid_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GridOptimizer(SPACE, None, "minimize", 0, **kwargs)


def test_random_search_is_seeded_and_honours_conditions():
    a = [j.config for j in itertools.islice(iter(RandomSearchOptimizer(SPACE, None, "minimize", 3).ask, None), 50)]
    b = [j.config for j in itertools.islice(iter(RandomSearchOptimizer(SPACE, None, "minimize", 3).ask, None), 50)]
    c = [j.config for j in itertools.islice(iter(RandomSearchOptimizer(SPACE, None, "minimize", 4).ask, None), 50)]
    assert a == b and a != c
    assert all(SPACE.contains(x) for x in a)
    jobs = drain(RandomSearchOptimizer(SPACE, None, "minimize", 0, n_trials=7))
    assert [j.trial for j in jobs] == list(range(7)) and all(j.kind is JobKind.NEW for j in jobs)


def test_random_search_log_dimension_is_log_uniform():
    opt = RandomSearchOptimizer(SPACE, None, "minimize", 0)
    lrs = np.array([opt.ask().config["lr"] for _ in range(4000)])
    assert abs(np.mean(lrs < 1e-2) - 0.5) < 0.03  # half the mass below the log-midpoint


def test_random_search_errors_and_loss_sign():
    with pytest.raises(ValueError, match=r"`n_trials` must be an int >= 1 or null, got 0"):
        RandomSearchOptimizer(SPACE, None, "minimize", 0, n_trials=0)
    with pytest.raises(ValueError, match=r"`fidelity_step` needs a problem with a fidelity"):
        RandomSearchOptimizer(SPACE, None, "minimize", 0, fidelity_step=3)
    with pytest.raises(ValueError, match=r"`seed` must be a non-negative int, got -1"):
        RandomSearchOptimizer(SPACE, None, "minimize", -1)
    with pytest.raises(ValueError, match=r"`direction` must be 'minimize' or 'maximize'"):
        RandomSearchOptimizer(SPACE, None, "max", 0)
    opt = RandomSearchOptimizer(SPACE, None, "maximize", 0)
    assert opt.loss(2.0) == -2.0 and opt.loss(math.nan) == math.inf
