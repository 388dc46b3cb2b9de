"""Parameter importance: Optuna's evaluators on one recorded cell per problem."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd

from analysis.load import Results, cell_reports
from analysis.provenance import search_space
from analysis.tables._table import Table
from analysis.tables.families import family

__all__ = ["MAX_IMPORTANCE_TRIALS", "cell_importance", "parameter_importance"]

#: Trials of a cell fed to the importance evaluators: the first this many (by trial number).
#: fANOVA's cost grows with the square of the trials (each split point of a parameter walks
#: every tree), about 15 s for 1,200 trials on one core; the chapter's cells have <= 60.
MAX_IMPORTANCE_TRIALS = 500


def _distributions(configs: list[dict], space: dict[str, dict]) -> dict:
    import optuna

    out = {}
    # inactive conditional parameters may be missing or recorded as None: leave them out
    names = (set.intersection(*({k for k, v in c.items() if v is not None} for c in configs))
             if configs else set())
    for name in sorted(names):
        values = [c[name] for c in configs]
        f = space.get(name, {})
        kind = f.get("type")
        if kind == "float" or (kind is None and all(isinstance(v, float) for v in values)):
            lo, hi = f.get("low", min(values)), f.get("high", max(values))
            out[name] = optuna.distributions.FloatDistribution(float(lo), float(hi),
                                                               log=bool(f.get("log", False)))
        elif kind == "int" or (kind is None and all(
                isinstance(v, int) and not isinstance(v, bool) for v in values)):
            lo, hi = f.get("low", min(values)), f.get("high", max(values))
            out[name] = optuna.distributions.IntDistribution(int(lo), int(hi),
                                                             log=bool(f.get("log", False)))
        else:
            choices = tuple(f.get("choices") or sorted(set(values), key=repr))
            out[name] = optuna.distributions.CategoricalDistribution(choices)
    return out


def cell_importance(reports: pd.DataFrame, meta: dict, direction: str,
                    max_step: int | None, max_trials: int | None = None) -> pd.DataFrame:
    """Optuna's importance evaluators on one cell's recorded trials.

    Trials are the reports at the cell's full fidelity that are not failed (one value per
    trial, its last at that step), the first `max_trials` of them by trial number when
    given. Parameters are those every such trial has; their distributions come from the
    problem's recorded space (bounds, log scale, choices). Returns columns param,
    ped_anova, fanova (fANOVA with 32 trees, seed 0).
    """
    import optuna

    step = 1 if max_step is None or pd.isna(max_step) else int(max_step)
    ok = reports[(reports.status != "failed") & (reports.step == step)]
    ok = ok.groupby("trial", sort=True).last()
    if max_trials is not None:
        ok = ok.iloc[:max_trials]
    configs = [json.loads(c) for c in ok.config]
    dists = _distributions(configs, search_space(meta))
    if not dists or len(configs) < 3:
        return pd.DataFrame(columns=["param", "ped_anova", "fanova"])
    study = optuna.create_study(direction=direction)
    study.add_trials([
        optuna.trial.create_trial(params={k: c[k] for k in dists}, distributions=dists,
                                  value=float(v))
        for c, v in zip(configs, ok.value, strict=True)
    ])
    ped = optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
    fan = optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.FanovaImportanceEvaluator(n_trees=32, seed=0))
    frame = pd.DataFrame({"param": list(dists)})
    frame["ped_anova"] = frame.param.map(ped).astype(float)
    frame["fanova"] = frame.param.map(fan).astype(float)
    return frame.sort_values("fanova", ascending=False, ignore_index=True)


def parameter_importance(results: Results,
                         prefer: Sequence[str] | None = None,
                         max_trials: int | None = MAX_IMPORTANCE_TRIALS) -> Table:
    """Optuna's importance evaluators on one cell per problem (random search preferred).

    At most `max_trials` trials of the cell (the first ones; None: all), with a note where
    a cell has more.
    """
    prefer = family(results, "unbiased") if prefer is None else prefer
    import logging

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    rows, notes = [], []
    for problem in sorted(set(results.cells.problem)):
        cells = results.cells[results.cells.problem == problem]
        order = sorted(cells.itertuples(), key=lambda c: (
            prefer.index(c.optimizer) if c.optimizer in prefer else len(prefer),
            c.optimizer, c.seed))
        cell = order[0]
        reports = cell_reports(results, problem, cell.optimizer, cell.seed)
        try:
            frame = cell_importance(reports, cell.meta, cell.direction, cell.max_step,
                                    max_trials)
        except (ValueError, RuntimeError) as err:
            notes.append(f"`{problem}` ({cell.optimizer}, seed {cell.seed}): {err}")
            continue
        if frame.empty:
            notes.append(f"`{problem}`: fewer than 3 full-fidelity trials in "
                         f"{cell.optimizer}/seed={cell.seed}.")
            continue
        n = int(((reports.status != "failed") & (reports.step == (
            1 if cell.max_step is None or pd.isna(cell.max_step) else cell.max_step)))
                .groupby(reports.trial).any().sum())
        if max_trials is not None and n > max_trials:
            notes.append(f"`{problem}`: the first {max_trials} of the {n} full-fidelity "
                         f"trials of {cell.optimizer}/seed={cell.seed} (fANOVA's cost grows "
                         "with the square of the trials).")
            n = max_trials
        for r in frame.itertuples():
            rows.append({"problem": problem, "cell": f"{cell.optimizer}/seed={cell.seed}",
                         "trials": n, "param": r.param, "PED-ANOVA": r.ped_anova,
                         "fANOVA": r.fanova})
    if not rows and not notes:
        notes.append("needs at least one cell with 3 or more full-fidelity trials.")
    return Table(
        "importance", "Parameter importance (Optuna's evaluators on recorded trials)",
        pd.DataFrame(rows), """\
- One cell per problem: random search when present (its samples are unbiased), lowest seed.
- Its trials at full fidelity (their values, in the problem's direction) are added to an
  in-memory Optuna study with `optuna.trial.create_trial`; distributions come from the
  problem's recorded search space. Parameters absent from some trials (conditional ones)
  are left out, as Optuna does.
- *PED-ANOVA*: `PedAnovaImportanceEvaluator()` (Optuna 5's default for
  `get_param_importances`); *fANOVA*: `FanovaImportanceEvaluator(n_trees=32, seed=0)`.
  Each column sums to 1 over a problem's parameters.
""", notes)
