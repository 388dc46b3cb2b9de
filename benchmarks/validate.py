"""Validate composed runs before any compute: everything a user can get wrong is checked here.

A :class:`UserError` carries one sentence naming the key, the value received and what is
allowed; the CLI prints it and exits with code 2, and nothing is written.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from benchmarks.building import build_optimizer, build_problem, check_arguments, target_class
from benchmarks.cells import CLOCKS
from benchmarks.compose import ComposedRun, group_options
from problems import loading
from problems.errors import UserError
from problems.params import integer, list_of, number

__all__ = ["prepare_results_dirs", "validate"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _check_count(key: str, value: Any, allow_null: bool = True) -> None:
    allowed = "a positive int or null" if allow_null else "a positive int"
    integer(1, null=allow_null, allowed=allowed).check(key, value, UserError, ";")


def validate(run: ComposedRun) -> None:
    """Raise UserError for anything wrong with a composed run; build nothing heavy twice."""
    cfg = run.cfg
    study = cfg.get("study")
    if not isinstance(study, str) or not _NAME.match(study):
        raise UserError(
            f"`study` must be a folder name of letters, digits, '.', '_' or '-'; got {study!r}."
        )
    seeds = OmegaConf.to_container(cfg.seeds) if OmegaConf.is_list(cfg.seeds) else cfg.seeds
    list_of(integer(0), "a non-empty list of distinct non-negative ints such as [0,1,2]",
            distinct=True).check("seeds", seeds, UserError, ";")
    budget = cfg.budget
    for key in ("trials", "units"):
        _check_count(f"budget.{key}", budget.get(key))
    number(0, low_open=True, finite=True, null=True, allowed="a positive number or null").check(
        "budget.seconds", budget.get("seconds"), UserError, ";")
    number(0, low_open=True, finite=True, null=True, allowed="a positive number or null").check(
        "budget.virtual_time", budget.get("virtual_time"), UserError, ";")
    if all(budget.get(k) is None for k in ("trials", "units", "seconds", "virtual_time")):
        raise UserError(
            "`budget` has no limit: set at least one of budget.trials, budget.units, "
            "budget.seconds or budget.virtual_time."
        )
    clock = cfg.get("clock", "units")
    if clock not in CLOCKS:
        raise UserError(f"`clock` must be one of {', '.join(CLOCKS)}; got {clock!r}.")
    _check_count("workers", cfg.get("workers"), allow_null=False)
    _check_count("n_jobs", cfg.get("n_jobs"), allow_null=False)
    number(0, low_open=True, null=True, allowed="a positive number of seconds or null").check(
        "trial_timeout", cfg.get("trial_timeout"), UserError, ";")
    number(0, finite=True, null=True, allowed="a number of MiB >= 0 or null").check(
        "paused_memory", cfg.get("paused_memory"), UserError, ";")
    _check_results_dir(cfg.get("results_dir"))
    if cfg.executor.get("kind") == "ray":
        from benchmarks.ray_executor import check_executor

        check_executor(OmegaConf.to_container(cfg.executor, resolve=True))

    problem_conf = OmegaConf.to_container(cfg.problem, resolve=True)
    optimizer_conf = OmegaConf.to_container(cfg.optimizer, resolve=True)
    try:
        check_arguments(target_class(problem_conf, "problem"), problem_conf, "problem")
        problem = build_problem(problem_conf)
    except (ValueError, TypeError) as err:
        raise UserError(f"problem `{run.problem}`: {err}") from None
    if clock == "seconds" and "seconds" not in problem.metric_names:
        timed = [p for p in group_options("problem") if _records_seconds(p)]
        raise UserError(
            f"`clock` seconds needs a problem that records each report's cost in seconds; "
            f"`{run.problem}` does not. Use clock=units or pick {', '.join(timed)}."
        )
    bound = optimizer_conf.get("for_problem")
    if bound is not None and bound != run.problem:
        raise UserError(
            f"optimizer `{run.optimizer}` is made for problem `{bound}` (it names its "
            f"parameters); got problem `{run.problem}`. Use problem={bound} or optimizer=grid."
        )
    try:
        opt_cls = target_class(optimizer_conf, "optimizer")
    except ValueError as err:
        raise UserError(f"optimizer `{run.optimizer}`: {err}") from None
    if getattr(opt_cls, "needs_fidelity", False) and problem.fidelity is None:
        with_fidelity = [p for p in group_options("problem") if _has_fidelity(p)]
        raise UserError(
            f"{run.optimizer} needs a problem with a fidelity; `{run.problem}` has none. "
            f"Pick {', '.join(with_fidelity)}."
        )
    try:
        optimizer = build_optimizer(optimizer_conf, problem, seeds[0])
        optimizer.close()
    except (ValueError, TypeError) as err:
        raise UserError(f"optimizer `{run.optimizer}`: {err}") from None
    if getattr(optimizer, "changes_hyperparameters", False) and getattr(
            problem, "is_table", False):
        raise UserError(
            f"optimizer `{run.optimizer}` changes trials' hyperparameters mid-training, which "
            f"table problem `{run.problem}` cannot answer (it holds one recorded curve per "
            "configuration); use a real problem or another optimizer."
        )


def _records_seconds(problem_name: str) -> bool:
    try:
        return "seconds" in build_problem(loading.problem_conf(problem_name)).metric_names
    except Exception:  # a broken conf is reported when it is selected, not here
        return False


def _has_fidelity(problem_name: str) -> bool:
    try:
        return build_problem(loading.problem_conf(problem_name)).fidelity is not None
    except Exception:  # a broken conf is reported when it is selected, not here
        return False


def prepare_results_dirs(study_dirs: Sequence[Path]) -> None:
    """Create the study folders and prove they are writable; the last check before compute."""
    for study_dir in study_dirs:
        try:
            study_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=study_dir):
                pass
        except OSError as err:
            raise UserError(
                f"`results_dir` is not writable: cannot create files in {study_dir} "
                f"({err.strerror or err})."
            ) from None


def _check_results_dir(results_dir: Any) -> None:
    if not isinstance(results_dir, str) or not results_dir:
        raise UserError(f"`results_dir` must be a directory path; got {results_dir!r}.")
    path = Path(results_dir).resolve()
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(
            f"`results_dir` {results_dir!r} is not writable: {probe} is a file, not a directory."
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(
            f"`results_dir` {results_dir!r} is not writable (no write access to {probe})."
        )
