import math

import numpy as np
import pytest

from problems.space import Categorical, Condition, Float, Int, SearchSpace


def conditional_space() -> SearchSpace:
    return SearchSpace(
        (
            Categorical("booster", ("gbdt", "dart")),
            Float("drop_rate", 0.01, 0.5, log=True, condition=Condition("booster", ("dart",))),
            Int("depth", 2, 8),
        )
    )


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Float("lr", 1.0, 1.0), r"parameter `lr`: `low < high` must hold"),
        (lambda: Float("lr", 2.0, 1.0), r"parameter `lr`: `low < high` must hold, got \(low=2.0"),
        (lambda: Float("lr", 0.0, 1.0, log=True), r"parameter `lr`: a log scale needs `low > 0`"),
        (lambda: Int("n", -1, 5, log=True), r"parameter `n`: a log scale needs `low > 0`"),
        (lambda: Int("n", 1.5, 5), r"parameter `n`: `low` must be an integer, got 1.5"),
        (lambda: Float("x", float("nan"), 1.0), r"parameter `x`: `low` must be a finite number"),
        (lambda: Categorical("c", ()), r"parameter `c`: `choices` must not be empty"),
        (lambda: Categorical("c", ("a", "a")), r"parameter `c`: `choices` has duplicates"),
        (lambda: Categorical("c", ([1],)), r"parameter `c`: choices must be scalars"),
        (
            lambda: SearchSpace((Float("x", 0, 1, condition=Condition("nope", (1,))),)),
            r"parameter `x`: condition on unknown parent `nope`",
        ),
        (
            lambda: SearchSpace(
                (Categorical("a", ("u", "v")), Float("x", 0, 1, condition=Condition("a", ("w",))))
            ),
            r"parameter `x`: condition value 'w' is not a value of `a`",
        ),
        (lambda: SearchSpace((Float("x", 0, 1), Float("x", 0, 2))), r"parameter `x` is declared twice"),
        (lambda: SearchSpace(()), r"at least one parameter"),
        (lambda: Condition("a", ()), r"condition on `a` must list at least one value"),
    ],
)
def test_invalid_definitions_raise_naming_the_parameter(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_from_dict_builds_and_validates():
    space = SearchSpace.from_dict(
        {
            "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
            "kind": {"type": "categorical", "choices": ["a", "b"]},
            "n": {"type": "int", "low": 1, "high": 9, "condition": {"parent": "kind", "values": ["b"]}},
        }
    )
    assert space.names == ["lr", "kind", "n"]
    assert space["n"].condition == Condition("kind", ("b",))
    with pytest.raises(ValueError, match=r"parameter `z`: `type` must be one of"):
        SearchSpace.from_dict({"z": {"type": "complex"}})
    with pytest.raises(ValueError, match=r"parameter `z`"):
        SearchSpace.from_dict({"z": {"type": "float", "low": 0}})


def test_conditions_decide_which_parameters_are_sampled():
    space = conditional_space()
    rng = np.random.default_rng(0)
    configs = [space.sample(rng) for _ in range(400)]
    for config in configs:
        space.validate(config)
        assert ("drop_rate" in config) == (config["booster"] == "dart")
    assert 150 < sum(c["booster"] == "dart" for c in configs) < 250


def test_validate_rejects_inactive_missing_unknown_and_out_of_range():
    space = conditional_space()
    with pytest.raises(ValueError, match="inactive parameter `drop_rate`"):
        space.validate({"booster": "gbdt", "drop_rate": 0.1, "depth": 3})
    with pytest.raises(ValueError, match="misses the active parameter `drop_rate`"):
        space.validate({"booster": "dart", "depth": 3})
    with pytest.raises(ValueError, match=r"unknown parameters \['zz'\]"):
        space.validate({"booster": "gbdt", "depth": 3, "zz": 1})
    with pytest.raises(ValueError, match="parameter `depth`: 9 is outside the space"):
        space.validate({"booster": "gbdt", "depth": 9})
    assert not space.contains({"booster": "gbdt", "depth": 2.0})  # a float is not an int
    assert space.contains({"booster": "gbdt", "depth": 2})


def test_log_scale_sampling_is_log_uniform():
    p = Float("lr", 1e-4, 1.0, log=True)
    rng = np.random.default_rng(1)
    draws = np.array([p.sample(rng) for _ in range(20000)])
    assert draws.min() >= 1e-4 and draws.max() <= 1.0
    # Each decade holds about a quarter of the mass (a linear sampler puts ~90% in the last).
    decades = np.histogram(np.log10(draws), bins=[-4, -3, -2, -1, 0])[0] / len(draws)
    np.testing.assert_allclose(decades, 0.25, atol=0.02)
    linear = Float("lr", 1e-4, 1.0)
    lin = np.array([linear.sample(rng) for _ in range(20000)])
    assert np.mean(lin > 0.1) > 0.85


def test_int_sampling_covers_bounds_uniformly_and_log_int_favours_small():
    rng = np.random.default_rng(2)
    p = Int("n", 1, 4)
    counts = np.bincount([p.sample(rng) for _ in range(8000)], minlength=5)[1:]
    np.testing.assert_allclose(counts / 8000, 0.25, atol=0.02)
    q = Int("n", 1, 1000, log=True)
    draws = [q.sample(rng) for _ in range(4000)]
    assert all(isinstance(d, int) and 1 <= d <= 1000 for d in draws)
    assert 0.25 < np.mean(np.array(draws) <= 10) < 0.42


def test_unit_encoding_round_trips():
    for p, v in [(Float("a", 0.1, 10, log=True), 1.0), (Int("b", 3, 20), 7), (Float("c", -1, 1), 0.5)]:
        assert p.from_unit(p.to_unit(v)) == pytest.approx(v)
    assert Int("b", 3, 20).from_unit(1.0) == 20
    assert Float("a", 0.1, 10, log=True).to_unit(10) == pytest.approx(1.0)
    assert math.isclose(Float("x", 0, 1).clip(2.0), 1.0)


def test_categorical_membership_is_type_strict():
    p = Categorical("c", (1, "1", None, True))
    assert p.contains(1) and p.contains("1") and p.contains(None) and p.contains(True)
    assert p.index(True) == 3 and p.index(1) == 0
    assert not Categorical("d", (1, 2)).contains(True)
