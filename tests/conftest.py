"""Shared fixtures; the kits' asserts are rewritten by pytest so their failures explain."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.kits")
