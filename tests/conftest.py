"""Shared fixtures; the kits' asserts are rewritten by pytest so their failures explain."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.kits")


@pytest.fixture(scope="module")
def local_ray():
    """One loopback Ray for the module (the Tune adapter and executor reuse a running Ray).

    Ray's workers import the kits' test problems by name, so the repository root goes on
    the PYTHONPATH that the workers inherit.
    """
    import os
    from pathlib import Path

    from optimizers.ray_session import start_ray

    root = str(Path(__file__).resolve().parents[1])
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, old) if p)
    session = start_ray(num_cpus=2)
    yield
    session.close()
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old


@pytest.fixture
def failing_curve():
    """The multi-fidelity tests' failing problem (tests.kits.toy_problems.failing_curve)."""
    from tests.kits.toy_problems import failing_curve

    return failing_curve()
