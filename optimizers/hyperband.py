"""Hyperband: successive halving over brackets of differing aggressiveness (Li et al. 2018)."""

from __future__ import annotations

from optimizers._rungs import (
    SynchronousBracketsOptimizer,
    check_fidelity_bounds,
    check_reduction_factor,
    halving_rungs,
    n_halvings,
)
from problems.base import Direction, Fidelity
from problems.space import SearchSpace

__all__ = ["HyperbandOptimizer"]


class HyperbandOptimizer(SynchronousBracketsOptimizer):
    """Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, JMLR 18(185), 2018).

    With R = max_fidelity / min_fidelity and s_max = ⌊log_η R⌋, bracket s = s_max … 0 runs
    successive halving on n = ⌈(s_max+1)/(s+1) · η^s⌉ random configurations starting at
    r = max_fidelity · η^(-s); rung i keeps ⌊n·η^(-i)⌋ configurations at r·η^i. For
    R = 81, η = 3 this is the paper's table: s=4: 81@1, 27@3, 9@9, 3@27, 1@81;
    s=3: 34@3, 11@9, 3@27, 1@81; s=2: 15@9, 5@27, 1@81; s=1: 8@27, 2@81; s=0: 5@81.

    Brackets run one after another and each waits at its rung boundaries, as in the paper;
    a finished round of brackets starts again (new configurations) unless `n_repeats` caps it.

    Args:
        min_fidelity: the smallest resource r_min (null: the problem's minimum).
        max_fidelity: the maximum resource R·r_min (null: the problem's maximum).
        reduction_factor: η.
        resume: continue promoted trials (true) or retrain them from scratch (false).
        n_repeats: rounds of all brackets (null: until the budget ends).

    """

    def __init__(
        self,
        space: SearchSpace,
        fidelity: Fidelity | None,
        direction: Direction,
        seed: int,
        min_fidelity: int | None = None,
        max_fidelity: int | None = None,
        reduction_factor: int = 3,
        resume: bool = True,
        n_repeats: int | None = None,
    ) -> None:
        super().__init__(space, fidelity, direction, seed, resume, n_repeats)
        self.eta = check_reduction_factor(reduction_factor)
        self.min_fidelity, self.max_fidelity = check_fidelity_bounds(
            fidelity, min_fidelity, max_fidelity  # type: ignore[arg-type]
        )
        eta, s_max = self.eta, n_halvings(self.min_fidelity, self.max_fidelity, self.eta)
        self.brackets = []
        for s in range(s_max, -1, -1):
            # Integer form of ⌈(s_max+1)/(s+1) · η^s⌉, free of floating-point rounding.
            n = -(-((s_max + 1) * eta**s) // (s + 1))
            r = self.max_fidelity / eta**s
            self.brackets.append(
                halving_rungs(n, r, s, eta, self.min_fidelity, self.max_fidelity)
            )

    def _schedules(self) -> list[list[tuple[int, int]]]:
        return self.brackets
