"""A cell as data: what runs it (CellSpec), what it returns (CellResult), what identifies it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from optimizers.budget import Budget

__all__ = ["CLOCKS", "IDENTITY_KEYS", "NON_IDENTITY_OPTIMIZER_KEYS", "CellResult", "CellSpec",
           "cell_identity"]

#: Keys that change a cell's numbers; a complete cell is only reused if these match.
IDENTITY_KEYS = ("problem", "optimizer", "budget", "workers", "trial_timeout")
#: Optimizer conf keys that describe the optimizer without changing its numbers: left out
#: of the identity (and of the constructor), so tagging a conf keeps stored cells valid.
NON_IDENTITY_OPTIMIZER_KEYS = ("tags",)
#: What the simulated workers' clock counts: compute units (the default) or the seconds
#: each report cost as the problem recorded them (table and surrogate problems).
CLOCKS = ("units", "seconds")
#: Settings added after cells were stored, with the default that reproduces those cells: a
#: setting joins the identity only when it differs from it, so stored cells stay valid.
_DEFAULTED = {"clock": "units"}
_DEFAULTED_BUDGET = {"virtual_time": None}


def cell_identity(resolved: Mapping[str, Any]) -> dict[str, Any]:
    """The identity part of a resolved config: IDENTITY_KEYS, optimizer tags left out, and
    settings added later (`clock`, `budget.virtual_time`) only when not at their default.
    """
    out = {key: resolved.get(key) for key in IDENTITY_KEYS}
    if isinstance(out["budget"], Mapping):
        out["budget"] = {k: v for k, v in out["budget"].items()
                         if k not in _DEFAULTED_BUDGET or v != _DEFAULTED_BUDGET[k]}
    for key, default in _DEFAULTED.items():
        if resolved.get(key, default) != default:
            out[key] = resolved[key]
    if isinstance(out["optimizer"], Mapping):
        out["optimizer"] = {k: v for k, v in out["optimizer"].items()
                            if k not in NON_IDENTITY_OPTIMIZER_KEYS}
    return out


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
    #: What the virtual clock counts: "units" or "seconds" (see CLOCKS).
    clock: str = "units"


@dataclass
class CellResult:
    """Columns of the cell's reports (schema version 1) and facts for the metadata."""

    spec: CellSpec
    columns: dict[str, list]
    info: dict[str, Any]
