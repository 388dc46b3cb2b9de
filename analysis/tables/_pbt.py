"""Population-based training against random search and ASHA: lineages and final best."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.load import Results
from analysis.stats import final_values
from analysis.tables._table import Table, _mean_std, _present_on
from analysis.tables.families import family

__all__ = ["lineage_depth", "pbt_summary"]


def lineage_depth(parents: dict[int, int | None], trial: int) -> int:
    """Count the parent links from `trial` back to its root (0 for a root)."""
    depth, seen = 0, {trial}
    while parents.get(trial) is not None:
        trial = int(parents[trial])
        if trial in seen:  # a malformed cycle; stop rather than loop forever
            break
        seen.add(trial)
        depth += 1
    return depth


def pbt_summary(results: Results) -> Table:
    """PBT: final best and lineage summary against random search and ASHA."""
    finals = final_values(results)
    rows = []
    population, comparators = family(results, "population"), family(results, "pbt_comparator")
    for problem in sorted(set(results.cells.problem)):
        pbts = _present_on(results, problem, population)
        if not pbts:
            continue
        for optimizer in [*pbts, *_present_on(results, problem, comparators)]:
            o = finals[(finals.problem == problem) & (finals.optimizer == optimizer)]
            row = {"problem": problem, "optimizer": optimizer, "seeds": len(o),
                   "final best (mean ± std)": _mean_std(o.best),
                   "units per cell": o.units.mean(), "trials per cell": o.n_trials.mean()}
            if optimizer in population:
                exploits, depths, roots = [], [], []
                for seed, cell in results.rows(problem, optimizer).groupby("seed"):
                    parents = cell.groupby("trial").parent_trial.first()
                    pmap = {int(t): (None if pd.isna(p) else int(p)) for t, p in parents.items()}
                    exploits.append(sum(p is not None for p in pmap.values()))
                    inc = int(o[o.seed == seed].incumbent_trial.iloc[0])
                    depths.append(lineage_depth(pmap, inc))
                    last = cell[cell.step == cell.step.max()].trial.unique()
                    root_of = set()
                    for t in last:
                        t = int(t)
                        while pmap.get(t) is not None:
                            t = pmap[t]
                        root_of.add(t)
                    roots.append(len(root_of))
                row.update({"exploits per cell": np.mean(exploits),
                            "incumbent lineage depth": np.mean(depths),
                            "surviving roots": np.mean(roots)})
            rows.append(row)
    notes = [] if rows else ["needs `pbt` or `ray_pbt` on a problem with a fidelity "
                             "(learning_curve, mlp, lgbm), beside random and asha."]
    return Table(
        "pbt", "Population-based training vs random search and ASHA", pd.DataFrame(rows),
        """\
- *final best*: the final incumbent in the problem's direction, mean ± std over seeds.
- *trials per cell*: population members plus exploit clones (each clone is a new trial whose
  `parent_trial` is the member it copied).
- *exploits per cell*: trials with a parent (exploit steps that copied a better member's
  state); *incumbent lineage depth*: parent links from the trial holding the final
  incumbent back to an original member; *surviving roots*: distinct original members whose
  descendants reached the last recorded step.
""", notes)
