"""Errors every layer shares: the user-error type and the one-line text of an exception."""

from __future__ import annotations

__all__ = ["UserError", "describe_error"]


class UserError(Exception):
    """Bad input: shown to the user as one sentence, exit code 2, nothing written."""


def describe_error(err: BaseException, where: str = "") -> str:
    """`err` in one line: its type, optionally where it was raised, and its first line."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}{where}: {text[0] if text else ''}".rstrip(": ")
