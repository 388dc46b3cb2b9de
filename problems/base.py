"""The Problem contract: what is tuned, and how a trial of it is trained and reported.

The runner builds a problem once per cell from its conf, then asks it for trials with
:meth:`Problem.trial`. A trial is trained **incrementally**: :meth:`Trial.advance` trains
from the current step to a higher target and yields one :class:`Report` per reported step,
charging only the steps actually trained. A paused trial keeps its state in memory and can
be advanced again later; :meth:`Trial.clone` copies the state (PBT exploits weights, not
only hyperparameters).

Determinism: a trial's values depend only on (problem settings, config, fidelity, seed).
Seeds derive from the cell seed and a stable hash of the configuration, so every optimizer
sees the same data split and the same noise for the same configuration at a given seed.
"""

from __future__ import annotations

import copy
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from problems.params import integer
from problems.space import Categorical, Int, SearchSpace

__all__ = ["Fidelity", "Problem", "Report", "Trial", "config_key", "config_seed", "space_json"]

Direction = Literal["minimize", "maximize"]


@dataclass(frozen=True)
class Fidelity:
    """The resource axis of a trial: steps `min`..`max`, reported every `report_every`."""

    name: str
    min: int
    max: int
    report_every: int = 1

    def __post_init__(self) -> None:
        if not (isinstance(self.min, int) and isinstance(self.max, int)) or self.min < 1:
            raise ValueError(
                f"fidelity `{self.name}`: `min` must be an int >= 1, got {self.min!r}."
            )
        if self.max < self.min:
            raise ValueError(
                f"fidelity `{self.name}`: `min <= max` must hold, "
                f"got (min={self.min}, max={self.max})."
            )
        if not isinstance(self.report_every, int) or self.report_every < 1:
            raise ValueError(
                f"fidelity `{self.name}`: `report_every` must be an int >= 1, "
                f"got {self.report_every!r}."
            )

    def report_steps(self, start: int, stop: int) -> list[int]:
        """Steps in (start, stop] at which a trial reports: multiples of `report_every`,
        and always `stop` itself so a job's target is observed.
        """
        every = self.report_every
        first = (start // every + 1) * every
        steps = list(range(first, stop + 1, every))
        if stop > start and (not steps or steps[-1] != stop):
            steps.append(stop)
        return steps


@dataclass(frozen=True)
class Report:
    """One observation of a trial at a fidelity step.

    Attributes:
        step: fidelity step reached (1 for single-fidelity problems).
        value: the objective, in the problem's `direction`; the same metric every step.
        units: compute units spent since the previous report of this trial.
        metrics: extra metrics recorded beside the objective (e.g. ``test_value``).
        final: the trial cannot be trained further (e.g. early stopping ended it).

    """

    step: int
    value: float
    units: int
    metrics: Mapping[str, Any] = field(default_factory=dict)
    final: bool = False


class Problem(ABC):
    """Base class of every problem. Subclasses declare the class attributes below.

    Subclasses set, in ``__init__``: `space` (the search space), `direction`,
    `fidelity` (or None for single-fidelity problems) and `optimum` (the best achievable
    objective, or None when unknown). `reference` may hold a best-known value and how it
    was obtained, for normalized regret.
    """

    space: SearchSpace
    direction: Direction
    fidelity: Fidelity | None = None
    optimum: float | None = None
    #: Metric names this problem records beside the objective, in a stable order.
    metric_names: ClassVar[tuple[str, ...]] = ()
    #: How a paused trial that left memory comes back: True when a trial pickled without
    #: its problem continues bit for bit (its state is saved to a file); False: by replay,
    #: a fresh trial trained along the same schedule (always exact, as training is
    #: deterministic, but it costs the training again).
    restores_state: ClassVar[bool] = False

    @abstractmethod
    def trial(self, config: Mapping[str, Any], seed: int) -> Trial:
        """Create a fresh, untrained trial of `config` for the cell seed `seed`."""

    def evaluate(self, config: Mapping[str, Any], step: int | None = None,
                 seed: int = 0) -> Report:
        """The last report of a fresh trial of `config` trained to `step` (default: the
        maximum) with cell seed `seed`: one evaluation, outside any runner.
        """
        top = 1 if self.fidelity is None else self.fidelity.max
        integer(1, top, null=True, allowed=f"an int in [1, {top}] or None").check("step", step)
        *_, last = self.trial(config, seed).advance(step)  # a fresh trial reports at least once
        return last

    def describe(self) -> dict[str, Any]:
        """Static facts about this problem recorded in each result file."""
        fid = self.fidelity
        return {
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "direction": self.direction,
            "optimum": self.optimum,
            "fidelity": None if fid is None else {
                "name": fid.name, "min": fid.min, "max": fid.max, "report_every": fid.report_every
            },
            # The space as data (one object per parameter, in declaration order), so
            # readers never parse Python reprs; files before this change hold repr strings.
            "space": space_json(self.space),
        }


def space_json(space: SearchSpace) -> list[dict[str, Any]]:
    """Each parameter as ``{name, type, low, high, log}`` or ``{name, type, choices}``.

    Plus ``condition: {parent, values}`` (null when unconditional), in declaration order;
    ``SearchSpace.from_dict({p.pop("name"): p ...})`` builds the space back.
    """
    out: list[dict[str, Any]] = []
    for p in space:
        if isinstance(p, Categorical):
            entry: dict[str, Any] = {"name": p.name, "type": "categorical",
                                     "choices": list(p.choices)}
        else:
            kind = "int" if isinstance(p, Int) else "float"
            entry = {"name": p.name, "type": kind, "low": p.low, "high": p.high,
                     "log": bool(p.log)}
        cond = p.condition
        entry["condition"] = (None if cond is None
                              else {"parent": cond.parent, "values": list(cond.values)})
        out.append(entry)
    return out


class Trial(ABC):
    """One configuration being trained. Holds its model state between jobs.

    Subclasses implement :meth:`_train` (train from `self.step` to `step`, return the
    compute units spent) and :meth:`_evaluate` (value and metrics at the current step).
    Single-fidelity problems train and evaluate once, at step 1.
    """

    def __init__(self, problem: Problem, config: Mapping[str, Any], seed: int) -> None:
        self.problem = problem
        self.config = dict(config)
        self.seed = int(seed)
        self.step = 0
        self.finished = False
        self.last_report: Report | None = None

    def advance(self, to_step: int | None = None) -> Iterator[Report]:
        """Train up to `to_step` (default: the maximum), yielding a report at each
        reported step. Abandoning the iterator leaves the trial consistent at the last
        yielded step, so it can be resumed later.
        """
        fid = self.problem.fidelity
        max_step = 1 if fid is None else fid.max
        target = max_step if to_step is None else int(to_step)
        if target > max_step:
            raise ValueError(f"step {target} is beyond the fidelity maximum {max_step}.")
        if fid is None:
            steps = [1] if self.step == 0 else []
        else:
            steps = fid.report_steps(self.step, target)
        for step in steps:
            if self.finished:
                return
            units = self._train(step)
            self.step = step
            value, metrics = self._evaluate()
            self.last_report = Report(step, float(value), int(units), metrics, self.finished)
            yield self.last_report

    def clone(self, config: Mapping[str, Any] | None = None) -> Trial:
        """A deep copy of this trial's state, optionally continuing with a new config.

        The problem (datasets, splits) is shared, not copied: it is immutable after
        construction.
        """
        twin = copy.deepcopy(self, memo={id(self.problem): self.problem})
        if config is not None:
            twin.config = dict(config)
            twin._on_config_change()
        return twin

    def _on_config_change(self) -> None:
        """Hook: apply new hyperparameters to a cloned state (e.g. a new learning rate)."""

    @abstractmethod
    def _train(self, step: int) -> int:
        """Train from `self.step` to `step`; return the compute units spent."""

    @abstractmethod
    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        """Return (objective, extra metrics) at the current step."""


def config_key(config: Mapping[str, Any]) -> str:
    """Canonical JSON of a configuration (sorted keys): its identity in results."""
    return "".join(_encode_key(config, 0))


def config_seed(seed: int, config: Mapping[str, Any], *salt: int) -> np.random.SeedSequence:
    """A SeedSequence from the cell seed and a stable hash of the configuration.

    Python's ``hash`` is salted per process; SHA-256 of the canonical JSON is not, so the
    same (seed, config) gives the same stream in every process and on every machine.
    """
    digest = hashlib.sha256(config_key(config).encode()).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.SeedSequence([int(seed), *words, *salt])


def _json_scalar(obj: Any) -> Any:
    # numpy scalars (from samplers) serialise as their Python values.
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"configuration values must be scalars, got {obj!r}.")


def _key_encoder() -> Any:
    """``json.dumps(config, sort_keys=True, separators=(",", ":"), default=_json_scalar)``,
    built once: `json.dumps` with `default` builds a new encoder per call, which cost a
    third of the runner's own time per trial. The C encoder when the build has it, else
    the pure-Python one; either is called as ``encode(config, 0)`` and yields text chunks.
    """
    from json import encoder

    if encoder.c_make_encoder is not None:
        return encoder.c_make_encoder(
            None, _json_scalar, encoder.encode_basestring_ascii, None, ":", ",", True, False,
            True,
        )
    return json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_json_scalar
                            ).iterencode


_encode_key = _key_encoder()
