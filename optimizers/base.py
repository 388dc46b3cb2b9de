"""The Optimizer contract: an HPO algorithm behind ask / report / tell.

The runner owns the loop. It calls :meth:`Optimizer.ask` whenever a (simulated) worker is
free, runs the returned :class:`Job` on the problem, passes each intermediate report to
:meth:`Optimizer.report` (which may continue, stop or pause the trial), and closes the job
with :meth:`Optimizer.tell`. Optimizers never loop, time, print or track the incumbent.

Values passed to `report` and `tell` are in the problem's `direction`; use
:meth:`Optimizer.loss` for a value to minimize. Each optimizer owns its random generators,
seeded from the cell seed: no global RNG is read or written.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from optimizers.budget import Budget
from problems.base import Direction, Fidelity, Problem
from problems.params import integer
from problems.space import SearchSpace

__all__ = ["Decision", "Job", "JobKind", "Optimizer", "RecordFn", "Status"]


class JobKind(StrEnum):
    """What a job asks of the runner."""

    NEW = "new"  # create a trial of `config` and train it to `target`
    RESUME = "resume"  # continue the paused trial `trial` to a higher `target` (promotion)
    CLONE = "clone"  # copy the state of trial `parent` into a new trial with `config`


class Decision(StrEnum):
    """An optimizer's answer to an intermediate report."""

    CONTINUE = "continue"
    STOP = "stop"  # prune: the trial is abandoned
    PAUSE = "pause"  # stop now; the trial may be resumed by a later job


class Status(StrEnum):
    """How a report or a job ended, as recorded in the results."""

    RUNNING = "running"  # an intermediate report; the job went on
    COMPLETED = "completed"  # the job reached its target
    PAUSED = "paused"  # the optimizer paused the trial before its target
    PRUNED = "pruned"  # the optimizer stopped the trial
    FAILED = "failed"  # exception, NaN or timeout


@dataclass(frozen=True)
class Job:
    """A unit of work handed to the runner.

    Attributes:
        kind: new trial, resume of a paused trial, or clone of another trial's state.
        trial: id of the trial the job trains (new ids come from ``Optimizer.new_trial_id``).
        config: the hyperparameters to train with.
        target: fidelity step to train up to; None means the problem's maximum.
        parent: for CLONE jobs, the trial whose state is copied; for NEW jobs, optionally
            the trial this one restarts from scratch (recorded as lineage only).

    """

    kind: JobKind
    trial: int
    config: Mapping[str, Any]
    target: int | None = None
    parent: int | None = None


#: record(trial, parent, config, report, decision, target, error=None) -> bool, for
#: self-driven optimizers: the runner judges and records the report (its status follows the
#: runner's one rule) and returns False once the cell's budget is spent.
RecordFn = Callable[..., bool]


class Optimizer(ABC):
    """Base class of every optimizer, native or adapter.

    Args:
        space: the problem's search space.
        fidelity: the problem's fidelity axis, or None for single-fidelity problems.
        direction: "minimize" or "maximize".
        seed: the cell seed; library samplers are seeded with it unchanged.

    """

    #: Multi-fidelity methods set this; the runner refuses problems without a fidelity.
    needs_fidelity: ClassVar[bool] = False
    #: Whether trials may be resumed or cloned later (the runner then keeps their state).
    keeps_trials: ClassVar[bool] = False
    #: False when results depend on timing (e.g. real parallel execution).
    deterministic: ClassVar[bool] = True
    #: True for optimizers that run their own trial loop (Ray Tune): the runner then calls
    #: :meth:`drive` instead of ask/report/tell.
    drives_own_loop: ClassVar[bool] = False
    #: False for algorithms whose proposals do not depend on the seed (grid search): the
    #: conformance kit then does not expect another seed to propose other trials.
    uses_seed: ClassVar[bool] = True

    def __init__(
        self,
        space: SearchSpace,
        fidelity: Fidelity | None,
        direction: Direction,
        seed: int,
    ) -> None:
        if direction not in ("minimize", "maximize"):
            raise ValueError(
                f"`direction` must be 'minimize' or 'maximize', got {direction!r}."
            )
        integer(0, allowed="a non-negative int").check("seed", seed)
        if self.needs_fidelity and fidelity is None:
            raise ValueError(
                f"{type(self).__name__} needs a problem with a fidelity; this one has none."
            )
        self.space = space
        self.fidelity = fidelity
        self.direction = direction
        self.seed = int(seed)
        self._next_id = 0

    # -- the three calls of the runner ---------------------------------------------------
    @abstractmethod
    def ask(self) -> Job | None:
        """The next job, or None when nothing can start until a running job ends.

        None while no job is running means the optimizer is done.
        """

    def report(self, trial: int, step: int, value: float) -> Decision:
        """An intermediate report of a running job; by default every job runs on."""
        return Decision.CONTINUE

    @abstractmethod
    def tell(self, trial: int, status: Status, value: float, step: int) -> None:
        """Close the job of `trial`: `status` completed, paused, pruned or failed; `value`
        is its last value (NaN when failed) at fidelity `step`.
        """

    def drive(self, problem: Problem, budget: Budget, workers: int, record: RecordFn) -> None:
        """Run the whole cell in the optimizer's own loop (only if `drives_own_loop`).

        Args:
            problem: the Problem; trials come from ``problem.trial(config, self.seed)``.
            budget: the runner's Budget (trials, units, seconds); honour what applies.
            workers: how many trials may run at once.
            record: call ``record(trial, parent, config, report, decision, target,
                error=None)`` for every report, in the order they happen (`decision`: the
                optimizer's decision on it; `target`: the step the trial trains to; `error`:
                why it failed). The runner decides the status, keeps the incumbent,
                cumulative units and clocks, and returns False once the budget is spent:
                stop then.

        """
        raise NotImplementedError(f"{type(self).__name__} does not drive its own loop.")

    def close(self) -> None:
        """Release resources (library studies, actors) at the end of the cell."""

    # -- helpers for subclasses ----------------------------------------------------------
    def new_trial_id(self) -> int:
        """A fresh trial id, counting from 0 in the order trials are created."""
        tid = self._next_id
        self._next_id += 1
        return tid

    def loss(self, value: float) -> float:
        """The value to minimize; NaN (failed) becomes +inf so it is never preferred."""
        if value is None or math.isnan(value):
            return math.inf
        return float(value) if self.direction == "minimize" else -float(value)

    @property
    def max_step(self) -> int | None:
        """The problem's maximum fidelity step (None for single-fidelity problems)."""
        return None if self.fidelity is None else self.fidelity.max
