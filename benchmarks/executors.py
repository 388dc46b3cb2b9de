"""Executors: where cells run. Results always come back to the driver, which writes them.

`local` runs cells in this process (n_jobs=1) or in a pool of `n_jobs` spawned processes;
each cell is deterministic, so the rows do not depend on where or in which order it ran.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import functools
import importlib.metadata
import logging
import multiprocessing
import platform
import socket
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.cells import CellResult, CellSpec, cell_identity
from benchmarks.journal import CellTakenError, cell_is_locked, journal_path
from benchmarks.recorder import write_cell
from benchmarks.runner import run_cell
from benchmarks.schema import SCHEMA_VERSION
from problems.errors import describe_error

__all__ = ["CellFailure", "CellTaken", "execute_cell", "run_local", "write_result"]

log = logging.getLogger(__name__)

LIBRARIES = (
    "numpy", "scipy", "scikit-learn", "optuna", "cmaes", "greenlet", "hyperopt", "ray",
    "lightgbm", "torch", "pandas", "pyarrow", "hydra-core", "omegaconf", "smac", "ConfigSpace",
)


@dataclass(frozen=True)
class CellFailure:
    """A cell that raised (an optimizer or problem bug, not a failing trial)."""

    spec: CellSpec
    error: str

    @classmethod
    def of(cls, spec: CellSpec, err: BaseException) -> CellFailure:
        """Describe `err` in one line (its last frame and message)."""
        frames = traceback.extract_tb(err.__traceback__)
        where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        return cls(spec, describe_error(err, where))


@dataclass(frozen=True)
class CellTaken:
    """A cell another live process is running (or has just written): left to it."""

    spec: CellSpec
    reason: str


def execute_cell(spec: CellSpec, on_report: Callable[[], None] | None = None) -> CellResult:
    """Run one cell and attach where and when it ran (for the file metadata)."""
    started = _now()
    result = run_cell(spec, on_report)
    result.info.update(
        started=started,
        finished=_now(),
        host=socket.gethostname(),
        python=platform.python_version(),
        platform=platform.platform(),
        versions=library_versions(),
    )
    return result


def run_local(
    cells: Sequence[CellSpec],
    n_jobs: int,
    on_report: Callable[[], None] | None = None,
) -> Iterator[CellResult | CellFailure]:
    """Yield each cell's result (or failure) as it completes (in order when n_jobs=1)."""
    if n_jobs <= 1 or len(cells) <= 1:
        for spec in cells:
            try:
                yield execute_cell(spec, on_report)
            except CellTakenError as err:
                yield CellTaken(spec, str(err))
            except Exception as err:  # one broken cell must not lose the others
                log.debug("cell failed", exc_info=True)
                yield CellFailure.of(spec, err)
        return
    # Spawned (not forked) workers: forking after torch/LightGBM threads started can hang.
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=min(n_jobs, len(cells)), mp_context=context) as pool:
        futures = {pool.submit(execute_cell, spec): spec for spec in cells}
        try:
            for future in cf.as_completed(futures):
                err = future.exception()
                if isinstance(err, CellTakenError):
                    yield CellTaken(futures[future], str(err))
                    continue
                yield future.result() if err is None else CellFailure.of(futures[future], err)
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def write_result(result: CellResult, path: Path) -> bool:
    """Write a finished cell with its metadata (atomically; never overwrites).

    Returns False when another run of the same study wrote the cell first (see `write_cell`).
    """
    config = result.spec.config
    metadata = {
        "schema_version": SCHEMA_VERSION,
        "cell_config": cell_identity(config),
        "config": config,
        "study": result.spec.study,
        "problem": result.spec.problem,
        "optimizer": result.spec.optimizer,
        "seed": result.spec.seed,
        "git_commit": git_commit(),
        **result.info,
    }
    written = write_cell(path, result.columns, metadata)
    # The cell is complete: its journal has nothing left to resume. Checked after the file is
    # written: a process that took the cell's lock meanwhile sees that file and leaves the
    # cell, but holds the journal open until then, so only an unlocked journal is removed.
    journal = journal_path(path)
    if not cell_is_locked(journal):
        journal.unlink(missing_ok=True)
    return written


@functools.cache
def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that can change results."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["python"] = sys.version.split()[0]
    return out


@functools.cache
def git_commit() -> str | None:
    """The project's git commit, with '-dirty' when the work tree has changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
