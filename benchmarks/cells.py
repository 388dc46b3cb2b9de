"""A cell as data: what runs it (CellSpec), what it returns (CellResult), what identifies it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from optimizers.budget import Budget

__all__ = ["IDENTITY_KEYS", "CellResult", "CellSpec"]

#: Keys that change a cell's numbers; a complete cell is only reused if these match.
IDENTITY_KEYS = ("problem", "optimizer", "budget", "workers", "trial_timeout")


@dataclass(frozen=True)
class CellSpec:
    """Everything needed to run one cell, picklable for process pools and Ray tasks."""

    study: str
    problem: str
    optimizer: str
    seed: int
    problem_conf: Mapping[str, Any]
    optimizer_conf: Mapping[str, Any]
    budget: Budget
    workers: int = 1
    trial_timeout: float | None = None
    #: The resolved configuration of the cell, recorded in the file metadata.
    config: Mapping[str, Any] = field(default_factory=dict)
    #: MiB of memory for paused trials (beyond it they are rebuilt exactly); None: no
    #: limit. Not part of the identity: rows do not depend on it.
    paused_memory: float | None = 512.0
    #: The cell's journal (resume after a kill, and the lock), or None: no journal.
    journal: str | None = None


@dataclass
class CellResult:
    """Columns of the cell's reports (schema version 1) and facts for the metadata."""

    spec: CellSpec
    columns: dict[str, list]
    info: dict[str, Any]
