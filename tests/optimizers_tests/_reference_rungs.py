"""Reference copies of the rank-based multi-fidelity decisions, before rungs were kept ordered.

Faithful copies of the slow implementation (every decision re-sorts its rung or population),
kept only so that a test can check that the fast one decides exactly the same, row for row.
Each class overrides only the decision code of the optimizer it names.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from optimizers._rungs import SynchronousBracketsOptimizer
from optimizers.asha import ASHAOptimizer
from optimizers.base import Job, JobKind, Optimizer, Status
from optimizers.hyperband import HyperbandOptimizer
from optimizers.multifidelity import MultiFidelityOptimizer
from optimizers.pbt import PBTOptimizer, _Member
from optimizers.successive_halving import SuccessiveHalvingOptimizer


def rank(entries: dict[int, tuple[float, Any]]) -> list[int]:
    """Trial ids by loss (ascending), ties broken by id; failed (inf/NaN) last."""
    def key(tid: int) -> tuple[float, int]:
        loss = entries[tid][0]
        return (math.inf if math.isnan(loss) else loss, tid)

    return sorted(entries, key=key)


class ReferenceASHA(ASHAOptimizer):
    """ASHA ranking every rung on every ask (its rungs as dicts: trial id -> loss)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rung_losses: list[dict[int, float]] = [{} for _ in self.rung_steps]
        self.promoted: list[set[int]] = [set() for _ in self.rung_steps]

    def tell(self, trial: int, status: Status, value: float, step: int) -> None:
        k = self._running.pop(trial)
        self.rung_losses[k][trial] = math.inf if status is Status.FAILED else self.loss(value)

    def ask(self) -> Job | None:
        for k in range(len(self.rung_steps) - 2, -1, -1):
            rung = self.rung_losses[k]
            entries = {t: (loss, dict(self.configs[t])) for t, loss in rung.items()}
            top = rank(entries)[: len(rung) // self.eta]
            ready = [t for t in top if t not in self.promoted[k] and math.isfinite(rung[t])]
            if ready:
                earlier = ready[0]
                self.promoted[k].add(earlier)
                config = entries[earlier][1]
                target = self.rung_steps[k + 1]
                if self.resume:
                    job = Job(JobKind.RESUME, earlier, config, target)
                else:
                    job = Job(JobKind.NEW, self.new_trial_id(), config, target, parent=earlier)
                    self.configs[job.trial] = self.configs[earlier]
                self._running[job.trial] = k + 1
                return job
        if self.n_configs is not None and self._n_started >= self.n_configs:
            return None
        self._n_started += 1
        job = Job(JobKind.NEW, self.new_trial_id(), self.space.sample(self._rng),
                  self.rung_steps[0])
        self._running[job.trial] = 0
        self.configs[job.trial] = dict(job.config)
        return job


class ReferenceSyncBracket:
    """One synchronous bracket, ranking a rung when it completes."""

    def __init__(self, rungs: list[tuple[int, int]], optimizer: Optimizer, resume: bool,
                 rng: np.random.Generator) -> None:
        self.rungs = rungs
        self.optimizer = optimizer
        self.resume = resume
        self.rng = rng
        self.stage = 0
        self.pending: deque[tuple[dict[str, Any], int | None]] = deque(
            (None, None) for _ in range(rungs[0][0])  # type: ignore[misc]
        )
        self.running: set[int] = set()
        self.results: dict[int, tuple[float, dict[str, Any]]] = {}
        self.done = False

    def next_job(self) -> Job | None:
        if self.done or not self.pending:
            return None
        config, earlier = self.pending.popleft()
        target = self.rungs[self.stage][1]
        opt = self.optimizer
        if config is None:
            job = Job(JobKind.NEW, opt.new_trial_id(), opt.space.sample(self.rng), target)
        elif self.resume:
            job = Job(JobKind.RESUME, earlier, config, target)  # type: ignore[arg-type]
        else:
            job = Job(JobKind.NEW, opt.new_trial_id(), config, target, parent=earlier)
        self.running.add(job.trial)
        return job

    def owns(self, trial: int) -> bool:
        return trial in self.running

    def tell(self, trial: int, status: Status, value: float, config: dict[str, Any]) -> None:
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
        best = [t for t in rank(self.results) if math.isfinite(self.results[t][0])][:n_next]
        self.pending = deque((self.results[t][1], t) for t in best)
        self.results = {}
        if not self.pending:
            self.done = True


class _ReferenceBrackets(SynchronousBracketsOptimizer):
    def ask(self) -> Job | None:
        if self._plan is None:
            self._plan = self._all_brackets()
        while self._bracket is None or self._bracket.done:
            rungs = next(self._plan, None)
            if rungs is None:
                return None
            self._bracket = ReferenceSyncBracket(  # type: ignore[assignment]
                rungs, self, self.resume, self._rng
            )
        job = self._bracket.next_job()
        if job is not None:
            self._configs[job.trial] = dict(job.config)
        return job


class ReferenceSHA(_ReferenceBrackets, SuccessiveHalvingOptimizer):
    """SHA with the reference bracket."""


class ReferenceHyperband(_ReferenceBrackets, HyperbandOptimizer):
    """Hyperband with the reference bracket."""


class ReferenceMultiFidelity(_ReferenceBrackets, MultiFidelityOptimizer):
    """The multi-fidelity scheme with the reference bracket."""


class ReferencePBT(PBTOptimizer):
    """PBT ranking the whole population at each decision."""

    def _exploit_source(self, index: int) -> _Member | None:
        alive = [i for i, m in enumerate(self.members) if m.alive and math.isfinite(m.loss)]
        n_quantile = math.floor(len(alive) * self.quantile_fraction)
        if n_quantile < 1:
            return None
        ranked = sorted(alive, key=lambda i: (self.members[i].loss, self.members[i].trial))
        if index not in ranked[-n_quantile:]:
            return None
        running = set(self._running.values())
        sources = [i for i in ranked[:n_quantile]
                   if i not in running and self.members[i].step < self.max_fidelity]
        if not sources:
            return None
        return self.members[sources[int(self._rng.integers(len(sources)))]]


#: conf name -> the reference class it is compared with.
REFERENCES = {
    "asha": ReferenceASHA,
    "asha_restart": ReferenceASHA,
    "sha": ReferenceSHA,
    "sha_restart": ReferenceSHA,
    "hyperband": ReferenceHyperband,
    "multifidelity": ReferenceMultiFidelity,
    "pbt": ReferencePBT,
}
