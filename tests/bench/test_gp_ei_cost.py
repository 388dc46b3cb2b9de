"""Cost of one GP-EI proposal at 20, 50 and 100 observations, against the chapter's style.

The chapter-style baseline (sklearn GP refit + EI on 1000 random candidates, no local
refinement, 5 likelihood restarts) was measured at 35 ms per proposal in library-notes.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import Matern

from optimizers.base import Status
from optimizers.gp_ei import GPEIOptimizer
from problems.synthetic import Hartmann6Problem


def _primed(n_observations: int) -> GPEIOptimizer:
    problem = Hartmann6Problem()
    opt = GPEIOptimizer(problem.space, None, "minimize", 0, n_init=n_observations)
    for _ in range(n_observations):
        job = opt.ask()
        opt.tell(job.trial, Status.COMPLETED, problem.function(job.config), 1)
    return opt


def _chapter_style(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    gp = GaussianProcessRegressor(kernel=Matern(nu=2.5), alpha=1e-6, normalize_y=True,
                                  n_restarts_optimizer=5, random_state=42).fit(x, y)
    cand = rng.random((1000, x.shape[1]))
    mu, sigma = gp.predict(cand, return_std=True)
    imp = y.min() - mu - 0.01
    z = imp / np.maximum(sigma, 1e-12)
    return cand[np.argmax(imp * norm.cdf(z) + sigma * norm.pdf(z))]


@pytest.mark.parametrize("n_observations", [20, 50, 100])
def test_proposal_cost(benchmark, n_observations):
    opt = _primed(n_observations)

    def propose():
        job = opt.ask()
        del opt._pending[job.trial]  # keep the data fixed between rounds
        return job

    job = benchmark.pedantic(propose, rounds=3, iterations=1)
    Hartmann6Problem().space.validate(job.config)
    if not benchmark.disabled:
        x = np.array([x for x, _ in opt._observed])
        y = np.array([y for _, y in opt._observed])
        rng = np.random.default_rng(0)
        tick = time.perf_counter()
        for _ in range(3):
            _chapter_style(x, y, rng)
        baseline = (time.perf_counter() - tick) / 3
        ratio = benchmark.stats.stats.median / baseline
        benchmark.extra_info.update(chapter_style_s=baseline, ratio=ratio)
        # Anisotropic kernel + white noise + L-BFGS-B polish cost more than the chapter's
        # isotropic GP on random candidates: measured 3-9x on a loaded 2-core machine and
        # 16-28x on a quiet one (the baseline speeds up more than the GP-EI proposal:
        # 211 / 224 / 697 ms at 20 / 50 / 100 observations). A regression guard.
        assert ratio < 40.0
