"""Asynchronous successive halving (Li et al., MLSys 2020)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from optimizers._rungs import (
    OrderedRung,
    check_count,
    check_fidelity_bounds,
    check_flag,
    check_reduction_factor,
    geometric_rungs,
)
from optimizers.base import Job, JobKind, Optimizer, Status
from problems.base import Direction, Fidelity
from problems.space import SearchSpace

__all__ = ["ASHAOptimizer"]


class ASHAOptimizer(Optimizer):
    """Asynchronous successive halving with promotions.

    ASHA (Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur, Hardt, Recht & Talwalkar,
    "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020), Algorithm 2.

    Rungs sit at ``grace_period · η^k`` below `max_fidelity`, and `max_fidelity` is the top
    rung. Whenever a worker is free (each ask), the highest rung k with a configuration in
    its top ⌊|rung k| / η⌋ that has not been promoted yet promotes it to rung k+1;
    otherwise a new random configuration starts at the lowest rung. So every promotion
    comes from the current top 1/η of its rung, and no worker waits for a rung to fill.
    As in the paper, a configuration that enters the top after others were promoted is
    promoted too, so over time a rung may send on slightly more than ⌊|rung| / η⌋
    configurations (exactly that many when results arrive best first).

    Promotions continue the paused trial (`resume: true`, continuation) or train a new trial
    of the same configuration from scratch (`resume: false`; `parent_trial` names the
    earlier one). Failed trials count in their rung (so they do not slow promotions of
    others) but are never promoted.

    Args:
        grace_period: the lowest rung, r in the paper (null: the problem's minimum).
        max_fidelity: the top rung, R (null: the problem's maximum).
        reduction_factor: η.
        n_configs: stop starting new configurations after this many (null: never; the
            budget ends the cell). Promotions go on until none is possible.
        resume: continue promoted trials (true) or retrain them from scratch (false).

    """

    needs_fidelity = True
    keeps_trials = True

    def __init__(
        self,
        space: SearchSpace,
        fidelity: Fidelity | None,
        direction: Direction,
        seed: int,
        grace_period: int | None = None,
        max_fidelity: int | None = None,
        reduction_factor: int = 3,
        n_configs: int | None = None,
        resume: bool = True,
    ) -> None:
        super().__init__(space, fidelity, direction, seed)
        self.eta = check_reduction_factor(reduction_factor)
        low, high = check_fidelity_bounds(fidelity, grace_period, max_fidelity)  # type: ignore[arg-type]
        self.grace_period, self.max_fidelity = low, high
        self.n_configs = check_count("n_configs", n_configs)
        self.resume = check_flag("resume", resume)
        self.keeps_trials = self.resume  # restarts never resume: no state to keep
        self.rung_steps = geometric_rungs(low, high, self.eta)
        # Each rung in rank order (see OrderedRung), so a decision never re-sorts a rung.
        # Nothing else is kept per rung entry: in long cells every object held per trial
        # is memory each decision and each garbage collection walks.
        self.rungs = [OrderedRung(self.eta) for _ in self.rung_steps]
        # The rungs that can promote (all but the top), highest first, with the next step.
        self._promoting = [(rung, k + 1, self.rung_steps[k + 1])
                           for k, rung in reversed(list(enumerate(self.rungs[:-1])))]
        self.configs: dict[int, Mapping[str, Any]] = {}  # trial id -> its configuration
        self._running: dict[int, int] = {}  # trial id -> the rung its job aims at
        self._n_started = 0
        self._rng = np.random.default_rng(seed)

    def ask(self) -> Job | None:
        """Promote a configuration if one is due, else start a new one at the lowest rung."""
        for rung, k, target in self._promoting:
            if rung.due is not None:
                earlier = rung.promote()
                config = self.configs[earlier]
                if self.resume:
                    job = Job(JobKind.RESUME, earlier, dict(config), target)
                else:
                    job = Job(JobKind.NEW, self.new_trial_id(), dict(config), target,
                              parent=earlier)
                    self.configs[job.trial] = config
                self._running[job.trial] = k
                return job
        if self.n_configs is not None and self._n_started >= self.n_configs:
            return None
        self._n_started += 1
        config = self.space.sample(self._rng)
        job = Job(JobKind.NEW, self.new_trial_id(), config, self.rung_steps[0])
        self._running[job.trial] = 0
        self.configs[job.trial] = dict(config)  # the job's own may be changed by its user
        return job

    def tell(self, trial: int, status: Status, value: float, step: int) -> None:
        """Enter the trial in the rung its job was aiming at."""
        del step
        loss = math.inf if status is Status.FAILED else self.loss(value)
        self.rungs[self._running.pop(trial)].add(trial, loss)
