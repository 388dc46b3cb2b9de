"""Analysis of recorded results: load Parquet cells, curves, statistics, tables, figures, report.

Reads only the Parquet files written by the recorder (schema version 1) and their metadata;
imports nothing from `benchmarks`, `problems` or `optimizers`.
"""

from analysis.load import Results, SchemaError, load_results

__all__ = ["Results", "SchemaError", "load_results"]
