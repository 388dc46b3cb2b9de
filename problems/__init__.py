"""Problems: what is tuned (search space, objective, optional fidelity)."""

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
]
