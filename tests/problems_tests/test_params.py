"""The declarative parameter checks: what each rule accepts and the sentence it writes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from problems.errors import UserError
from problems.params import FLAG, integer, list_of, number


@pytest.mark.parametrize(("rule", "good", "bad", "message"), [
    (integer(1), [1, 7, np.int64(3)], [0, True, 1.0, None, "2"], "an int >= 1"),
    (integer(1, null=True), [None, 2], [False, 0], "an int >= 1 or null"),
    (integer(2, 5), [2, 5], [1, 6], "an int in [2, 5]"),
    (number(0, finite=True), [0, 0.5, np.float64(2)], [-1, float("inf"), True],
     "a finite number >= 0"),
    (number(0, low_open=True), [1e-9, float("inf")], [0, False], "a number > 0"),
    (number(0, 1, low_open=True, high_open=True), [0.5], [0, 1], "a number in (0, 1)"),
    (number(0, 1.0), [0, 1.0], [1.5], "a number in [0, 1.0]"),
    (list_of(integer(0), "distinct ints", distinct=True), [[0, 1], (2,)],
     [[], [0, 0], "01", [True], [[0]]], "distinct ints"),
])
def test_rule_accepts_and_says(rule, good, bad, message) -> None:
    for value in good:
        assert rule.check("k", value) is value
    for value in bad:
        with pytest.raises(ValueError, match=rf"^`k` must be {re.escape(message)}, got "):
            rule.check("k", value)


def test_flag_is_a_type_error_and_the_cli_sentence_uses_a_semicolon() -> None:
    with pytest.raises(TypeError, match=r"^`reuse_actors` must be true or false, got 1\.$"):
        FLAG.check("reuse_actors", 1)
    with pytest.raises(UserError, match=r"^`workers` must be a positive int; got 0\.$"):
        integer(1, allowed="a positive int").check("workers", 0, UserError, ";")

