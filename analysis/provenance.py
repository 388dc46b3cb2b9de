"""What a cell file records about its search space and optimizer, read as data.

Files record the search space as JSON (`problem_info.space`: one object per parameter with
`name`, `type`, `low`/`high`/`log` or `choices`, `condition`) and the optimizer's `tags`
in its resolved conf. Files written before that recorded each parameter as its Python
`repr`; `_legacy_param` reads those once, by parsing the expression (no regular expressions
over text), so old and new files give the same space.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

__all__ = ["optimizer_tags", "search_space"]


def search_space(meta: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Parameter name -> ``{type, low, high, log}`` / ``{type, choices}`` (+ condition)."""
    out: dict[str, dict[str, Any]] = {}
    for entry in (meta.get("problem_info") or {}).get("space") or []:
        param = dict(entry) if isinstance(entry, Mapping) else _legacy_param(str(entry))
        if param and isinstance(param.get("name"), str):
            out[param.pop("name")] = param
    return out


def optimizer_tags(meta: Mapping[str, Any]) -> frozenset[str] | None:
    """The tags of the cell's optimizer conf, or None for a file written before tags."""
    conf = (meta.get("config") or {}).get("optimizer") or {}
    tags = conf.get("tags") if isinstance(conf, Mapping) else None
    return None if tags is None else frozenset(map(str, tags))


_TYPES = {"Float": "float", "Int": "int", "Categorical": "categorical"}


def _legacy_param(text: str) -> dict[str, Any] | None:
    """A parameter from its old repr (``Float(name='x', low=0.0, ..., condition=None)``).

    Conditions come as ``Condition(parent='a', values=('b',))``; None if it is not one.
    """
    try:
        call = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id in _TYPES):
        return None
    fields = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    out: dict[str, Any] = {"type": _TYPES[call.func.id]}
    for key, node in fields.items():
        if key == "condition":
            out[key] = _legacy_condition(node)
            continue
        try:
            value = ast.literal_eval(node)
        except ValueError:
            continue
        out[key] = list(value) if isinstance(value, tuple) else value
    out.setdefault("condition", None)
    return out


def _legacy_condition(node: ast.expr) -> dict[str, Any] | None:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "Condition"):
        return None
    try:
        fields = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
    except ValueError:
        return None
    return {"parent": fields.get("parent"), "values": list(fields.get("values") or ())}
