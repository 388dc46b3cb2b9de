"""The report's section "Claims of the chapter, tested": rows, verdicts, figures, Markdown."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.claims._figures import plot_claim
from analysis.claims._measures import equal_configurations, paired_effects
from analysis.claims._spec import CLAIMS, Claim
from analysis.claims._verdict import RULE, evidence, with_holm
from analysis.curves import clock_unit
from analysis.load import Results
from analysis.tables._table import Table

__all__ = ["ClaimsResult", "claims_section", "evaluate_claims"]

log = logging.getLogger(__name__)

TITLE = "Claims of the chapter, tested"


@dataclass
class ClaimsResult:
    """The tested claims: one row each, their paired effects, and the claims skipped."""

    rows: pd.DataFrame
    paired: dict[str, pd.DataFrame] = field(default_factory=dict)
    budgets: dict[str, pd.Series | None] = field(default_factory=dict)
    skipped: list[Claim] = field(default_factory=list)
    failed: list[Claim] = field(default_factory=list)
    incomparable: list[Claim] = field(default_factory=list)


def _present(results: Results, claim: Claim) -> bool:
    arms = [claim.a] + ([claim.b] if claim.b is not None else [])
    return all(arm.optimizer in results.optimizers_on(arm.problem) for arm in arms)


def _comparison(claim: Claim, budget: pd.Series | None, results: Results) -> str:
    a, b = claim.a, claim.b
    if b is None:
        what = f"{a.optimizer} on {a.problem}"
    elif a.problem == b.problem:
        what = f"{a.optimizer} vs {b.optimizer} on {a.problem}"
    else:
        what = f"{a} vs {b}"
    if claim.measure == "quality":
        if claim.axis == "trials":
            return f"{what}: final incumbent (equal trials)"
        axis = {"cum_units": "compute units", "virtual_time": "virtual time"}[claim.axis]
        if claim.axis == "virtual_time":
            axis += " (s)" if clock_unit(results, claim.a.problem) == "seconds" else " (units)"
        if budget is None or budget.empty:
            return f"{what}: incumbent on {axis} (no common budget)"
        low, high = float(budget.min()), float(budget.max())
        at = f"{low:.4g}" if low == high else f"{low:.4g}–{high:.4g}"
        return (f"{what}: incumbent at {at} {axis} (per seed, the budget both cells "
                "reached)")
    return {
        "test": f"{what}: held-out test_value of the final incumbent",
        "saving": f"{what}: compute units per cell, same seed and trials",
        "saving_full": f"{what}: units per cell against configurations × R",
        "exploration": f"{what}: mean distance between consecutive proposals "
                       "(unit cube, after the initial design)",
    }[claim.measure]


def _versus_chapter(claim: Claim, low: float, high: float) -> str:
    if claim.chapter is None or math.isnan(low):
        return ""
    if low <= claim.chapter <= high:
        return "inside our CI"
    return "above our CI" if claim.chapter > high else "below our CI"


def evaluate_claims(results: Results, claims: Sequence[Claim] = CLAIMS) -> ClaimsResult:
    """Compute every present claim's evidence and verdict (absent claims are skipped)."""
    out = ClaimsResult(pd.DataFrame())
    records = []
    for i, claim in enumerate(claims):
        if not _present(results, claim):
            out.skipped.append(claim)
            continue
        at_equal_trials = claim.measure == "saving" or (claim.measure == "quality"
                                                        and claim.axis == "trials")
        if at_equal_trials and not equal_configurations(results, claim):
            out.incomparable.append(claim)
            continue
        try:
            paired, budget = paired_effects(results, claim)
        except Exception:  # odd cells cost this claim, never the report
            log.warning("claim %r could not be measured", claim.key, exc_info=True)
            out.failed.append(claim)
            continue
        ev = evidence(paired.effect.to_numpy(), seed=0)
        out.paired[claim.key], out.budgets[claim.key] = paired, budget
        records.append({
            "key": claim.key, "claim": claim.claim, "hypothesis": claim.hypothesis,
            "comparison": _comparison(claim, budget, results), "measure": claim.measure,
            "n": ev.n, "a mean": float(paired.a.mean()) if ev.n else math.nan,
            "b mean": float(paired.b.mean()) if ev.n else math.nan,
            "effect": ev.effect, "ci_low": ev.ci_low, "ci_high": ev.ci_high, "p": ev.p,
            "margin": claim.margin, "margin why": claim.margin_why,
            "chapter": math.nan if claim.chapter is None else claim.chapter,
            "chapter vs ours": _versus_chapter(claim, ev.ci_low, ev.ci_high),
            "order": i,
        })
    if records:
        out.rows = with_holm(pd.DataFrame(records)).drop(columns="order")
    return out


def _fmt(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


def _p(x: float) -> str:
    return "n/a" if math.isnan(x) else (f"{x:.1e}" if x < 1e-3 else f"{x:.3f}")


def claims_section(results: Results, out: Path,
                   claims: Sequence[Claim] = CLAIMS) -> tuple[list[str], Table]:
    """Test the claims, draw their figures under `out`/figures; return Markdown and table.

    The table (`claims`) holds every column of the rows (CSV); the Markdown shows a
    compact version with links to the figures.
    """
    tested = evaluate_claims(results, claims)
    lines = [f"## {TITLE}", ""]
    by_key = {c.key: c for c in claims}
    figures: dict[str, str] = {}
    for row in tested.rows.itertuples(index=False) if len(tested.rows) else []:
        claim = by_key[row.key]
        try:
            path = plot_claim(results, claim, tested.paired[claim.key],
                              tested.budgets[claim.key], pd.Series(row._asdict()),
                              out / "figures")
            figures[claim.key] = path.relative_to(out).as_posix()
        except Exception:  # a figure that fails is left out; the verdict stands
            log.warning("figure of claim %r failed", claim.key, exc_info=True)
    if tested.rows.empty:
        lines += ["_No claim's cells are in this study_ (see conf/experiment/claims.yaml, "
                  "`make claims`).", ""]
    else:
        shown = pd.DataFrame({
            "claim (chapter)": tested.rows.claim,
            "tested": tested.rows.hypothesis,
            "comparison": tested.rows.comparison,
            "seeds": tested.rows.n,
            "effect [95 % CI]": [f"{_fmt(r.effect)} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]"
                                 for r in tested.rows.itertuples()],
            "p (Wilcoxon)": tested.rows.p.map(_p),
            "p (Holm)": tested.rows.p_holm.map(_p),
            "margin": tested.rows.margin.map(_fmt),
            "chapter": [f"{_fmt(c)} ({vs})" if not math.isnan(c) else ""
                        for c, vs in zip(tested.rows.chapter, tested.rows["chapter vs ours"],
                                         strict=True)],
            "verdict": [f"**{v}**" for v in tested.rows.verdict],
            "figure": [f"[{k}]({figures[k]})" if k in figures else ""
                       for k in tested.rows.key],
        })
        lines += [f"{len(tested.rows)} claims tested, one Holm family: "
                  + ", ".join(f"{(tested.rows.verdict == v).sum()} {v}"
                              for v in sorted(set(tested.rows.verdict))) + ".", "",
                  shown.to_markdown(index=False), ""]
    lines += ["### How a verdict is reached", "", RULE, _DEFINITIONS]
    if len(tested.rows):
        lines += ["Equivalence margins: " + "; ".join(
            sorted({f"{c.margin:g} ({c.margin_why})" for c in claims
                    if c.key in set(tested.rows.key)})) + ".", ""]
        sources = sorted({c.chapter_source for c in claims
                          if c.chapter is not None and c.key in set(tested.rows.key)})
        if sources:
            lines += ["The chapter's numbers: " + "; ".join(sources) + ".", ""]
    if tested.skipped:
        lines += ["Not tested here (their cells are absent from this study): "
                  + ", ".join(f"`{c.key}`" for c in tested.skipped) + ".", ""]
    if tested.incomparable:
        lines += ["Not comparable here (the claim compares equal numbers of configurations; "
                  "these arms drew different numbers on some seed): "
                  + ", ".join(f"`{c.key}`" for c in tested.incomparable) + ".", ""]
    if tested.failed:
        lines += ["Could not be measured (see the log): "
                  + ", ".join(f"`{c.key}`" for c in tested.failed) + ".", ""]
    table = Table("claims", TITLE, tested.rows, RULE + _DEFINITIONS)
    return lines, table


_DEFINITIONS = """
Measures (a = the method the claim is about, b = its comparator, per seed):

- *quality*: the incumbent's loss as normalized regret (loss − reference loss) /
  |reference| (the problem's fixed reference; a loss difference where it has none) at the
  largest budget on the named axis that both cells of the seed reached (their last
  reports; the incumbent is a step function, no interpolation), or the final incumbent
  where the arms ran equal trials; effect = regret(b) − regret(a). For the lgbm problems
  (reference log-loss 0) this is a difference of validation log-loss, for the mlp ones
  (reference accuracy 1) of validation accuracy.
- *test*: the held-out `test_value` of the final incumbent, as a loss; effect = b − a.
- *saving*: 1 − units(a) / units(b) on the same seed and trial budget.
- *saving against configurations × R*: 1 − units(a) / (configurations a drew × the maximum
  fidelity R), the chapter's baseline of training every configuration fully.
- *exploration*: the mean Euclidean distance between consecutive proposals mapped into the
  unit cube of the search space (floats and ints by their position between the bounds, on
  log scale where the parameter is), leaving out the optimizer's initial design (`n_init`
  random points); effect = spread(a) − spread(b).
"""
