"""Instantiate optimizers from conf nodes, after the allow-list check problems use too.

Problems are built by :mod:`problems.loading` (re-exported here for the runner and tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from optimizers.base import Optimizer
from problems.base import Problem
from problems.loading import (
    ALLOWED_TARGETS,
    RESERVED_KEYS,
    build_problem,
    check_arguments,
    check_targets,
    target_class,
    to_plain,
)

__all__ = ["ALLOWED_TARGETS", "build_optimizer", "build_problem", "check_targets", "target_class"]


def build_optimizer(conf: Mapping[str, Any], problem: Problem, seed: int) -> Optimizer:
    """Build the optimizer a conf node describes for `problem` and the cell seed."""
    conf = to_plain(conf)
    cls = target_class(conf, "optimizer")
    implicit = ("space", "fidelity", "direction", "seed")
    check_arguments(cls, conf, "optimizer", implicit)
    kwargs = {k: v for k, v in conf.items() if k not in RESERVED_KEYS}
    optimizer = cls(
        space=problem.space,
        fidelity=problem.fidelity,
        direction=problem.direction,
        seed=seed,
        **kwargs,
    )
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"`optimizer._target_` {conf['_target_']!r} is not an Optimizer.")
    return optimizer
