"""The chapter's claims as hypotheses, answered from a study's cells with a written rule.

`claims_section(results, out)` gives the report's section "Claims of the chapter, tested":
per claim the comparison made, the effect with a seeded bootstrap interval, the
Holm-corrected p-value of a paired test over seeds (one family: every claim of the report)
and a verdict derived by `verdict` (the rule in `RULE`). Claims whose cells are absent are
skipped. The claims and the cells that answer them are listed in `CLAIMS`; the study that
holds them all is conf/experiment/claims.yaml (`make claims`).
"""

from analysis.claims._section import TITLE, ClaimsResult, claims_section, evaluate_claims
from analysis.claims._spec import CLAIMS, MEASURES, Arm, Claim
from analysis.claims._verdict import (
    ALPHA,
    DOES_NOT_HOLD,
    EQUIVALENT,
    HOLDS,
    INCONCLUSIVE,
    MIN_SEEDS,
    RULE,
    Evidence,
    evidence,
    paired_p,
    verdict,
    with_holm,
)

__all__ = [
    "ALPHA",
    "CLAIMS",
    "DOES_NOT_HOLD",
    "EQUIVALENT",
    "HOLDS",
    "INCONCLUSIVE",
    "MEASURES",
    "MIN_SEEDS",
    "RULE",
    "TITLE",
    "Arm",
    "Claim",
    "ClaimsResult",
    "Evidence",
    "claims_section",
    "evidence",
    "paired_p",
    "evaluate_claims",
    "verdict",
    "with_holm",
]
