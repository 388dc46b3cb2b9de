"""Compose study configurations with Hydra: the command line's overrides become runs.

A run is one composed configuration (one job of a Hydra multirun, or one entry of an
experiment's `runs`); :mod:`benchmarks.validate` checks it and :mod:`benchmarks.plan`
splits it into cells. Errors are a :class:`UserError`: one sentence, exit code 2.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from problems.errors import UserError
from problems.loading import CONF_DIR

__all__ = ["CONF_DIR", "GROUPS", "ComposedRun", "UserError", "compose_runs", "group_options"]

GROUPS = ("problem", "optimizer", "executor", "experiment")


@dataclass(frozen=True)
class ComposedRun:
    """One composed configuration (one job of a multirun) and its group choices."""

    overrides: tuple[str, ...]
    cfg: DictConfig
    problem: str
    optimizer: str


def group_options(group: str) -> list[str]:
    """The options of a config group: the file names in ``conf/<group>/``."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


# -- composing --------------------------------------------------------------------------
def compose_runs(overrides: Sequence[str], multirun: bool = False) -> list[ComposedRun]:
    """Compose every run the command line asks for (sweeps expand only with -m).

    A config with a non-empty `runs` list (an experiment) expands into one composed run per
    entry, each composed from the entry's overrides followed by the command line's.
    """
    parsed = _parse(overrides)
    # `seeds=range(30)` or `seeds=0,1,2` is the seed grid (a shorthand), never a sweep.
    sweeps = [o for o in parsed if o.is_sweep_override() and o.get_key_element() != "seeds"]
    if sweeps and not multirun:
        raise UserError(
            f"`{sweeps[0].input_line}` sweeps several values; add -m (multirun) to sweep."
        )
    choices: list[list[str]] = []
    for o in parsed:
        if o.is_sweep_override() and o.get_key_element() == "seeds":
            choices.append([f"seeds=[{','.join(o.sweep_string_iterator())}]"])
        elif o.is_sweep_override():
            key = o.get_key_element()
            choices.append([f"{key}={v}" for v in o.sweep_string_iterator()])
        else:
            choices.append([o.input_line])
    composed: list[ComposedRun] = []
    for combo in itertools.product(*choices) if choices else [()]:
        base = _compose(list(combo))
        runs = base.cfg.get("runs") or []
        if not runs:
            composed.append(base)
            continue
        for i, run in enumerate(runs):
            if isinstance(run, str) or not all(isinstance(r, str) for r in run):
                raise UserError(
                    f"`runs[{i}]` must be a list of override strings such as "
                    f"[problem=rf, optimizer=grid], got {OmegaConf.to_container(run)!r}."
                )
            composed.append(_compose([*run, *combo]))
    return composed


def _parse(overrides: Sequence[str]) -> list[Any]:
    parser = OverridesParser.create()
    out = []
    for line in overrides:
        try:
            out.extend(parser.parse_overrides([line]))
        except HydraException as err:
            raise UserError(f"cannot parse the override `{line}`: {_first_line(err)}") from None
    for o in out:
        key = o.get_key_element().lstrip("+~")
        if key in GROUPS and not o.is_delete():
            options = group_options(key)
            values = list(o.sweep_string_iterator()) if o.is_sweep_override() else [o.value()]
            for v in values:
                if v not in options:
                    raise UserError(
                        f"`{key}` must be one of {', '.join(options)}; got {v!r}."
                    )
    return out


def _compose(overrides: list[str]) -> ComposedRun:
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=overrides, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as err:
        raise UserError(_explain_compose_error(err, overrides)) from None
    finally:
        GlobalHydra.instance().clear()
    choices = cfg.hydra.runtime.choices
    problem, optimizer = choices.get("problem"), choices.get("optimizer")
    with_hydra = cfg
    cfg = OmegaConf.masked_copy(with_hydra, [k for k in with_hydra if k != "hydra"])
    return ComposedRun(tuple(overrides), cfg, str(problem), str(optimizer))


def _explain_compose_error(err: Exception, overrides: list[str]) -> str:
    text = str(err)
    missing = re.search(r"Could not override '([^']+)'", text)
    struct = re.search(r"Key '([^']+)' is not in struct", text)
    if missing:
        key = missing.group(1)
        group, _, rest = key.partition(".")
        if group in ("problem", "optimizer") and rest:
            name = _chosen(group, overrides)
            node = OmegaConf.load(CONF_DIR / group / f"{name}.yaml")
            node = node.get(group, node) if group == "problem" else node
            settings = [k for k in node if k not in ("_target_", "reference")]
            return (
                f"`{key}` is not a setting of {group} `{name}`; its settings are "
                f"{', '.join(settings) or '(none)'}."
            )
        return f"`{key}` is not a configuration key; see conf/config.yaml for the keys."
    if struct:
        return f"`{struct.group(1)}` is not a configuration key; see conf/config.yaml."
    return f"the configuration could not be composed from {overrides}: {_first_line(err)}"


def _chosen(group: str, overrides: list[str]) -> str:
    """The option of `group` that a list of overrides selects (else the default)."""
    for line in reversed(overrides):
        key, _, value = line.lstrip("+").partition("=")
        if key == group:
            return value
    for entry in OmegaConf.load(CONF_DIR / "config.yaml").defaults:
        if isinstance(entry, Mapping) and group in entry:
            return str(entry[group])
    return "?"


def _first_line(err: Exception) -> str:
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(err).__name__
