"""Overall tables: final performance, pairwise Wilcoxon + Holm, critical difference, references."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.load import Results, problem_references
from analysis.stats import (
    block_losses,
    cd_selection,
    final_values,
    friedman_nemenyi,
    nanmean,
    normalized_regret,
    pairwise_wilcoxon,
    rank_over_budget,
    rank_rows,
)
from analysis.tables._table import Table, _mean_std

__all__ = ["overall", "references_table"]


def overall(results: Results) -> list[Table]:
    """Per problem × optimizer final performance, rank over budget, Wilcoxon + Holm, CD."""
    refs = problem_references(results)
    finals = final_values(results)
    budget_ranks = rank_over_budget(results)
    mean_budget_rank = budget_ranks.groupby("optimizer")["rank"].mean()
    rows = []
    for problem in sorted(set(finals.problem)):
        f = finals[finals.problem == problem]
        ranks = rank_rows(f.pivot(index="seed", columns="optimizer", values="best_loss")
                          .dropna())
        sign = results.sign(problem)
        for optimizer, o in f.groupby("optimizer", sort=True):
            reg = normalized_regret(o.regret_loss.to_numpy(), refs.get(problem), sign)
            rows.append({
                "problem": problem, "optimizer": optimizer, "seeds": len(o),
                "final best (mean ± std)": _mean_std(o.best),
                "normalized regret (mean)": nanmean(reg),
                "rank on problem": ranks[optimizer].mean() if optimizer in ranks else np.nan,
                "units per cell": o.units.mean(), "wall s per cell": o.wall_time.mean(),
            })
    perf = pd.DataFrame(rows)
    if len(perf):
        perf["average rank over budget (all problems)"] = perf.optimizer.map(mean_budget_rank)
    perf_table = Table(
        "overall", "Overall: final performance per problem and optimizer", perf, """\
- *final best*: the final incumbent in the problem's direction, mean ± std over seeds.
- *normalized regret*: (final loss − reference loss) / |reference| (see references), on the
  incumbent's noise-free value where the problem records one.
- *rank on problem*: per seed, all optimizers run on the problem ranked by final loss
  (ties share the average rank), averaged over the seeds every one of them has.
- *average rank over budget*: per problem and seed, optimizers ranked by incumbent at 20
  fractions of the problem's largest budget (1/20 … 1, in compute units; not yet observed
  ranks last), averaged over fractions, seeds and the problems the optimizer ran on
  (ranks on problems with different optimizer sets are not on one scale: compare within a
  problem group).
""")
    blocks = block_losses(results)
    tests = pairwise_wilcoxon(blocks) if blocks.shape[1] >= 2 else pd.DataFrame()
    if len(tests):
        tests = tests[tests.n_blocks >= 2].reset_index(drop=True)
    wilcoxon_table = Table(
        "wilcoxon", "Pairwise Wilcoxon signed-rank tests with Holm correction", tests, """\
- Blocks are (problem, seed) pairs both optimizers ran; the paired values are final
  normalized regrets (raw final losses on problems without a reference, so such problems
  weigh by their own scale).
- *a_better* / *b_better*: blocks where a (b) had the lower value; *statistic*, *p*:
  `scipy.stats.wilcoxon` (two-sided, zero differences dropped); *p_holm*: Holm's step-down
  adjustment over all pairs in this table; *significant*: p_holm < 0.05.
""", [] if len(tests) else ["needs two optimizers sharing at least two (problem, seed) "
                             "blocks."])
    per_problem = blocks.groupby(level="problem").mean()
    block = cd_selection(per_problem) if len(per_problem) >= 3 else pd.DataFrame()
    cd_rows, notes = [], []
    if block.empty:
        notes.append("a critical-difference diagram needs at least 3 problems sharing at "
                     "least 2 optimizers.")
    else:
        fn = friedman_nemenyi(block)
        for optimizer, rank in fn["ranks"].items():
            cd_rows.append({"optimizer": optimizer, "average rank": rank,
                            "problems": fn["n"], "friedman p": fn["friedman_p"],
                            "critical difference (α=0.05)": fn["cd"]})
        notes.append("problems: " + ", ".join(block.index))
    cd_table = Table(
        "critical_difference", "Critical difference (Friedman + Nemenyi, Demšar 2006)",
        pd.DataFrame(cd_rows), """\
- Data sets are problems; each optimizer's value on a problem is its mean final normalized
  regret (raw loss without a reference) over seeds; optimizers are ranked per problem and
  the ranks averaged. The largest complete block of problems × optimizers is used.
- *friedman p*: `scipy.stats.friedmanchisquare` over that block (n/a for 2 optimizers);
  *critical difference*: Nemenyi's CD = q_α √(k(k+1)/(6N)) (q_α from the studentized
  range / √2); two optimizers whose average ranks differ by less than CD are not
  significantly different.
""", notes)
    return [perf_table, wilcoxon_table, cd_table]


def references_table(results: Results) -> Table:
    """Tabulate the fixed reference of normalized regret used for each problem."""
    refs = problem_references(results)
    rows = [{"problem": p, "direction": results.directions()[p],
             "reference": np.nan if r is None else r.value,
             "how": "none: raw values are reported" if r is None else r.how}
            for p, r in sorted(refs.items())]
    return Table("references", "Reference values of normalized regret", pd.DataFrame(rows),
                 """\
- The known optimum recorded by the problem, else `problem.reference: {value, how}` from
  the problem conf. Never computed from the loaded results, so adding an optimizer never
  changes another's numbers.
""")
