"""The surrogate model of a table: fitted curves, the held-out split and the model file.

A surrogate is fitted on a table (:mod:`problems.table`) once, by
``python -m benchmarks.fit_surrogate``, and shipped as one gzip'd JSON file under
``problems/surrogates/<table>.json.gz``. What it holds and how it predicts:

- **Columns.** Every numeric column of the table a report carries (``value``, the extra
  metrics, ``cum_seconds``), less exact duplicates: a column equal to another one in every
  row (lgbm's ``valid_log_loss`` is its ``value``) or to the step is stored as an alias.
- **Mean curves.** Per configuration, the mean over the table's seeds of every column at
  every recorded step, standardized per column, concatenated into one vector and reduced
  to its first ``K`` principal components (the smallest K explaining 99 % of the variance,
  at most 16). A Gaussian process (scikit-learn's ``GaussianProcessRegressor``: constant x
  Matern-5/2 kernel with one length scale per feature, plus white noise, ``normalize_y``)
  regresses the K scores on the configuration's features. Prediction is its posterior
  mean, evaluated here in numpy (``k(x, X_train) @ alpha``): a whole curve of every column
  costs microseconds, and loading needs neither scikit-learn nor LightGBM.
- **Features.** Floats and ints by their ``to_unit`` coordinate (log scale included), a
  categorical by its choice index scaled to [0, 1] (trees split ordered choices such as
  ``hidden_size`` where they matter), an inactive conditional parameter as -1.
- **Held out.** Configuration ids ``i`` with ``(i // 25) % 4 == 3`` (one chunk of 25 in
  four: 24-25 % of a table) are never used to fit, neither the model nor the residual pool,
  so faithfulness is measured on them; ``benchmarks.tabulate subset=a:b`` recomputes such a
  block for fresh seeds.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from problems.space import Categorical, SearchSpace

__all__ = [
    "FORMAT",
    "HOLDOUT_BLOCK",
    "MODELS_DIR",
    "Curves",
    "SurrogateModel",
    "features",
    "is_held_out",
    "model_path",
    "table_curves",
]

#: Shipped models: files read relative to this module, never the working directory.
MODELS_DIR = Path(__file__).resolve().parent / "surrogates"
FORMAT = 1
HOLDOUT_BLOCK = 25


def is_held_out(config_id: int | np.ndarray) -> bool | np.ndarray:
    """Whether a table id is held out of every fit (one block of 25 ids in four)."""
    return (np.asarray(config_id) // HOLDOUT_BLOCK) % 4 == 3


def model_path(model: str | Path) -> Path:
    """The file of a shipped model name (``mlp``) or a given path."""
    path = Path(model)
    if not path.is_absolute() and len(path.parts) == 1 and not path.suffix:
        path = MODELS_DIR / f"{path}.json.gz"
    return path.resolve()


def features(space: SearchSpace, config: Mapping[str, Any]) -> list[float]:
    """The model's input coordinates of a configuration (see the module doc)."""
    out: list[float] = []
    for p in space.params:
        if not space.is_active(p, config) or p.name not in config:
            out.append(-1.0)
        elif isinstance(p, Categorical):
            out.append(p.index(config[p.name]) / max(len(p.choices) - 1, 1))
        else:
            out.append(p.to_unit(float(config[p.name])))
    return out


class Curves:
    """A table as arrays: ``data[column]`` is (configs, seeds, steps), rows in id order."""

    def __init__(self, table: Any) -> None:
        self.ids = table.ids
        first = table.curves[(int(self.ids[0]), table.seeds_of[int(self.ids[0])][0])]
        self.steps = table.steps[first].astype(np.int64)
        self.seeds = sorted({s for seeds in table.seeds_of.values() for s in seeds})
        self.columns = ["value", *table.meta["metric_names"], "cum_seconds"]
        self.int_columns = set(table.int_columns)
        rows = np.array([[table.curves[(int(i), s)].start for s in self.seeds]
                         for i in self.ids.tolist()])
        take = rows[:, :, None] + np.arange(len(self.steps))
        self.data = {c: table.columns[c][take].astype(np.float64) for c in self.columns
                     if c in table.columns}
        self.columns = [c for c in self.columns if c in self.data]


def table_curves(table: Any) -> Curves:
    """The table's curves as arrays (every id must have every seed and every step)."""
    return Curves(table)


class SurrogateModel:
    """A fitted surrogate read from its file: predicts mean curves, holds the split."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        if spec.get("format") != FORMAT:
            raise ValueError(f"surrogate model format {spec.get('format')!r} is not {FORMAT}.")
        self.spec = spec
        self.columns: list[str] = spec["columns"]
        self.aliases: dict[str, str] = spec["aliases"]
        self.steps = np.asarray(spec["steps"], dtype=np.int64)
        self.mean = np.asarray(spec["mean"], dtype=np.float64)
        self.scale = np.asarray(spec["scale"], dtype=np.float64)
        self.basis = np.asarray(spec["basis"], dtype=np.float64)
        self.train_ids = np.asarray(spec["train_ids"], dtype=np.int64)
        self.bounds = {c: tuple(b) for c, b in spec["bounds"].items()}
        gp = spec["gp"]
        self.x_train = np.asarray(gp["x_train"], dtype=np.float64)
        self.length_scale = np.asarray(gp["length_scale"], dtype=np.float64)
        self.constant = float(gp["constant"])
        self.alpha = np.asarray(gp["alpha"], dtype=np.float64)
        self.y_mean = np.asarray(gp["y_mean"], dtype=np.float64)
        self.y_std = np.asarray(gp["y_std"], dtype=np.float64)
        self._scaled = self.x_train / self.length_scale

    @classmethod
    def read(cls, path: Path) -> SurrogateModel:
        """Load a model file written by :meth:`write_spec`."""
        return cls(json.loads(gzip.decompress(path.read_bytes())))

    @staticmethod
    def write_spec(spec: Mapping[str, Any], path: Path) -> None:
        """Write a model file atomically and byte-for-byte reproducibly (gzip mtime 0)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = gzip.compress(json.dumps(spec, sort_keys=True).encode(), 9, mtime=0)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def predict_scores(self, x: np.ndarray) -> np.ndarray:
        """Component scores of configurations ``x`` (n, features) -> (n, K)."""
        diff = (np.asarray(x, dtype=np.float64) / self.length_scale)[:, None, :] - self._scaled
        r = np.sqrt(5.0) * np.sqrt(np.square(diff).sum(axis=2))
        kernel = self.constant * (1.0 + r + np.square(r) / 3.0) * np.exp(-r)  # Matern 5/2
        return (kernel @ self.alpha) * self.y_std + self.y_mean

    def predict_mean(self, x: np.ndarray) -> np.ndarray:
        """Mean curves (n, columns, steps) of configurations ``x`` (n, features)."""
        flat = self.predict_scores(x) @ self.basis * self.scale + self.mean
        return flat.reshape(len(x), len(self.columns), len(self.steps))
