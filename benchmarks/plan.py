"""Plan a study's cells: which to run, which are already complete (same identity) and skipped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from benchmarks.cells import CellSpec, cell_identity
from benchmarks.compose import ComposedRun
from benchmarks.journal import cell_is_locked, check_journal, journal_path
from benchmarks.recorder import cell_path, read_cell_metadata
from optimizers.budget import Budget
from problems.errors import UserError

__all__ = ["plan_cells"]


def plan_cells(
    runs: Sequence[ComposedRun],
) -> tuple[list[tuple[CellSpec, Path]], list[Path]]:
    """Split the runs' cells into (to run, already complete). Raises UserError when a
    complete cell was produced by a different configuration, or two runs map to one file.
    """
    todo: list[tuple[CellSpec, Path]] = []
    done: list[Path] = []
    seen: dict[Path, dict] = {}
    for run in runs:
        cfg = run.cfg
        resolved = OmegaConf.to_container(cfg, resolve=True)
        fixed = cell_identity(resolved)
        budget = Budget(**{k: cfg.budget.get(k)
                           for k in ("trials", "units", "seconds", "virtual_time")})
        # a journal needs this machine's file system (Ray tasks may run elsewhere)
        journals = cfg.executor.get("kind") != "ray"
        paused_memory = cfg.get("paused_memory", 512)
        for seed in cfg.seeds:
            path = cell_path(Path(cfg.results_dir), cfg.study, run.problem, run.optimizer, seed)
            if path in seen:
                if seen[path] != fixed:
                    raise UserError(
                        f"two runs write {path} with different settings; give them different "
                        "`study` names or optimizer/problem files."
                    )
                continue
            seen[path] = fixed
            journal = journal_path(path)
            if path.exists():
                _check_same(path, fixed)
                done.append(path)
                if journal.exists() and not cell_is_locked(journal):
                    journal.unlink(missing_ok=True)  # left by a run killed after writing
                continue
            if journals:
                check_journal(journal, fixed, int(seed))
            spec = CellSpec(
                study=cfg.study,
                problem=run.problem,
                optimizer=run.optimizer,
                seed=int(seed),
                problem_conf=fixed["problem"],
                optimizer_conf=fixed["optimizer"],
                budget=budget,
                workers=int(cfg.workers),
                trial_timeout=cfg.trial_timeout,
                config={**resolved, "seed": int(seed)},
                paused_memory=None if paused_memory is None else float(paused_memory),
                journal=str(journal) if journals else None,
                clock=str(cfg.get("clock", "units")),
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
