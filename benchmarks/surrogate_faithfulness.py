"""How faithful a surrogate is to its table and to real training (issue 14's measurements).

Two levels, each a function and a CLI:

``python -m benchmarks.surrogate_faithfulness table=mlp [model=<file>] [fresh=<folder>]``
    **Configuration level**, on the table's held-out configurations (never used to fit):
    Spearman rho between the surrogate's mean over cell seeds 0, 1, 2 (like for like with
    the table's 3 seeds; the noise-free model mean beside it) and the table's mean over its
    seeds, at the maximum step and at about 1/3 and 1/9 of it, for the objective and the
    validation loss or accuracy. ``fresh`` is a table of the same held-out ids trained
    again for fresh seeds (``benchmarks.tabulate ... 'seeds=[3,4,5]' subset=a:b
    out=<folder>``): rho between its mean and the table's is the noise ceiling. Seed spread:
    the median over configurations of the surrogate's standard deviation over 30 cell
    seeds, divided by the median of the table's over its seeds (target 0.5-2).

``python -m benchmarks.surrogate_faithfulness ranks real=<study dir> surrogate=<study dir>``
    **Optimizer level**: per seed, the optimizers ranked by their final incumbent; Kendall
    tau between the mean ranks on the real problem and on the surrogate (95 % bootstrap
    interval over seeds, 2,000 resamples, seeded), beside the real-vs-real split-half tau
    (even vs odd seeds; and the mean over 200 random halves) as the ceiling.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from problems.surrogate import SurrogateProblem
from problems.surrogate_model import features, is_held_out, table_curves
from problems.table import load_table

__all__ = ["config_level", "optimizer_level"]

_SECOND = ("valid_loss", "valid_accuracy")


def _steps(steps: np.ndarray) -> list[int]:
    """The maximum step and the recorded steps nearest to 1/3 and 1/9 of it."""
    top = int(steps[-1])
    return [int(steps[np.argmin(np.abs(steps - top / d))]) for d in (1, 3, 9)]


def _rho(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return round(float(spearmanr(a, b)[0]), 3)


def config_level(table: str, model: str | None = None, fresh: str | None = None,
                 spread_seeds: int = 30) -> dict[str, Any]:
    """Configuration-level faithfulness of the surrogate of `table` (module doc)."""
    problem = SurrogateProblem(table, model)
    fitted = problem.fitted
    curves = table_curves(fitted.table)
    held = is_held_out(curves.ids) & ~np.isin(curves.ids, fitted.model.train_ids)
    ids = curves.ids[held]
    configs = [fitted.table.configs[int(i)] for i in ids.tolist()]
    columns = ["value"] + [c for c in _SECOND if c in curves.data
                           and fitted.model.aliases.get(c) != "value"][:1]
    steps = _steps(curves.steps)
    at = [int(np.searchsorted(curves.steps, s)) for s in steps]
    drawn = [[problem.curve(c, s) for s in range(spread_seeds)] for c in configs]
    x = np.array([features(problem.space, c) for c in configs])
    model_mean = fitted.model.predict_mean(x)
    out: dict[str, Any] = {"table": table, "held_out": len(ids),
                           "train": len(fitted.model.train_ids), "steps": steps, "rho": {}}
    for col in columns:
        table_mean = curves.data[col][held].mean(axis=1)
        sur = np.array([[d[col] for d in per[:3]] for per in drawn]).mean(axis=1)
        j = fitted.model.columns.index(fitted.model.aliases.get(col, col))
        out["rho"][col] = {
            "surrogate_3_seeds": [_rho(sur[:, i], table_mean[:, i]) for i in at],
            "model_mean": [_rho(model_mean[:, j, i], table_mean[:, i]) for i in at],
        }
    values = np.array([[d["value"] for d in per] for per in drawn])  # config, seed, step
    sur_sd = np.median(values.std(axis=1, ddof=1), axis=0)
    tab_sd = np.median(curves.data["value"][held].std(axis=1, ddof=1), axis=0)
    out["spread"] = {"surrogate_median_sd": [float(f"{sur_sd[i]:.4g}") for i in at],
                     "table_median_sd": [float(f"{tab_sd[i]:.4g}") for i in at],
                     "ratio": [round(float(sur_sd[i] / tab_sd[i]), 2) if tab_sd[i] > 0
                               else None for i in at]}
    if fresh:
        out["ceiling"] = _ceiling(fresh, curves, held, drawn, at)
    return out


def _ceiling(fresh: str, curves: Any, held: np.ndarray, drawn: list, at: list[int]
             ) -> dict[str, Any]:
    again = table_curves(load_table(fresh))
    common = np.intersect1d(again.ids, curves.ids[held])
    mine = np.searchsorted(curves.ids, common)
    theirs = np.searchsorted(again.ids, common)
    local = np.searchsorted(curves.ids[held], common)
    table_mean = curves.data["value"][mine].mean(axis=1)
    fresh_mean = again.data["value"][theirs].mean(axis=1)
    sur = np.array([[d["value"] for d in drawn[k][:3]] for k in local]).mean(axis=1)
    # 95 % bootstrap interval (over configurations, 1,000 resamples, seeded) of
    # surrogate rho - ceiling rho: how far sampling alone moves the comparison.
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(1000):
        k = rng.integers(len(common), size=len(common))
        diffs.append([_rho(sur[k, i], table_mean[k, i]) - _rho(fresh_mean[k, i],
                                                               table_mean[k, i]) for i in at])
    return {"configs": len(common), "fresh_seeds": again.seeds,
            "fresh_vs_table": [_rho(fresh_mean[:, i], table_mean[:, i]) for i in at],
            "surrogate_vs_table": [_rho(sur[:, i], table_mean[:, i]) for i in at],
            "difference_95": np.quantile(diffs, [0.025, 0.975], axis=0).round(3).T.tolist()}


def _final_losses(study: Path) -> Any:
    import pandas as pd

    frame = pd.read_parquet(study, columns=["optimizer", "seed", "loss", "status"])
    frame = frame[frame["status"] != "failed"]
    return frame.groupby(["seed", "optimizer"])["loss"].min().unstack("optimizer")


def _mean_ranks(finals: Any) -> Any:
    return finals.rank(axis=1).mean(axis=0)


def _tau(a: Any, b: Any) -> float:
    from scipy.stats import kendalltau

    names = sorted(set(a.index) & set(b.index))
    return float(kendalltau(a[names].to_numpy(), b[names].to_numpy())[0])


def optimizer_level(real: Path, surrogate: Path, resamples: int = 2000) -> dict[str, Any]:
    """Optimizer-level faithfulness: Kendall tau of mean ranks (module doc)."""
    real_f = _final_losses(real).dropna()
    sur_f = _final_losses(surrogate).dropna()
    names = sorted(set(real_f.columns) & set(sur_f.columns))
    real_f, sur_f = real_f[names], sur_f[names]
    rng = np.random.default_rng(0)
    taus = []
    for _ in range(resamples):
        a = real_f.iloc[rng.integers(len(real_f), size=len(real_f))]
        b = sur_f.iloc[rng.integers(len(sur_f), size=len(sur_f))]
        taus.append(_tau(_mean_ranks(a), _mean_ranks(b)))
    seeds = real_f.index.to_numpy()
    halves = []
    for _ in range(200):
        pick = rng.permutation(len(seeds))
        half = len(seeds) // 2
        halves.append(_tau(_mean_ranks(real_f.iloc[pick[:half]]),
                           _mean_ranks(real_f.iloc[pick[half:2 * half]])))
    return {
        "optimizers": names, "real_seeds": len(real_f), "surrogate_seeds": len(sur_f),
        "real_mean_ranks": _mean_ranks(real_f).round(2).to_dict(),
        "surrogate_mean_ranks": _mean_ranks(sur_f).round(2).to_dict(),
        "tau": round(_tau(_mean_ranks(real_f), _mean_ranks(sur_f)), 3),
        "tau_95": [round(float(q), 3) for q in np.quantile(taus, [0.025, 0.975])],
        "ceiling_even_odd": round(_tau(_mean_ranks(real_f[seeds % 2 == 0]),
                                       _mean_ranks(real_f[seeds % 2 == 1])), 3),
        "ceiling_random_halves": round(float(np.mean(halves)), 3),
        "ceiling_random_halves_95": [round(float(q), 3)
                                     for q in np.quantile(halves, [0.025, 0.975])],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry (module doc); prints the numbers as JSON."""
    import json

    args = list(sys.argv[1:] if argv is None else argv)
    ranks = bool(args) and args[0] == "ranks"
    values = dict(a.partition("=")[::2] for a in args[ranks:])
    allowed = ("real", "surrogate") if ranks else ("table", "model", "fresh")
    bad = sorted(set(values) - set(allowed)) or [k for k in allowed[:1] if not values.get(k)]
    if bad:
        print(f"error: `{bad[0]}` is not allowed or missing; give "
              f"{', '.join(k + '=...' for k in allowed)}.", file=sys.stderr)
        return 2
    if ranks:
        result = optimizer_level(Path(values["real"]), Path(values["surrogate"]))
    else:
        result = config_level(values["table"], values.get("model"), values.get("fresh"))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
