"""Random search: independent draws from the space's priors (Bergstra & Bengio, 2012)."""

from __future__ import annotations

import numpy as np

from optimizers.base import Job, JobKind, Optimizer, Status
from problems.base import Direction, Fidelity
from problems.params import integer
from problems.space import SearchSpace

__all__ = ["RandomSearchOptimizer"]


class RandomSearchOptimizer(Optimizer):
    """Uniform / log-uniform / categorical sampling, honouring conditions.

    Every trial trains to the maximum fidelity (or `fidelity_step`, when given). Stops
    by itself after `n_trials` trials when that is set; otherwise the budget ends it.
    """

    def __init__(
        self,
        space: SearchSpace,
        fidelity: Fidelity | None,
        direction: Direction,
        seed: int,
        n_trials: int | None = None,
        fidelity_step: int | None = None,
    ) -> None:
        super().__init__(space, fidelity, direction, seed)
        integer(1, null=True).check("n_trials", n_trials)
        if fidelity_step is not None:
            if fidelity is None:
                raise ValueError(
                    "`fidelity_step` needs a problem with a fidelity; this one has none."
                )
            in_range = isinstance(fidelity_step, int) and (
                fidelity.min <= fidelity_step <= fidelity.max
            )
            if not in_range:
                raise ValueError(
                    f"`fidelity_step` must be an int in [{fidelity.min}, {fidelity.max}], "
                    f"got {fidelity_step!r}."
                )
        self.n_trials = n_trials
        self.target = fidelity_step if fidelity_step is not None else self.max_step
        self._rng = np.random.default_rng(seed)

    def ask(self) -> Job | None:
        """A new trial with a fresh random configuration."""
        if self.n_trials is not None and self._next_id >= self.n_trials:
            return None
        return Job(JobKind.NEW, self.new_trial_id(), self.space.sample(self._rng), self.target)

    def tell(self, trial: int, status: Status, value: float, step: int) -> None:
        """Random search learns nothing from results."""
        del trial, status, value, step
