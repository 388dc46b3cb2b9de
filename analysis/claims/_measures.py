"""Per-seed measures of the claims: quality at a common budget, savings, exploration."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from analysis.claims._spec import Claim
from analysis.load import Reference, Results, cell_reports, problem_references
from analysis.stats import final_values

__all__ = ["arm_values", "common_budget", "equal_configurations", "normalized_point",
           "pair_rows", "paired_effects", "proposal_spread"]


def _reference(results: Results, problem: str) -> Reference | None:
    if "claims_refs" not in results._cache:  # one pass over the cells' metadata per study
        results._cache["claims_refs"] = problem_references(results)
    return results._cache["claims_refs"].get(problem)


def _scale(results: Results, problem: str) -> float:
    ref = _reference(results, problem)
    return abs(ref.value) or 1.0 if ref is not None else 1.0


def _ref_loss(results: Results, problem: str) -> float:
    ref = _reference(results, problem)
    return results.sign(problem) * ref.value if ref is not None else 0.0


#: Report columns the measures read, as numpy arrays (converted once per loaded study).
_COLUMNS = ("seed", "trial", "parent_trial", "cum_units", "virtual_time", "best_loss")


def pair_rows(results: Results, problem: str, optimizer: str) -> pd.DataFrame:
    """The reports of one (problem, optimizer) pair: seed, trial, parent_trial, cum_units,
    virtual_time, best_loss (in recorded order).

    Built from numpy copies of these columns made once per study, through the same
    (problem, optimizer) index `Results.rows` caches: taking every column of a
    multi-million-row frame per claim (string columns included) cost seconds a claim.
    """
    cache = results._cache
    if "rows_po" not in cache:  # the index Results.rows builds, under its key
        cache["rows_po"] = results.reports.groupby(["problem", "optimizer"],
                                                   sort=False).indices
    if "claims_arrays" not in cache:
        cache["claims_arrays"] = {c: results.reports[c].to_numpy(dtype=float)
                                  for c in _COLUMNS if c in results.reports}
    at = cache["rows_po"].get((problem, optimizer))
    at = np.asarray(at if at is not None else [], dtype=np.int64)
    frame = pd.DataFrame({c: a[at] for c, a in cache["claims_arrays"].items()})
    frame["seed"] = frame.seed.astype(np.int64)
    return frame


def common_budget(results: Results, arms: list[tuple[str, str]], axis: str) -> pd.Series:
    """Per seed, the largest budget on `axis` that the cell of every arm reached (its last
    report): each seed's pair is compared at its own common budget, so one short cell
    (PBT may stop a few epochs early) does not cut the other seeds' comparisons.
    """
    tops = [pair_rows(results, problem, optimizer).groupby("seed")[axis].max()
            for problem, optimizer in arms]
    if not tops:
        return pd.Series(dtype=float)
    return pd.concat(tops, axis=1, join="inner").min(axis=1).astype(float)


def _at_budget(results: Results, problem: str, optimizer: str, axis: str,
               budget: pd.Series) -> pd.Series:
    """Per seed, the incumbent loss of the last report with `axis` <= that seed's budget."""
    rows = pair_rows(results, problem, optimizer)
    out = {}
    for seed, cell in rows.groupby("seed", sort=True):
        if seed not in budget.index:
            continue
        x = np.maximum.accumulate(cell[axis].to_numpy(dtype=float))
        at = np.searchsorted(x, budget[seed], side="right") - 1
        out[int(seed)] = float(cell.best_loss.to_numpy(dtype=float)[at]) if at >= 0 else np.nan
    return pd.Series(out, dtype=float)


def _configurations(results: Results, problem: str, optimizer: str) -> pd.Series:
    """Per seed, configurations drawn: trials that are neither restarts nor clones."""
    rows = pair_rows(results, problem, optimizer)
    first = rows.groupby(["seed", "trial"], sort=True).parent_trial.first()
    return first.isna().groupby(level="seed").sum().astype(float)


def equal_configurations(results: Results, claim: Claim) -> bool:
    """Whether both arms drew as many configurations on every shared seed.

    Claims compared at equal trials (`quality` on the `trials` axis, `saving`) assume the
    claims study's design; a study that ran the arms on other budgets is not comparable.
    """
    if claim.b is None:
        return True
    a = _configurations(results, claim.a.problem, claim.a.optimizer)
    b = _configurations(results, claim.b.problem, claim.b.optimizer)
    both = pd.concat({"a": a, "b": b}, axis=1, join="inner")
    return bool(len(both)) and bool((both.a == both.b).all())


def normalized_point(config: dict, space: list[dict]) -> np.ndarray:
    """Map a configuration into the unit cube of its recorded search space.

    Floats and ints by (v - low) / (high - low) (on log scale where the parameter is), a
    categorical by its choice index / (choices - 1); a parameter absent from the
    configuration (inactive) at -1, away from every active value.
    """
    point = []
    for p in space:
        v = config.get(p["name"])
        if v is None:
            point.append(-1.0)
        elif p.get("type") == "categorical":
            choices = list(p.get("choices") or [])
            k = choices.index(v) if v in choices else 0
            point.append(k / max(len(choices) - 1, 1))
        else:
            lo, hi, x = float(p["low"]), float(p["high"]), float(v)
            if p.get("log"):
                lo, hi, x = math.log(lo), math.log(hi), math.log(x)
            point.append((x - lo) / (hi - lo) if hi > lo else 0.0)
    return np.asarray(point, dtype=float)


def proposal_spread(results: Results, problem: str, optimizer: str) -> pd.Series:
    """Per seed: mean Euclidean distance between consecutive proposals in the unit cube.

    Proposals are the trials in creation order; those of the initial design (the
    optimizer's `n_init`, 0 when it has none) are left out, so only the acquisition's
    choices count. Reads the `config` column of these cells only.
    """
    cells = results.cells[(results.cells.problem == problem)
                          & (results.cells.optimizer == optimizer)]
    out = {}
    for cell in cells.itertuples():
        space = (cell.meta.get("problem_info") or {}).get("space") or []
        conf = (cell.meta.get("config") or {}).get("optimizer") or {}
        n_init = int(conf.get("n_init") or 0)
        rows = cell_reports(results, problem, optimizer, cell.seed)
        first = rows.groupby("trial", sort=True).config.first()
        points = np.array([normalized_point(json.loads(c), space) for c in first])
        points = points[n_init:]
        out[int(cell.seed)] = (float(np.linalg.norm(np.diff(points, axis=0), axis=1).mean())
                               if len(points) > 1 else np.nan)
    return pd.Series(out, dtype=float).sort_index()


def arm_values(results: Results, measure: str, problem: str, optimizer: str,
               axis: str = "cum_units", budget: pd.Series | None = None) -> pd.Series:
    """Per seed, the raw measure of one arm (a loss, units, or a spread)."""
    if measure == "quality":
        if axis == "trials":
            f = final_values(results)
            f = f[(f.problem == problem) & (f.optimizer == optimizer)]
            values = f.set_index("seed").best_loss
        else:
            values = _at_budget(results, problem, optimizer, axis,
                                pd.Series(dtype=float) if budget is None else budget)
        return (values - _ref_loss(results, problem)) / _scale(results, problem)
    if measure == "test":
        f = final_values(results)
        f = f[(f.problem == problem) & (f.optimizer == optimizer)]
        return results.sign(problem) * f.set_index("seed").test_value
    if measure in ("saving", "saving_full"):
        rows = pair_rows(results, problem, optimizer)
        return rows.groupby("seed").cum_units.max().astype(float)
    if measure == "exploration":
        return proposal_spread(results, problem, optimizer)
    raise ValueError(f"`measure` must be one of quality, test, saving, saving_full, "
                     f"exploration; got {measure!r}.")


def paired_effects(results: Results,
                   claim: Claim) -> tuple[pd.DataFrame, pd.Series | None]:
    """Per seed present in both arms: a's value, b's value and the oriented effect.

    Returns (frame with columns seed, a, b, effect; each seed's common budget on the
    claim's axis, or None where the measure has no budget).
    """
    a, b = claim.a, claim.b
    budget = None
    if claim.measure == "quality" and claim.axis != "trials":
        budget = common_budget(results, [(a.problem, a.optimizer), (b.problem, b.optimizer)],
                               claim.axis)
    va = arm_values(results, claim.measure, a.problem, a.optimizer, claim.axis, budget)
    if claim.measure == "saving_full":
        max_step = results.max_steps().get(a.problem)
        vb = _configurations(results, a.problem, a.optimizer) * float(max_step or np.nan)
    else:
        vb = arm_values(results, claim.measure, b.problem, b.optimizer, claim.axis, budget)
    frame = pd.concat({"a": va, "b": vb}, axis=1, join="inner").dropna()
    if claim.measure in ("quality", "test"):
        effect = frame.b - frame.a
    elif claim.measure in ("saving", "saving_full"):
        effect = 1.0 - frame.a / frame.b
    else:
        effect = frame.a - frame.b
    frame = frame.assign(effect=effect).rename_axis("seed").reset_index()
    return frame, budget

