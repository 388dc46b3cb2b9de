"""Grid search: the exhaustive Cartesian product of per-parameter values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from optimizers.base import Job, JobKind, Optimizer, Status
from problems.base import Direction, Fidelity
from problems.params import integer
from problems.space import Categorical, Int, Param, SearchSpace

__all__ = ["GridOptimizer", "grid_points"]


class GridOptimizer(Optimizer):
    """Exhaustive grid search in a deterministic order; stops when the grid is exhausted.

    Args:
        values: ``{parameter: [values]}``. When given, only these parameters are gridded
            and the others are left out of each configuration, so the problem uses its
            model's default for them (as scikit-learn's ``GridSearchCV`` does).
        resolution: points per numeric parameter when `values` is not given (linear or
            geometric spacing, integers rounded and de-duplicated); categorical
            parameters take all their choices.

    Order: parameters in the space's declaration order, the last varying fastest.
    Conditional parameters are only combined where they are active.

    """

    uses_seed = False

    def __init__(
        self,
        space: SearchSpace,
        fidelity: Fidelity | None,
        direction: Direction,
        seed: int,
        values: Mapping[str, Sequence[Any]] | None = None,
        resolution: int = 5,
    ) -> None:
        super().__init__(space, fidelity, direction, seed)
        self.points = grid_points(space, values, resolution)
        self._cursor = 0

    def ask(self) -> Job | None:
        """The next grid point, or None once all were proposed."""
        if self._cursor >= len(self.points):
            return None
        config = self.points[self._cursor]
        self._cursor += 1
        return Job(JobKind.NEW, self.new_trial_id(), config, self.max_step)

    def tell(self, trial: int, status: Status, value: float, step: int) -> None:
        """Grid search learns nothing from results."""
        del trial, status, value, step


def grid_points(
    space: SearchSpace,
    values: Mapping[str, Sequence[Any]] | None = None,
    resolution: int = 5,
) -> list[dict[str, Any]]:
    """All grid configurations, in order. Raises ValueError naming a bad key or value."""
    if values is not None:
        per_param = _listed_values(space, values)
        params = [p for p in space if p.name in per_param]
    else:
        integer(2).check("optimizer.resolution", resolution)
        params = list(space)
        per_param = {p.name: _derived_values(p, resolution) for p in params}

    points: list[dict[str, Any]] = [{}]
    for p in params:
        expanded = []
        for partial in points:
            if p.condition is not None and not space.is_active(p, partial):
                expanded.append(partial)
                continue
            expanded.extend({**partial, p.name: v} for v in per_param[p.name])
        points = expanded
    return points


def _listed_values(space: SearchSpace, values: Mapping[str, Sequence[Any]]) -> dict[str, list]:
    if not values:
        raise ValueError(
            "`optimizer.values` is empty: a grid needs at least one parameter with values "
            "(or set `optimizer.values=null` to derive them from `optimizer.resolution`)."
        )
    out: dict[str, list] = {}
    for name, vals in values.items():
        if name not in space:
            raise ValueError(
                f"`optimizer.values` names `{name}`, which the problem does not have; "
                f"its parameters are {space.names}."
            )
        vals = [vals] if isinstance(vals, str) or not hasattr(vals, "__iter__") else list(vals)
        if not vals:
            raise ValueError(f"`optimizer.values.{name}` is empty: a grid with no values.")
        param = space[name]
        for v in vals:
            if not param.contains(v):
                raise ValueError(
                    f"`optimizer.values.{name}` has {v!r}, which is outside the space of "
                    f"`{name}` ({_describe(param)})."
                )
        out[name] = vals
    return out


def _derived_values(param: Param, resolution: int) -> list[Any]:
    if isinstance(param, Categorical):
        return list(param.choices)
    if param.log:
        raw = np.geomspace(param.low, param.high, resolution)
    else:
        raw = np.linspace(param.low, param.high, resolution)
    if isinstance(param, Int):
        return sorted({param.clip(v) for v in raw})
    return [param.clip(float(v)) for v in raw]


def _describe(param: Param) -> str:
    if isinstance(param, Categorical):
        return f"one of {list(param.choices)}"
    kind = "int" if isinstance(param, Int) else "float"
    return f"{kind} in [{param.low}, {param.high}]{' log' if param.log else ''}"
