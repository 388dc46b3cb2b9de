"""Chapter 2.5: evaluations per fidelity level (rung, bracket start) per optimizer."""

from __future__ import annotations

import pandas as pd

from analysis.load import Results
from analysis.tables._table import Table, _present_on, _trial_ends
from analysis.tables.families import family

__all__ = ["fidelity_counts"]


def fidelity_counts(results: Results) -> Table:
    """Chapter 2.5: evaluations per fidelity level (rung, bracket start) per optimizer."""
    rows = []
    max_steps = results.max_steps()
    families = (*family(results, "multi_fidelity"), *family(results, "population"))
    for problem in sorted(set(results.cells.problem)):
        max_step = max_steps.get(problem)
        if max_step is None or pd.isna(max_step):
            continue
        for optimizer in _present_on(results, problem, families):
            r = results.rows(problem, optimizer)
            seeds = r.seed.nunique()
            ends = _trial_ends(r)
            first = ends.groupby(["seed", "trial"], sort=False).step.first()
            starts = first.value_counts()
            for step, count in ends.step.value_counts().sort_index().items():
                rows.append({
                    "problem": problem, "optimizer": optimizer, "step": int(step),
                    "fraction of max": step / max_step,
                    "evaluations per cell": count / seeds,
                    "trials starting here per cell": starts.get(step, 0) / seeds,
                })
    notes = [] if rows else [
        "needs a problem with a fidelity run with multifidelity, sha, asha, hyperband or "
        "their Ray/Optuna versions."]
    return Table(
        "fidelity_counts", "Evaluations per fidelity level (chapter 2.5)", pd.DataFrame(rows),
        """\
- *step*: the fidelity step (iterations, boosting rounds, epochs) at which a job ended: a
  rung of SHA/ASHA, a level of `multifidelity` (0.1/0.3/0.5/1.0 of the maximum), a
  perturbation point of PBT; *fraction of max*: step / the problem's maximum.
- *evaluations per cell*: jobs that ended at that step (completed, paused, pruned or
  failed), mean over seeds.
- *trials starting here per cell*: trials whose first job ended at that step; for
  Hyperband these are the bracket sizes (a bracket's trials all start at its lowest rung).
""", notes)
