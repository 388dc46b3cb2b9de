"""The runner: one cell's loop of ask → train → report → tell, on a virtual clock.

`workers` asynchronous workers are simulated on a virtual clock counted in compute units
(`clock=units`) or in the seconds each report cost as the problem recorded them
(`clock=seconds`: table and surrogate problems): each running job's next report is an event
at (job's clock + that report's cost); events are handled in time order, ties first-in
first-out. Training itself happens locally, one report at a time, so a cell's rows (its
virtual clock included: it never reads host time) depend only on its spec and seed, never
on timing (except for budgets in seconds and per-trial timeouts, which are wall-clock by
nature).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from benchmarks import journal as journaling
from benchmarks.building import build_optimizer, build_problem
from benchmarks.cells import CellResult, CellSpec
from benchmarks.event_queue import EventQueue
from benchmarks.runner_parts import Columns, deadline, error_text, fewer_collections, no_reports
from benchmarks.trial_store import MIB, Recipe, Slot, TrialStore
from optimizers.base import Decision, Job, JobKind, Optimizer, Status
from optimizers.budget import Budget
from problems.base import Problem, Report, config_key

__all__ = ["Budget", "CellResult", "CellSpec", "report_status", "run_cell", "run_problem"]

#: A cell ends after this many jobs in a row failed: failures cost no compute units, so a
#: problem that fails for every configuration would otherwise never exhaust a units budget.
MAX_CONSECUTIVE_FAILURES = 100

_STATUS_TEXT = {status: status.value for status in Status}
NAN_ERROR = "objective is NaN"


def report_status(report: Report, decision: Decision, target: int) -> Status:
    """The one rule for a report's status, for the runner's loop and self-driven optimizers.

    Failed if the objective is NaN; else pruned if the optimizer said stop, even at the
    job's target (raw Optuna records a trial its pruner stops at the last step as pruned,
    and is told so); else completed at the job's target or the trial's final report; else
    paused if the optimizer paused it; else running.
    """
    if math.isnan(report.value):
        return Status.FAILED
    if decision is Decision.STOP:
        return Status.PRUNED
    if report.final or report.step >= target:
        return Status.COMPLETED
    if decision is Decision.PAUSE:
        return Status.PAUSED
    return Status.RUNNING


@dataclass(slots=True)
class _Active:
    """A job in progress on a simulated worker."""

    job: Job
    slot: Slot
    reports: Iterator[Report]
    clock: float  # the job's virtual time after its last scheduled report
    config_json: str
    target: int
    seconds: float = 0.0  # wall seconds this trial has trained, for the timeout
    outcome: Report | BaseException | None = None  # of its pending event (one at a time)


def run_cell(spec: CellSpec, on_report: Callable[[], None] | None = None) -> CellResult:
    """Run one cell to the end of its budget (or until the optimizer is done).

    With `spec.journal` set, the cell runs holding its lock and journaling its reports, and
    resumes from a journal a killed run left; raises CellTakenError when another live
    process holds the cell or has written its file.
    """
    if spec.journal is None:
        return run_problem(spec, build_problem(spec.problem_conf), on_report)
    with journaling.CellLock(spec.journal) as lock:
        if not lock.acquired:
            raise journaling.CellTakenError("another live process is running it")
        if journaling.cell_file_of(spec.journal).exists():
            raise journaling.CellTakenError("another process has just written it")
        return run_problem(spec, build_problem(spec.problem_conf), on_report)


def run_problem(spec: CellSpec, problem: Problem,
                on_report: Callable[[], None] | None = None) -> CellResult:
    """Run a cell on a problem object already built (`spec.problem_conf` is not read).

    For problems that are not conf targets, such as those the tests and benchmarks define.
    Journals to `spec.journal` when set (the caller holds the cell's lock).
    """
    optimizer = build_optimizer(spec.optimizer_conf, problem, spec.seed)
    journal = None
    try:
        if spec.journal is not None:
            journal = journaling.open_journal(spec, optimizer.drives_own_loop)
        loop = _Loop(spec, problem, optimizer, on_report, journal)
        try:
            with fewer_collections():
                return loop.run()
        finally:
            loop.store.close()  # deletes saved trial states
    finally:
        if journal is not None:
            journal.close()
        optimizer.close()


class _Loop:
    def __init__(
        self,
        spec: CellSpec,
        problem: Problem,
        optimizer: Optimizer,
        on_report: Callable[[], None] | None,
        journal: journaling.Journal | None = None,
    ) -> None:
        self.spec, self.problem, self.optimizer = spec, problem, optimizer
        self.on_report = on_report
        self.rows = Columns(spec)
        # jobs by the time of their next outcome: earliest first, ties first in, first out
        self.events = EventQueue()
        # nothing to measure when the optimizer never resumes or clones a trial
        budget = spec.paused_memory if optimizer.keeps_trials else None
        # trials that may be resumed or cloned, within `paused_memory` MiB
        self.store = TrialStore(problem, spec.seed, None if budget is None else int(budget * MIB))
        self.journal = journal
        self.journaled = [] if journal is None else journal.records  # rows a killed run left
        self.pending = journaling.pending_outcomes(self.journaled)  # their outcomes, per trial
        self.parents: dict[int, int | None] = {}
        self.free_workers = spec.workers
        self.clock = 0.0
        self.unit_clock = spec.clock == "units"  # else a report costs its metric `seconds`
        self.n_trials = 0
        self.failures_in_a_row = 0
        self.cum_units = 0
        self.best_loss = math.inf
        self.optimizer_seconds = 0.0
        self.start = time.perf_counter()
        self.stop_reason = ""
        self.max_step = 1 if problem.fidelity is None else problem.fidelity.max

    # -- main loop -------------------------------------------------------------------------
    def run(self) -> CellResult:
        if self.journaled:  # wall time goes on from the killed run's
            self.start -= self.journaled[-1][journaling.WALL]
        if self.optimizer.drives_own_loop:
            self.optimizer.drive(self.problem, self.spec.budget, self.spec.workers,
                                 self._record_external)
            self.stop_reason = self.stop_reason or "optimizer done"
            return self._result()
        budget = self.spec.budget
        late = budget.virtual_time  # an event after it is not delivered: still running then
        asking = True
        while True:
            while asking and self.free_workers > 0:
                if budget.trials is not None and self.n_trials >= budget.trials:
                    asking, self.stop_reason = False, "trials"
                    break
                tick = time.perf_counter()
                job = self.optimizer.ask()
                self.optimizer_seconds += time.perf_counter() - tick
                if job is None:
                    break
                if job.kind is not JobKind.RESUME and budget.trials is not None and (
                    self.n_trials >= budget.trials
                ):
                    asking, self.stop_reason = False, "trials"
                    break
                self._start(job)
            if not self.events:
                self.stop_reason = self.stop_reason or "optimizer done"
                break
            if late is not None and self.events.first_time() > late:
                self.stop_reason = "virtual_time"
                break
            self.clock, active = self.events.pop()
            self._deliver(active, active.outcome)
            if budget.units is not None and self.cum_units >= budget.units:
                self.stop_reason = "units"
                break
            if self.failures_in_a_row >= MAX_CONSECUTIVE_FAILURES:
                self.stop_reason = "failures"
                break
            if budget.seconds is not None and self._elapsed() >= budget.seconds:
                self.stop_reason = "seconds"
                break
        return self._result()

    def _result(self) -> CellResult:
        info = {
            "stop_reason": self.stop_reason,
            "n_trials": self.n_trials,
            "cum_units": self.cum_units,
            "virtual_time": self.clock,
            "wall_time": self._elapsed(),
            "optimizer_time": self.optimizer_seconds,
            "deterministic": bool(self.optimizer.deterministic),
            "dropped_jobs": len(self.events),
            "problem_info": self.problem.describe(),
            **self.store.stats(),
            "resumed_reports": len(self.journaled),
        }
        return CellResult(self.spec, self.rows.data, info)

    # -- jobs -----------------------------------------------------------------------------
    def _start(self, job: Job) -> None:
        target = self.max_step if job.target is None else int(job.target)
        if job.kind is not JobKind.RESUME:
            # a restart (NEW) may name the trial it repeats; a CLONE names its source
            self.parents[job.trial] = job.parent
            self.n_trials += 1
        held = None if job.kind is JobKind.NEW else self._held(
            job.trial if job.kind is JobKind.RESUME else job.parent, job
        )  # an unknown trial is the optimizer's bug: raised, not recorded
        try:
            slot = self._slot_for(job, held)
        except Exception as err:  # e.g. a clone refusing a new model shape: a failed trial
            self.free_workers -= 1
            stand_in = _Active(job, Slot(Recipe(job.config)), no_reports(), self.clock,
                               config_key(job.config), target)
            self._record(stand_in, None, Status.FAILED, error=error_text(err), at_start=True)
            self._close(stand_in, Status.FAILED, math.nan, 0, keep=False)
            return
        if self.optimizer.keeps_trials and job.trial in self.store:
            self.store.take(job.trial)
        reports = self.store.reports(slot, target, self.pending.get(job.trial))
        active = _Active(job, slot, reports, self.clock, config_key(slot.recipe.config), target)
        self.free_workers -= 1
        self._schedule(active)

    def _slot_for(self, job: Job, held: Slot | None) -> Slot:
        """The job's trial: fresh, the paused one, or a clone; only a recipe while the
        journal of a killed run replays it (built when it must train).
        """
        queue = self.pending.get(job.trial)
        if queue and queue[0][0] == journaling.FAILED_START:
            raise journaling.JournaledError(queue.popleft()[1])
        if held is not None and job.kind is JobKind.RESUME and (
                dict(job.config) == held.recipe.config):
            return held
        recipe = Recipe(dict(job.config), None if held is None else held.recipe)
        if queue:
            step, last = (0, None) if held is None else (held.step, held.last_report)
            return Slot(recipe, None, step, last)
        if held is None:
            return self.store.build(recipe, self.problem.trial, job.config, self.spec.seed)
        return self.store.build(recipe, self.store.source(held).clone, job.config)

    def _held(self, trial_id: int | None, job: Job) -> Slot:
        try:
            return self.store.peek(trial_id)  # type: ignore[arg-type]
        except KeyError:
            raise RuntimeError(
                f"{type(self.optimizer).__name__} asked to {job.kind} trial {trial_id}, "
                "which is not paused (set `keeps_trials = True` on the optimizer)."
            ) from None

    def _schedule(self, active: _Active) -> None:
        """Train the job's next report now and file it as an event at its virtual time."""
        outcome: Report | BaseException | None
        try:
            if self.spec.trial_timeout is None:
                outcome = next(active.reports, None)
            else:
                tick = time.perf_counter()
                try:
                    with deadline(self._time_left(active)):
                        outcome = next(active.reports, None)
                finally:
                    active.seconds += time.perf_counter() - tick
        except Exception as err:  # a failing trial is recorded, never fatal
            outcome = err
        if isinstance(outcome, Report):
            active.clock += outcome.units if self.unit_clock else float(
                outcome.metrics["seconds"])
        active.outcome = outcome
        self.events.push(active.clock, active)

    def _deliver(self, active: _Active, outcome: Report | BaseException | None) -> None:
        job = active.job
        if not isinstance(outcome, Report):
            if outcome is None:  # nothing left to train: the trial already reached its target
                last = active.slot.last_report
                value = math.nan if last is None else last.value
                self._close(active, Status.COMPLETED, value, active.slot.step)
            else:
                self._record(active, None, Status.FAILED, error=error_text(outcome))
                self._close(active, Status.FAILED, math.nan, active.slot.step, keep=False)
            return
        self.cum_units += outcome.units
        decision = Decision.CONTINUE
        if not math.isnan(outcome.value):  # a NaN is recorded as failed, never shown
            tick = time.perf_counter()
            decision = self.optimizer.report(job.trial, outcome.step, outcome.value)
            self.optimizer_seconds += time.perf_counter() - tick
        status = report_status(outcome, decision, active.target)
        failed = status is Status.FAILED
        self._record(active, outcome, status, error=NAN_ERROR if failed else None)
        if status is Status.RUNNING:
            self._schedule(active)
        else:
            keep = status is not Status.PRUNED and not failed
            self._close(active, status, math.nan if failed else outcome.value, outcome.step,
                        keep=keep)

    def _close(self, active: _Active, status: Status, value: float, step: int,
               keep: bool = True) -> None:
        self.free_workers += 1
        self.failures_in_a_row = self.failures_in_a_row + 1 if status is Status.FAILED else 0
        active.reports.close()
        if keep and self.optimizer.keeps_trials:
            slot = active.slot
            slot.recipe = slot.recipe.ended_at(slot.step)
            self.store.put(active.job.trial, slot)
        tick = time.perf_counter()
        self.optimizer.tell(active.job.trial, status, value, step)
        self.optimizer_seconds += time.perf_counter() - tick
        if self.journal is not None:
            self.journal.flush()

    # -- recording ------------------------------------------------------------------------
    def _record_external(self, trial: int, parent: int | None, config: Mapping[str, Any],
                         report: Report, decision: Decision, target: int,
                         error: str | None = None) -> bool:
        """Judge and record a report of a self-driven optimizer; its clock is the cost so far.

        Its reports arrive in the order its library ran them, not on simulated workers, so
        its clock is their cumulative cost (units, or recorded seconds with `clock=seconds`,
        a failed report costing none), as if run one at a time. Returns False once the
        cell's budget is spent: a report that would start a trial past `budget.trials`, or
        end past `budget.virtual_time`, is then not recorded.
        """
        budget = self.spec.budget
        if trial not in self.parents and budget.trials is not None and (
                self.n_trials >= budget.trials):
            self.stop_reason = "trials"
            return False
        clock = float(self.cum_units + report.units) if self.unit_clock else (
            self.clock + float(report.metrics.get("seconds", 0.0)))
        if budget.virtual_time is not None and clock > budget.virtual_time:
            self.stop_reason = "virtual_time"
            return False
        if trial not in self.parents:
            self.parents[trial] = parent
            self.n_trials += 1
        self.cum_units += report.units
        self.clock = clock
        status = Status.FAILED if error else report_status(report, decision, target)
        if status is Status.FAILED and error is None:
            error = NAN_ERROR
        stand_in = _Active(Job(JobKind.NEW, trial, config), Slot(Recipe(config), None,
                           report.step), no_reports(), self.clock, config_key(config), 0)
        self._record(stand_in, report, status, error)
        if budget.units is not None and self.cum_units >= budget.units:
            self.stop_reason = "units"
            return False
        return True

    def _record(self, active: _Active, report: Report | None, status: Status,
                error: str | None = None, at_start: bool = False) -> None:
        value = math.nan if report is None else report.value
        loss = math.nan if report is None else self.optimizer.loss(value)
        if status is not Status.FAILED and loss < self.best_loss:
            self.best_loss = loss
        test_value = true_value = extra = None
        if report is not None and report.metrics:
            metrics = dict(report.metrics)
            test_value = metrics.pop("test_value", None)
            true_value = metrics.pop("true_value", None)
            if metrics:
                extra = json.dumps(metrics, sort_keys=True, default=float)
        row = (
            active.job.trial,
            self.parents.get(active.job.trial),
            active.slot.step if report is None else report.step,
            value,
            loss,
            _STATUS_TEXT[status],
            0 if report is None else report.units,
            self.cum_units,
            self.clock,
            time.perf_counter() - self.start,
            self.optimizer_seconds,
            self.best_loss if math.isfinite(self.best_loss) else None,
            active.config_json,
            None if test_value is None else float(test_value),
            None if true_value is None else float(true_value),
            extra,
            error,
        )
        if self.journal is not None:
            row = self.journal.record(len(self.rows.rows), row, report, at_start)
            if len(self.rows.rows) == len(self.journaled) - 1:  # the killed run's last row
                self.optimizer_seconds = row[journaling.OPTIMIZER]
        self.rows.add(row)
        if self.on_report is not None:
            self.on_report()

    # -- time -----------------------------------------------------------------------------
    def _elapsed(self) -> float:
        return time.perf_counter() - self.start

    def _time_left(self, active: _Active) -> float | None:
        timeout = self.spec.trial_timeout
        return None if timeout is None else max(timeout - active.seconds, 1e-3)
