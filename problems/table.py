"""Table problems: learning curves recorded from a real problem, answered by lookup.

A :class:`TableProblem` reads a table written by ``python -m benchmarks.tabulate`` (format:
:mod:`problems.table_format`) and answers the Problem/Trial contract from it, so
optimizers, simulated workers, resume and analysis work unchanged, in microseconds a report.

Semantics (each fixed, and tested):

- **Nearest configuration.** A proposed configuration is answered by the table
  configuration nearest to it in the normalized space: floats and ints by their
  ``to_unit`` coordinate (log scale where the parameter has one), a categorical by one-hot
  coordinates scaled so that a different choice is at squared distance 1, an inactive
  conditional parameter as far from every active value (coordinate -1, one-hot all 0).
  Squared Euclidean distance; ties go to the lowest id. The matched id is the report's
  ``table_id`` metric.
- **Seeds.** The cell seed ``s`` and the matched configuration draw one of the table's
  seeds, ``rng = default_rng(config_seed(s, table_config))`` then ``rng.integers``: the
  same cell seed gives the same rows; cell seeds s and s+3 give different landscapes,
  because every configuration draws again. The drawn seed is the ``table_seed`` metric.
- **Steps.** A recorded step answers with its recorded values. A step between two
  recorded steps (rung 12, 37, 111 or 333 of a table recorded every 10 rounds) answers
  with the linear interpolation of objective, metrics and cumulative seconds between the
  two neighbours (int metrics rounded). Nothing is invented outside the recorded range: a
  step below the first recorded step or above the last raises ValueError. The fidelity's
  minimum is the first recorded step.
- **Cost.** Each report costs its steps in compute units (as the real problem) and, as
  the metric ``seconds``, the difference of the recorded cumulative seconds between the
  previous and this step of the trial: never negative, so cumulative cost never
  decreases along a curve. ``test_value`` and every other metric are the real problem's.
- **Clones.** A clone with the same configuration copies the trial; one with changed
  hyperparameters (PBT) raises ValueError: the table holds no curve for it.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from problems.base import Fidelity, Problem, Trial, config_key, config_seed
from problems.space import Categorical, SearchSpace
from problems.table_format import TABLES_DIR, chunk_ranges, read_meta

__all__ = ["TableProblem", "load_table", "table_folder"]

_OWN_METRICS = ("table_id", "table_seed", "seconds")


class Table:
    """A loaded table: configurations, their encodings and one curve per (id, seed)."""

    def __init__(self, folder: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.folder = folder
        self.meta = read_meta(folder)
        self.space = SearchSpace.from_dict(self.meta["space"])
        chunks = chunk_ranges(folder)
        if not chunks:
            raise ValueError(f"the table in {folder} has no recorded chunk yet.")
        # ParquetFile, not read_table: the latter imports pyarrow.dataset and pandas (~1 s).
        # `config` repeats one text per curve row: read as a dictionary, it is decoded once
        # per distinct configuration instead of once per row (3-8x faster loads).
        data = pa.concat_tables([pq.ParquetFile(path, read_dictionary=["config"]).read()
                                 for _, _, path in chunks])
        ids = _numpy(data["config_id"])
        seeds = _numpy(data["seed"])
        steps = _numpy(data["step"]).astype(np.int64)
        order = np.lexsort((steps, seeds, ids))
        ids, seeds, self.steps = ids[order], seeds[order], steps[order]
        self.columns: dict[str, np.ndarray] = {}
        self.int_columns: set[str] = set()
        skip = {"config_id", "seed", "step", "config"}
        for name in data.column_names:
            if name in skip:
                continue
            column = data[name]
            if pa.types.is_integer(column.type):
                self.int_columns.add(name)
            if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
                self.columns[name] = _numpy(column)[order]
        # One curve per (id, seed): the runs of equal (id, seed) in the sorted rows.
        starts = np.flatnonzero(np.r_[True, (ids[1:] != ids[:-1]) | (seeds[1:] != seeds[:-1])])
        stops = np.r_[starts[1:], len(ids)]
        # each curve's config text, from its first row, through the dictionary codes (no
        # pa.array / to_numpy of strings: those import pandas, ~0.3 s)
        words: list[str] = []
        codes = []
        for chunk in data["config"].chunks:
            codes.append(_numpy(pa.chunked_array([chunk.indices])) + len(words))
            words.extend(chunk.dictionary.to_pylist())
        first_texts = [words[i] for i in np.concatenate(codes)[order[starts]].tolist()]
        self.curves: dict[tuple[int, int], slice] = {}
        self.seeds_of: dict[int, list[int]] = {}
        texts: dict[int, str] = {}
        for start, stop, text in zip(starts.tolist(), stops.tolist(), first_texts, strict=True):
            cid, seed = int(ids[start]), int(seeds[start])
            self.curves[(cid, seed)] = slice(start, stop)
            self.seeds_of.setdefault(cid, []).append(seed)
            texts.setdefault(cid, text)
        self.ids = np.array(sorted(texts), dtype=np.int64)
        self.configs = {cid: json.loads(texts[cid]) for cid in self.ids.tolist()}
        self.by_key = {texts[cid]: cid for cid in self.ids.tolist()}
        self.coords = np.stack([encode(self.space, self.configs[c]) for c in self.ids.tolist()])
        fid = self.meta["fidelity"]
        last = int(fid["max"]) if fid else 1
        ends = self.steps[stops - 1]
        if np.any(ends != last):
            bad = int(np.flatnonzero(ends != last)[0])
            raise ValueError(
                f"the table in {folder} has a curve ending at step {int(ends[bad])} before "
                f"the maximum {last} (early stopping); table problems need full curves."
            )
        self.first_step = int(self.steps[starts].max())

    def nearest(self, config: Mapping[str, Any]) -> int:
        """The id of the table configuration nearest to `config` (see the module doc)."""
        exact = self.by_key.get(config_key(config))
        if exact is not None:
            return exact
        distance = np.square(self.coords - encode(self.space, config)).sum(axis=1)
        return int(self.ids[int(np.argmin(distance))])


def encode(space: SearchSpace, config: Mapping[str, Any]) -> np.ndarray:
    """Normalized coordinates of a configuration (ValueError for unknown or missing names)."""
    unknown = sorted(set(config) - set(space.names))
    if unknown:
        raise ValueError(
            f"`{unknown[0]}` is not a parameter of this table; its parameters are "
            f"{', '.join(space.names)}."
        )
    out: list[float] = []
    for p in space.params:
        active = space.is_active(p, config)
        if active and p.name not in config:
            raise ValueError(f"configuration misses the active parameter `{p.name}`.")
        if isinstance(p, Categorical):
            hot = [0.0] * len(p.choices)
            if active:
                hot[p.index(config[p.name])] = math.sqrt(0.5)
            out.extend(hot)
        else:
            out.append(p.to_unit(float(config[p.name])) if active else -1.0)
    return np.asarray(out, dtype=np.float64)


def load_table(table: str | Path) -> Table:
    """The table named `table` (a folder under ``problems/tables/``) or at a path; cached
    per process (and reloaded when chunks were added since).
    """
    folder = table_folder(table)
    return _load(folder, tuple(p.name for _, _, p in chunk_ranges(folder)))


def table_folder(table: str | Path) -> Path:
    """The folder of table `table` (a name under ``problems/tables/`` or a path), read from
    nowhere but the directory listing (ValueError naming the shipped tables if absent).
    """
    folder = Path(table)
    if not folder.is_absolute() and len(folder.parts) == 1:
        folder = TABLES_DIR / folder
    folder = folder.resolve()
    if not folder.is_dir():
        shipped = sorted(p.name for p in TABLES_DIR.iterdir() if p.is_dir()) if (
            TABLES_DIR.is_dir()) else []
        raise ValueError(
            f"`table` {str(table)!r} is not a recorded table; shipped tables are "
            f"{', '.join(shipped) or '(none)'}, or give the folder written by "
            "benchmarks.tabulate."
        )
    return folder


@functools.lru_cache(maxsize=4)
def _load(folder: Path, chunks: tuple[str, ...]) -> Table:
    return Table(folder)


class TableProblem(Problem):
    """A problem answered from a recorded table (module doc: matching, seeds, steps, cost).

    Args:
        table: a shipped table's name (``lgbm``, ``mlp``: folders under
            ``problems/tables/``) or the folder a ``benchmarks.tabulate`` run wrote.

    """

    #: Read by the study validation: a table cannot answer clones with new hyperparameters.
    is_table: ClassVar[bool] = True

    def __init__(self, table: str) -> None:
        if not isinstance(table, str | Path) or not str(table):
            raise ValueError(f"`table` must be a table name or folder, got {table!r}.")
        self.table_name = str(table)
        self.table = load_table(table)
        meta = self.table.meta
        self.space = self.table.space
        self.direction = meta["direction"]
        fid = meta["fidelity"]
        self.fidelity = None if fid is None else Fidelity(
            fid["name"], max(int(fid["min"]), self.table.first_step), int(fid["max"]),
            int(fid["report_every"]))
        self.metric_names = (*meta["metric_names"], *_OWN_METRICS)

    def describe(self) -> dict[str, Any]:
        """As :meth:`Problem.describe`, plus the table's source and size."""
        meta = self.table.meta
        return {**super().describe(), "table": {
            "source_problem": meta["problem"], "configs": len(self.table.ids),
            "seeds": meta["seeds"], "versions": meta["versions"],
            "data_hash": meta["data_hash"]}}

    def trial(self, config: Mapping[str, Any], seed: int) -> Trial:
        """A trial of the nearest table configuration, on the table seed drawn for `seed`."""
        return _TableTrial(self, config, seed)


class _TableTrial(Trial):
    problem: TableProblem

    def __init__(self, problem: Problem, config: Mapping[str, Any], seed: int) -> None:
        super().__init__(problem, config, seed)
        table = self.problem.table
        self.table_id = table.nearest(config)
        seeds = table.seeds_of[self.table_id]
        rng = np.random.default_rng(config_seed(seed, table.configs[self.table_id]))
        self.table_seed = seeds[int(rng.integers(len(seeds)))]
        self._rows = table.curves[(self.table_id, self.table_seed)]
        self._previous = 0

    def _train(self, step: int) -> int:
        self._previous = self.step
        return step - self.step

    def _at(self, step: int) -> dict[str, float]:
        """Every column of the curve at `step`, interpolated between recorded steps."""
        table, rows = self.problem.table, self._rows
        steps = table.steps[rows]
        if step < steps[0] or step > steps[-1]:
            raise ValueError(
                f"step {step} is outside the recorded steps {int(steps[0])}..{int(steps[-1])} "
                f"of table `{self.problem.table_name}`; nothing is invented outside them."
            )
        i = int(np.searchsorted(steps, step))
        lo = rows.start + i
        if steps[i] == step:
            return {name: _decimal(col[lo]) for name, col in table.columns.items()}
        weight = (step - steps[i - 1]) / (steps[i] - steps[i - 1])
        out = {}
        for name, col in table.columns.items():
            a, b = _decimal(col[lo - 1]), _decimal(col[lo])
            out[name] = a + weight * (b - a)
        return out

    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        now = self._at(self.step)
        before = self._at(self._previous)["cum_seconds"] if self._previous else 0.0
        metrics: dict[str, Any] = {}
        table = self.problem.table
        for name in self.problem.metric_names[: -len(_OWN_METRICS)]:
            if name in now:
                value = now[name]
                metrics[name] = round(value) if name in table.int_columns else value
        metrics.update(table_id=self.table_id, table_seed=self.table_seed,
                       seconds=max(now["cum_seconds"] - before, 0.0))
        return now["value"], metrics

    def clone(self, config: Mapping[str, Any] | None = None) -> Trial:
        """A copy of this trial; a changed configuration (PBT) has no recorded curve."""
        if config is not None and config_key(config) != config_key(self.config):
            raise ValueError(
                f"table problem `{self.problem.table_name}` cannot change a trial's "
                "hyperparameters mid-training (PBT): the table holds one recorded curve per "
                "configuration and none for a changed one."
            )
        # The problem (and its table) is shared, not copied: only the position is state.
        return copy.deepcopy(self, memo={id(self.problem): self.problem})


def _numpy(column: Any) -> np.ndarray:
    """A numeric Arrow column as numpy, read from its buffers: pyarrow's ``to_numpy``
    imports pandas (a second of a table problem's start-up) only to check for it.
    """
    parts = []
    for chunk in column.chunks:
        name = str(chunk.type)
        dtype = np.dtype({"float": "float32", "double": "float64"}.get(name, name))
        if chunk.null_count:
            raise ValueError(f"the table's column of {chunk.type} has missing values.")
        parts.append(np.frombuffer(chunk.buffers()[1], dtype=dtype, count=len(chunk),
                                   offset=chunk.offset * dtype.itemsize))
    return np.concatenate(parts)


def _decimal(x: np.generic) -> float:
    """A stored number as the float of its shortest decimal: float32 accuracy 0.53 reads
    as 0.53 (what the real problem reports), not 0.5299999713897705.
    """
    return float(str(x)) if isinstance(x, np.floating) else float(x)
