"""Search spaces to ConfigSpace (SMAC's vocabulary) and ConfigSpace configurations back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ConfigSpace as CS

from problems.space import Categorical, Float, SearchSpace

__all__ = ["configspace", "decode"]


def configspace(space: SearchSpace, seed: int) -> CS.ConfigurationSpace:
    """Translate `space`: floats and ints keep their log scale, categoricals their choices in
    order, and each condition becomes an ``EqualsCondition`` (one value) or ``InCondition``.

    A child of an inactive parent is inactive, in ConfigSpace as in :class:`SearchSpace`,
    so nested conditions need nothing more. Categorical choices must also be distinct under
    ``==`` (ConfigSpace cannot hold both ``1`` and ``True``): it raises ValueError.
    """
    cs = CS.ConfigurationSpace(seed=seed)
    nodes: dict[str, Any] = {}
    for p in space:
        if isinstance(p, Categorical):
            nodes[p.name] = CS.Categorical(p.name, list(p.choices))
        elif isinstance(p, Float):
            nodes[p.name] = CS.Float(p.name, (float(p.low), float(p.high)), log=p.log)
        else:
            nodes[p.name] = CS.Integer(p.name, (p.low, p.high), log=p.log)
    cs.add(list(nodes.values()))
    conditions = []
    for p in space:
        if p.condition is None:
            continue
        parent = space[p.condition.parent]
        values = [_canonical(parent, v) for v in p.condition.values]
        child, node = nodes[p.name], nodes[parent.name]
        conditions.append(CS.EqualsCondition(child, node, values[0]) if len(values) == 1
                          else CS.InCondition(child, node, values))
    if conditions:
        cs.add(conditions)
    return cs


def decode(space: SearchSpace, config: Mapping[str, Any]) -> dict[str, Any]:
    """The active values of a ConfigSpace configuration, in `space`'s order and types.

    ConfigSpace hands back numpy scalars (``np.True_``, ``np.str_``); categoricals become the
    space's own choice objects, ints Python ints, floats Python floats within the bounds.
    """
    values = dict(config)
    out: dict[str, Any] = {}
    for p in space:
        if p.name in values:
            value = values[p.name]
            if isinstance(p, Categorical):
                out[p.name] = p.choices[p.index(value)]
            else:
                out[p.name] = p.clip(float(value))
    return out


def _canonical(parent: Any, value: Any) -> Any:
    # A condition names its parent's values type-strictly; ConfigSpace compares with the
    # parent's own choice objects.
    return parent.choices[parent.index(value)] if isinstance(parent, Categorical) else value
