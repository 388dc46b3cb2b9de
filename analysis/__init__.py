"""Analysis of recorded results: load Parquet cells, curves, statistics, tables, figures, report.

Reads only the Parquet files written by the recorder (schema version 1) and their metadata.
The only project module it imports is the leaf `benchmarks.schema` (column names, schema
version, metadata key); nothing else from `benchmarks`, `problems` or `optimizers`.

Layout: `load` (files -> `Results`), `curves` (anytime curves), `stats` (final values,
regret, ranks, tests, critical difference), `tables/` (one module per report table;
`tables.families` names the optimizers each table compares), `plots`, `report`.
"""

from analysis.load import Results, SchemaError, load_results

__all__ = ["Results", "SchemaError", "load_results"]
