"""Synchronous successive halving (Jamieson & Talwalkar, AISTATS 2016)."""

from __future__ import annotations

from optimizers._rungs import (
    SynchronousBracketsOptimizer,
    check_count,
    check_fidelity_bounds,
    check_reduction_factor,
    halving_rungs,
    n_halvings,
)
from problems.base import Direction, Fidelity
from problems.space import SearchSpace

__all__ = ["SuccessiveHalvingOptimizer"]


class SuccessiveHalvingOptimizer(SynchronousBracketsOptimizer):
    """Synchronous successive halving with continuation or restarts.

    Jamieson & Talwalkar, AISTATS 2016. `n_configs` random configurations start at the
    lowest rung, the best 1/η of each rung promoted to the next, rungs ``max·η^(i-s)``
    for i = 0..s with
    s = ⌊log_η(max_fidelity / min_fidelity)⌋ (anchored at the maximum, as in Hyperband's
    most aggressive bracket). With 81 configurations on fidelity 1..81 and η = 3 the rungs
    hold 81/27/9/3/1 configurations at steps 1/3/9/27/81.

    Rungs are synchronous: ask returns None until every job of a rung has been told. With
    `resume` a promoted trial continues from its step (continuation); without, it is
    retrained from scratch as a new trial whose `parent_trial` is the earlier one.

    Args:
        min_fidelity: the lowest rung (null: the problem's minimum).
        max_fidelity: the highest rung (null: the problem's maximum).
        reduction_factor: η, keep the best 1/η of each rung.
        n_configs: configurations in the first rung (null: η^s, so exactly one reaches the
            top rung).
        resume: continue promoted trials (true) or retrain them from scratch (false).
        n_repeats: how many brackets to run one after another (null: until the budget ends).

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
        n_configs: int | None = None,
        resume: bool = True,
        n_repeats: int | None = None,
    ) -> None:
        super().__init__(space, fidelity, direction, seed, resume, n_repeats)
        self.eta = check_reduction_factor(reduction_factor)
        self.min_fidelity, self.max_fidelity = check_fidelity_bounds(
            fidelity, min_fidelity, max_fidelity
        )
        s = n_halvings(self.min_fidelity, self.max_fidelity, self.eta)
        self.n_configs = check_count("n_configs", n_configs) or self.eta**s
        self.rungs = halving_rungs(self.n_configs, self.max_fidelity / self.eta**s, s,
                                   self.eta, self.min_fidelity, self.max_fidelity)

    def _schedules(self) -> list[list[tuple[int, int]]]:
        return [self.rungs]
