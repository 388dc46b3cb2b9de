"""Conformance suite: every file in conf/optimizer/ composes, builds and keeps the contract.

Parametrized over the conf files found at collection time, so a new optimizer conf is
checked without touching this file. Each case composes the conf with Hydra's compose API,
builds it, and runs tiny cells through the runner: on branin (single fidelity), on
learning_curve (9 iterations), and on test problems with conditional parameters, failing
configurations and uneven step costs (3 simulated workers, so tells arrive out of order).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from mixed_problems import FlakyProblem, UnevenCurveProblem, run_problem, trial_configs
from omegaconf import OmegaConf

from benchmarks.building import build_optimizer, build_problem, target_class
from benchmarks.compose import UserError, compose_runs
from benchmarks.runner import Budget, CellSpec, run_cell
from benchmarks.validate import validate

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
NAMES = sorted(p.stem for p in (CONF_DIR / "optimizer").glob("*.yaml"))
#: Optimizers whose proposals do not depend on the seed at all.
SEED_FREE = {"grid", "grid_rf_chapter"}
TIMING = ("wall_time", "optimizer_time")
#: Confs whose model-based proposals cost seconds each (SMAC's GP refits its kernel with 10
#: restarts per proposal): their 20-trial failing-trials case runs with -m slow (the other
#: cases stay within the initial design); test_smac_adapter.py runs the GP by default.
SLOW_TO_FAIL = {"smac_bb"}


def _marks(name: str) -> list:
    conf = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "optimizer" / f"{name}.yaml"))
    cls = target_class(conf, "optimizer")
    if getattr(cls, "drives_own_loop", False):
        # Real Tune runs cost seconds each: the Ray Tune confs have their own tests in the
        # default suite (test_ray_tune_adapter.py); here they run with -m slow.
        return [pytest.mark.ray, pytest.mark.slow]
    return []


@pytest.fixture(autouse=True)
def _ray_for_ray_cases(request):
    if request.node.get_closest_marker("ray") is not None:
        request.getfixturevalue("shared_ray")


@pytest.fixture(scope="module")
def shared_ray():
    """One loopback Ray for the module's Ray Tune cases (the adapter reuses a running Ray).

    Ray's workers import this module's test problems by name, so their folder goes on the
    PYTHONPATH that the workers inherit.
    """
    import os

    from optimizers.ray_session import start_ray

    here = str(Path(__file__).resolve().parent)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (here, old) if p)
    session = start_ray(num_cpus=2)
    yield
    session.close()
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old


CASES = [pytest.param(name, marks=_marks(name), id=name) for name in NAMES]


def _bound_problem(name: str) -> str | None:
    """The problem a conf is made for (`for_problem`), e.g. a grid of rf's values."""
    return OmegaConf.load(CONF_DIR / "optimizer" / f"{name}.yaml").get("for_problem")


def _skip_if_bound(name: str) -> None:
    bound = _bound_problem(name)
    if bound is not None:
        pytest.skip(f"{name} names the parameters of `{bound}`; checked on it alone")


def _compose(name: str, problem: str, *overrides: str) -> dict:
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=[f"optimizer={name}", f"problem={problem}",
                                               *overrides])
    finally:
        GlobalHydra.instance().clear()
    return OmegaConf.to_container(cfg, resolve=True)


def _spec(cfg: dict, name: str, seed: int, budget: Budget, workers: int = 1) -> CellSpec:
    return CellSpec("conformance", "p", name, seed, cfg["problem"], cfg["optimizer"], budget,
                    workers=workers)


def _refusal(conf: dict, problem) -> str | None:
    """Why building `conf` for `problem` fails (ValueError text), or None if it builds."""
    try:
        build_optimizer(conf, problem, 0).close()
    except ValueError as err:
        return str(err)
    return None


def _refuses_single_fidelity(name: str, cfg: dict) -> bool:
    """True (after checking the message) when the optimizer needs a fidelity."""
    cls = target_class(cfg["optimizer"], "optimizer")
    reason = _refusal(cfg["optimizer"], build_problem(cfg["problem"]))
    if reason is not None:
        assert "needs a problem with a fidelity" in reason
        if getattr(cls, "needs_fidelity", False):
            (job,) = compose_runs([f"optimizer={name}", "problem=branin"])
            with pytest.raises(UserError, match=rf"^{name} needs a problem with a fidelity; "
                                                r"`branin` has none\. Pick .*learning_curve"):
                validate(job)
        return True
    assert not getattr(cls, "needs_fidelity", False), "needs_fidelity but built without one"
    return False


def _rows(result) -> list[tuple]:
    cols = {k: v for k, v in result.columns.items() if k not in TIMING}
    return list(zip(*cols.values(), strict=True))


def _check_rows(result, space, partial: bool = False) -> None:
    cols = result.columns
    assert cols["trial"], "the cell recorded no report"
    assert set(cols["status"]) <= {"running", "completed", "paused", "pruned", "failed"}
    for config in trial_configs(result):
        if partial:  # a grid of listed values leaves the other parameters to the model
            assert all(space[k].contains(v) for k, v in config.items())
        else:
            space.validate(config)  # inside the space, conditions respected


@pytest.mark.parametrize("name", CASES)
def test_single_fidelity_cell(name):
    bound = _bound_problem(name)
    cfg = _compose(name, bound or "branin")
    if _refuses_single_fidelity(name, cfg):
        return
    space = build_problem(cfg["problem"]).space
    n_trials = 2 if bound else 8  # problem-bound confs run on real (slower) problems
    first = run_cell(_spec(cfg, name, 0, Budget(trials=n_trials)))
    _check_rows(first, space, partial=bound is not None)
    assert _rows(run_cell(_spec(cfg, name, 0, Budget(trials=n_trials)))) == _rows(first)
    other = run_cell(_spec(cfg, name, 1, Budget(trials=n_trials)))
    if name not in SEED_FREE:
        assert trial_configs(other) != trial_configs(first)


@pytest.mark.parametrize("name", CASES)
def test_fidelity_cell_with_three_workers(name):
    _skip_if_bound(name)
    cfg = _compose(name, "learning_curve", "problem.max_iterations=9")
    space = build_problem(cfg["problem"]).space
    for workers in (1, 3):
        result = run_cell(_spec(cfg, name, 0, Budget(units=60), workers=workers))
        _check_rows(result, space)
        assert sum(result.columns["units"]) == result.columns["cum_units"][-1]
        if result.info["deterministic"]:  # real parallel execution (Ray Tune) says it is not
            assert _rows(run_cell(_spec(cfg, name, 0, Budget(units=60), workers))) == _rows(result)
        else:
            assert workers > 1, "only real parallel runs may be non-deterministic"


@pytest.mark.parametrize("name", CASES)
def test_conditional_space_uneven_costs_out_of_order(name):
    _skip_if_bound(name)
    cfg = _compose(name, "learning_curve")["optimizer"]
    problem = UnevenCurveProblem()
    reason = _refusal(cfg, problem)
    if reason is not None:  # e.g. a grid sampler that cannot grid conditions
        assert "conditional" in reason
        return
    result = run_problem(problem, cfg, seed=2, n_trials=10, workers=3)
    _check_rows(result, problem.space)


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=[*_marks(name), *([pytest.mark.slow] if name in SLOW_TO_FAIL else [])],
                 id=name) for name in NAMES])
def test_failing_trials_are_survived(name):
    _skip_if_bound(name)
    cfg = _compose(name, "branin")["optimizer"]
    problem = FlakyProblem()
    reason = _refusal(cfg, problem)
    if reason is not None:  # needs a fidelity, or cannot handle conditions
        assert "fidelity" in reason or "conditional" in reason
        return
    result = run_problem(problem, cfg, seed=0, n_trials=20)
    _check_rows(result, problem.space)
    statuses = result.columns["status"]
    errors = [e for e in result.columns["error"] if e]
    assert "failed" in statuses, "seed 0 draws failing configurations for every optimizer"
    assert any("diverged" in e or "NaN" in e for e in errors)
    values = [v for v, s in zip(result.columns["value"], statuses, strict=True) if s != "failed"]
    assert all(math.isfinite(v) for v in values)
    assert len(set(result.columns["trial"])) == 20 or result.info["stop_reason"] != "trials"
