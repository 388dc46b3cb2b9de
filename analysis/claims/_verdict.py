"""The verdict rule: effect size, bootstrap interval, paired test, Holm over all claims."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.curves import bootstrap_ci
from analysis.stats import holm

__all__ = [
    "ALPHA",
    "DOES_NOT_HOLD",
    "EQUIVALENT",
    "HOLDS",
    "INCONCLUSIVE",
    "LEVEL",
    "MIN_SEEDS",
    "N_BOOT",
    "RULE",
    "Evidence",
    "evidence",
    "paired_p",
    "verdict",
    "with_holm",
]

#: Family-wise error rate of the Holm-corrected tests.
ALPHA = 0.05
#: Fewer paired seeds than this: no verdict but "inconclusive" (a two-sided Wilcoxon test
#: cannot reach p < 0.05 below 6 seeds, and a bootstrap interval of the mean needs more).
MIN_SEEDS = 10
#: Bootstrap: resamples of the seeds and confidence level of the interval of the mean effect.
N_BOOT = 2000
LEVEL = 0.95
HOLDS, DOES_NOT_HOLD, EQUIVALENT = "holds", "does not hold", "equivalent"
INCONCLUSIVE = "inconclusive at this sample size"

#: The rule, as the report prints it (the code below is its only implementation).
RULE = f"""\
Per claim, the effect is computed on each seed where both arms have a cell (a paired
design: the cell seed fixes the data split and noise stream for every optimizer), oriented
so that a positive effect favours the chapter's claim. Its mean gets a {LEVEL:.0%} percentile
bootstrap interval ({N_BOOT} resamples of the seeds, generator seeded with 0: the same
numbers on every build) and a two-sided Wilcoxon signed-rank test against 0 (all-zero
effects: p = 1). The p-values of **all claims of this report form one Holm family**
(Holm 1979, family-wise α = {ALPHA}). The verdict, applied in this order:

1. fewer than {MIN_SEEDS} paired seeds: **{INCONCLUSIVE}**;
2. the interval lies inside (−margin, +margin), the claim's stated equivalence margin:
   **{EQUIVALENT}** (any difference is too small to matter);
3. Holm-corrected p < {ALPHA} and the interval excludes 0: **{HOLDS}** when the mean effect
   is positive, **{DOES_NOT_HOLD}** when it is negative;
4. otherwise: **{INCONCLUSIVE}**.
"""


@dataclass(frozen=True)
class Evidence:
    """The statistics of one claim before the family-wise correction."""

    n: int
    effect: float
    ci_low: float
    ci_high: float
    p: float


def paired_p(effects: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p of paired effects against 0 (1.0 if all are 0).

    NaN with fewer than 2 effects. Zero effects are dropped (Wilcoxon's convention).
    """
    d = np.asarray(effects, dtype=float)
    d = d[~np.isnan(d)]
    if d.size < 2:
        return math.nan
    if np.all(d == 0):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on ties and small samples
        return float(sps.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def evidence(effects: Sequence[float], seed: int = 0) -> Evidence:
    """Mean effect, its seeded bootstrap interval and the paired test's p-value."""
    d = np.asarray(effects, dtype=float)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return Evidence(0, math.nan, math.nan, math.nan, math.nan)
    low, high = bootstrap_ci(d, n_boot=N_BOOT, level=LEVEL, seed=seed)
    return Evidence(int(d.size), float(d.mean()), low, high, paired_p(d))


def verdict(ev: Evidence, p_holm: float, margin: float) -> str:
    """Apply the rule (RULE) to one claim's evidence and its Holm-corrected p-value."""
    if ev.n < MIN_SEEDS or math.isnan(ev.effect):
        return INCONCLUSIVE
    if -margin < ev.ci_low and ev.ci_high < margin:
        return EQUIVALENT
    if not math.isnan(p_holm) and p_holm < ALPHA and (ev.ci_low > 0 or ev.ci_high < 0):
        return HOLDS if ev.effect > 0 else DOES_NOT_HOLD
    return INCONCLUSIVE


def with_holm(rows: pd.DataFrame) -> pd.DataFrame:
    """Add `p_holm` (over every row: one family) and `verdict` to rows of evidence.

    `rows` needs the columns n, effect, ci_low, ci_high, p and margin.
    """
    out = rows.copy()
    out["p_holm"] = holm(out.p.to_numpy(dtype=float)) if len(out) else []
    out["verdict"] = [
        verdict(Evidence(int(r.n), r.effect, r.ci_low, r.ci_high, r.p), r.p_holm, r.margin)
        for r in out.itertuples()]
    return out
