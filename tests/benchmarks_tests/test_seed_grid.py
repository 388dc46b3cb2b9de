"""`seeds=range(30)` and `seeds=0,1,2`: shorthands for the seed grid, never a sweep."""

import pytest
from omegaconf import OmegaConf

from benchmarks.compose import compose_runs


@pytest.mark.parametrize(
    ("override", "multirun", "seeds"),
    [
        ("seeds=range(3,6)", False, [3, 4, 5]),
        ("seeds=range(30)", True, list(range(30))),
        ("seeds=0,2", False, [0, 2]),
        ("seeds=[4,1]", False, [4, 1]),
    ],
)
def test_seed_shorthands_compose_one_seed_grid(override, multirun, seeds):
    problem = "problem=branin,hartmann6" if multirun else "problem=branin"
    jobs = compose_runs([problem, override], multirun)
    assert len(jobs) == (2 if multirun else 1)
    assert all(OmegaConf.to_container(job.cfg.seeds) == seeds for job in jobs)
