"""What a cell may spend: the budget the runner enforces and self-driven optimizers honour."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Budget"]


@dataclass(frozen=True)
class Budget:
    """What a cell may spend; it stops at whichever limit comes first (None: no limit).

    `trials` counts trials created (new and cloned), `units` compute units reported,
    `seconds` wall-clock seconds since the cell started, `virtual_time` the simulated
    workers' clock (in the cell's clock unit: compute units or recorded seconds): an event
    later than it is not delivered (that job was still running at the deadline).
    """

    trials: int | None = None
    units: int | None = None
    seconds: float | None = None
    virtual_time: float | None = None
