"""Synthetic problems with known optima: the chapter's 1-D toy, Branin, Hartmann-6, and
the learning-curve toy used for ASHA / Hyperband / PBT.

Each records the noise-free value beside the (optionally noisy) objective as
``true_value``, so analysis can compute exact regret. Noise is drawn from a generator
seeded by (cell seed, configuration), so the same configuration meets the same noise
whichever optimizer proposes it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from problems.base import Fidelity, Problem, Trial, config_seed
from problems.params import integer, number
from problems.space import Categorical, Float, SearchSpace

__all__ = ["BraninProblem", "Hartmann6Problem", "LearningCurveProblem", "Synthetic1DProblem"]


def _check_noise(noise_std: float) -> float:
    return float(number(0, finite=True).check("noise_std", noise_std))


class _FunctionTrial(Trial):
    """A single-fidelity evaluation of a closed-form function plus seeded noise."""

    problem: _FunctionProblem

    def _train(self, step: int) -> int:
        return 1

    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        true = self.problem.function(self.config)
        noise = 0.0
        if self.problem.noise_std > 0:
            rng = np.random.default_rng(config_seed(self.seed, self.config))
            noise = self.problem.noise_std * float(rng.standard_normal())
        return true + noise, {"true_value": true}


class _FunctionProblem(Problem):
    metric_names = ("true_value",)

    def __init__(self, noise_std: float = 0.0) -> None:
        self.noise_std = _check_noise(noise_std)

    def function(self, config: Mapping[str, Any]) -> float:
        """The noise-free objective."""
        raise NotImplementedError

    def trial(self, config: Mapping[str, Any], seed: int) -> Trial:
        """A one-step trial of `config`."""
        return _FunctionTrial(self, config, seed)


class Synthetic1DProblem(_FunctionProblem):
    """The chapter's ``-(x - 2)^2 + 5 + noise`` on x in [0, 5]; maximize, optimum 5 at x=2."""

    def __init__(self, noise_std: float = 0.1, low: float = 0.0, high: float = 5.0) -> None:
        super().__init__(noise_std)
        self.space = SearchSpace((Float("x", low, high),))
        self.direction = "maximize"
        self.optimum = 5.0 if low <= 2.0 <= high else max(
            -((b - 2.0) ** 2) + 5.0 for b in (low, high)
        )

    def function(self, config: Mapping[str, Any]) -> float:
        """Noise-free value."""
        return -((config["x"] - 2.0) ** 2) + 5.0


class BraninProblem(_FunctionProblem):
    """Branin-Hoo on [-5, 10] x [0, 15]; minimize, optimum 0.397887 (three minimizers)."""

    def __init__(self, noise_std: float = 0.0) -> None:
        super().__init__(noise_std)
        self.space = SearchSpace((Float("x1", -5.0, 10.0), Float("x2", 0.0, 15.0)))
        self.direction = "minimize"
        self.optimum = 0.397887

    def function(self, config: Mapping[str, Any]) -> float:
        """Noise-free value."""
        x1, x2 = config["x1"], config["x2"]
        b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
        r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
        return (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


class Hartmann6Problem(_FunctionProblem):
    """Hartmann-6 on [0, 1]^6; minimize, optimum -3.32237."""

    _alpha = np.array([1.0, 1.2, 3.0, 3.2])
    _a = np.array(
        [
            [10, 3, 17, 3.5, 1.7, 8],
            [0.05, 10, 17, 0.1, 8, 14],
            [3, 3.5, 1.7, 10, 17, 8],
            [17, 8, 0.05, 10, 0.1, 14],
        ]
    )
    _p = 1e-4 * np.array(
        [
            [1312, 1696, 5569, 124, 8283, 5886],
            [2329, 4135, 8307, 3736, 1004, 9991],
            [2348, 1451, 3522, 2883, 3047, 6650],
            [4047, 8828, 8732, 5743, 1091, 381],
        ]
    )

    def __init__(self, noise_std: float = 0.0) -> None:
        super().__init__(noise_std)
        self.space = SearchSpace(tuple(Float(f"x{i}", 0.0, 1.0) for i in range(1, 7)))
        self.direction = "minimize"
        self.optimum = -3.32237

    def function(self, config: Mapping[str, Any]) -> float:
        """Noise-free value."""
        x = np.array([config[f"x{i}"] for i in range(1, 7)])
        inner = np.sum(self._a * (x - self._p) ** 2, axis=1)
        return float(-np.sum(self._alpha * np.exp(-inner)))


class _CurveTrial(Trial):
    """Learning-curve toy: value(t) = base * (1 - exp(-t / tau)) + noise, t = iteration."""

    problem: LearningCurveProblem

    def __init__(self, problem: Problem, config: Mapping[str, Any], seed: int) -> None:
        super().__init__(problem, config, seed)
        # One noise draw per iteration, in order; a clone continues the same stream. The
        # draws are made ahead (numpy fills an array draw by draw, so draw i is the same
        # however the stream is cut) into the problem's slab, and the Generator is dropped
        # once they reach the fidelity's maximum: a paused trial then holds a view, not a
        # Generator, its bit generator and seed sequence (objects the garbage collector
        # scans, spread over memory each report touches; ASHA keeps 10^4-10^5 paused).
        top = self.problem.fidelity.max
        rng = np.random.default_rng(config_seed(seed, config))
        self._draws = self.problem.slab.draw(rng, min(top, _CURVE_DRAWS))
        self._rng = rng if len(self._draws) < top else None
        self._noise = 0.0
        self._on_config_change()

    def _draw_until(self, n: int) -> None:
        """Extend the draws to at least `n` steps (doubling: amortized O(1) a step)."""
        more = min(max(n, 2 * len(self._draws)), self.problem.fidelity.max) - len(self._draws)
        self._draws = np.concatenate((self._draws, self._rng.standard_normal(more)))
        if len(self._draws) >= self.problem.fidelity.max:
            self._rng = None

    def _on_config_change(self) -> None:
        self._base = self.problem.base(self.config)  # curve() without two lookups a step

    def _train(self, step: int) -> int:
        if step > len(self._draws):
            self._draw_until(step)
        self._noise = self.problem.noise_std * float(self._draws[step - 1])
        return step - self.step

    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        true = self._base * self.problem.growth(self.step)  # problem.curve, base cached
        return true + self._noise, {"true_value": true}


#: Noise draws made when a learning-curve trial starts (all of them up to this many steps).
_CURVE_DRAWS = 1024


class _DrawSlab:
    """Trials' noise draws side by side in shared blocks of 2^16 floats.

    A trial holds a view into a block instead of an array of its own: no malloc'ed chunk
    per trial between the short-lived ones of the runner, whose freed holes would then
    never merge (glibc's ``mallinfo2``, which the trial store reads twice a report, walks
    every free chunk). A block lives while a trial's view of it does.
    """

    __slots__ = ("block", "used")
    SIZE = 1 << 16

    def __init__(self) -> None:
        self.block = np.empty(0)
        self.used = 0

    def __reduce__(self) -> tuple[type, tuple]:
        # A copy of the problem (a Ray task's, a process pool's) starts its own block: Ray
        # hands arrays out of its object store read-only, and `out=` cannot fill those.
        return _DrawSlab, ()

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """The next `n` standard normal draws of `rng`, in a view of the current block."""
        if self.used + n > len(self.block):
            self.block, self.used = np.empty(max(n, self.SIZE)), 0
        view = self.block[self.used : self.used + n]
        self.used += n
        return rng.standard_normal(out=view)


class LearningCurveProblem(Problem):
    """The chapter's learning-curve toy for multi-fidelity methods; maximize.

    ``base = ((1 - |lr - 0.1|) + (1 - |batch_size - 32| / 64)) / 2`` and the value at
    iteration t is ``base * (1 - exp(-t / tau)) + noise``. The best configuration
    (lr = 0.1, batch_size = 32) has base 1, so the optimum at the maximum fidelity R is
    ``1 - exp(-R / tau)``. One iteration costs one compute unit.
    """

    metric_names = ("true_value",)

    def __init__(
        self,
        max_iterations: int = 81,
        min_iterations: int = 1,
        report_every: int = 1,
        noise_std: float = 0.01,
        tau: float = 20.0,
    ) -> None:
        for key, v in (("max_iterations", max_iterations), ("min_iterations", min_iterations)):
            integer(1).check(key, v)
        number(0, low_open=True).check("tau", tau)
        self.noise_std = _check_noise(noise_std)
        self.tau = float(tau)
        self.space = SearchSpace(
            (Float("learning_rate", 0.001, 0.3), Categorical("batch_size", (16, 32, 64, 128)))
        )
        self.direction = "maximize"
        self.fidelity = Fidelity("iteration", min_iterations, max_iterations, report_every)
        self.optimum = 1.0 - math.exp(-max_iterations / self.tau)
        self.slab = _DrawSlab()  # where trials keep their noise draws

    def base(self, config: Mapping[str, Any]) -> float:
        """The configuration's asymptotic score (the chapter's distance-to-(0.1, 32))."""
        lr_score = 1 - abs(config["learning_rate"] - 0.1)
        bs_score = 1 - abs(config["batch_size"] - 32) / 64
        return (lr_score + bs_score) / 2

    def growth(self, t: int) -> float:
        """The share of its asymptotic score a configuration reaches at iteration t."""
        return 1 - math.exp(-t / self.tau)

    def curve(self, config: Mapping[str, Any], t: int) -> float:
        """Noise-free value at iteration t."""
        return self.base(config) * self.growth(t)

    def trial(self, config: Mapping[str, Any], seed: int) -> Trial:
        """A fresh trial at iteration 0."""
        return _CurveTrial(self, config, seed)
