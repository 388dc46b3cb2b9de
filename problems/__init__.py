"""Problems: what is tuned (search space, objective, optional fidelity)."""

from typing import Any

from problems.base import Fidelity, Problem, Report, Trial, config_key, config_seed
from problems.space import Categorical, Condition, Float, Int, SearchSpace

__all__ = [
    "Categorical",
    "Condition",
    "Fidelity",
    "Float",
    "Int",
    "Problem",
    "Report",
    "SearchSpace",
    "Trial",
    "config_key",
    "config_seed",
    "load",
]


def load(name: str, **settings: Any) -> Problem:
    """The problem of ``conf/problem/<name>.yaml``, `settings` replacing its own.

    Example: ``problems.load("branin").evaluate({"x1": 1.0, "x2": 2.0}).value``.
    Imports Hydra only when called (see :func:`problems.loading.load`).
    """
    from problems.loading import load as load_conf

    return load_conf(name, **settings)
