"""Optimizer conformance kit: the checks every ``conf/optimizer/*.yaml`` passes.

Discovered, not listed: :func:`cases` is the file names of ``conf/optimizer/`` found when
called, so a new optimizer conf is checked by adding it. What differs between optimizers
is declared by them, not listed here: a conf bound to one problem names it
(``for_problem``), a class that needs a fidelity says so (``needs_fidelity``), one whose
proposals ignore the seed says so (``uses_seed = False``), and one that runs its own loop
on Ray (``drives_own_loop``) gets the ``ray`` and ``slow`` marks.

Each check composes the conf with Hydra's compose API, builds it, and runs tiny cells
through the runner: on branin (single fidelity), on learning_curve (9 iterations, 1 and 3
simulated workers), on a mixed conditional space with uneven step costs (tells arrive out
of order), and on :class:`~tests.kits.toy_problems.FailingProblem` (failures survived).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from benchmarks.building import build_optimizer, build_problem, target_class
from benchmarks.cells import CellResult
from benchmarks.compose import UserError, compose_runs
from benchmarks.runner import run_cell
from benchmarks.validate import validate
from problems.base import Problem
from problems.space import SearchSpace
from tests.kits.cells import CONF_DIR, cell_spec, rows, run_problem, trial_configs
from tests.kits.toy_problems import FailingProblem, UnevenCurveProblem

__all__ = [
    "cases",
    "check_conditional_space_uneven_costs",
    "check_failing_trials",
    "check_fidelity_cell",
    "check_single_fidelity_cell",
    "compose_conf",
    "names",
]


def names(conf_dir: Path = CONF_DIR) -> list[str]:
    """Every optimizer conf (file names of ``conf/optimizer/``), found when called."""
    return sorted(p.stem for p in (conf_dir / "optimizer").glob("*.yaml"))


def _node(name: str, conf_dir: Path = CONF_DIR) -> dict[str, Any]:
    return OmegaConf.to_container(OmegaConf.load(conf_dir / "optimizer" / f"{name}.yaml"))


def _marks(name: str, conf_dir: Path) -> list[Any]:
    cls = target_class(_node(name, conf_dir), "optimizer")
    if getattr(cls, "drives_own_loop", False):
        # Real Tune runs cost seconds each: the Ray Tune confs have their own tests in the
        # default suite (test_ray_tune_adapter.py); here they run with -m slow.
        return [pytest.mark.ray, pytest.mark.slow]
    return []


def cases(conf_dir: Path = CONF_DIR) -> list[Any]:
    """One pytest param per optimizer conf (id: the conf name), marked as the class says."""
    return [pytest.param(n, marks=_marks(n, conf_dir), id=n) for n in names(conf_dir)]


def compose_conf(name: str, problem: str, *overrides: str,
                 conf_dir: Path = CONF_DIR) -> dict[str, Any]:
    """The study config of ``optimizer=<name> problem=<problem>``, composed and resolved."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            cfg = compose("config", overrides=[f"optimizer={name}", f"problem={problem}",
                                               *overrides])
    finally:
        GlobalHydra.instance().clear()
    return OmegaConf.to_container(cfg, resolve=True)


def _bound_problem(name: str, conf_dir: Path) -> str | None:
    """The problem a conf is made for (`for_problem`), e.g. a grid of rf's values."""
    return _node(name, conf_dir).get("for_problem")


def _skip_if_bound(name: str, conf_dir: Path) -> None:
    bound = _bound_problem(name, conf_dir)
    if bound is not None:
        pytest.skip(f"{name} names the parameters of `{bound}`; checked on it alone")


def _refusal(conf: dict[str, Any], problem: Problem) -> str | None:
    """Why building `conf` for `problem` fails (ValueError text), or None if it builds."""
    try:
        build_optimizer(conf, problem, 0).close()
    except ValueError as err:
        return str(err)
    return None


def _refuses_single_fidelity(name: str, cfg: dict[str, Any], conf_dir: Path) -> bool:
    """True (after checking the message) when the optimizer needs a fidelity."""
    cls = target_class(cfg["optimizer"], "optimizer")
    reason = _refusal(cfg["optimizer"], build_problem(cfg["problem"]))
    if reason is not None:
        assert "needs a problem with a fidelity" in reason
        if getattr(cls, "needs_fidelity", False) and conf_dir == CONF_DIR:
            (job,) = compose_runs([f"optimizer={name}", "problem=branin"])
            with pytest.raises(UserError, match=rf"^{name} needs a problem with a fidelity; "
                                                r"`branin` has none\. Pick .*learning_curve"):
                validate(job)
        return True
    assert not getattr(cls, "needs_fidelity", False), "needs_fidelity but built without one"
    return False


def _row_tuples(result: CellResult) -> list[tuple]:
    return list(zip(*rows(result).values(), strict=True))


def _check_rows(result: CellResult, space: SearchSpace, partial: bool = False) -> None:
    cols = result.columns
    assert cols["trial"], "the cell recorded no report"
    assert set(cols["status"]) <= {"running", "completed", "paused", "pruned", "failed"}
    for config in trial_configs(result):
        if partial:  # a grid of listed values leaves the other parameters to the model
            assert all(space[k].contains(v) for k, v in config.items())
        else:
            space.validate(config)  # inside the space, conditions respected


def check_single_fidelity_cell(name: str, conf_dir: Path = CONF_DIR) -> None:
    """On branin (or the conf's own problem): proposals in the space, the same seed gives
    the same rows, another seed other trials (unless the class ignores seeds); a conf
    that needs a fidelity is refused with the documented message.
    """
    bound = _bound_problem(name, conf_dir)
    cfg = compose_conf(name, bound or "branin", conf_dir=conf_dir)
    if _refuses_single_fidelity(name, cfg, conf_dir):
        return
    space = build_problem(cfg["problem"]).space
    n_trials = 2 if bound else 8  # problem-bound confs run on real (slower) problems

    def cell(seed: int) -> CellResult:
        return run_cell(cell_spec(cfg["problem"], cfg["optimizer"], seed, study="conformance",
                                  optimizer=name, trials=n_trials))

    first = cell(0)
    _check_rows(first, space, partial=bound is not None)
    assert _row_tuples(cell(0)) == _row_tuples(first)
    other = cell(1)
    if getattr(target_class(cfg["optimizer"], "optimizer"), "uses_seed", True):
        assert trial_configs(other) != trial_configs(first)


def check_fidelity_cell(name: str, conf_dir: Path = CONF_DIR) -> None:
    """On learning_curve (9 iterations) with 1 and 3 simulated workers: proposals in the
    space, units add up, the same seed gives the same rows (where the run is deterministic;
    only real parallel runs may not be).
    """
    _skip_if_bound(name, conf_dir)
    cfg = compose_conf(name, "learning_curve", "problem.max_iterations=9", conf_dir=conf_dir)
    space = build_problem(cfg["problem"]).space
    spec = {w: cell_spec(cfg["problem"], cfg["optimizer"], 0, study="conformance",
                         optimizer=name, workers=w, units=60) for w in (1, 3)}
    for workers in (1, 3):
        result = run_cell(spec[workers])
        _check_rows(result, space)
        assert sum(result.columns["units"]) == result.columns["cum_units"][-1]
        if result.info["deterministic"]:  # real parallel execution (Ray Tune) says it is not
            assert _row_tuples(run_cell(spec[workers])) == _row_tuples(result)
        else:
            assert workers > 1, "only real parallel runs may be non-deterministic"


def check_conditional_space_uneven_costs(name: str, conf_dir: Path = CONF_DIR) -> None:
    """A mixed, conditional space whose step costs differ by configuration, at 3 workers
    (tells out of order): proposals respect the conditions, or the conf refuses conditions.
    """
    _skip_if_bound(name, conf_dir)
    conf = compose_conf(name, "learning_curve", conf_dir=conf_dir)["optimizer"]
    problem = UnevenCurveProblem()
    reason = _refusal(conf, problem)
    if reason is not None:  # e.g. a grid sampler that cannot grid conditions
        assert "conditional" in reason
        return
    result = run_problem(problem, conf, seed=2, workers=3, trials=10)
    _check_rows(result, problem.space)


def failing_problem() -> FailingProblem:
    """The kit's failing problem: mixed conditional space, single fidelity; x > 0.8
    raises; x in (0.45, 0.55) around the optimum (met by samplers that start at the
    centre, such as CMA-ES) or depth > 6 (met early by a grid, last parameter fastest)
    reports NaN.
    """
    return FailingProblem(mixed=True, raise_where={"x": (0.8, math.inf)},
                          nan_where={"x": (0.45, 0.55), "depth": (6, math.inf)})


def check_failing_trials(name: str, conf_dir: Path = CONF_DIR) -> None:
    """Raising and NaN trials become `failed` reports and the cell goes on (20 trials)."""
    _skip_if_bound(name, conf_dir)
    conf = compose_conf(name, "branin", conf_dir=conf_dir)["optimizer"]
    problem = failing_problem()
    reason = _refusal(conf, problem)
    if reason is not None:  # needs a fidelity, or cannot handle conditions
        assert "fidelity" in reason or "conditional" in reason
        return
    result = run_problem(problem, conf, seed=0, trials=20)
    _check_rows(result, problem.space)
    statuses = result.columns["status"]
    errors = [e for e in result.columns["error"] if e]
    assert "failed" in statuses, "seed 0 draws failing configurations for every optimizer"
    assert any("diverged" in e or "NaN" in e for e in errors)
    values = [v for v, s in zip(result.columns["value"], statuses, strict=True) if s != "failed"]
    assert all(math.isfinite(v) for v in values)
    assert len(set(result.columns["trial"])) == 20 or result.info["stop_reason"] != "trials"
