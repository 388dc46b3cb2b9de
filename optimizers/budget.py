"""What a cell may spend: the budget the runner enforces and self-driven optimizers honour."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Budget"]


@dataclass(frozen=True)
class Budget:
    """What a cell may spend; it stops at whichever limit comes first (None: no limit).

    `trials` counts trials created (new and cloned), `units` compute units reported,
    `seconds` wall-clock seconds since the cell started.
    """

    trials: int | None = None
    units: int | None = None
    seconds: float | None = None
