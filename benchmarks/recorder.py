"""Results on disk: atomic cell files and their metadata (the schema is `benchmarks.schema`).

One Parquet file per cell at ``<results_dir>/<study>/<problem>/<optimizer>/seed=<n>.parquet``.
Every file has the same columns, so the tree reads as one dataset with pandas, pyarrow,
polars or DuckDB. A file appears only when its cell is complete (temp file + hard link,
which refuses to replace an existing file) and is never overwritten.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.schema import METADATA_KEY, SCHEMA, SCHEMA_VERSION, TIMING_COLUMNS

__all__ = [
    "METADATA_KEY",
    "SCHEMA",
    "SCHEMA_VERSION",
    "TIMING_COLUMNS",
    "cell_path",
    "read_cell_metadata",
    "remove_stale_temp_files",
    "write_cell",
]

def cell_path(results_dir: Path, study: str, problem: str, optimizer: str, seed: int) -> Path:
    """Where the file of one cell lives."""
    return Path(results_dir) / study / problem / optimizer / f"seed={seed}.parquet"


def write_cell(path: Path, columns: Mapping[str, list], metadata: Mapping[str, Any]) -> bool:
    """Write a complete cell atomically; return False if the file already exists.

    The table goes to a hidden temp file beside the target (ignored by dataset readers),
    then is hard-linked into place, which fails rather than replace an existing file. An
    existing file was written by another run of the same study (its plan found no file
    when it started), so it is left as it is: cells are deterministic, it holds the same
    rows (timing columns aside).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pydict(dict(columns), schema=SCHEMA)
    meta = {METADATA_KEY: json.dumps(metadata, sort_keys=True, default=str).encode()}
    table = table.replace_schema_metadata(meta)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def read_cell_metadata(path: Path) -> dict[str, Any]:
    """The metadata written with a cell (schema version, config, versions, times)."""
    meta = pq.read_schema(path).metadata or {}
    if METADATA_KEY not in meta:
        raise ValueError(f"{path} has no hpo-arena metadata; it was not written by hpo-arena.")
    return json.loads(meta[METADATA_KEY])


def remove_stale_temp_files(study_dir: Path) -> int:
    """Delete temp files left by a killed writer under a study folder; return the count.

    A temp file names its writer's pid; one whose writer is still alive (another run of
    the same study, mid-write) is left alone.
    """
    n = 0
    if Path(study_dir).is_dir():
        for tmp in Path(study_dir).rglob(".seed=*.parquet.*.tmp"):
            pid = tmp.name.rsplit(".", 2)[-2]
            if pid.isdigit() and _alive(int(pid)):
                continue
            tmp.unlink(missing_ok=True)
            n += 1
    return n


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
