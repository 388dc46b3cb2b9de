"""The results schema (version 1): column names, types and metadata key, in one leaf module.

Imports nothing from the project, so every layer may use it: the recorder writes with it,
the runner fills its columns, and `analysis` (which reads files and imports no other
project module) checks what it loads against it.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "CELL_COLUMNS",
    "COLUMNS",
    "METADATA_KEY",
    "SCHEMA",
    "SCHEMA_VERSION",
    "TIMING_COLUMNS",
]

SCHEMA_VERSION = 1
#: Key of the JSON metadata (resolved config, versions, times) in each file's schema metadata.
METADATA_KEY = b"hpo_arena"

#: The report schema, version 1. `loss` is `value` turned to minimize; `best_loss` is the
#: incumbent (best loss over the cell's non-failed reports so far). `units` are the compute
#: units of this report, `cum_units` the cell's total so far, `virtual_time` the simulated
#: workers' clock (in compute units, or in recorded seconds for a cell run with
#: `clock=seconds`: its file's `cell_config` then names the clock). `config` is JSON with
#: sorted keys. `test_value` and
#: `true_value` (noise-free objective) are null where a problem has none; other metrics go
#: to `metrics` (JSON). `error` says why a report failed.
SCHEMA = pa.schema(
    [
        ("study", pa.string()),
        ("problem", pa.string()),
        ("optimizer", pa.string()),
        ("seed", pa.int64()),
        ("trial", pa.int64()),
        ("parent_trial", pa.int64()),
        ("step", pa.int64()),
        ("value", pa.float64()),
        ("loss", pa.float64()),
        ("status", pa.string()),
        ("units", pa.int64()),
        ("cum_units", pa.int64()),
        ("virtual_time", pa.float64()),
        ("wall_time", pa.float64()),
        ("optimizer_time", pa.float64()),
        ("best_loss", pa.float64()),
        ("config", pa.string()),
        ("test_value", pa.float64()),
        ("true_value", pa.float64()),
        ("metrics", pa.string()),
        ("error", pa.string()),
    ]
)

#: Every column, in file order.
COLUMNS: tuple[str, ...] = tuple(SCHEMA.names)

#: Columns that measure real time; they differ between otherwise identical runs.
TIMING_COLUMNS = ("wall_time", "optimizer_time")

#: Columns that identify the cell a row belongs to.
CELL_COLUMNS = ("study", "problem", "optimizer", "seed")
