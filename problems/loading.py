"""Problems from conf files (`load(name)`) and the `_target_` allow-list every layer builds with.

Only the project's own packages and the libraries it wraps may be `_target_`s: a conf
file must not be able to call arbitrary code (``os.system``) through Hydra.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.utils import get_class

from problems.base import Problem
from problems.errors import UserError

__all__ = [
    "ALLOWED_TARGETS",
    "CONF_DIR",
    "build_problem",
    "check_arguments",
    "check_targets",
    "load",
    "problem_conf",
    "problem_names",
    "target_class",
    "to_plain",
]

#: The project's Hydra configuration (conf/problem/<name>.yaml is the problem <name>).
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"

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
#: Conf keys that are not constructor settings. `tags` (optimizer confs) label families for
#: the analysis and stay out of a cell's identity (benchmarks.cells.cell_identity).
RESERVED_KEYS = ("_target_", "reference", "for_problem", "tags")


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
    return _cached_problem(json.dumps(to_plain(conf), sort_keys=True))


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


def to_plain(conf: Any) -> Any:
    """OmegaConf containers to plain dicts/lists (picklable, JSON-able)."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(conf, DictConfig | ListConfig):
            return OmegaConf.to_container(conf, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf ships with hydra
        pass
    if isinstance(conf, Mapping):
        return {k: to_plain(v) for k, v in conf.items()}
    if isinstance(conf, list | tuple):
        return [to_plain(v) for v in conf]
    return conf


def problem_names() -> list[str]:
    """The problems the conf files define: the file names of ``conf/problem/``."""
    return sorted(p.stem for p in (CONF_DIR / "problem").glob("*.yaml"))


def problem_conf(name: str) -> dict[str, Any]:
    """The `problem` node of ``conf/problem/<name>.yaml``, composed (defaults applied)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    names = problem_names()
    if name not in names:
        raise UserError(f"`problem` must be one of {', '.join(names)}; got {name!r}.")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(f"problem/{name}")
    finally:
        GlobalHydra.instance().clear()
    return to_plain(cfg.problem)


def load(name: str, **settings: Any) -> Problem:
    """The problem of ``conf/problem/<name>.yaml``, with `settings` replacing its own.

    Raises UserError for an unknown name or setting; the problem's own ValueError or
    TypeError for a bad value.
    """
    conf = problem_conf(name)
    unknown = [key for key in settings if key in RESERVED_KEYS or key not in conf]
    if unknown:
        allowed = [k for k in conf if k not in RESERVED_KEYS]
        raise UserError(
            f"`{unknown[0]}` is not a setting of problem `{name}`; its settings are "
            f"{', '.join(allowed) or '(none)'}."
        )
    return build_problem({**conf, **settings})
