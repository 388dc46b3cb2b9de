"""Shared helpers of the machine-learning problems: data splits, model parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from problems.space import Int, SearchSpace

__all__ = ["Splits", "model_params", "split_data"]


@dataclass(frozen=True)
class Splits:
    """Train / validation / test arrays; `valid` or `test` is None when not held out."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray | None
    y_valid: np.ndarray | None
    x_test: np.ndarray | None
    y_test: np.ndarray | None


def split_data(
    x: np.ndarray, y: np.ndarray, holdout_size: float, test_share: float, random_state: int
) -> Splits:
    """The chapter's ``train_test_split(x, y, test_size=holdout_size, random_state=...)``;
    the held-out part is then split (same random_state) into validation and test, with
    `test_share` of it as test (1: all test, no validation; 0: all validation, no test).
    """
    from sklearn.model_selection import train_test_split

    x_tr, x_hold, y_tr, y_hold = train_test_split(
        x, y, test_size=holdout_size, random_state=random_state
    )
    if test_share >= 1:
        return Splits(x_tr, y_tr, None, None, x_hold, y_hold)
    if test_share <= 0:
        return Splits(x_tr, y_tr, x_hold, y_hold, None, None)
    x_va, x_te, y_va, y_te = train_test_split(
        x_hold, y_hold, test_size=test_share, random_state=random_state
    )
    return Splits(x_tr, y_tr, x_va, y_va, x_te, y_te)


def model_params(space: SearchSpace, config: Mapping[str, Any], problem: str) -> dict[str, Any]:
    """The configuration as model arguments. Parameters may be missing (the model's default
    then applies, as in scikit-learn's ``GridSearchCV``); unknown names raise ValueError.
    Integral floats for integer parameters (e.g. Hyperopt's ``quniform``) become ints.
    """
    params: dict[str, Any] = {}
    for name, value in config.items():
        if name not in space.names:
            raise ValueError(
                f"`{name}` is not a parameter of `{problem}`; "
                f"its parameters are {', '.join(space.names)}."
            )
        if isinstance(space[name], Int) and isinstance(value, float | np.floating):
            if value != int(value):
                raise ValueError(f"parameter `{name}` must be an integer, got {value!r}.")
            value = int(value)
        elif isinstance(value, np.generic):
            value = value.item()
        params[name] = value
    return params
