"""The chapter's claims as hypotheses: which cells answer each, by which measure and margin."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLAIMS", "MEASURES", "Arm", "Claim"]

#: Per-seed measures a claim can use (analysis.claims._measures computes them).
#: quality   incumbent loss at a common budget on `axis`, as normalized regret
#: test      held-out `test_value` of the final incumbent, as a loss (lower is better)
#: saving    1 - units(a) / units(b): compute a saves against b on the same seed
#: saving_full  1 - units(a) / (configurations of a x R): against training a's own
#:           configurations to the maximum fidelity R (the chapter's "81 x 100" baseline)
#: exploration  mean distance between consecutive proposals in the unit cube
MEASURES = ("quality", "test", "saving", "saving_full", "exploration")


@dataclass(frozen=True)
class Arm:
    """One side of a comparison: the cells of one (problem, optimizer) pair."""

    problem: str
    optimizer: str

    def __str__(self) -> str:
        return f"{self.optimizer} on {self.problem}"


@dataclass(frozen=True)
class Claim:
    """One row of the claims section: a hypothesis taken from the chapter.

    The per-seed effect is oriented so that a positive value favours the chapter's claim:
    for `quality` and `test` it is loss(b) - loss(a) (a is the method the chapter
    favours), for `saving*` the saving of a itself, for `exploration` spread(a) - spread(b).

    Attributes:
        key: short identifier (figure and CSV names).
        claim: the chapter's sentence, paraphrased.
        hypothesis: what is tested, positive effect = the claim holds.
        a: the arm the claim is about; b: the comparator (None for `saving_full`).
        measure: one of MEASURES.
        axis: the budget axis of `quality` (cum_units or virtual_time).
        margin: equivalence margin, in the effect's unit: |effect| below it is too small
            to matter (see `margin_why`).
        margin_why: the reason for that margin, printed in the report.
        chapter: the chapter's number for this effect, where it gives one.
        figure: "anytime" (curves of a and b on `axis`) or "paired" (differences per seed).

    """

    key: str
    claim: str
    hypothesis: str
    a: Arm
    b: Arm | None
    measure: str
    margin: float
    margin_why: str
    axis: str = "cum_units"
    chapter: float | None = None
    chapter_source: str = ""
    figure: str = "paired"


# -- equivalence margins, by what the effect measures --------------------------------------
_SYNTH = (0.05, "0.05 normalized regret: the samplers table's target; two results within "
          "it are both 'at the optimum'")
_LGBM = (0.002, "0.002 validation log-loss (~1 % of the ~0.16 reached): below the "
         "seed-to-seed spread of one configuration")
_MLP = (0.005, "0.005 validation accuracy: one of the 200 validation examples")
_SAVING = (0.05, "5 % of the compute")
_SPREAD = (0.02, "0.02 of the unit cube's side")
_ASHA_95 = dict(chapter=0.95, chapter_source="exercise 4: 81 configurations, η = 3: "
                "405 units against 81 × 100 = 8,100, '95 %'")


def _quality(key: str, claim: str, hypothesis: str, a: Arm, b: Arm,
             margin: tuple[float, str], **kw: object) -> Claim:
    return Claim(key, claim, hypothesis, a, b, "quality", margin[0], margin[1], **kw)


def _margin(problem: str) -> tuple[float, str]:
    if problem.startswith("lgbm"):
        return _LGBM
    if problem.startswith("mlp"):
        return _MLP
    return _SYNTH


def _claims() -> list[Claim]:
    out = [
        _quality("grid_vs_random_low", "Few parameters (< 5): grid search (selection guide)",
                 "grid is at least as good as random search in 2-D at equal evaluations",
                 Arm("branin", "grid"), Arm("branin", "random"), _SYNTH),
        _quality("random_vs_grid_high", "Many parameters (> 5): random search (selection "
                 "guide; Bergstra & Bengio 2012)",
                 "random search beats grid search in 6-D at equal evaluations",
                 Arm("hartmann6", "random"), Arm("hartmann6", "grid"), _SYNTH),
    ]
    for problem in ("learning_curve", "lgbm_table"):
        for opt in ("sha", "asha"):
            out.append(Claim(
                f"{opt}_savings_{problem}", "ASHA saves ~95 % of the compute of training 81 "
                "configurations fully (exercise 4)",
                f"{opt} spends less than training its configurations to the maximum fidelity",
                Arm(problem, opt), None, "saving_full", *_SAVING, **_ASHA_95))
        out.append(_quality(
            f"asha_quality_{problem}", "ASHA terminates poor performers early and keeps "
            "the promising ones (exercise 4)",
            "asha's incumbent is as good as random search's over the same number (81) of "
            "configurations trained fully", Arm(problem, "asha"), Arm(problem, "random"),
            _margin(problem), axis="trials"))
    for problem in ("lgbm_surrogate", "mlp_surrogate"):
        out.append(_quality(
            f"hyperband_vs_random_{problem}", "Hyperband: search with diverse budgets; "
            "cheap evaluations: random search or Hyperband (selection guide)",
            "hyperband beats random search at equal compute units",
            Arm(problem, "hyperband"), Arm(problem, "random"), _margin(problem),
            figure="anytime"))
    out += [
        Claim("early_stopping_saving", "Early stopping terminates training when performance "
              "stops improving, to save computation (2.1)",
              "the same random configurations cost fewer boosting rounds with early "
              "stopping (patience 50)", Arm("lgbm_es", "random"), Arm("lgbm", "random"),
              "saving", *_SAVING),
        Claim("early_stopping_cost", "... at no cost in accuracy (2.1: accuracy with early "
              "stopping printed beside 200 rounds)",
              "the incumbent's held-out test log-loss is no worse with early stopping",
              Arm("lgbm_es", "random"), Arm("lgbm", "random"), "test", *_LGBM),
    ]
    for problem in ("learning_curve", "lgbm_surrogate", "mlp_surrogate"):
        out += [
            Claim(f"pruning_saving_{problem}", "Pruning: significant time savings (2.2)",
                  "tpe with the median pruner spends less than tpe without, same trials",
                  Arm(problem, "tpe_median"), Arm(problem, "tpe"), "saving", *_SAVING),
            Claim(f"pruning_cost_{problem}", "... terminating only unpromising trials (2.2)",
                  "tpe with the median pruner finds as good an incumbent as tpe without",
                  Arm(problem, "tpe_median"), Arm(problem, "tpe"), "quality",
                  *_margin(problem), axis="trials"),
        ]
    for problem in ("branin", "lgbm_table", "lgbm_surrogate", "mlp_surrogate"):
        out.append(_quality(
            f"tpe_vs_random_{problem}", "TPE (Bayesian optimization) leverages past trials "
            "(2.2, 2.5)", "tpe beats random search at equal compute, past its 10 start-up "
            "trials", Arm(problem, "tpe"), Arm(problem, "random"), _margin(problem),
            figure="anytime"))
    for problem in ("branin", "synthetic1d"):
        out.append(Claim(
            f"ucb_explores_{problem}", "EI is conservative, UCB explores regions of high "
            "uncertainty (exercise 3)", "gp_ucb's consecutive proposals lie farther apart "
            "than gp_ei's (after the initial design)", Arm(problem, "gp_ucb"),
            Arm(problem, "gp_ei"), "exploration", *_SPREAD))
    for other in ("random", "asha"):
        out.append(_quality(
            f"pbt_vs_{other}_mlp", "PBT suits long training such as deep learning "
            "(exercise 5)", f"pbt beats {other} on real MLP training at equal epochs",
            Arm("mlp", "pbt"), Arm("mlp", other), _MLP, figure="anytime"))
    for problem in ("lgbm_surrogate_w8", "mlp_surrogate_w8"):
        out.append(_quality(
            f"async_asha_vs_sha_{problem}", "ASHA: asynchronous execution, efficient "
            "resource utilization (exercise 4)", "with 8 workers, asha beats synchronous "
            "sha at equal virtual time (seconds clock)", Arm(problem, "asha"),
            Arm(problem, "sha"), _margin(problem), axis="virtual_time", figure="anytime"))
    return out


#: Every claim of the report, in report order (one Holm family).
CLAIMS: tuple[Claim, ...] = tuple(_claims())
