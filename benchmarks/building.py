"""Instantiate problems and optimizers from conf nodes, after an allow-list check.

Only the project's own packages and the libraries it wraps may be `_target_`s: a conf
file must not be able to call arbitrary code (``os.system``) through Hydra.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Mapping
from typing import Any

from hydra.utils import get_class

from optimizers.base import Optimizer
from problems.base import Problem

__all__ = ["ALLOWED_TARGETS", "build_optimizer", "build_problem", "check_targets", "target_class"]

ALLOWED_TARGETS = (
    "problems.",
    "optimizers.",
    "optuna.",
    "hyperopt.",
    "ray.tune.",
    "sklearn.",
    "lightgbm.",
    "torch.",
    "smac.",
)

#: Keys of a problem or optimizer conf node that are not constructor arguments.
#: `reference` (problems): best-known value for normalized regret; `for_problem` (optimizers):
#: the one problem whose parameters the conf names (e.g. a grid of rf's values).
RESERVED_KEYS = ("_target_", "reference", "for_problem")


def check_targets(node: Any, where: str) -> None:
    """Raise ValueError if any `_target_` under `node` is outside the allow-list."""
    if isinstance(node, Mapping):
        target = node.get("_target_")
        if target is not None and not (
            isinstance(target, str) and target.startswith(ALLOWED_TARGETS)
        ):
            raise ValueError(
                f"`{where}._target_` is {target!r}; only classes under "
                f"{', '.join(t.rstrip('.') for t in ALLOWED_TARGETS)} may be instantiated."
            )
        for key, value in node.items():
            check_targets(value, f"{where}.{key}")
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            check_targets(value, f"{where}[{i}]")


def target_class(conf: Mapping[str, Any], where: str) -> type:
    """The class a conf node names, checked against the allow-list."""
    check_targets(conf, where)
    target = conf.get("_target_")
    if not isinstance(target, str):
        raise ValueError(f"`{where}._target_` is missing: the conf must name a class.")
    try:
        return get_class(target)
    except Exception as err:  # ImportError, AttributeError wrapped by Hydra
        raise ValueError(f"`{where}._target_` {target!r} cannot be imported ({err}).") from None


def check_arguments(cls: type, conf: Mapping[str, Any], where: str, implicit: tuple = ()) -> None:
    """Raise ValueError naming a conf key that `cls` does not accept."""
    params = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    allowed = [n for n in params if n not in implicit and n != "self"]
    for key in conf:
        if key not in RESERVED_KEYS and key not in params:
            raise ValueError(
                f"`{where}.{key}` is not a setting of {cls.__name__}; "
                f"its settings are {', '.join(allowed) or '(none)'}."
            )


def build_problem(conf: Mapping[str, Any]) -> Problem:
    """Build (and cache per process) the problem a conf node describes."""
    return _cached_problem(json.dumps(_plain(conf), sort_keys=True))


@functools.lru_cache(maxsize=8)
def _cached_problem(conf_json: str) -> Problem:
    # Problems are immutable after construction (datasets, splits), so one instance can
    # serve every cell of a process; trials hold all mutable state.
    conf = json.loads(conf_json)
    cls = target_class(conf, "problem")
    check_arguments(cls, conf, "problem")
    kwargs = {k: v for k, v in conf.items() if k not in RESERVED_KEYS}
    problem = cls(**kwargs)
    if not isinstance(problem, Problem):
        raise ValueError(f"`problem._target_` {conf['_target_']!r} is not a Problem.")
    return problem


def build_optimizer(conf: Mapping[str, Any], problem: Problem, seed: int) -> Optimizer:
    """Build the optimizer a conf node describes for `problem` and the cell seed."""
    conf = _plain(conf)
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


def _plain(conf: Any) -> Any:
    """OmegaConf containers to plain dicts/lists (picklable, JSON-able)."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(conf, DictConfig | ListConfig):
            return OmegaConf.to_container(conf, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf ships with hydra
        pass
    if isinstance(conf, Mapping):
        return {k: _plain(v) for k, v in conf.items()}
    if isinstance(conf, list | tuple):
        return [_plain(v) for v in conf]
    return conf
