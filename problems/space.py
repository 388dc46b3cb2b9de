"""Library-neutral search spaces: float/int (linear or log), categorical, conditional.

A :class:`SearchSpace` is declared once by a problem and translated by each optimizer
adapter into its library's vocabulary. Parameters are kept in declaration order; a
conditional parameter must be declared after its parent, so walking the space in order
always sees a parent's value before deciding whether a child is active.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from problems.params import is_number

__all__ = [
    "Categorical",
    "Condition",
    "Float",
    "Int",
    "Param",
    "SearchSpace",
]

_SCALARS = (bool, int, float, str, type(None))


@dataclass(frozen=True)
class Condition:
    """A parameter is active only when `parent` takes one of `values`."""

    parent: str
    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.values, tuple):
            object.__setattr__(self, "values", tuple(_as_list(self.values)))
        if not self.values:
            raise ValueError(f"condition on `{self.parent}` must list at least one value.")


@dataclass(frozen=True)
class _Numeric:
    name: str
    low: float
    high: float
    log: bool = False
    condition: Condition | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        for bound in ("low", "high"):
            v = getattr(self, bound)
            if not (is_number(v) and math.isfinite(v)):
                raise ValueError(
                    f"parameter `{self.name}`: `{bound}` must be a finite number, got {v!r}."
                )
        if not self.low < self.high:
            raise ValueError(
                f"parameter `{self.name}`: `low < high` must hold, "
                f"got (low={self.low}, high={self.high})."
            )
        if self.log and self.low <= 0:
            raise ValueError(
                f"parameter `{self.name}`: a log scale needs `low > 0`, got low={self.low}."
            )


@dataclass(frozen=True)
class Float(_Numeric):
    """A real-valued parameter on [low, high], sampled uniformly or log-uniformly."""

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one value (uniform, or uniform in log space)."""
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def contains(self, value: Any) -> bool:
        """Whether `value` is a float inside the bounds."""
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
        )

    def to_unit(self, value: float) -> float:
        """Map a value to [0, 1] (in log space for log parameters)."""
        if self.log:
            return (math.log(value) - math.log(self.low)) / (
                math.log(self.high) - math.log(self.low)
            )
        return (value - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        """Inverse of :meth:`to_unit`, clipped to the bounds."""
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            v = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            v = self.low + u * (self.high - self.low)
        return min(max(v, self.low), self.high)

    def clip(self, value: float) -> float:
        """Clip a value into the bounds."""
        return float(min(max(value, self.low), self.high))


@dataclass(frozen=True)
class Int(_Numeric):
    """An integer parameter on [low, high] (both inclusive), linear or log scale."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for bound in ("low", "high"):
            v = getattr(self, bound)
            if int(v) != v:
                raise ValueError(
                    f"parameter `{self.name}`: `{bound}` must be an integer, got {v!r}."
                )
        object.__setattr__(self, "low", int(self.low))
        object.__setattr__(self, "high", int(self.high))

    def sample(self, rng: np.random.Generator) -> int:
        """Draw one value; log scale samples uniformly in log over [low-0.5, high+0.5]."""
        if self.log:
            x = math.exp(rng.uniform(math.log(self.low - 0.5), math.log(self.high + 0.5)))
            return self.clip(round(x))
        return int(rng.integers(self.low, self.high + 1))

    def contains(self, value: Any) -> bool:
        """Whether `value` is an int inside the bounds."""
        return (
            isinstance(value, int | np.integer)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
        )

    def to_unit(self, value: float) -> float:
        """Map a value to [0, 1], each integer owning an equal-width cell."""
        lo, hi = self.low - 0.5, self.high + 0.5
        if self.log:
            return (math.log(value) - math.log(lo)) / (math.log(hi) - math.log(lo))
        return (value - lo) / (hi - lo)

    def from_unit(self, u: float) -> int:
        """Inverse of :meth:`to_unit`, rounded and clipped."""
        u = min(max(float(u), 0.0), 1.0)
        lo, hi = self.low - 0.5, self.high + 0.5
        x = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))) if self.log else (
            lo + u * (hi - lo)
        )
        return self.clip(round(x))

    def clip(self, value: float) -> int:
        """Round and clip a value into the bounds."""
        return int(min(max(round(value), self.low), self.high))


@dataclass(frozen=True)
class Categorical:
    """A parameter taking one of a fixed, ordered tuple of scalar choices."""

    name: str
    choices: tuple[Any, ...]
    condition: Condition | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        choices = tuple(_as_list(self.choices))
        object.__setattr__(self, "choices", choices)
        if not choices:
            raise ValueError(f"parameter `{self.name}`: `choices` must not be empty.")
        for c in choices:
            if not isinstance(c, _SCALARS):
                raise ValueError(
                    f"parameter `{self.name}`: choices must be scalars "
                    f"(bool, int, float, str or null), got {c!r}."
                )
        if len({_key(c) for c in choices}) != len(choices):
            raise ValueError(f"parameter `{self.name}`: `choices` has duplicates: {choices}.")

    def sample(self, rng: np.random.Generator) -> Any:
        """Draw one choice uniformly."""
        return self.choices[int(rng.integers(len(self.choices)))]

    def contains(self, value: Any) -> bool:
        """Whether `value` is one of the choices (type-strict: 1 is not True)."""
        return _key(value) in {_key(c) for c in self.choices}

    def index(self, value: Any) -> int:
        """Position of `value` among the choices."""
        for i, c in enumerate(self.choices):
            if _key(c) == _key(value):
                return i
        raise ValueError(f"parameter `{self.name}`: {value!r} is not one of {self.choices}.")


Param = Float | Int | Categorical


@dataclass(frozen=True)
class SearchSpace:
    """An ordered collection of parameters; conditions refer to earlier parameters."""

    params: tuple[Param, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))
        seen: dict[str, Param] = {}
        for p in self.params:
            if not isinstance(p, Float | Int | Categorical):
                raise TypeError(
                    f"search space entries must be Float, Int or Categorical, got {p!r}."
                )
            if p.name in seen:
                raise ValueError(f"parameter `{p.name}` is declared twice.")
            cond = p.condition
            if cond is not None:
                parent = seen.get(cond.parent)
                if parent is None:
                    raise ValueError(
                        f"parameter `{p.name}`: condition on unknown parent `{cond.parent}` "
                        f"(the parent must be declared before it; known: {sorted(seen)})."
                    )
                for v in cond.values:
                    if not parent.contains(v):
                        raise ValueError(
                            f"parameter `{p.name}`: condition value {v!r} is not a value "
                            f"of `{cond.parent}`."
                        )
            seen[p.name] = p
        if not self.params:
            raise ValueError("a search space needs at least one parameter.")

    # -- container protocol -------------------------------------------------------------
    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __getitem__(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(p.name == name for p in self.params)

    @property
    def names(self) -> list[str]:
        """Parameter names in declaration order."""
        return [p.name for p in self.params]

    @property
    def is_conditional(self) -> bool:
        """Whether any parameter has a condition."""
        return any(p.condition is not None for p in self.params)

    # -- conditions ---------------------------------------------------------------------
    def is_active(self, param: Param, config: Mapping[str, Any]) -> bool:
        """Whether `param` is active given the (partial) values of its ancestors."""
        cond = param.condition
        if cond is None:
            return True
        parent = self[cond.parent]
        if not self.is_active(parent, config) or cond.parent not in config:
            return False
        return _key(config[cond.parent]) in {_key(v) for v in cond.values}

    # -- sampling and checking ----------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw a configuration: each active parameter from its prior, in order."""
        config: dict[str, Any] = {}
        for p in self.params:
            if self.is_active(p, config):
                config[p.name] = p.sample(rng)
        return config

    def validate(self, config: Mapping[str, Any]) -> None:
        """Raise ValueError unless `config` has exactly the active parameters, in bounds."""
        unknown = sorted(set(config) - set(self.names))
        if unknown:
            raise ValueError(f"configuration has unknown parameters {unknown}.")
        for p in self.params:
            active = self.is_active(p, config)
            if active and p.name not in config:
                raise ValueError(f"configuration misses the active parameter `{p.name}`.")
            if not active and p.name in config:
                raise ValueError(f"configuration sets the inactive parameter `{p.name}`.")
            if active and not p.contains(config[p.name]):
                raise ValueError(
                    f"parameter `{p.name}`: {config[p.name]!r} is outside the space ({p})."
                )

    def contains(self, config: Mapping[str, Any]) -> bool:
        """Whether :meth:`validate` would accept `config`."""
        try:
            self.validate(config)
        except ValueError:
            return False
        return True

    # -- construction from configuration files --------------------------------------------
    @classmethod
    def from_dict(cls, spec: Mapping[str, Mapping[str, Any]]) -> SearchSpace:
        """Build a space from ``{name: {type: float|int|categorical, ...}}`` (conf files).

        Keys per type: float/int take `low`, `high`, optional `log`; categorical takes
        `choices`. Any type may take ``condition: {parent: name, values: [...]}``.
        """
        params: list[Param] = []
        for name, entry in spec.items():
            entry = dict(entry)
            kind = entry.pop("type", None)
            cond = entry.pop("condition", None)
            condition = None
            if cond:
                condition = Condition(cond["parent"], tuple(_as_list(cond["values"])))
            builders = {"float": Float, "int": Int, "categorical": Categorical}
            if kind not in builders:
                raise ValueError(
                    f"parameter `{name}`: `type` must be one of {sorted(builders)}, got {kind!r}."
                )
            try:
                params.append(builders[kind](name=name, condition=condition, **entry))
            except TypeError as err:
                raise ValueError(f"parameter `{name}`: {err}.") from None
        return cls(tuple(params))


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"parameter names must be non-empty strings, got {name!r}.")


def _as_list(values: Any) -> list[Any]:
    # Accept tuples, lists and OmegaConf ListConfig alike; a bare scalar is one value.
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        return [values]
    return list(values)


def _key(value: Any) -> tuple[str, Any]:
    # Type-strict identity so that True != 1 and 1 != 1.0 among choices.
    if isinstance(value, np.generic):
        value = value.item()
    kind = "num" if isinstance(value, int | float) and not isinstance(value, bool) else type(
        value
    ).__name__
    return (kind, value)
