"""Fit a surrogate on a recorded table: ``python -m benchmarks.fit_surrogate table=<name>``.

Writes ``problems/surrogates/<name>.model.gz`` (or ``out=<file>``), the model a
``SurrogateProblem`` loads (method: :mod:`problems.surrogate_model`). Deterministic: the
same table and library versions give the same file byte for byte, so rerunning the command
when a table has grown refits on all its non-held-out ids. Bad input is one sentence, exit
code 2, nothing written.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from problems.errors import UserError
from problems.surrogate_model import (
    FORMAT,
    SurrogateModel,
    features,
    is_held_out,
    model_path,
    table_curves,
    table_key_meta,
    training_pool,
)
from problems.table import load_table

__all__ = ["fit_spec", "main"]

#: Fixed, not tuned per table: one setting for both shipped tables (README, Surrogates: the
#: measured comparison with k-NN, random forests and LightGBM that chose it).
KERNEL = "constant * Matern(nu=2.5, one length scale per feature) + white noise"
VARIANCE = 0.99
MAX_COMPONENTS = 16


def fit_spec(table_name: str) -> dict[str, Any]:
    """Fit the surrogate of table `table_name`; return the model file's content."""
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
    from threadpoolctl import threadpool_limits

    table = load_table(table_name)
    curves = table_curves(table)
    train = ~is_held_out(curves.ids)
    if train.sum() < 10:
        raise ValueError(f"table `{table_name}` has {int(train.sum())} configurations outside "
                         "the held-out blocks; a surrogate needs at least 10.")
    if len(curves.seeds) < 2:
        raise ValueError(f"table `{table_name}` has one seed: no seed-to-seed variation to "
                         "draw residuals from.")
    columns: list[str] = []
    aliases: dict[str, str] = {}
    for name in curves.columns:
        data = curves.data[name]
        same = [c for c in columns if np.array_equal(curves.data[c], data)]
        if same:
            aliases[name] = same[0]
        elif name != "cum_seconds" and np.array_equal(
                data, np.broadcast_to(curves.steps.astype(np.float64), data.shape)):
            aliases[name] = "step"
        else:
            columns.append(name)
    stacked = np.stack([curves.data[c][train] for c in columns], axis=2)  # id, seed, col, step
    mean_curves = stacked.mean(axis=1).reshape(int(train.sum()), -1)
    center = mean_curves.mean(axis=0)
    n_steps = len(curves.steps)
    scale = np.repeat([max(float(stacked[:, :, j].mean(axis=1).std()), 1e-12)
                       for j in range(len(columns))], n_steps)
    z = (mean_curves - center) / scale
    _, singular, vt = np.linalg.svd(z, full_matrices=False)
    explained = np.cumsum(singular**2) / np.sum(singular**2)
    k = min(int(np.searchsorted(explained, VARIANCE)) + 1, MAX_COMPONENTS, len(singular))
    basis = vt[:k]
    scores = z @ basis.T
    x = np.array([features(table.space, table.configs[int(i)])
                  for i in curves.ids[train].tolist()])
    kernel = ConstantKernel(1.0) * Matern(length_scale=np.ones(x.shape[1]), nu=2.5) + (
        WhiteKernel(0.1))
    # One BLAS thread: the same table gives the same fitted numbers on every machine.
    # An irrelevant feature's length scale runs to its bound (a warning, and no harm).
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=0,
                                      random_state=0).fit(x, scores)
    fitted = gp.kernel_
    train_ids = curves.ids[train]
    pool = training_pool(curves, train_ids, columns)
    spec = {
        "format": FORMAT,
        "table": Path(table_name).name,
        "table_meta": table_key_meta(table.meta),
        "seeds": curves.seeds,
        "columns": columns,
        "aliases": aliases,
        "int_columns": sorted(curves.int_columns & set(curves.columns)),
        "steps": curves.steps.tolist(),
        "train_ids": train_ids.tolist(),
        "grids": {c: _grid(stacked[:, :, j]) for j, c in enumerate(columns)},
        "bounds": {c: [float(stacked[:, :, j].min()), float(stacked[:, :, j].max())]
                   for j, c in enumerate(columns)},
        "gp": {"constant": float(fitted.k1.k1.constant_value)},
        "fit": {"components": k, "variance_explained": round(float(explained[k - 1]), 6),
                "kernel": KERNEL, "fitted_kernel": str(fitted),
                "table_configs": len(curves.ids), "held_out": int((~train).sum())},
        "versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "arrays": {
            "mean": center, "scale": scale, "basis": basis, "gp/x_train": x,
            "gp/alpha": gp.alpha_, "gp/length_scale": np.atleast_1d(fitted.k1.k2.length_scale),
            "gp/y_mean": np.atleast_1d(gp._y_train_mean),
            "gp/y_std": np.atleast_1d(gp._y_train_std),
            # What loading needs of the table, so that it never reads the table's chunks.
            "coords": table.coords[np.searchsorted(table.ids, train_ids)],
            **{f"pool/{c}": a for c, a in pool.items()}},
    }
    # The numpy posterior mean must be scikit-learn's (the file is what problems load).
    check = SurrogateModel(spec).predict_scores(x[:20])
    if not np.allclose(check, gp.predict(x[:20]), rtol=1e-6, atol=1e-8):
        raise RuntimeError("the surrogate's numpy prediction differs from scikit-learn's.")
    return spec


def _grid(values: np.ndarray) -> float | None:
    """The resolution of a column whose values all lie on a grid (an accuracy on 200 rows:
    0.005), else None; surrogate values are rounded to it, so ties happen as in reality.
    """
    unique = np.unique(values.astype(np.float32))
    if len(unique) < 2 or len(unique) > 10_000:
        return None
    gap = round(float(np.diff(unique).min()), 6)
    if gap <= 0 or np.abs(unique / gap - np.round(unique / gap)).max() > 1e-3:
        return None
    return gap


def _parse(argv: Sequence[str]) -> dict[str, str]:
    args: dict[str, str] = {}
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep or key not in ("table", "out"):
            raise UserError(f"argument {arg!r} is not allowed; give table=<name or folder> "
                            "and optionally out=<file>.")
        args[key] = value
    if not args.get("table"):
        raise UserError("`table` is required: table=mlp, table=lgbm or a table folder.")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry: fit and write one surrogate; exit code 2 on bad input."""
    try:
        args = _parse(sys.argv[1:] if argv is None else argv)
        try:
            load_table(args["table"])
        except ValueError as err:
            raise UserError(f"`table`: {err}") from None
        out = Path(args["out"]) if args.get("out") else model_path(Path(args["table"]).name)
        tick = time.process_time()
        try:
            spec = fit_spec(args["table"])
        except ValueError as err:  # a table a surrogate cannot be fitted on
            raise UserError(str(err)) from None
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    SurrogateModel.write_spec(spec, out)
    fit = spec["fit"]
    print(f"fitted {out} on {len(spec['train_ids'])} of {fit['table_configs']} table "
          f"configurations ({fit['held_out']} held out), {fit['components']} components "
          f"({fit['variance_explained']:.3f} of the variance), "
          f"{time.process_time() - tick:.1f} CPU s, {out.stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
