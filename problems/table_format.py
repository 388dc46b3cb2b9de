"""Benchmark tables on disk: the configuration design, the files and their metadata.

A table is a folder (shipped ones under ``problems/tables/<problem>/``) holding

- ``table.json``: what was recorded and how (problem conf, search space, design, seeds,
  library versions, data hash, machine, and one entry per collection run with its cost);
- ``ids-<a>-<b>.parquet``: the rows of configuration ids ``a..b-1`` (all seeds), written
  atomically when complete, zstd-compressed. Long format, one row per reported step of one
  training run to the maximum fidelity: ``config_id, seed, step, value, cum_units,
  cum_seconds`` (measured CPU seconds of training + evaluation since the run started; the
  problems train on one thread), ``cum_wall_seconds`` (the same in wall time), ``config``
  (canonical JSON) and one column per extra metric of the problem (``test_value``, ...).
  Floats are stored as float32 (7 significant digits: far finer than the seed-to-seed
  spread of any metric here).

The design: configuration id ``i`` is point ``i`` of scipy's scrambled Sobol sequence
(``scipy.stats.qmc.Sobol(d, scramble=True, rng=DESIGN_SEED)``, one dimension per
parameter in declaration order), mapped through each parameter's own transform
(``from_unit``: log scale, integer cells) or, for a categorical with k choices, to choice
``floor(u * k)``. A conditional parameter takes its coordinate only where active. Ids are a
prefix-stable sequence: the first 500 configurations of a 1,000 table are those of a 500
one, whatever `subset` computed them.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from problems.space import Categorical, Float, SearchSpace

__all__ = [
    "DESIGN",
    "DESIGN_SEED",
    "META_NAME",
    "TABLES_DIR",
    "chunk_name",
    "chunk_ranges",
    "data_hash",
    "design_configs",
    "read_meta",
    "rows_to_arrow",
    "space_to_dict",
]

#: Shipped tables: tracked files read relative to this module, never the working directory.
TABLES_DIR = Path(__file__).resolve().parent / "tables"
META_NAME = "table.json"
DESIGN_SEED = 20261203
DESIGN = {
    "method": "scrambled Sobol",
    "library": "scipy.stats.qmc.Sobol(d, scramble=True, rng=seed)",
    "seed": DESIGN_SEED,
    "mapping": "point i -> config id i; per parameter (declaration order): from_unit(u) for "
    "float/int, choices[floor(u*k)] for categoricals; inactive conditionals unset",
}
#: Columns every chunk file has; the problem's extra metrics follow them.
FIXED_COLUMNS = ("config_id", "seed", "step", "value", "cum_units", "cum_seconds",
                 "cum_wall_seconds", "config")


def design_configs(space: SearchSpace, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The design's configurations for the given ids (see the module docstring)."""
    from scipy.stats import qmc

    ids = sorted(set(int(i) for i in ids))
    if not ids:
        return {}
    sampler = qmc.Sobol(len(space.params), scramble=True, rng=DESIGN_SEED)
    with warnings.catch_warnings():
        # Sobol's balance holds for powers of two; the prefix of the sequence is what we want.
        warnings.simplefilter("ignore", UserWarning)
        points = sampler.random(ids[-1] + 1)
    out = {}
    for i in ids:
        config: dict[str, Any] = {}
        for param, u in zip(space.params, points[i], strict=True):
            if not space.is_active(param, config):
                continue
            if isinstance(param, Categorical):
                k = len(param.choices)
                config[param.name] = param.choices[min(int(math.floor(u * k)), k - 1)]
            else:
                config[param.name] = param.from_unit(float(u))
        out[i] = config
    return out


def rows_to_arrow(rows: list[dict[str, Any]], metric_names: Sequence[str]) -> pa.Table:
    """Rows as a typed Arrow table: ints int32 (seed int16), floats float32."""
    extra = list(metric_names) + sorted(
        {k for r in rows for k in r} - set(metric_names) - set(FIXED_COLUMNS))
    clash = set(metric_names) & set(FIXED_COLUMNS)
    if clash:
        raise ValueError(f"metric names {sorted(clash)} clash with the table's own columns.")
    arrays, names = [], []
    for name in (*FIXED_COLUMNS, *extra):
        values = [r.get(name) for r in rows]
        if name == "config":
            array = pa.array(values, pa.string())
        elif name == "seed":
            array = pa.array(values, pa.int16())
        elif all(isinstance(v, int | np.integer) and not isinstance(v, bool)
                 for v in values if v is not None):
            array = pa.array(values, pa.int32())
        elif all(isinstance(v, float | int | np.number) for v in values if v is not None):
            array = pa.array(np.asarray([np.nan if v is None else v for v in values],
                                        dtype=np.float32))
        else:
            array = pa.array(values)
        arrays.append(array)
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def space_to_dict(space: SearchSpace) -> dict[str, dict[str, Any]]:
    """The inverse of :meth:`SearchSpace.from_dict` (for the table's metadata)."""
    out: dict[str, dict[str, Any]] = {}
    for p in space.params:
        if isinstance(p, Categorical):
            entry: dict[str, Any] = {"type": "categorical", "choices": list(p.choices)}
        else:
            kind = "float" if isinstance(p, Float) else "int"
            entry = {"type": kind, "low": p.low, "high": p.high, "log": p.log}
        if p.condition is not None:
            entry["condition"] = {"parent": p.condition.parent,
                                  "values": list(p.condition.values)}
        out[p.name] = entry
    return out


def chunk_name(start: int, stop: int) -> str:
    """File name of the chunk holding ids ``start..stop-1``."""
    return f"ids-{start:06d}-{stop:06d}.parquet"


def chunk_ranges(folder: Path) -> list[tuple[int, int, Path]]:
    """The (start, stop, path) of every complete chunk file in `folder`, sorted."""
    out = []
    for path in Path(folder).glob("ids-*-*.parquet"):
        parts = path.stem.split("-")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            out.append((int(parts[1]), int(parts[2]), path))
    return sorted(out)


def read_meta(folder: Path) -> dict[str, Any]:
    """The metadata of the table in `folder` (ValueError if there is none)."""
    path = Path(folder) / META_NAME
    if not path.is_file():
        raise ValueError(f"{folder} holds no benchmark table (no {META_NAME}).")
    return json.loads(path.read_text())


def data_hash(problem: Any) -> str:
    """SHA-256 over the arrays a problem holds (its dataset and splits), in attribute order.

    Arrays are found in the problem's attributes, one level into dataclasses, dicts and
    tuples; torch tensors count by their numpy view. Equal hashes: the same data.
    """
    digest = hashlib.sha256()
    for name, array in _arrays(vars(problem), ""):
        digest.update(name.encode())
        digest.update(str(array.dtype).encode() + str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _arrays(node: Any, prefix: str, depth: int = 0) -> list[tuple[str, np.ndarray]]:
    if isinstance(node, np.ndarray):
        return [(prefix, node)]
    if hasattr(node, "detach") and hasattr(node, "numpy"):  # a torch tensor
        return [(prefix, node.detach().cpu().numpy())]
    if depth > 3:
        return []
    if isinstance(node, Mapping):
        items = sorted(node.items(), key=lambda kv: str(kv[0]))
    elif isinstance(node, list | tuple):
        items = list(enumerate(node))
    elif hasattr(node, "__dataclass_fields__"):
        items = [(f, getattr(node, f)) for f in node.__dataclass_fields__]
    else:
        return []
    out = []
    for key, value in items:
        out.extend(_arrays(value, f"{prefix}.{key}", depth + 1))
    return out
