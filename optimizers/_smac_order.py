"""Make SMAC 2.4's local search independent of Python's string-hash seed.

``LocalSearch._get_init_points_from_previous_configs`` documents that it concatenates the
previous configurations sorted by predicted cost with the additional start points and drops
"all but the first occurrence of a configuration, reading from left to right", but SMAC
2.4.1 returns ``list(set(...))``. A ``Configuration`` hashes its ``repr`` (a string), so the
order of the local searches' start points, and with it every proposal after the initial
design, changes with ``PYTHONHASHSEED``: two runs of raw SMAC with the same seed differ from
one process to the next. :func:`install` replaces the method with its documented behaviour
(the same points, in that left-to-right order), so a cell is reproducible across processes.
It is installed when `optimizers.smac_adapter` is imported, for every SMAC run of the process.
"""

from __future__ import annotations

import itertools

import numpy as np
import smac
from ConfigSpace import Configuration
from smac.acquisition.maximizer.local_search import LocalSearch
from smac.utils.configspace import convert_configurations_to_array

__all__ = ["ORIGINAL", "install"]

#: SMAC's own method, kept for the tests that compare the two.
ORIGINAL = LocalSearch._get_init_points_from_previous_configs


def _init_points_in_documented_order(
    self: LocalSearch,
    previous_configs: list[Configuration],
    n_points: int,
    additional_start_points: list[tuple[float, Configuration]] | None,
) -> list[Configuration]:
    # SMAC 2.4.1's body, line for line (same random draws), except the last line.
    assert self._acquisition_function is not None
    if self._acquisition_function.model is not None:
        conf_array = convert_configurations_to_array(previous_configs)
        costs = self._acquisition_function.model.predict_marginalized(conf_array)[0]
        assert len(conf_array) == len(costs), (conf_array.shape, costs.shape)
        if len(costs.shape) == 2 and costs.shape[1] > 1:
            weights = np.array([self._rng.rand() for _ in range(costs.shape[1])])
            weights = weights / np.sum(weights)
            costs = costs @ weights
        random = self._rng.rand(len(costs))
        indices = np.lexsort((random.flatten(), costs.flatten()))
        sorted_by_cost = [previous_configs[ind] for ind in indices][:n_points]
    else:
        sorted_by_cost = []
    additional = [asp[1] for asp in additional_start_points or []]
    return list(dict.fromkeys(itertools.chain(sorted_by_cost, additional)))


def install() -> None:
    """Replace the method (SMAC 2.4 only: the body above is 2.4.1's)."""
    if smac.version.startswith("2.4."):
        LocalSearch._get_init_points_from_previous_configs = (  # type: ignore[method-assign]
            _init_points_in_documented_order
        )
