"""Population-based training (Jaderberg et al., 2017), asynchronous."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimizers._rungs import check_count
from optimizers.base import Job, JobKind, Optimizer, Status
from problems.base import Direction, Fidelity
from problems.params import integer, list_of, number
from problems.space import Categorical, SearchSpace

__all__ = ["PBTOptimizer"]


@dataclass
class _Member:
    trial: int
    config: dict[str, Any]
    step: int = 0
    loss: float = math.inf
    alive: bool = True


class PBTOptimizer(Optimizer):
    """Asynchronous population-based training with exploit (state copy) and explore.

    Population-based training (Jaderberg, Dalibard, Osindero, Czarnecki, Donahue, Razavi,
    Vinyals, Green, Dunning, Simonyan, Fernando & Kavukcuoglu, arXiv:1711.09846, 2017).

    `n_members` random configurations train in steps of `perturbation_interval` fidelity
    steps. Each time a member is ready (it finished an interval below the maximum), the
    population is ranked by each member's latest value; a member in the bottom
    `quantile_fraction` *exploits* a member drawn uniformly from the top fraction: a CLONE
    job copies that member's trained state (weights, step, noise stream) into a new trial
    (`parent_trial` = the source) with an *explored* configuration. Otherwise the member
    resumes its own training. Members are independent, so the method is asynchronous: at
    `workers=N` the ready member is handled as soon as a worker is free.

    Explore, per active parameter: with probability `resample_probability` a fresh draw
    from its prior; otherwise numeric values are multiplied by one of
    `perturbation_factors` (drawn uniformly) and clipped to the bounds (ints rounded), and
    a categorical moves to a neighbouring choice in declaration order (either side with
    equal probability; the only neighbour at an end). Children of a changed parent are
    added (drawn from their prior) or dropped so the configuration stays valid.

    The source of an exploit must be idle (its state is held by the runner) and below the
    maximum fidelity; when none is, the member resumes instead. A failed member leaves the
    population. Ends when every member has reached `max_fidelity` or failed.

    Args:
        n_members: population size.
        perturbation_interval: fidelity steps between exploit/explore decisions.
        quantile_fraction: fraction of the population that exploits / is exploited (0.2
            in the paper's truncation selection; at most 0.5).
        resample_probability: chance of resampling a parameter instead of perturbing it.
        perturbation_factors: multipliers for numeric parameters.
        max_fidelity: train members up to this step (null: the problem's maximum).
        hyperparameters: the parameters explore may change (null: all). Parameters that fix
            the model's shape (the MLP's `hidden_size`) cannot change in a trained state.

    """

    needs_fidelity = True
    keeps_trials = True
    #: Clones trials with new hyperparameters: table problems refuse it (no recorded curve).
    changes_hyperparameters = True

    def __init__(
        self,
        space: SearchSpace,
        fidelity: Fidelity | None,
        direction: Direction,
        seed: int,
        n_members: int = 10,
        perturbation_interval: int = 9,
        quantile_fraction: float = 0.2,
        resample_probability: float = 0.25,
        perturbation_factors: Sequence[float] = (0.8, 1.2),
        max_fidelity: int | None = None,
        hyperparameters: Sequence[str] | None = None,
    ) -> None:
        super().__init__(space, fidelity, direction, seed)
        fid: Fidelity = fidelity  # type: ignore[assignment]
        self.n_members = check_count("n_members", n_members, minimum=2, optional=False)
        self.perturbation_interval = check_count(
            "perturbation_interval", perturbation_interval, optional=False
        )
        for name, v, high in (("quantile_fraction", quantile_fraction, 0.5),
                              ("resample_probability", resample_probability, 1.0)):
            number(0, high).check(name, v)
        self.quantile_fraction = float(quantile_fraction)
        self.resample_probability = float(resample_probability)
        factors = list_of(number(0, low_open=True), "a non-empty list of numbers > 0").check(
            "perturbation_factors", perturbation_factors)
        self.perturbation_factors = tuple(float(f) for f in factors)
        if hyperparameters is None:
            hyperparameters = space.names
        if isinstance(hyperparameters, str) or not hyperparameters or any(
            name not in space for name in hyperparameters
        ):
            raise ValueError(
                f"`hyperparameters` must be a non-empty list of parameters of the problem "
                f"({', '.join(space.names)}) or null, got {hyperparameters!r}."
            )
        self.hyperparameters = frozenset(hyperparameters)
        if max_fidelity is None:
            max_fidelity = fid.max
        integer(fid.min, fid.max, allowed=f"an int in [{fid.min}, {fid.max}] or null").check(
            "max_fidelity", max_fidelity)
        self.max_fidelity = max_fidelity
        self.members: list[_Member] = []
        self._ready: deque[int] = deque()  # member indices waiting for a worker
        self._running: dict[int, int] = {}  # trial id -> member index
        self._rng = np.random.default_rng(seed)

    # -- the loop -------------------------------------------------------------------------
    def ask(self) -> Job | None:
        """Start the population first, then handle ready members in the order they got ready."""
        if len(self.members) < self.n_members:
            config = self.space.sample(self._rng)
            member = _Member(self.new_trial_id(), config)
            self.members.append(member)
            return self._launch(len(self.members) - 1, JobKind.NEW, member.trial, config, 0)
        if not self._ready:
            return None
        index = self._ready.popleft()
        member = self.members[index]
        source = self._exploit_source(index)
        if source is None:
            return self._launch(index, JobKind.RESUME, member.trial, member.config, member.step)
        config = self._explore(source.config)
        self.members[index] = _Member(self.new_trial_id(), config, source.step, source.loss)
        return self._launch(index, JobKind.CLONE, self.members[index].trial, config,
                            source.step, parent=source.trial)

    def tell(self, trial: int, status: Status, value: float, step: int) -> None:
        """Record the member's latest value; below the maximum it becomes ready again."""
        index = self._running.pop(trial)
        member = self.members[index]
        if status is Status.FAILED:
            member.alive = False
            return
        member.loss, member.step = self.loss(value), step
        if step < self.max_fidelity:
            self._ready.append(index)

    # -- exploit and explore --------------------------------------------------------------
    def _launch(self, index: int, kind: JobKind, trial: int, config: dict[str, Any],
                step: int, parent: int | None = None) -> Job:
        self._running[trial] = index
        target = min(step + self.perturbation_interval, self.max_fidelity)
        return Job(kind, trial, config, target, parent=parent)

    def _exploit_source(self, index: int) -> _Member | None:
        """Pick a top-quantile member to copy, if `index` is in the bottom quantile."""
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

    def _explore(self, config: dict[str, Any]) -> dict[str, Any]:
        new: dict[str, Any] = {}
        for p in self.space:
            if not self.space.is_active(p, new):
                continue
            if p.name in config and p.name not in self.hyperparameters:
                new[p.name] = config[p.name]  # fixed for the member's whole life
            elif p.name not in config or self._rng.random() < self.resample_probability:
                new[p.name] = p.sample(self._rng)
            elif isinstance(p, Categorical):
                i, last = p.index(config[p.name]), len(p.choices) - 1
                if last == 0:
                    new[p.name] = p.choices[0]
                else:
                    step = 1 if i == 0 else -1 if i == last else (
                        1 if self._rng.random() < 0.5 else -1
                    )
                    new[p.name] = p.choices[i + step]
            else:
                factor = self.perturbation_factors[
                    int(self._rng.integers(len(self.perturbation_factors)))
                ]
                new[p.name] = p.clip(config[p.name] * factor)
        return new
