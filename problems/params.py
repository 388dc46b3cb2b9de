"""Declarative parameter checks: a rule per setting; a value that breaks it gets one sentence.

In the spirit of scikit-learn's ``_parameter_constraints``: a :class:`Rule` says what a
setting allows and how the message says it; :meth:`Rule.check` applies it. Messages read
"`<name>` must be <allowed>, got <value>." (the command line's own keys use "; got" and
:class:`~problems.errors.UserError`). Booleans are never numbers here, although Python's
``bool`` is an ``int``: `True` is a YAML flag, not a count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "FLAG",
    "Rule",
    "check_count",
    "check_flag",
    "check_fraction",
    "check_int",
    "check_reduction_factor",
    "integer",
    "is_int",
    "is_number",
    "list_of",
    "number",
]


def is_int(value: Any) -> bool:
    """An int (Python or NumPy), never a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An int or float (a NumPy float is a float), never a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Rule:
    """What a setting allows: a test and the words that say it (``"an int >= 1 or null"``)."""

    allowed: str
    accepts: Callable[[Any], bool]
    error: type[Exception] = ValueError

    def check(self, name: str, value: Any, error: type[Exception] | None = None,
              sep: str = ",") -> Any:
        """`value` unchanged if the rule accepts it, else `error` (default: the rule's own)
        with one sentence naming the setting, what is allowed and the value received.
        """
        if not self.accepts(value):
            raise (error or self.error)(f"`{name}` must be {self.allowed}{sep} got {value!r}.")
        return value


def integer(minimum: int | None = None, maximum: int | None = None, null: bool = False,
            allowed: str | None = None) -> Rule:
    """An int in [minimum, maximum] (a missing bound: none), or None when `null`."""
    if allowed is None:
        allowed = (f"an int in [{minimum}, {maximum}]" if maximum is not None
                   else f"an int >= {minimum}") + (" or null" if null else "")

    def accepts(v: Any) -> bool:
        if v is None:
            return null
        return is_int(v) and (minimum is None or v >= minimum) and (
            maximum is None or v <= maximum)

    return Rule(allowed, accepts)


def number(low: float | None = None, high: float | None = None, *, low_open: bool = False,
           high_open: bool = False, finite: bool = False, null: bool = False,
           allowed: str | None = None) -> Rule:
    """A number between `low` and `high` (bounds closed unless open), finite if asked."""
    if allowed is None:
        if low is not None and high is not None:
            allowed = (f"a number in {'(' if low_open else '['}{low}, {high}"
                       f"{')' if high_open else ']'}")
        elif low is not None:
            allowed = f"{'a finite' if finite else 'a'} number {'>' if low_open else '>='} {low}"
        else:
            allowed = "a finite number" if finite else "a number"
        allowed += " or null" if null else ""

    def accepts(v: Any) -> bool:
        if v is None:
            return null
        if not is_number(v) or (finite and not math.isfinite(v)):
            return False
        above = low is None or (v > low if low_open else v >= low)
        below = high is None or (v < high if high_open else v <= high)
        return above and below

    return Rule(allowed, accepts)


def list_of(item: Rule, allowed: str, distinct: bool = False,
            error: type[Exception] = ValueError) -> Rule:
    """A non-empty list (not a string) whose every element `item` accepts."""

    def accepts(v: Any) -> bool:
        if isinstance(v, str) or not isinstance(v, Sequence) or not v:
            return False
        return all(item.accepts(x) for x in v) and not (distinct and len(set(v)) != len(v))

    return Rule(allowed, accepts, error)


#: A YAML boolean (true/false); anything else is a TypeError.
FLAG = Rule("true or false", lambda v: isinstance(v, bool), TypeError)


# -- the checks most settings need, as one call each -------------------------------------
def check_int(name: str, value: Any, minimum: int) -> int:
    """`value` as an int >= `minimum`, else a ValueError naming the setting."""
    return int(integer(minimum).check(name, value))


def check_count(name: str, value: Any, minimum: int = 1, optional: bool = True) -> int | None:
    """Check an int >= `minimum` (None allowed when `optional`)."""
    value = integer(minimum, null=optional).check(name, value)
    return None if value is None else int(value)


def check_fraction(name: str, value: Any, low_open: bool = True, high_open: bool = True) -> float:
    """`value` as a float in (0, 1) (bounds closed where asked), else a ValueError."""
    rule = number(0, 1, low_open=low_open, high_open=high_open, finite=True)
    return float(rule.check(name, value))


def check_reduction_factor(eta: Any) -> int:
    """`reduction_factor` as an int >= 2."""
    return int(integer(2).check("reduction_factor", eta))


def check_flag(name: str, value: Any) -> bool:
    """Check a boolean setting (YAML true/false)."""
    return FLAG.check(name, value)
