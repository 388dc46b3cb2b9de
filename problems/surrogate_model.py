"""The surrogate model of a table: fitted curves, the held-out split and the model file.

A surrogate is fitted on a table (:mod:`problems.table`) once, by
``python -m benchmarks.fit_surrogate``, and shipped as one file,
``problems/surrogates/<table>.model.gz``. What it holds and how it predicts:

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
- **Everything loading needs.** The residual pool's source (every training configuration's
  per-seed curves of every column, in the table's own dtypes: float32, int32), the table's
  seeds, the training configurations' normalized coordinates and the ``table.json`` entries
  the data depend on (:data:`TABLE_KEYS`), so building a problem never reads the table's
  Parquet chunks, only ``table.json`` and the chunk names to check the model belongs to it.
- **File.** gzip (level 9, mtime 0) of one line of JSON (sorted keys; its ``arrays`` names
  the arrays that follow) and then each array in ``.npy`` format: byte for byte the same for
  the same table, ~1 MB for mlp's and ~1.5 MB for lgbm's, read in ~10 ms.
"""

from __future__ import annotations

import gzip
import io
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from problems.space import Categorical, SearchSpace

__all__ = [
    "FORMAT",
    "HOLDOUT_BLOCK",
    "MODELS_DIR",
    "SUFFIX",
    "TABLE_KEYS",
    "Curves",
    "SurrogateModel",
    "features",
    "is_held_out",
    "model_path",
    "residual_pool",
    "table_curves",
    "table_key_meta",
    "training_pool",
]

#: Shipped models: files read relative to this module, never the working directory.
MODELS_DIR = Path(__file__).resolve().parent / "surrogates"
FORMAT = 2
SUFFIX = ".model.gz"
HOLDOUT_BLOCK = 25
#: The ``table.json`` entries a table's rows depend on (timing aside); a model is refused on
#: a table that differs in one of them. Not ``n_configs``, ``runs`` or ``versions``: a table
#: grown by more chunks still holds the curves the model was fitted on.
TABLE_KEYS = ("format", "problem", "problem_conf", "space", "direction", "fidelity",
              "metric_names", "design", "seeds", "data_hash")


def table_key_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of a table's metadata named by :data:`TABLE_KEYS`."""
    return {key: meta.get(key) for key in TABLE_KEYS}


def is_held_out(config_id: int | np.ndarray) -> bool | np.ndarray:
    """Whether a table id is held out of every fit (one block of 25 ids in four)."""
    return (np.asarray(config_id) // HOLDOUT_BLOCK) % 4 == 3


def model_path(model: str | Path) -> Path:
    """The file of a shipped model name (``mlp``) or a given path."""
    path = Path(model)
    if not path.is_absolute() and len(path.parts) == 1 and not path.suffix:
        path = MODELS_DIR / f"{path}{SUFFIX}"
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
        #: As stored (float32, int32), for the pool a model ships; ``data``: as float64.
        self.raw = {c: table.columns[c][take] for c in self.columns if c in table.columns}
        self.data = {c: raw.astype(np.float64) for c, raw in self.raw.items()}
        self.columns = [c for c in self.columns if c in self.data]


def table_curves(table: Any) -> Curves:
    """The table's curves as arrays (every id must have every seed and every step)."""
    return Curves(table)


def training_pool(curves: Curves, train_ids: np.ndarray,
                  columns: list[str]) -> dict[str, np.ndarray]:
    """Per column, the (train ids, seeds, steps) curves of the table, in its own dtypes."""
    rows = np.searchsorted(curves.ids, train_ids)
    return {c: curves.raw[c][rows] for c in columns}


def residual_pool(pool: Mapping[str, np.ndarray], columns: list[str]) -> np.ndarray:
    """Residual curves (train configs, seeds, columns, steps): each seed's deviation from its
    configuration's mean over seeds, scaled to a single seed's variance (``sqrt(n/(n-1))``).
    """
    stacked = np.stack([np.asarray(pool[c]).astype(np.float64) for c in columns], axis=2)
    n_seeds = stacked.shape[1]
    if n_seeds < 2:
        raise ValueError("the table has one seed: no seed-to-seed variation to draw "
                         "residuals from.")
    return (stacked - stacked.mean(axis=1, keepdims=True)) * math.sqrt(
        n_seeds / (n_seeds - 1))


class SurrogateModel:
    """A fitted surrogate read from its file: predicts mean curves, holds the split."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        if spec.get("format") != FORMAT:
            raise ValueError(f"surrogate model format {spec.get('format')!r} is not {FORMAT}; "
                             "refit it with `python -m benchmarks.fit_surrogate`.")
        self.spec = spec
        self.columns: list[str] = spec["columns"]
        self.aliases: dict[str, str] = spec["aliases"]
        self.steps = np.asarray(spec["steps"], dtype=np.int64)
        arrays = spec["arrays"]
        self.mean = np.asarray(arrays["mean"], dtype=np.float64)
        self.scale = np.asarray(arrays["scale"], dtype=np.float64)
        self.basis = np.asarray(arrays["basis"], dtype=np.float64)
        self.train_ids = np.asarray(spec["train_ids"], dtype=np.int64)
        self.bounds = {c: tuple(b) for c, b in spec["bounds"].items()}
        self.x_train = np.asarray(arrays["gp/x_train"], dtype=np.float64)
        self.length_scale = np.asarray(arrays["gp/length_scale"], dtype=np.float64)
        self.constant = float(spec["gp"]["constant"])
        self.alpha = np.asarray(arrays["gp/alpha"], dtype=np.float64)
        self.y_mean = np.asarray(arrays["gp/y_mean"], dtype=np.float64)
        self.y_std = np.asarray(arrays["gp/y_std"], dtype=np.float64)
        self._scaled = self.x_train / self.length_scale
        self.seeds: list[int] = spec["seeds"]
        self.table_meta: dict[str, Any] = spec["table_meta"]
        #: The training configurations' normalized coordinates (:func:`problems.table.encode`).
        self.coords = np.asarray(arrays["coords"], dtype=np.float64)
        #: Per column, the training configurations' per-seed curves (:func:`training_pool`).
        self.pool = {c: arrays[f"pool/{c}"] for c in self.columns}

    @classmethod
    def read(cls, path: Path) -> SurrogateModel:
        """Load a model file written by :meth:`write_spec`."""
        data = gzip.decompress(path.read_bytes())
        end = data.find(b"\n")
        spec = json.loads(data[: end if end >= 0 else len(data)])
        stream = io.BytesIO(data)
        stream.seek(end + 1)
        if isinstance(spec.get("arrays"), list):  # absent in an older format: refused
            spec["arrays"] = {name: np.lib.format.read_array(stream, allow_pickle=False)
                              for name in spec["arrays"]}
        return cls(spec)

    @staticmethod
    def write_spec(spec: Mapping[str, Any], path: Path) -> None:
        """Write a model file atomically and byte-for-byte reproducibly (module doc)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = spec["arrays"]
        stream = io.BytesIO()
        head = {**spec, "arrays": sorted(arrays)}
        stream.write(json.dumps(head, sort_keys=True).encode() + b"\n")
        for name in sorted(arrays):
            np.lib.format.write_array(stream, np.ascontiguousarray(arrays[name]),
                                      allow_pickle=False)
        data = gzip.compress(stream.getvalue(), 9, mtime=0)
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
