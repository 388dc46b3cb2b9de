"""The chapter's multi-fidelity scheme: many cheap evaluations, few expensive ones."""

from __future__ import annotations

from collections.abc import Sequence

from optimizers._rungs import SynchronousBracketsOptimizer, check_count
from problems.base import Direction, Fidelity
from problems.params import list_of, number
from problems.space import SearchSpace

__all__ = ["MultiFidelityOptimizer"]


class MultiFidelityOptimizer(SynchronousBracketsOptimizer):
    """Budget allocation over fixed fidelity levels (the chapter's multi-fidelity scheme).

    The chapter's ``MultiFidelityOptimizer``: a fixed-schedule relative of successive
    halving (Jamieson & Talwalkar, AISTATS 2016).

    Level i trains ``int(shares[i] · n_evaluations)`` configurations to
    ``round(levels[i] · max)`` fidelity steps: random configurations at the lowest level, the
    best of the previous level carried up to each next one. The defaults are the chapter's:
    levels 0.1/0.3/0.5/1.0 of the maximum with 50/30/15/5 % of the evaluations.

    Args:
        levels: increasing fractions of the maximum fidelity, in (0, 1].
        shares: fraction of `n_evaluations` spent at each level (same length, sum <= 1).
        n_evaluations: evaluations of one round over all levels.
        resume: carried-up trials continue training (true) or restart from scratch (false).
        n_repeats: rounds of the whole scheme (null: until the budget ends).

    """

    def __init__(
        self,
        space: SearchSpace,
        fidelity: Fidelity | None,
        direction: Direction,
        seed: int,
        levels: Sequence[float] = (0.1, 0.3, 0.5, 1.0),
        shares: Sequence[float] = (0.5, 0.3, 0.15, 0.05),
        n_evaluations: int = 100,
        resume: bool = True,
        n_repeats: int | None = None,
    ) -> None:
        super().__init__(space, fidelity, direction, seed, resume, n_repeats)
        levels, shares = _floats("levels", levels), _floats("shares", shares)
        if any(not 0 < v <= 1 for v in levels) or any(
            b <= a for a, b in zip(levels, levels[1:], strict=False)
        ):
            raise ValueError(
                f"`levels` must increase strictly within (0, 1], got {list(levels)}."
            )
        if len(shares) != len(levels):
            raise ValueError(
                f"`shares` must have one entry per level ({len(levels)}), got {list(shares)}."
            )
        if any(v <= 0 for v in shares) or sum(shares) > 1 + 1e-9:
            raise ValueError(f"`shares` must be > 0 and sum to at most 1, got {list(shares)}.")
        self.n_evaluations = check_count("n_evaluations", n_evaluations, optional=False)
        counts = [int(share * self.n_evaluations) for share in shares]
        if min(counts) < 1 or any(b > a for a, b in zip(counts, counts[1:], strict=False)):
            raise ValueError(
                f"`n_evaluations` = {n_evaluations} gives {counts} evaluations per level; each "
                "level needs at least one and no more than the level below (raise it)."
            )
        fid: Fidelity = fidelity  # type: ignore[assignment]
        steps = [min(max(round(v * fid.max), fid.min), fid.max) for v in levels]
        self.levels, self.shares = levels, shares
        self.rungs = list(zip(counts, steps, strict=True))

    def _schedules(self) -> list[list[tuple[int, int]]]:
        return [self.rungs]


def _floats(name: str, values: Sequence[float]) -> tuple[float, ...]:
    list_of(number(finite=True), "a non-empty list of numbers", error=TypeError).check(
        name, values)
    return tuple(float(v) for v in values)
