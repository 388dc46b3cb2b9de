"""Surrogate problems: a model fitted on a recorded table answers any configuration.

A :class:`SurrogateProblem` answers the Problem/Trial contract from a model fitted on a
table (:mod:`problems.surrogate_model`, fitted by ``python -m benchmarks.fit_surrogate``),
so continuous samplers meet a smooth landscape instead of the table's nearest neighbours.

Semantics (each fixed, and tested):

- **One curve per (configuration, cell seed).** A trial's whole curve, every column at
  every recorded step, is made once when the trial is created: the model's mean curve of
  the configuration plus one **residual curve** of the table. The residual is drawn with
  ``rng = default_rng(config_seed(s, config))``: one of the ``neighbours`` training
  configurations nearest in the normalized space (the table problems' metric), then one of
  its seeds; its deviation from that configuration's mean over seeds, scaled by
  ``sqrt(n / (n - 1))`` for n table seeds (a deviation from an n-seed mean has
  ``(n - 1) / n`` of a seed's variance). So successive steps come from one consistent
  curve, the seed-to-seed spread is the table's own near that configuration, and the same
  cell seed gives identical rows. The drawn residual is recorded as the metrics
  ``residual_id`` and ``residual_seed``.
- **Ranges.** Every column is clipped to the range the table recorded for it (accuracy in
  [0, 1], losses >= 0); int columns are rounded, and a column whose recorded values all lie
  on a grid (mlp's validation accuracy on 200 rows: multiples of 0.005) is rounded to it,
  so ties happen as in real training.
- **Steps.** As tables: recorded steps answer directly, a step between two recorded ones
  by linear interpolation, a step outside the recorded range raises.
- **Cost.** Cumulative seconds are made non-decreasing (and >= 0) along the curve, so the
  metric ``seconds`` (this report's cost, as for tables) is never negative.
- **Clones.** As tables: one with changed hyperparameters (PBT) raises ValueError; the
  study validation refuses PBT on these problems before any compute (``is_table``).
"""

from __future__ import annotations

import bisect
import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from problems.base import Fidelity, Problem, Trial, config_key, config_seed
from problems.params import integer
from problems.space import SearchSpace
from problems.surrogate_model import (
    TABLE_KEYS,
    SurrogateModel,
    features,
    model_path,
    residual_pool,
)
from problems.table import Table, encode, load_table, table_folder
from problems.table_format import chunk_ranges, read_meta

__all__ = ["SurrogateProblem"]

_OWN_METRICS = ("seconds", "residual_id", "residual_seed")


class _Fitted:
    """A model with its residual pool (shared by every problem built on them).

    Everything a problem needs ships in the model file; of the table only ``table.json`` and
    the chunk names are read, to check that the model was fitted on this table. The table
    itself (:attr:`table`) is read only when asked for (tests, the faithfulness measures).
    """

    def __init__(self, model_file: Path, table_name: str) -> None:
        self.model = SurrogateModel.read(model_file)
        spec = self.model.spec
        self.table_name = table_name
        folder = table_folder(table_name)
        self.meta = read_meta(folder)
        _check_table(self.model, model_file.name, table_name, folder, self.meta)
        self.space = SearchSpace.from_dict(self.meta["space"])
        # (train configs, seeds, columns, steps): computed from the shipped per-seed curves
        # exactly as from the table's (module doc).
        self.residuals = residual_pool(self.model.pool, self.model.columns)
        self.seeds = self.model.seeds
        self.coords = self.model.coords
        self.low = np.array([self.model.bounds[c][0] for c in self.model.columns])[:, None]
        self.high = np.array([self.model.bounds[c][1] for c in self.model.columns])[:, None]
        self.int_columns = set(spec["int_columns"])
        self.grids = {c: g for c, g in spec.get("grids", {}).items() if g}

    @functools.cached_property
    def table(self) -> Table:
        """The table the model was fitted on, read on first use (loading never needs it)."""
        return load_table(self.table_name)


def _check_table(model: SurrogateModel, model_name: str, table_name: str, folder: Path,
                 meta: dict[str, Any]) -> None:
    """Refuse a model fitted on another table, from ``table.json`` and the chunk names."""
    refit = f"refit it with `python -m benchmarks.fit_surrogate table={table_name}`."
    fitted_on = model.table_meta
    for key in TABLE_KEYS:
        if meta.get(key) != fitted_on.get(key):
            raise ValueError(f"surrogate model {model_name} was fitted on a table whose "
                             f"`{key}` differs from table `{table_name}`'s; {refit}")
    recorded = np.zeros(len(model.train_ids), dtype=bool)
    for start, stop, _ in chunk_ranges(folder):
        recorded |= (model.train_ids >= start) & (model.train_ids < stop)
    if not recorded.all():
        raise ValueError(
            f"surrogate model {model_name} was fitted on table ids the table "
            f"`{table_name}` lacks (e.g. {int(model.train_ids[~recorded][0])}); {refit}"
        )


@functools.lru_cache(maxsize=4)
def _fitted(model_file: Path, table_name: str, mtime: float) -> _Fitted:
    return _Fitted(model_file, table_name)


class SurrogateProblem(Problem):
    """A problem answered by a model fitted on a table (module doc: curves, seeds, cost).

    Args:
        table: the table the model was fitted on (a name under ``problems/tables/`` or a
            folder); its residual curves give the seed-to-seed variation.
        model: a shipped model's name (``problems/surrogates/<model>.model.gz``) or a path;
            default: the table's name.
        neighbours: how many nearest training configurations a trial draws its residual
            curve from.

    """

    #: Read by the study validation: no curve exists for a clone with new hyperparameters.
    is_table: ClassVar[bool] = True

    def __init__(self, table: str, model: str | None = None, neighbours: int = 5) -> None:
        if not isinstance(table, str | Path) or not str(table):
            raise ValueError(f"`table` must be a table name or folder, got {table!r}.")
        integer(1, allowed="an int >= 1").check("neighbours", neighbours)
        path = model_path(model or table)
        if not path.is_file():
            raise ValueError(
                f"`model` {str(model or table)!r} is not a fitted surrogate ({path} is "
                "missing); fit one with `python -m benchmarks.fit_surrogate "
                f"table={table}`."
            )
        self.table_name = str(table)
        self.fitted = _fitted(path, self.table_name, path.stat().st_mtime)
        self.neighbours = min(int(neighbours), len(self.fitted.coords))
        meta = self.fitted.meta
        self.space = self.fitted.space
        self.direction = meta["direction"]
        steps = self.fitted.model.steps
        fid = meta["fidelity"]
        self.fidelity = None if fid is None else Fidelity(
            fid["name"], max(int(fid["min"]), int(steps[0])), int(fid["max"]),
            int(fid["report_every"]))
        self.metric_names = (*meta["metric_names"], *_OWN_METRICS)
        #: Metrics read from a trial's curve, in report order, and which are ints.
        self.reported = tuple(n for n in self.metric_names if n != "seconds")
        self.reported_int = tuple(n in self.fitted.int_columns or n in _OWN_METRICS
                                  for n in self.reported)
        self.steps = steps.tolist()

    def describe(self) -> dict[str, Any]:
        """As :meth:`Problem.describe`, plus the model's source and fit."""
        spec = self.fitted.model.spec
        return {**super().describe(), "surrogate": {
            "table": self.table_name, "fit": spec["fit"], "versions": spec["versions"],
            "train_configs": len(spec["train_ids"]), "neighbours": self.neighbours}}

    def trial(self, config: Mapping[str, Any], seed: int) -> Trial:
        """A trial following the curve drawn for (`config`, `seed`)."""
        return _SurrogateTrial(self, config, seed)

    def curve(self, config: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
        """Every column's curve at the recorded steps for (`config`, `seed`) (module doc)."""
        fitted, model = self.fitted, self.fitted.model
        mean = model.predict_mean(np.array([features(self.space, config)]))[0]
        distance = np.square(fitted.coords - encode(self.space, config)).sum(axis=1)
        near = np.argsort(distance, kind="stable")[: self.neighbours]
        rng = np.random.default_rng(config_seed(seed, config))
        pick = int(near[int(rng.integers(len(near)))])
        seed_index = int(rng.integers(len(fitted.seeds)))
        values = np.clip(mean + fitted.residuals[pick, seed_index], fitted.low, fitted.high)
        out = dict(zip(model.columns, values, strict=True))
        out["cum_seconds"] = np.maximum.accumulate(np.maximum(out["cum_seconds"], 0.0))
        for name, grid in fitted.grids.items():
            # Shortest decimals on the grid (accuracy 0.53, not 0.5300000000000001).
            out[name] = np.round(np.round(out[name] / grid) * grid, 9)
        for name in fitted.int_columns & set(out):
            out[name] = np.round(out[name])
        for name, source in model.aliases.items():
            out[name] = model.steps.astype(np.float64) if source == "step" else out[source]
        out["residual_id"] = np.full(len(model.steps), float(model.train_ids[pick]))
        out["residual_seed"] = np.full(len(model.steps), float(fitted.seeds[seed_index]))
        return out


class _SurrogateTrial(Trial):
    problem: SurrogateProblem

    def __init__(self, problem: Problem, config: Mapping[str, Any], seed: int) -> None:
        super().__init__(problem, config, seed)
        self._rows: list[list[float]] | None = None
        self._previous = 0

    def _train(self, step: int) -> int:
        self._previous = self.step
        return step - self.step

    def _at(self, step: int) -> list[float]:
        """[value, cum_seconds, *reported metrics] at `step` (interpolated in between)."""
        problem = self.problem
        if self._rows is None:  # made on the first report; rows of Python floats: fast reads
            curve = problem.curve(self.config, self.seed)
            table = np.stack([curve[name] for name in ("value", "cum_seconds",
                                                       *problem.reported)])
            self._rows = table.T.tolist()
        steps = problem.steps
        if step < steps[0] or step > steps[-1]:
            raise ValueError(
                f"step {step} is outside the recorded steps {steps[0]}..{steps[-1]} "
                f"of table `{problem.table_name}`; the surrogate invents nothing there."
            )
        i = bisect.bisect_left(steps, step)
        if steps[i] == step:
            return self._rows[i]
        weight = (step - steps[i - 1]) / (steps[i] - steps[i - 1])
        return [a + weight * (b - a) for a, b in zip(self._rows[i - 1], self._rows[i],
                                                      strict=True)]

    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        now = self._at(self.step)
        before = self._at(self._previous)[1] if self._previous else 0.0
        metrics: dict[str, Any] = {
            name: round(x) if is_int else x
            for name, is_int, x in zip(self.problem.reported, self.problem.reported_int,
                                       now[2:], strict=True)}
        metrics["seconds"] = max(now[1] - before, 0.0)
        return now[0], metrics

    def clone(self, config: Mapping[str, Any] | None = None) -> Trial:
        """A copy of this trial; a changed configuration (PBT) has no curve to follow."""
        if config is not None and config_key(config) != config_key(self.config):
            raise ValueError(
                f"surrogate problem on table `{self.problem.table_name}` cannot change a "
                "trial's hyperparameters mid-training (PBT): its curves are fitted per "
                "configuration and none exists for a changed one."
            )
        return copy.deepcopy(self, memo={id(self.problem): self.problem})
