"""The ordered rungs decide exactly as the rank-based reference: identical rows, cell by cell.

Each native multi-fidelity method runs through the real runner twice, once as shipped and
once with the slow reference decisions (`_reference_rungs`), on a noisy learning curve, on
a problem with NaN and failing trials, and on one whose values tie in blocks (so ties are
broken by trial id), at 1, 4 and 16 simulated workers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from benchmarks import runner
from benchmarks.building import build_optimizer, build_problem
from optimizers._rungs import OrderedRung
from problems.base import Fidelity, Problem, Trial
from problems.loading import RESERVED_KEYS
from problems.space import Float, SearchSpace
from tests.kits.cells import cell_spec, curve_conf, optimizer_conf, rows
from tests.kits.toy_problems import failing_curve
from tests.optimizers_tests._reference_rungs import REFERENCES, rank


class _TiedTrial(Trial):
    def _train(self, step: int) -> int:
        return step - self.step

    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        # Values on a coarse grid: whole blocks of configurations tie at every step.
        return round(self.config["x"] * 4) / 4 * self.step, {}


class TiedProblem(Problem):
    """x in [0, 1]; value round(4x)/4 · step (maximize): ties everywhere."""

    def __init__(self) -> None:
        self.space = SearchSpace((Float("x", 0.0, 1.0),))
        self.direction = "maximize"
        self.fidelity = Fidelity("step", 1, 27)

    def trial(self, config: Mapping[str, Any], seed: int) -> Trial:
        return _TiedTrial(self, config, seed)


PROBLEMS = {
    "curve": lambda: build_problem(curve_conf(noise_std=0.01)),
    "flaky": failing_curve,
    "tied": TiedProblem,
}


def _rows(problem: Problem, conf: dict[str, Any], reference: type | None, seed: int,
          workers: int) -> dict[str, list]:
    spec = cell_spec({}, conf, seed, workers=workers, units=1200)
    if reference is None:
        return rows(runner.run_problem(spec, problem))
    kwargs = {k: v for k, v in conf.items() if k not in RESERVED_KEYS}
    optimizer = reference(problem.space, problem.fidelity, problem.direction, seed, **kwargs)
    assert type(build_optimizer(conf, problem, seed)) in reference.__mro__
    return rows(runner._Loop(spec, problem, optimizer, None).run())


@pytest.mark.parametrize("workers", [1, 4, 16])
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_rows_identical_to_the_rank_based_reference(name, workers):
    overrides = {"n_members": 8} if name == "pbt" else {}
    if name == "multifidelity":
        overrides = {"n_evaluations": 40}  # several rounds within the budget
    conf = optimizer_conf(name, **overrides)
    for problem_name, make in PROBLEMS.items():
        problem = make()
        for seed in (0, 1):
            new = _rows(problem, conf, None, seed, workers)
            old = _rows(problem, conf, REFERENCES[name], seed, workers)
            assert new == old, (problem_name, seed)
            assert len(new["trial"]) > 50


@pytest.mark.parametrize("eta", [2, 3, 4])
def test_ordered_rung_names_the_rank_based_choice_after_every_change(eta):
    # Losses from a small set with ±0, a subnormal, ±inf and NaN: ties (-0.0 == 0.0),
    # failures and entries ahead of all.
    rng = np.random.default_rng(eta)
    values = [0.1, 0.2, 0.3, 0.5, -1.0, 0.0, -0.0, 5e-324, math.inf, -math.inf, math.nan]
    rung, entries, promoted = OrderedRung(eta), {}, set()
    for trial in rng.permutation(400):
        loss = values[int(rng.integers(len(values)))]
        rung.add(int(trial), loss)
        entries[int(trial)] = (loss, None)
        while True:
            top = rank(entries)[: len(entries) // eta]
            ready = [t for t in top if t not in promoted and math.isfinite(entries[t][0])]
            assert rung.due == (ready[0] if ready else None)
            if not ready or rng.random() < 0.3:  # promotions also left waiting
                break
            promoted.add(rung.promote())
    assert len(promoted) > 50
