"""Paused trials within a memory budget: kept while they fit, else rebuilt exactly on demand.

A trial's state is a function of (problem settings, config, seed, schedule of steps and
config changes), so the store keeps, beside every paused trial, its :class:`Recipe`: the
configuration it started with (or the recipe of the trial it was cloned from and the
configuration of the clone) and the step each of its jobs ended at. Trials the optimizer may
resume or clone stay in memory while their measured sizes fit `budget_bytes`; beyond it the
least recently used leave memory. One comes back either from a file holding its pickled
state (problems that set ``Problem.restores_state``: the state continues bit for bit) or by
**replay**: a fresh trial advanced along the same schedule (training is deterministic, and a
trial advanced 0 -> a -> b equals one advanced 0 -> b). Replay is bookkeeping, not work the
optimizer asked for: it is never charged as compute units; its seconds are counted in
:attr:`TrialStore.replay_seconds` for the file metadata.

Sizes are measured, not declared: the growth of the memory the process has allocated and
still holds while a trial is built or trained (glibc's ``mallinfo2``: bytes in use, so
memory a trial reuses after another was freed still counts, which resident-size deltas
miss; without glibc, the growth of the resident size from ``/proc/self/statm``; elsewhere
sizes read as 0 and only a budget of 0 evicts).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import pickle
import shutil
import tempfile
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import journal
from problems.base import Problem, Report, Trial

__all__ = ["Recipe", "Slot", "TrialStore", "memory_in_use"]

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Recipe:
    """How to rebuild a trial: its origin, its configuration, and where its jobs ended.

    Attributes:
        config: the configuration the trial trains with.
        origin: the recipe of the trial whose state this one was cloned from (then `config`
            is applied to the copy), or None for a fresh trial.
        steps: the step each finished job of this trial ended at, in order.

    """

    config: Mapping[str, Any]
    origin: Recipe | None = None
    steps: tuple[int, ...] = ()

    def ended_at(self, step: int) -> Recipe:
        """The recipe once one more job has ended at `step`."""
        return Recipe(self.config, self.origin, (*self.steps, step))


@dataclass(slots=True)
class Slot:
    """One trial as the runner holds it: live in memory, saved to a file, or only a recipe.

    `step` and `last_report` follow the trial even while it is out of memory.
    """

    recipe: Recipe
    trial: Trial | None = None
    step: int = 0
    last_report: Report | None = None
    nbytes: int = 0
    state_file: Path | None = None
    key: int | None = None  # its trial id while in the store

    def sync(self) -> None:
        """Copy the live trial's step and last report."""
        if self.trial is not None:
            self.step, self.last_report = self.trial.step, self.trial.last_report

    @property
    def finished(self) -> bool:
        """The trial cannot be trained further (its last report was final)."""
        return self.last_report is not None and self.last_report.final


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


class _Meter:
    """Bytes the process holds: malloc'ed and in use (glibc, ~3 µs a reading), else the
    resident size from ``/proc/self/statm``, else 0.
    """

    def __init__(self) -> None:
        self.mallinfo2 = self.fd = None
        try:
            self.mallinfo2 = ctypes.CDLL(None).mallinfo2
            self.mallinfo2.restype = _MallInfo2
        except (OSError, AttributeError):
            with contextlib.suppress(OSError):
                self.fd = os.open("/proc/self/statm", os.O_RDONLY)
        self.page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def __call__(self) -> int:
        if self.mallinfo2 is not None:
            info = self.mallinfo2()
            return info.uordblks + info.hblkhd
        if self.fd is None:
            return 0
        return int(os.pread(self.fd, 64, 0).split()[1]) * self.page


memory_in_use = _Meter()


class TrialStore:
    """Paused trials by id, in least-recently-used order, within `budget_bytes` of memory.

    Args:
        problem: the cell's problem (builds fresh trials for replay).
        seed: the cell seed.
        budget_bytes: memory allowed to paused trials; None keeps every trial in memory,
            0 keeps none.

    """

    def __init__(self, problem: Problem, seed: int, budget_bytes: int | None) -> None:
        self.problem, self.seed, self.budget = problem, int(seed), budget_bytes
        self.measure = budget_bytes is not None
        self.slots: dict[int, Slot] = {}
        # ids of the slots whose trial is in memory, least recently used first: eviction
        # takes from the front, so a put costs O(1) however many trials are paused
        self.live: OrderedDict[int, None] = OrderedDict()
        self.resident = 0  # measured bytes of the slots in `live`
        self.replay_seconds = 0.0
        self.n_replayed = self.n_evicted = self.n_restored = 0
        self._dir: Path | None = None

    # -- the runner's calls ---------------------------------------------------------------
    def put(self, trial_id: int, slot: Slot) -> None:
        """Keep a paused trial; evict the least recently used beyond the budget."""
        if trial_id in self.slots:
            self._forget(self.take(trial_id))
        self.slots[trial_id] = slot
        slot.key = trial_id
        if slot.trial is not None:
            self.live[trial_id] = None
            self.resident += slot.nbytes
            self._evict()

    def take(self, trial_id: int) -> Slot:
        """Remove and return a paused trial (KeyError if unknown); it may be out of memory."""
        slot = self.slots.pop(trial_id)
        slot.key = None
        if self.live.pop(trial_id, 0) is None:
            self.resident -= slot.nbytes
        return slot

    def peek(self, trial_id: int) -> Slot:
        """A paused trial, kept and marked recently used (KeyError if unknown)."""
        slot = self.slots[trial_id]
        if trial_id in self.live:
            self.live.move_to_end(trial_id)
        return slot

    def source(self, slot: Slot) -> Trial:
        """The live trial of a paused slot that stays paused (a clone's source)."""
        if slot.trial is None:
            trial = self.materialize(slot)
            if slot.key is not None:
                self.live[slot.key] = None
                self.resident += slot.nbytes
                self._evict()
            return trial
        return slot.trial

    def __contains__(self, trial_id: int) -> bool:
        return trial_id in self.slots

    def materialize(self, slot: Slot) -> Trial:
        """The slot's trial in memory at `slot.step`: restored from its file, or replayed."""
        if slot.trial is not None:
            return slot.trial
        tick = time.perf_counter()
        before = memory_in_use() if self.measure else 0
        trial = None
        if slot.state_file is not None:
            trial = self._load(slot.state_file)
            slot.state_file.unlink(missing_ok=True)
            slot.state_file = None
            self.n_restored += 1
        if trial is None:
            trial = self.rebuild(slot.recipe)
            if trial.step < slot.step and not trial.finished:
                _drain(trial.advance(slot.step))  # the job in progress when the cell was killed
            self.n_replayed += 1
        slot.trial = trial
        slot.nbytes = max(0, memory_in_use() - before) if self.measure else 0
        self.replay_seconds += time.perf_counter() - tick
        return trial

    def reports(self, slot: Slot, target: int, journaled: deque | None) -> Iterator[Report]:
        """A job's reports: those a killed run journaled first (see
        :func:`benchmarks.journal.pending_outcomes`), then trained live up to `target`, the
        trial rebuilt when it is not in memory. Trained memory is added to `slot.nbytes`.
        """
        while journaled and journaled[0][0] != journal.FAILED_START:
            kind, item, step = journaled.popleft()
            # a copy built for a clone is now behind: rebuilt from the recipe when needed
            slot.trial, slot.nbytes, slot.step = None, 0, step
            if slot.state_file is not None:
                slot.state_file.unlink(missing_ok=True)
                slot.state_file = None
            if kind == journal.FAILED_JOB:
                raise journal.JournaledError(item)
            slot.last_report = item
            yield item
        if slot.trial is None and (slot.step >= target or slot.finished):
            return  # nothing left to train: no need to rebuild the trial
        trial = self.materialize(slot)
        reports = trial.advance(target)
        try:
            if not self.measure:
                for report in reports:
                    slot.step, slot.last_report = trial.step, report
                    yield report
                return
            while True:
                before = memory_in_use()
                report = next(reports, None)
                self.measured(slot, before)
                if report is None:
                    return
                slot.step, slot.last_report = trial.step, report
                yield report
        finally:
            slot.sync()
            reports.close()

    def rebuild(self, recipe: Recipe) -> Trial:
        """A trial trained along `recipe` from scratch (not charged: it stands for a copy)."""
        if recipe.origin is None:
            trial = self.problem.trial(recipe.config, self.seed)
        else:
            trial = self.rebuild(recipe.origin).clone(recipe.config)
        for step in recipe.steps:
            _drain(trial.advance(step))
        return trial

    def build(self, recipe: Recipe, make: Callable[..., Trial], *args: Any) -> Slot:
        """A slot for the trial `make(*args)` builds (a fresh trial or a clone), measured."""
        before = memory_in_use() if self.measure else 0
        slot = Slot(recipe, make(*args))
        slot.sync()
        if self.measure:
            self.measured(slot, before)
        return slot

    def measured(self, slot: Slot, bytes_before: int) -> None:
        """Add the memory grown since `bytes_before` (a :func:`memory_in_use` reading)."""
        slot.nbytes += max(0, memory_in_use() - bytes_before)

    def close(self) -> None:
        """Drop every trial and delete saved states."""
        self.slots.clear()
        self.live.clear()
        self.resident = 0
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def stats(self) -> dict[str, Any]:
        """Facts for the file metadata (replay time is wall time, kept out of the rows)."""
        return {
            "paused_memory_mib": None if self.budget is None else self.budget / MIB,
            "replay_seconds": self.replay_seconds,
            "replayed_trials": self.n_replayed,
            "evicted_trials": self.n_evicted,
            "restored_trials": self.n_restored,
        }

    # -- eviction -------------------------------------------------------------------------
    def _evict(self) -> None:
        if self.budget is None:
            return
        while self.live and (self.resident > self.budget or self.budget <= 0):
            trial_id, _ = self.live.popitem(last=False)
            slot = self.slots[trial_id]
            self.resident -= slot.nbytes
            if getattr(self.problem, "restores_state", False):
                slot.state_file = self._save(trial_id, slot.trial)
            slot.trial, slot.nbytes = None, 0
            self.n_evicted += 1

    def _forget(self, slot: Slot) -> None:
        if slot.state_file is not None:
            slot.state_file.unlink(missing_ok=True)

    # -- saved states ---------------------------------------------------------------------
    def _save(self, trial_id: int, trial: Trial) -> Path | None:
        """Pickle a trial without its problem; None (replay instead) if it cannot be."""
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="hpo-arena-trials-"))
        path = self._dir / f"{trial_id}.pkl"
        problem = self.problem
        try:
            with open(path, "wb") as fh:
                pickler = pickle.Pickler(fh, protocol=pickle.HIGHEST_PROTOCOL)
                pickler.persistent_id = lambda obj: "problem" if obj is problem else None
                pickler.dump(trial)
        except Exception:  # e.g. an unpicklable handle: replay is always possible
            path.unlink(missing_ok=True)
            return None
        return path

    def _load(self, path: Path) -> Trial:
        with open(path, "rb") as fh:
            unpickler = pickle.Unpickler(io.BufferedReader(fh))
            unpickler.persistent_load = lambda pid: self.problem
            return unpickler.load()


def _drain(reports: Iterator[Report]) -> None:
    for _ in reports:
        pass
