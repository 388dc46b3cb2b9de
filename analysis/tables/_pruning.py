"""Chapter 2.2: completed vs pruned trials, pruning rate and units saved, per pruner."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.load import Results
from analysis.stats import final_values
from analysis.tables._table import Table, _final_status, _mean_std, _present_on
from analysis.tables.families import family

__all__ = ["pruning"]


def pruning(results: Results, baselines: Sequence[str] | None = None) -> Table:
    """Chapter 2.2: completed vs pruned trials, pruning rate and units saved, per pruner."""
    if baselines is None:
        baselines = family(results, "pruning_baseline")
    pruning_family, fidelity = family(results, "pruning"), family(results, "multi_fidelity")
    finals = final_values(results)
    statuses = _final_status(results.reports)
    rows = []
    max_steps = results.max_steps()
    for problem in sorted(set(results.cells.problem)):
        max_step = max_steps.get(problem)
        if max_step is None or pd.isna(max_step):
            continue
        reps = results.rows(problem)
        with_pruned = sorted(set(reps[reps.status == "pruned"].optimizer))
        pruners = [*_present_on(results, problem, pruning_family),
                   *[o for o in with_pruned if o not in pruning_family
                     and o not in fidelity]]
        if not pruners:
            continue
        base = _present_on(results, problem, baselines)
        base_units = (finals[(finals.problem == problem) & (finals.optimizer == base[0])]
                      .set_index("seed").units) if base else None
        for optimizer in [*base, *pruners]:
            st = statuses.loc[problem, optimizer]
            o = finals[(finals.problem == problem) & (finals.optimizer == optimizer)]
            seeds = len(o)
            completed = int((st == "completed").sum())
            pruned = int((st == "pruned").sum())
            trials = o.n_trials.sum()
            units = o.units.mean()
            vs_base = np.nan
            if base_units is not None:
                paired = o.set_index("seed").units.to_frame("u").join(base_units.rename("b"),
                                                                      how="inner")
                if len(paired):
                    vs_base = 1.0 - paired.u.mean() / paired.b.mean()
            rows.append({
                "problem": problem, "optimizer": optimizer, "seeds": seeds,
                "trials per cell": trials / seeds, "completed per cell": completed / seeds,
                "pruned per cell": pruned / seeds,
                "pruning rate": pruned / (completed + pruned) if completed + pruned else np.nan,
                "units per cell": units,
                "units saved vs trials × R": 1.0 - units / (trials / seeds * max_step),
                f"units saved vs {base[0] if base else 'baseline'}": vs_base,
                "final best (mean ± std)": _mean_std(o.best),
            })
    notes = [] if rows else [
        "needs a problem with a fidelity run with tpe_median, optuna_asha or optuna_hyperband "
        "(and `tpe` without a pruner as the baseline)."]
    return Table(
        "pruning", "Pruning (chapter 2.2)", pd.DataFrame(rows), """\
- A trial is *completed* or *pruned* by the status of its last report; *pruning rate* =
  pruned / (completed + pruned).
- *units saved vs trials × R*: 1 − units / (trials × R), R the maximum fidelity: the share
  of training avoided compared with running every trial to the end.
- *units saved vs baseline*: 1 − units / units of the first baseline present (the sampler
  without a pruner, else random search), on the same seeds. Budgets in trials make this a
  like-for-like comparison; budgets in units make it ~0 and the gain shows in *trials*.
- *final best*: the final incumbent (any fidelity) in the problem's direction.
""", notes)
