"""Bayesian optimization with a Gaussian process and Expected Improvement (or UCB)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.stats import norm
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from threadpoolctl import threadpool_limits

from optimizers._rungs import check_count
from optimizers.base import Job, JobKind, Optimizer, Status
from problems.base import Direction, Fidelity
from problems.params import number
from problems.space import Categorical, SearchSpace

__all__ = ["GPEIOptimizer"]

_ACQUISITIONS = ("ei", "ucb")


class GPEIOptimizer(Optimizer):
    """GP-based Bayesian optimization with Expected Improvement or UCB.

    References: Jones, Schonlau & Welch, J. Global Optim. 1998, for EI;
    Srinivas, Krause, Kakade & Seeger, ICML 2010, for UCB; Snoek, Larochelle & Adams,
    NeurIPS 2012, for the Matérn-5/2 practice).

    The first `n_init` trials are random draws. Afterwards a scikit-learn
    ``GaussianProcessRegressor`` (constant × Matérn ν=2.5 with one length scale per input,
    plus a fitted white-noise term; ``normalize_y=True``; `n_restarts` restarts of the
    marginal-likelihood fit, ``random_state`` = the cell seed) is fitted to the losses and
    the next configuration maximizes the acquisition: Expected Improvement over the best
    observed loss with margin `xi`, or, with ``acquisition: ucb``, the upper confidence
    bound μ + κσ of the value (μ − κσ of the loss). The acquisition is evaluated on
    `n_candidates` configurations drawn from the space's priors (seeded), and the best
    `n_refine` of them are refined with L-BFGS-B over their numeric parameters.

    Encoding (the GP's input space): Float and Int parameters map to [0, 1] with
    ``param.to_unit`` (log scale for log parameters; each integer owns an equal-width cell,
    so refined values are rounded back by ``from_unit``); a categorical becomes one one-hot
    column per choice. An inactive conditional parameter is encoded as 0.5 (numeric) or all
    zeros (categorical). Numeric parents of conditions are not refined (that could change
    which parameters are active).

    Failed trials are left out of the GP. With several workers, trials still running enter
    the GP as "constant liars" at the worst observed loss (Ginsbourger et al., 2010), so
    concurrent proposals spread out. On a problem with a fidelity every trial trains to the
    maximum.

    Args:
        n_init: random trials before the GP is used (at least 2).
        acquisition: "ei" (Expected Improvement) or "ucb" (upper confidence bound).
        xi: EI's exploration margin, in units of the objective.
        kappa: UCB's weight on the standard deviation.
        n_candidates: random candidates on which the acquisition is evaluated.
        n_refine: best candidates refined by L-BFGS-B (0: none).
        n_restarts: restarts of the GP's marginal-likelihood optimizer.

    """

    def __init__(
        self,
        space: SearchSpace,
        fidelity: Fidelity | None,
        direction: Direction,
        seed: int,
        n_init: int = 5,
        acquisition: str = "ei",
        xi: float = 0.01,
        kappa: float = 2.0,
        n_candidates: int = 1000,
        n_refine: int = 2,
        n_restarts: int = 1,
    ) -> None:
        super().__init__(space, fidelity, direction, seed)
        self.n_init = check_count("n_init", n_init, minimum=2, optional=False)
        if acquisition not in _ACQUISITIONS:
            raise ValueError(
                f"`acquisition` must be one of {', '.join(_ACQUISITIONS)}, got {acquisition!r}."
            )
        for name, v in (("xi", xi), ("kappa", kappa)):
            number(0, finite=True).check(name, v)
        self.acquisition, self.xi, self.kappa = acquisition, float(xi), float(kappa)
        self.n_candidates = check_count("n_candidates", n_candidates, optional=False)
        self.n_refine = check_count("n_refine", n_refine, minimum=0, optional=False)
        self.n_restarts = check_count("n_restarts", n_restarts, minimum=0, optional=False)
        self._rng = np.random.default_rng(seed)
        self._columns = _columns(space)
        parents = {p.condition.parent for p in space if p.condition is not None}
        self._refinable = [
            (p, col) for p, col in self._columns
            if not isinstance(p, Categorical) and p.name not in parents
        ]
        self._observed: list[tuple[np.ndarray, float]] = []
        self._pending: dict[int, np.ndarray] = {}
        self._n_asked = 0

    # -- ask / tell -----------------------------------------------------------------------
    def ask(self) -> Job | None:
        """Propose a random configuration at first, then the acquisition's maximizer."""
        self._n_asked += 1
        if self._n_asked <= self.n_init or len(self._observed) < 2:
            config = self.space.sample(self._rng)
        else:
            # The matrices are small: BLAS threads cost more than they save (3x measured).
            with threadpool_limits(1):
                config = self._propose()
        job = Job(JobKind.NEW, self.new_trial_id(), config, None)
        self._pending[job.trial] = self._encode(config)
        return job

    def tell(self, trial: int, status: Status, value: float, step: int) -> None:
        """Add the trial's loss to the GP's data (failed trials are left out)."""
        del step
        x = self._pending.pop(trial)
        if status is not Status.FAILED and math.isfinite(self.loss(value)):
            self._observed.append((x, self.loss(value)))

    # -- the model ------------------------------------------------------------------------
    def _fit(self) -> GaussianProcessRegressor:
        x = np.array([x for x, _ in self._observed])
        y = np.array([y for _, y in self._observed])
        if self._pending:  # constant liar: running trials look like the worst so far
            x = np.vstack([x, *self._pending.values()])
            y = np.concatenate([y, np.full(len(self._pending), y.max())])
        n_dims = x.shape[1]
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
            length_scale=np.full(n_dims, 0.5), length_scale_bounds=(1e-3, 1e2), nu=2.5
        ) + WhiteKernel(1e-4, (1e-9, 1e0))
        gp = GaussianProcessRegressor(
            kernel=kernel,
            alpha=1e-8,
            normalize_y=True,
            n_restarts_optimizer=self.n_restarts,
            random_state=self.seed,
        )
        with warnings.catch_warnings():
            # Bounds hit by the likelihood fit are expected on tiny data; never print.
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(x, y)
        return gp

    def _acquire(self, gp: GaussianProcessRegressor, x: np.ndarray, best: float) -> np.ndarray:
        """Acquisition values (higher is better) at rows of `x`."""
        mu, sigma = gp.predict(x, return_std=True)
        if self.acquisition == "ucb":
            return -(mu - self.kappa * sigma)
        improvement = best - mu - self.xi
        safe = np.where(sigma > 0, sigma, 1.0)
        z = improvement / safe
        ei = improvement * norm.cdf(z) + sigma * norm.pdf(z)
        return np.where(sigma > 0, ei, 0.0)

    def _propose(self) -> dict[str, Any]:
        gp = self._fit()
        best = min(y for _, y in self._observed)
        configs = [self.space.sample(self._rng) for _ in range(self.n_candidates)]
        x = np.array([self._encode(c) for c in configs])
        scores = self._acquire(gp, x, best)
        order = np.argsort(-scores, kind="stable")
        choice, choice_score = configs[order[0]], scores[order[0]]
        for i in order[: self.n_refine]:
            config, score = self._refine(gp, configs[i], x[i], best)
            if score > choice_score:
                choice, choice_score = config, score
        return choice

    def _refine(self, gp: GaussianProcessRegressor, config: dict[str, Any], x0: np.ndarray,
                best: float) -> tuple[dict[str, Any], float]:
        """L-BFGS-B on the candidate's active numeric columns; categoricals stay fixed."""
        free = [(p, col) for p, col in self._refinable if p.name in config]
        if not free:
            return config, -math.inf
        cols = [col for _, col in free]

        def negative(z: np.ndarray) -> float:
            x = x0.copy()
            x[cols] = z
            return -float(self._acquire(gp, x[None, :], best)[0])

        result = minimize(negative, x0[cols], method="L-BFGS-B", bounds=[(0.0, 1.0)] * len(cols),
                          options={"maxiter": 20})  # a polish, not a full search
        refined = dict(config)
        for (p, _), u in zip(free, result.x, strict=True):
            refined[p.name] = p.from_unit(float(u))
        # Score the decoded point (ints rounded), so the comparison is like for like.
        score = float(self._acquire(gp, self._encode(refined)[None, :], best)[0])
        return refined, score

    def _encode(self, config: dict[str, Any]) -> np.ndarray:
        x = np.zeros(self._n_dims)
        for p, col in self._columns:
            if p.name not in config:
                if not isinstance(p, Categorical):
                    x[col] = 0.5
            elif isinstance(p, Categorical):
                x[col + p.index(config[p.name])] = 1.0
            else:
                x[col] = p.to_unit(config[p.name])
        return x

    @property
    def _n_dims(self) -> int:
        p, col = self._columns[-1]
        return col + (len(p.choices) if isinstance(p, Categorical) else 1)


def _columns(space: SearchSpace) -> list[tuple[Any, int]]:
    """Each parameter with its first column in the encoding."""
    columns, col = [], 0
    for p in space:
        columns.append((p, col))
        col += len(p.choices) if isinstance(p, Categorical) else 1
    return columns
