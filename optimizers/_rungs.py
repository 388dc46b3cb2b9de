"""Shared machinery of the successive-halving family: checks, rung schedules, brackets.

Argument checks (re-exported from :mod:`problems.params`), rung schedules and a
synchronous bracket engine used by SHA, Hyperband and the chapter's multi-fidelity scheme.
"""

from __future__ import annotations

import heapq
import math
import struct
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

from optimizers.base import Job, JobKind, Optimizer, Status
from problems.base import Direction, Fidelity
from problems.params import check_count, check_flag, check_reduction_factor, integer
from problems.space import SearchSpace

__all__ = [
    "OrderedRung",
    "SyncBracket",
    "SynchronousBracketsOptimizer",
    "check_count",
    "check_fidelity_bounds",
    "check_flag",
    "check_reduction_factor",
    "geometric_rungs",
    "rank_key",
]


def check_fidelity_bounds(
    fidelity: Fidelity, min_fidelity: Any, max_fidelity: Any
) -> tuple[int, int]:
    """Resolve `min_fidelity` / `max_fidelity` (null: the problem's bounds) and check them."""
    low = fidelity.min if min_fidelity is None else min_fidelity
    high = fidelity.max if max_fidelity is None else max_fidelity
    allowed = (f"an int in [{fidelity.min}, {fidelity.max}] (the problem's "
               f"`{fidelity.name}` range) or null")
    for name, v in (("min_fidelity", low), ("max_fidelity", high)):
        integer(fidelity.min, fidelity.max, allowed=allowed).check(name, v)
    if not low < high:
        raise ValueError(
            f"`min_fidelity < max_fidelity` must hold, got (min_fidelity={low}, "
            f"max_fidelity={high})."
        )
    return int(low), int(high)


def geometric_rungs(min_fidelity: int, max_fidelity: int, eta: int) -> list[int]:
    """Rungs ``min·η^k`` below the maximum, then the maximum itself (ASHA's schedule)."""
    rungs = [min_fidelity]
    while rungs[-1] * eta < max_fidelity:
        rungs.append(rungs[-1] * eta)
    rungs.append(max_fidelity)
    return rungs


def n_halvings(min_fidelity: int, max_fidelity: int, eta: int) -> int:
    """s_max = ⌊log_η(max / min)⌋, computed in integers (no floating-point log)."""
    s = 0
    while min_fidelity * eta ** (s + 1) <= max_fidelity:
        s += 1
    return s


def halving_rungs(n_configs: int, r: float, s: int, eta: int, min_fidelity: int,
                  max_fidelity: int) -> list[tuple[int, int]]:
    """Successive halving's (n_i, r_i) for i = 0..s: ⌊n·η^-i⌋ configs at round(r·η^i)."""
    rungs = []
    for i in range(s + 1):
        step = min(max(round(r * eta**i), min_fidelity), max_fidelity)
        rungs.append((max(n_configs // eta**i, 1), int(step)))
    return rungs


def rank(entries: dict[int, tuple[float, Any]]) -> list[int]:
    """Trial ids by loss (ascending), ties broken by id; failed (inf/NaN) last."""
    def key(tid: int) -> tuple[float, int]:
        loss = entries[tid][0]
        return (math.inf if math.isnan(loss) else loss, tid)

    return sorted(entries, key=key)


class OrderedRung:
    """An ASHA rung kept in rank order as results arrive: O(log n) per entry and per decision.

    Decides exactly as ranking all entries with :func:`rank` would (by loss, ties by trial
    id, NaN as +inf), without re-sorting: `_top` holds the ⌊n/η⌋ best entries (a max-heap
    of negated keys), `_rest` the others (a min-heap), and `_candidates` the finite entries
    not yet promoted (a min-heap). The best candidate is due for promotion exactly when it
    is in the top, i.e. no worse than the top's worst entry; promotions always take that
    best candidate, so no other ever has to leave the heap.

    An entry's key is one int ordered as (loss, trial) (see :func:`rank_key`): a heap of
    tens of thousands of entries then compares ints, not (float, int) tuples, each of which
    cost reading three objects scattered over memory.
    """

    __slots__ = ("_candidates", "_rest", "_top", "due", "eta", "n_promoted", "size")

    def __init__(self, eta: int) -> None:
        self.eta = eta
        self.size = 0  # entries
        self.n_promoted = 0
        #: The best trial of the top ⌊n/η⌋ not promoted yet (finite loss), or None: kept
        #: current by :meth:`add` and :meth:`promote`, so asking costs an attribute read.
        self.due: int | None = None
        self._top: list[int] = []  # negated keys: the worst on top
        self._rest: list[int] = []  # keys: the best first
        self._candidates: list[int] = []

    def add(self, trial: int, loss: float) -> None:
        """Enter a result (each trial at most once per rung)."""
        if loss != loss:  # NaN ranks as +inf
            loss = math.inf
        key = rank_key(loss, trial)
        top = self._top
        self.size += 1
        grow = len(top) < self.size // self.eta  # ⌊n/η⌋ grows by at most one per entry
        if top and -key > top[0]:  # better than the top's worst, so than all the rest
            if grow:
                heapq.heappush(top, -key)
            else:
                heapq.heappush(self._rest, -heapq.heapreplace(top, -key))
        elif grow:  # the top takes the best of the rest and the new entry
            heapq.heappush(top, -heapq.heappushpop(self._rest, key))
        else:
            heapq.heappush(self._rest, key)
        candidates = self._candidates
        if -math.inf < loss < math.inf:  # failed trials are never promoted
            heapq.heappush(candidates, key)
        elif not candidates:
            return
        # Due: the best candidate, if it is no worse than the top's worst entry.
        best = candidates[0]
        self.due = best & _TRIAL_BITS if top and -best >= top[0] else None

    def __len__(self) -> int:
        return self.size

    def promote(self) -> int:
        """Mark the trial :attr:`due` names as promoted; return it."""
        candidates, top = self._candidates, self._top
        trial = heapq.heappop(candidates) & _TRIAL_BITS
        self.n_promoted += 1
        if candidates:
            best = candidates[0]
            self.due = best & _TRIAL_BITS if -best >= top[0] else None
        else:
            self.due = None
        return trial


_TRIAL_BITS = (1 << 64) - 1
_MAGNITUDE = (1 << 63) - 1
_float_bytes = struct.Struct("<d").pack
_int64 = struct.Struct("<q").unpack


def rank_key(loss: float, trial: int) -> int:
    """One int ordered as ``(loss, trial)`` for a loss that is not NaN and a trial id in
    [0, 2^64): the loss's IEEE-754 bits as a signed magnitude (so -0.0 ties with 0.0, as the
    floats compare), shifted above the trial id. The trial is ``key & (2**64 - 1)``.
    """
    (bits,) = _int64(_float_bytes(loss))
    return ((bits if bits >= 0 else -(bits & _MAGNITUDE)) << 64) | trial


class SyncBracket:
    """One synchronous successive-halving bracket.

    Rung i trains ``n_i`` configurations to fidelity ``r_i``; when all of rung i have
    reported, the best ``n_{i+1}`` move on.

    With `resume`, a promotion continues the trial (RESUME: only the extra steps cost); without,
    it is a new trial trained from scratch to the next rung, whose `parent` is the earlier one.
    """

    def __init__(self, rungs: list[tuple[int, int]], optimizer: Optimizer, resume: bool,
                 rng: np.random.Generator) -> None:
        self.rungs = rungs
        self.optimizer = optimizer
        self.resume = resume
        self.rng = rng
        self.stage = 0
        # (config, earlier trial id or None) waiting to be handed out in this stage.
        self.pending: deque[tuple[dict[str, Any], int | None]] = deque(
            (None, None) for _ in range(rungs[0][0])  # type: ignore[misc]
        )
        self.running: set[int] = set()
        self.results: dict[int, tuple[float, dict[str, Any]]] = {}
        self.done = False

    def next_job(self) -> Job | None:
        """Hand out the next job of the current rung (None while the rung is finishing)."""
        if self.done or not self.pending:
            return None
        config, earlier = self.pending.popleft()
        target = self.rungs[self.stage][1]
        opt = self.optimizer
        if config is None:  # sampled when handed out, so ids and draws follow the ask order
            job = Job(JobKind.NEW, opt.new_trial_id(), opt.space.sample(self.rng), target)
        elif self.resume:
            job = Job(JobKind.RESUME, earlier, config, target)  # type: ignore[arg-type]
        else:
            job = Job(JobKind.NEW, opt.new_trial_id(), config, target, parent=earlier)
        self.running.add(job.trial)
        return job

    def owns(self, trial: int) -> bool:
        """Whether `trial` is a running job of this bracket."""
        return trial in self.running

    def tell(self, trial: int, status: Status, value: float, config: dict[str, Any]) -> None:
        """Record a job's end; when the rung is complete, promote its best."""
        self.running.discard(trial)
        loss = math.inf if status is Status.FAILED else self.optimizer.loss(value)
        self.results[trial] = (loss, config)
        if self.pending or self.running:
            return
        self.stage += 1
        if self.stage >= len(self.rungs):
            self.done = True
            return
        n_next = self.rungs[self.stage][0]
        # Failed (or pruned-by-failure) trials are never promoted; a rung may then be short.
        best = [t for t in rank(self.results) if math.isfinite(self.results[t][0])][:n_next]
        self.pending = deque((self.results[t][1], t) for t in best)
        self.results = {}
        if not self.pending:
            self.done = True


class SynchronousBracketsOptimizer(Optimizer):
    """Base of SHA, Hyperband and the multi-fidelity scheme.

    Brackets run one after another, each waiting at its rung boundaries (ask returns
    None until the rung is complete).

    Subclasses implement :meth:`_schedules`, the (n_i, r_i) lists of one round of
    brackets; the round repeats `n_repeats` times (null: until the budget ends).
    """

    needs_fidelity = True
    keeps_trials = True

    def __init__(self, space: SearchSpace, fidelity: Fidelity | None, direction: Direction,
                 seed: int, resume: bool = True, n_repeats: int | None = None) -> None:
        super().__init__(space, fidelity, direction, seed)
        self.resume = check_flag("resume", resume)
        # Restarts never resume, so the runner need not keep trained states in memory.
        self.keeps_trials = self.resume
        self.n_repeats = check_count("n_repeats", n_repeats)
        self._rng = np.random.default_rng(seed)
        self._plan: Iterator[list[tuple[int, int]]] | None = None
        self._bracket: SyncBracket | None = None
        self._configs: dict[int, dict[str, Any]] = {}

    def _schedules(self) -> list[list[tuple[int, int]]]:
        """One round of brackets, each a list of (n configurations, fidelity step)."""
        raise NotImplementedError

    def _all_brackets(self) -> Iterator[list[tuple[int, int]]]:
        round_ = 0
        while self.n_repeats is None or round_ < self.n_repeats:
            yield from self._schedules()
            round_ += 1

    def ask(self) -> Job | None:
        """Hand out the next job of the current bracket (None at a rung boundary)."""
        if self._plan is None:
            self._plan = self._all_brackets()
        while self._bracket is None or self._bracket.done:
            rungs = next(self._plan, None)
            if rungs is None:
                return None
            self._bracket = SyncBracket(rungs, self, self.resume, self._rng)
        job = self._bracket.next_job()
        if job is not None:
            self._configs[job.trial] = dict(job.config)
        return job

    def tell(self, trial: int, status: Status, value: float, step: int) -> None:
        """Close a job; the bracket promotes when its rung is complete."""
        del step
        bracket = self._bracket
        if bracket is not None and bracket.owns(trial):
            bracket.tell(trial, status, value, self._configs.pop(trial))
