"""What each problem conf documents for the problem conformance kit, and the list of confs.

Discovered, not listed: :func:`names` is the file names of ``conf/problem/`` (through
:func:`problems.loading.problem_names`), so a new conf is checked by adding it. Each conf
documents, beside its `problem` node, the facts the kit holds it to (a top-level
``problem_facts`` node: not a setting, not part of a cell's identity)::

    problem_facts:
      units: steps                  # each report costs the steps trained since the last
                                    # one (`one`: a single-fidelity evaluation costs 1)
      clone_with_new_config: continues   # or `refused` (ValueError): what a clone given a
                                    # changed hyperparameter (PBT's explore) does
      paused_trial_mib: 20          # resident memory one paused trial holds, in MiB
      paused_at: 10                 # (optional) the step it is measured at; default: the
                                    # fidelity's minimum (ASHA's first rung), 1 without one
      paused_k: 48                  # (optional) paused trials held in the measurement
                                    # (default 8; more for states of a few KiB, which RSS
                                    # measures in pages)
      quick_settings: {max_rounds: 40}   # (optional) settings that make the behaviour
                                    # checks cheap; the memory check uses the conf as it is
      quick_params: {n_estimators: 50}   # (optional) fixed in the configurations the
                                    # checks draw (cheap models)
      cost_metrics: [seconds]       # (optional) metrics that, like units, count the cost
                                    # since the trial's previous report (they add up
                                    # instead of matching when a job is split)
      memory_check: slow            # (optional) `slow`: the subprocess measurement runs
                                    # only with -m slow (the default is `default`)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from problems import loading

__all__ = ["ProblemFacts", "cases", "facts", "memory_cases", "names"]


_UNITS = ("steps", "one")
_CLONES = ("continues", "refused")


@dataclass(frozen=True)
class ProblemFacts:
    """What a conf file documents about its problem (its ``problem_facts`` node)."""

    name: str
    conf: Mapping[str, Any]
    units: str
    clone_with_new_config: str
    paused_trial_mib: float
    paused_at: int | None = None
    paused_k: int | None = None
    quick_settings: Mapping[str, Any] = field(default_factory=dict)
    quick_params: Mapping[str, Any] = field(default_factory=dict)
    cost_metrics: Sequence[str] = ()
    memory_check: str = "default"


def names() -> list[str]:
    """Every problem conf (file names of ``conf/problem/``), found when called."""
    return loading.problem_names()


def facts(name: str) -> ProblemFacts:
    """The composed conf and documented facts of ``conf/problem/<name>.yaml``.

    Raises AssertionError naming the missing or bad key, so a new conf without its facts
    fails the kit with what to add.
    """
    return _facts(str(loading.CONF_DIR), name)


@functools.lru_cache(maxsize=64)
def _facts(conf_dir: str, name: str) -> ProblemFacts:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=conf_dir, version_base="1.3"):
            cfg = loading.to_plain(compose(f"problem/{name}"))
    finally:
        GlobalHydra.instance().clear()
    node = cfg.get("problem_facts")
    where = f"conf/problem/{name}.yaml"
    assert isinstance(node, Mapping), (
        f"{where} must document `problem_facts` (units, clone_with_new_config, "
        "paused_trial_mib): see tests/kits/problem_kit.py."
    )
    missing = [k for k in ("units", "clone_with_new_config", "paused_trial_mib") if k not in node]
    assert not missing, f"{where}: `problem_facts` misses {', '.join(missing)}."
    unknown = set(node) - {f for f in ProblemFacts.__dataclass_fields__ if f not in (
        "name", "conf")}
    assert not unknown, f"{where}: `problem_facts` has unknown keys {sorted(unknown)}."
    got = ProblemFacts(name=name, conf=cfg["problem"], **node)
    assert got.units in _UNITS, f"{where}: `problem_facts.units` must be one of {_UNITS}."
    assert got.clone_with_new_config in _CLONES, (
        f"{where}: `problem_facts.clone_with_new_config` must be one of {_CLONES}.")
    assert got.memory_check in ("default", "slow"), (
        f"{where}: `problem_facts.memory_check` must be default or slow.")
    assert float(got.paused_trial_mib) >= 0, f"{where}: `paused_trial_mib` must be >= 0."
    return got


def cases() -> list[Any]:
    """One pytest param per problem conf (id: the conf name)."""
    return [pytest.param(name, id=name) for name in names()]


def memory_cases() -> list[Any]:
    """One pytest param per problem conf, marked slow where its facts say so."""
    out = []
    for name in names():
        try:
            slow = facts(name).memory_check == "slow"
        except AssertionError:  # reported by the test itself
            slow = False
        out.append(pytest.param(name, id=name, marks=[pytest.mark.slow] if slow else []))
    return out
