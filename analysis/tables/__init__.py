"""The comparison tables of the chapter study, one module per table.

Every builder takes loaded :class:`~analysis.load.Results` and returns a :class:`Table`
(possibly empty, with a note saying which runs it needs). Builders never fail because an
optimizer or problem is missing: they use whatever subset of the study is present. Which
optimizers form a table's families is written once, in :mod:`analysis.tables.families`.
"""

from __future__ import annotations

import logging

import pandas as pd

from analysis.load import Results
from analysis.tables._asha_savings import asha_savings, sha_units
from analysis.tables._early_stopping import early_stopping
from analysis.tables._fidelity_counts import fidelity_counts
from analysis.tables._grid_vs_random import grid_vs_random
from analysis.tables._importance import cell_importance, parameter_importance
from analysis.tables._overall import overall, references_table
from analysis.tables._pbt import lineage_depth, pbt_summary
from analysis.tables._pruning import pruning
from analysis.tables._samplers import TARGET_REGRET, samplers
from analysis.tables._table import JOB_END, Table
from analysis.tables.families import (
    FIDELITY_OPTIMIZERS,
    GRID_OPTIMIZERS,
    PBT_COMPARATORS,
    PBT_OPTIMIZERS,
    PRUNING_OPTIMIZERS,
    SAMPLER_OPTIMIZERS,
)

__all__ = [
    "FIDELITY_OPTIMIZERS",
    "GRID_OPTIMIZERS",
    "JOB_END",
    "PBT_COMPARATORS",
    "PBT_OPTIMIZERS",
    "PRUNING_OPTIMIZERS",
    "SAMPLER_OPTIMIZERS",
    "TARGET_REGRET",
    "Table",
    "all_tables",
    "asha_savings",
    "cell_importance",
    "early_stopping",
    "fidelity_counts",
    "grid_vs_random",
    "lineage_depth",
    "overall",
    "parameter_importance",
    "pbt_summary",
    "pruning",
    "references_table",
    "samplers",
    "sha_units",
]

log = logging.getLogger(__name__)


def all_tables(results: Results) -> list[Table]:
    """Build every table of the report, in report order.

    A builder that fails on unexpected data yields an empty table whose note names the
    error (logged with its traceback), so one odd cell never costs the whole report.
    """
    tables: list[Table] = []
    for name, build in [
        ("references", references_table), ("grid_vs_random", grid_vs_random),
        ("early_stopping", early_stopping), ("samplers", samplers), ("pruning", pruning),
        ("asha_savings", asha_savings), ("fidelity_counts", fidelity_counts),
        ("pbt", pbt_summary), ("importance", parameter_importance), ("overall", overall),
    ]:
        try:
            built = build(results)
        except Exception as err:  # report the failure in place of the table
            log.warning("table %s failed", name, exc_info=True)
            built = Table(name, name, pd.DataFrame(), "",
                          [f"could not be built: {type(err).__name__}: {err}"])
        tables.extend(built if isinstance(built, list) else [built])
    return tables
