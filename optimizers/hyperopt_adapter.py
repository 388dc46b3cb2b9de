"""Hyperopt's suggest algorithms (TPE, random, annealing), one suggestion at a time."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from hyperopt import STATUS_FAIL, STATUS_OK, Domain, Trials, anneal, hp, rand, space_eval, tpe
from hyperopt.base import JOB_STATE_DONE, spec_from_misc

from optimizers.base import Job, JobKind, Optimizer, Status
from problems.base import Direction, Fidelity
from problems.space import Categorical, Float, Param, SearchSpace

__all__ = ["ALGORITHMS", "HyperoptAdapter", "hyperopt_space"]

ALGORITHMS = {"tpe": tpe.suggest, "random": rand.suggest, "anneal": anneal.suggest}
#: The keyword arguments each algorithm accepts (beyond ids, domain, trials and seed).
_ARGUMENTS = {
    "tpe": ("prior_weight", "n_startup_jobs", "n_EI_candidates", "gamma", "verbose"),
    "random": (),
    "anneal": ("avg_best_idx", "shrink_coef"),
}


class HyperoptAdapter(Optimizer):
    """Hyperopt's TPE (Bergstra et al. 2011), random search or simulated annealing.

    Reproduces ``fmin(objective, space, algo, rstate=np.random.default_rng(seed))``
    proposal for proposal: each `ask` draws the suggestion seed from that generator as
    ``fmin`` does. Jobs still running when another is asked are pending trials for the
    algorithm (TPE gives them no weight). Every trial trains to the maximum fidelity.

    Args:
        algorithm: one of :data:`ALGORITHMS`.
        algorithm_args: keyword arguments of the algorithm's ``suggest`` (e.g. TPE's
            ``n_startup_jobs``, ``gamma``); the conf writes them all out.

    """

    def __init__(
        self,
        space: SearchSpace,
        fidelity: Fidelity | None,
        direction: Direction,
        seed: int,
        algorithm: str = "tpe",
        algorithm_args: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(space, fidelity, direction, seed)
        if algorithm not in ALGORITHMS:
            raise ValueError(
                f"`algorithm` must be one of {sorted(ALGORITHMS)}, got {algorithm!r}."
            )
        for key in algorithm_args or {}:
            if key not in _ARGUMENTS[algorithm]:
                raise ValueError(
                    f"`algorithm_args.{key}` is not an argument of Hyperopt's {algorithm}; "
                    f"its arguments are {', '.join(_ARGUMENTS[algorithm]) or '(none)'}."
                )
        self._suggest = functools.partial(ALGORITHMS[algorithm], **dict(algorithm_args or {}))
        self.hp_space = hyperopt_space(space)
        self._domain = Domain(lambda _: 0.0, self.hp_space)
        self._trials = Trials()
        self._rng = np.random.default_rng(seed)
        self._docs: dict[int, dict[str, Any]] = {}

    def ask(self) -> Job:
        """Insert one new suggestion into the Trials and hand it to the runner."""
        ids = self._trials.new_trial_ids(1)
        self._trials.refresh()
        docs = self._suggest(ids, self._domain, self._trials, self._rng.integers(2**31 - 1))
        self._trials.insert_trial_docs(docs)
        self._trials.refresh()
        doc = self._trials._dynamic_trials[-1]  # the stored copy, which tell updates
        tid = self.new_trial_id()
        self._docs[tid] = doc
        values = space_eval(self.hp_space, spec_from_misc(doc["misc"]))
        return Job(JobKind.NEW, tid, self._decode(values), self.max_step)

    def tell(self, trial: int, status: Status, value: float, step: int) -> None:
        """Store the loss (or a failure) in the trial's document, as ``fmin`` does."""
        doc = self._docs.pop(trial)
        ok = status is Status.COMPLETED and not math.isnan(value)
        doc["state"] = JOB_STATE_DONE
        doc["result"] = {"loss": self.loss(value), "status": STATUS_OK} if ok else {
            "status": STATUS_FAIL
        }
        self._trials.refresh()

    def _decode(self, values: Mapping[str, Any]) -> dict[str, Any]:
        flat: dict[str, Any] = {}
        _flatten(values, flat)
        # Hyperopt returns numpy scalars and float-valued integers; give the space's types.
        return {p.name: _cast(p, flat[p.name]) for p in self.space if p.name in flat}


def hyperopt_space(space: SearchSpace) -> dict[str, Any]:
    """Translate `space` into a Hyperopt expression (a dict of labelled nodes).

    A categorical parameter with conditional children becomes a nested ``hp.choice``
    whose options are dicts ``{parent: choice, child: node, ...}``. A child active under
    several choices shares one node (one label). Conditions on numeric parents have no
    Hyperopt equivalent and raise ValueError.
    """
    for p in space:
        if p.condition is not None and not isinstance(space[p.condition.parent], Categorical):
            raise ValueError(
                f"parameter `{p.name}`: Hyperopt can only condition on a categorical parent, "
                f"and `{p.condition.parent}` is numeric."
            )
    nodes: dict[str, Any] = {}

    def node(p: Param) -> Any:
        if p.name not in nodes:
            nodes[p.name] = _node(space, p, node)
        return nodes[p.name]

    return {p.name: node(p) for p in space if p.condition is None}


def _node(space: SearchSpace, p: Param, node: Any) -> Any:
    if isinstance(p, Categorical):
        children = [c for c in space if c.condition and c.condition.parent == p.name]
        if not children:
            return hp.choice(p.name, list(p.choices))
        options = []
        for v in p.choices:
            active = [c for c in children if _selects(p, c.condition.values, v)]
            options.append({p.name: v, **{c.name: node(c) for c in active}})
        return hp.choice(p.name, options)
    if isinstance(p, Float):
        if p.log:
            return hp.loguniform(p.name, math.log(p.low), math.log(p.high))
        return hp.uniform(p.name, p.low, p.high)
    if p.log:
        return hp.qloguniform(p.name, math.log(p.low), math.log(p.high), 1)
    return hp.quniform(p.name, p.low, p.high, 1)


def _selects(parent: Categorical, values: tuple[Any, ...], value: Any) -> bool:
    return parent.index(value) in {parent.index(v) for v in values}


def _flatten(values: Mapping[str, Any], out: dict[str, Any]) -> None:
    for name, value in values.items():
        if isinstance(value, Mapping):
            _flatten(value, out)
        else:
            out[name] = value


def _cast(p: Param, value: Any) -> Any:
    if isinstance(p, Categorical):
        return p.choices[p.index(value)]
    return p.clip(float(value))
