"""Ray Tune adapter, driver side: the recording scheduler and the budget stopper.

A thin subclass of the chosen Tune scheduler shows each decision to a :class:`Sink`, which
hands the report and the decision (in the runner's words) to the runner's `record`; the
runner judges and records it and says when the cell's budget is spent.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from optimizers.base import Decision, Optimizer, RecordFn
from optimizers.ray_tune_worker import STEP
from problems.base import Report

__all__ = ["Sink", "budget_stopper", "recording", "scheduler_class"]

#: Ray's decisions in the runner's words (NOOP: PBT holds a trial back; HyperBand pauses).
DECISIONS = {"CONTINUE": Decision.CONTINUE, "PAUSE": Decision.PAUSE, "NOOP": Decision.PAUSE,
             "STOP": Decision.STOP}


class Sink:
    """Hands the scheduler's view of each result to the runner, in order.

    The runner judges each report (status, budget); this class only translates Ray's
    trial ids and decisions into the runner's.
    """

    def __init__(self, adapter: Optimizer, target: int, record: RecordFn) -> None:
        self.adapter, self.target, self.record = adapter, target, record
        self.ids: dict[str, int] = {}  # Ray trial id -> current trial id in our results
        self.clone_of: dict[str, int] = {}  # Ray trial id -> donor, until its next report
        self.exhausted = False

    def on_result(self, ray_trial: str, result: Mapping[str, Any], decision: str) -> str:
        """Record one Tune result; the scheduler's decision, or STOP once the budget is spent."""
        from ray.tune.schedulers import TrialScheduler

        if self.exhausted:
            return TrialScheduler.STOP
        parent = self.clone_of.pop(ray_trial, None)
        if ray_trial not in self.ids or parent is not None:
            self.ids[ray_trial] = self.adapter.new_trial_id()
        trial = self.ids[ray_trial]
        config = json.loads(result["config_key"])  # what the trainable trained
        report = Report(int(result[STEP]), float(result["value"]), int(result["units"]),
                        json.loads(result.get("extra") or "{}"), bool(result["final"]))
        # Ray's schedulers say STOP to every trial that reaches max_t (`stop_last_trials`),
        # where the trainable ends anyway: the end of the trial, not a pruning decision.
        ours = Decision.CONTINUE if report.step >= self.target else DECISIONS[decision]
        if not self.record(trial, parent, config, report, ours, self.target,
                           result.get("error")):
            self.exhausted = True
            return TrialScheduler.STOP
        return decision

    def on_exploit(self, ray_trial: str, donor: str) -> None:
        """PBT made `ray_trial` copy `donor`: its next report starts a new trial id."""
        self.clone_of[ray_trial] = self.ids[donor]


@functools.cache
def recording(cls: type) -> type:
    """Subclass scheduler `cls` so that each decision is shown to the adapter's sink."""

    class Recording(cls):  # type: ignore[misc, valid-type]
        _hpo_sink: Sink | None = None

        def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
            decision = super().on_trial_result(tune_controller, trial, result)
            if self._hpo_sink is None or STEP not in result:
                return decision
            return self._hpo_sink.on_result(trial.trial_id, result, decision)

        def _exploit(self, tune_controller: Any, trial: Any, trial_to_clone: Any) -> None:
            super()._exploit(tune_controller, trial, trial_to_clone)
            if self._hpo_sink is not None:
                self._hpo_sink.on_exploit(trial.trial_id, trial_to_clone.trial_id)

        def __getstate__(self) -> dict:
            # Tune pickles its config into the experiment folder: leave the sink out.
            return {k: v for k, v in self.__dict__.items() if k != "_hpo_sink"}

    Recording.__name__ = Recording.__qualname__ = f"Recording{cls.__name__}"
    return Recording


def scheduler_class(name: str) -> type:
    """The Tune scheduler class of a `scheduler` name."""
    from ray.tune.schedulers import (
        ASHAScheduler,
        FIFOScheduler,
        HyperBandScheduler,
        PopulationBasedTraining,
    )

    return {"fifo": FIFOScheduler, "asha": ASHAScheduler, "hyperband": HyperBandScheduler,
            "pbt": PopulationBasedTraining}[name]


def budget_stopper(sink: Sink) -> Any:
    """Build a Tune Stopper that ends the experiment once the cell's budget is spent."""
    from ray.tune.stopper import NoopStopper, Stopper

    class BudgetStopper(Stopper):
        def __call__(self, trial_id: str, result: dict) -> bool:
            return sink.exhausted

        def stop_all(self) -> bool:
            return sink.exhausted

        def __reduce__(self) -> tuple:
            # Tune pickles its config into the experiment folder: the sink stays here.
            return (NoopStopper, ())

    return BudgetStopper()
