"""Compose study configurations with Hydra, validate them, and plan their cells.

Everything a user can get wrong is checked here, before any compute and before anything
is written: a :class:`UserError` carries one sentence naming the key, the value received
and what is allowed; the CLI prints it and exits with code 2.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from benchmarks.building import (
    build_optimizer,
    build_problem,
    check_arguments,
    target_class,
)
from benchmarks.recorder import cell_path, read_cell_metadata
from benchmarks.runner import Budget, CellSpec

__all__ = [
    "CONF_DIR",
    "GROUPS",
    "Job",
    "UserError",
    "compose_jobs",
    "group_options",
    "plan_cells",
]

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
GROUPS = ("problem", "optimizer", "executor", "experiment")
#: Keys that change a cell's numbers; a complete cell is only reused if these match.
CELL_KEYS = ("problem", "optimizer", "budget", "workers", "trial_timeout")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class UserError(Exception):
    """Bad input: shown to the user as one sentence, exit code 2, nothing written."""


@dataclass(frozen=True)
class Job:
    """One composed configuration (one job of a multirun) and its group choices."""

    overrides: tuple[str, ...]
    cfg: DictConfig
    problem: str
    optimizer: str


def group_options(group: str) -> list[str]:
    """The options of a config group: the file names in ``conf/<group>/``."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


# -- composing --------------------------------------------------------------------------
def compose_jobs(overrides: Sequence[str], multirun: bool = False) -> list[Job]:
    """Compose every job the command line asks for (sweeps expand only with -m).

    A config with a non-empty `runs` list (an experiment) expands into one job per run,
    each composed from the run's overrides followed by the command line's.
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
    jobs: list[Job] = []
    for combo in itertools.product(*choices) if choices else [()]:
        base = _compose(list(combo))
        runs = base.cfg.get("runs") or []
        if not runs:
            jobs.append(base)
            continue
        for i, run in enumerate(runs):
            if isinstance(run, str) or not all(isinstance(r, str) for r in run):
                raise UserError(
                    f"`runs[{i}]` must be a list of override strings such as "
                    f"[problem=rf, optimizer=grid], got {OmegaConf.to_container(run)!r}."
                )
            jobs.append(_compose([*run, *combo]))
    return jobs


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


def _compose(overrides: list[str]) -> Job:
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
    return Job(tuple(overrides), cfg, str(problem), str(optimizer))


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


# -- validating -------------------------------------------------------------------------
def _check_count(key: str, value: Any, allow_null: bool = True) -> None:
    if value is None and allow_null:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        allowed = "a positive int or null" if allow_null else "a positive int"
        raise UserError(f"`{key}` must be {allowed}; got {value!r}.")


def validate(job: Job) -> None:
    """Raise UserError for anything wrong with a composed job; build nothing heavy twice."""
    cfg = job.cfg
    study = cfg.get("study")
    if not isinstance(study, str) or not _NAME.match(study):
        raise UserError(
            f"`study` must be a folder name of letters, digits, '.', '_' or '-'; got {study!r}."
        )
    seeds = OmegaConf.to_container(cfg.seeds) if OmegaConf.is_list(cfg.seeds) else cfg.seeds
    if (
        not isinstance(seeds, list)
        or not seeds
        or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds)
        or len(set(seeds)) != len(seeds)
    ):
        raise UserError(
            f"`seeds` must be a non-empty list of distinct non-negative ints such as "
            f"[0,1,2]; got {seeds!r}."
        )
    budget = cfg.budget
    for key in ("trials", "units"):
        _check_count(f"budget.{key}", budget.get(key))
    seconds = budget.get("seconds")
    if seconds is not None and (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not (seconds > 0 and math.isfinite(seconds))
    ):
        raise UserError(f"`budget.seconds` must be a positive number or null; got {seconds!r}.")
    if all(budget.get(k) is None for k in ("trials", "units", "seconds")):
        raise UserError(
            "`budget` has no limit: set at least one of budget.trials, budget.units or "
            "budget.seconds."
        )
    _check_count("workers", cfg.get("workers"), allow_null=False)
    _check_count("n_jobs", cfg.get("n_jobs"), allow_null=False)
    timeout = cfg.get("trial_timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0
    ):
        raise UserError(
            f"`trial_timeout` must be a positive number of seconds or null; got {timeout!r}."
        )
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
        raise UserError(f"problem `{job.problem}`: {err}") from None
    bound = optimizer_conf.get("for_problem")
    if bound is not None and bound != job.problem:
        raise UserError(
            f"optimizer `{job.optimizer}` is made for problem `{bound}` (it names its "
            f"parameters); got problem `{job.problem}`. Use problem={bound} or optimizer=grid."
        )
    try:
        opt_cls = target_class(optimizer_conf, "optimizer")
    except ValueError as err:
        raise UserError(f"optimizer `{job.optimizer}`: {err}") from None
    if getattr(opt_cls, "needs_fidelity", False) and problem.fidelity is None:
        with_fidelity = [p for p in group_options("problem") if _has_fidelity(p)]
        raise UserError(
            f"{job.optimizer} needs a problem with a fidelity; `{job.problem}` has none. "
            f"Pick {', '.join(with_fidelity)}."
        )
    try:
        optimizer = build_optimizer(optimizer_conf, problem, seeds[0])
        optimizer.close()
    except (ValueError, TypeError) as err:
        raise UserError(f"optimizer `{job.optimizer}`: {err}") from None
    if getattr(optimizer, "changes_hyperparameters", False) and getattr(
            problem, "is_table", False):
        raise UserError(
            f"optimizer `{job.optimizer}` changes trials' hyperparameters mid-training, which "
            f"table problem `{job.problem}` cannot answer (it holds one recorded curve per "
            "configuration); use a real problem or another optimizer."
        )


def _has_fidelity(problem_name: str) -> bool:
    conf = OmegaConf.load(CONF_DIR / "problem" / f"{problem_name}.yaml")
    try:
        return build_problem(OmegaConf.to_container(conf.problem)).fidelity is not None
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


# -- planning ---------------------------------------------------------------------------
def plan_cells(jobs: Sequence[Job]) -> tuple[list[tuple[CellSpec, Path]], list[Path]]:
    """Split the jobs' cells into (to run, already complete). Raises UserError when a
    complete cell was produced by a different configuration, or two jobs map to one file.
    """
    todo: list[tuple[CellSpec, Path]] = []
    done: list[Path] = []
    seen: dict[Path, dict] = {}
    for job in jobs:
        cfg = job.cfg
        resolved = OmegaConf.to_container(cfg, resolve=True)
        fixed = {key: resolved.get(key) for key in CELL_KEYS}
        budget = Budget(**{k: cfg.budget.get(k) for k in ("trials", "units", "seconds")})
        for seed in cfg.seeds:
            path = cell_path(Path(cfg.results_dir), cfg.study, job.problem, job.optimizer, seed)
            if path in seen:
                if seen[path] != fixed:
                    raise UserError(
                        f"two runs write {path} with different settings; give them different "
                        "`study` names or optimizer/problem files."
                    )
                continue
            seen[path] = fixed
            if path.exists():
                _check_same(path, fixed)
                done.append(path)
                continue
            spec = CellSpec(
                study=cfg.study,
                problem=job.problem,
                optimizer=job.optimizer,
                seed=int(seed),
                problem_conf=fixed["problem"],
                optimizer_conf=fixed["optimizer"],
                budget=budget,
                workers=int(cfg.workers),
                trial_timeout=cfg.trial_timeout,
                config={**resolved, "seed": int(seed)},
            )
            todo.append((spec, path))
    return todo, done


def _check_same(path: Path, fixed: Mapping[str, Any]) -> None:
    try:
        recorded = read_cell_metadata(path).get("cell_config")
    except Exception as err:
        raise UserError(f"{path} exists but cannot be read ({err}); move it away.") from None
    if recorded != fixed:
        diff = sorted(_diff(recorded or {}, dict(fixed)))
        shown = "; ".join(f"{k}: {a!r} -> {b!r}" for k, a, b in diff[:3])
        raise UserError(
            f"{path} was produced with other settings ({shown}); use another `study` name "
            "or delete that folder to recompute."
        )


def _diff(a: Any, b: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for key in sorted(set(a) | set(b)):
            out.extend(_diff(a.get(key), b.get(key), f"{prefix}{key}."))
        return out
    return [] if a == b else [(prefix.rstrip("."), a, b)]
