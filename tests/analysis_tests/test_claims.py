"""The claims section: the verdict rule on known answers, Holm over the family, skipping."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.claims import (
    CLAIMS,
    DOES_NOT_HOLD,
    EQUIVALENT,
    HOLDS,
    INCONCLUSIVE,
    MIN_SEEDS,
    TITLE,
    Arm,
    Claim,
    claims_section,
    evaluate_claims,
    evidence,
    paired_p,
    verdict,
    with_holm,
)
from analysis.claims._measures import normalized_point
from analysis.load import load_results
from tests.analysis_tests.cells import write_test_cell

MARGIN = 0.05


def _one(effects: np.ndarray, margin: float = MARGIN) -> str:
    """The verdict of a single claim (a family of one: Holm changes nothing)."""
    ev = evidence(effects)
    row = pd.DataFrame([{"n": ev.n, "effect": ev.effect, "ci_low": ev.ci_low,
                         "ci_high": ev.ci_high, "p": ev.p, "margin": margin}])
    return with_holm(row).verdict.iloc[0]


def test_clear_win_holds():
    effects = 0.5 + np.random.default_rng(1).normal(0.0, 0.1, 30)
    assert _one(effects) == HOLDS


def test_clear_loss_does_not_hold():
    effects = -0.5 + np.random.default_rng(2).normal(0.0, 0.1, 30)
    assert _one(effects) == DOES_NOT_HOLD


def test_tie_inside_the_margin_is_equivalent():
    effects = np.random.default_rng(3).normal(0.0, 0.01, 30)
    assert _one(effects) == EQUIVALENT
    # the same tie with a margin narrower than its interval is no longer equivalent
    assert _one(effects, margin=1e-4) == INCONCLUSIVE


def test_too_few_seeds_is_inconclusive_even_for_a_clear_effect():
    effects = 0.5 + np.random.default_rng(4).normal(0.0, 0.1, MIN_SEEDS - 1)
    ev = evidence(effects)
    assert ev.ci_low > 0  # the interval alone would call it
    assert _one(effects) == INCONCLUSIVE
    assert _one(0.5 + np.random.default_rng(4).normal(0.0, 0.1, MIN_SEEDS)) == HOLDS


def test_noisy_effect_is_inconclusive():
    effects = 0.02 + np.random.default_rng(5).normal(0.0, 1.0, 30)
    assert _one(effects) == INCONCLUSIVE


def test_evidence_is_deterministic_and_the_mean_of_the_effects():
    effects = np.random.default_rng(6).normal(0.3, 0.2, 30)
    first, again = evidence(effects), evidence(effects)
    assert first == again
    assert first.effect == pytest.approx(effects.mean())
    assert first.ci_low < first.effect < first.ci_high


def test_paired_p_conventions():
    assert paired_p([0.0] * 12) == 1.0
    assert math.isnan(paired_p([1.0]))
    assert paired_p([1.0] * 12) < 0.001


def test_holm_is_taken_over_the_whole_family():
    rows = pd.DataFrame({"n": 30, "effect": 1.0, "ci_low": 0.5, "ci_high": 1.5,
                         "p": [0.03, 0.03], "margin": MARGIN})
    alone = with_holm(rows.iloc[:1])
    assert alone.p_holm.iloc[0] == pytest.approx(0.03)
    assert alone.verdict.iloc[0] == HOLDS
    family = with_holm(rows)
    assert family.p_holm.tolist() == pytest.approx([0.06, 0.06])
    assert family.verdict.tolist() == [INCONCLUSIVE, INCONCLUSIVE]
    # a third, strong claim in the family leaves the step-down order intact
    three = with_holm(pd.concat([rows, rows.iloc[:1].assign(p=0.001)], ignore_index=True))
    assert three.p_holm.tolist() == pytest.approx([0.06, 0.06, 0.003])


def test_verdict_needs_significance_and_an_interval_off_zero():
    from analysis.claims import Evidence

    ev = Evidence(30, 0.2, -0.01, 0.4, 0.001)  # significant test, interval touching 0
    assert verdict(ev, 0.001, MARGIN) == INCONCLUSIVE
    assert verdict(Evidence(30, 0.2, 0.1, 0.4, 0.001), 0.001, MARGIN) == HOLDS


def test_normalized_point_maps_into_the_unit_cube():
    space = [{"name": "a", "type": "float", "low": 0.0, "high": 10.0, "log": False},
             {"name": "b", "type": "float", "low": 1e-4, "high": 1e-2, "log": True},
             {"name": "c", "type": "categorical", "choices": [16, 32, 64]},
             {"name": "d", "type": "int", "low": 0, "high": 4, "log": False}]
    point = normalized_point({"a": 2.5, "b": 1e-3, "c": 64}, space)
    assert point == pytest.approx([0.25, 0.5, 1.0, -1.0])


SPACE = [{"name": "x", "type": "float", "low": 0.0, "high": 10.0, "log": False,
          "condition": None}]
OPTIMUM = 0.397887


def _study(root, seeds=range(12)):
    """grid clearly worse than random on branin; a SHA cell on learning_curve; GP cells."""
    for seed in seeds:
        write_test_cell(root, "branin", "grid", seed, [{"trial": 0, "value": 5.0}],
                        optimum=OPTIMUM, space=SPACE)
        write_test_cell(root, "branin", "random", seed,
                        [{"trial": 0, "value": 1.0 + 0.01 * seed}], optimum=OPTIMUM,
                        space=SPACE)
        # 3 configurations at step 1, one continued to step 3: 5 units of 3 x 81
        write_test_cell(root, "learning_curve", "sha", seed, [
            {"trial": 0, "value": 0.5, "step": 1}, {"trial": 1, "value": 0.6, "step": 1},
            {"trial": 2, "value": 0.7, "step": 1},
            {"trial": 0, "value": 0.4, "step": 3, "units": 2}], max_step=81, space=SPACE)
        xs = {"gp_ucb": [0.0, 5.0, 10.0, 0.0], "gp_ei": [0.0, 5.0, 6.0, 5.5]}
        for name, points in xs.items():
            write_test_cell(root, "branin", name, seed,
                            [{"trial": i, "value": 3.0, "config": {"x": x}}
                             for i, x in enumerate(points)],
                            optimum=OPTIMUM, space=SPACE,
                            optimizer_conf={"_target_": "x", "n_init": 1})
    return load_results(root / "s")


def test_claims_section_from_a_tiny_study(tmp_path):
    results = _study(tmp_path)
    lines, table = claims_section(results, tmp_path / "out")
    text = "\n".join(lines)
    rows = table.frame.set_index("key")
    assert lines[0] == f"## {TITLE}"
    assert set(rows.index) == {"grid_vs_random_low", "sha_savings_learning_curve",
                               "ucb_explores_branin"}
    assert rows.loc["grid_vs_random_low", "verdict"] == DOES_NOT_HOLD
    assert rows.loc["grid_vs_random_low", "effect"] == pytest.approx(
        np.mean([(1.0 + 0.01 * s - 5.0) / OPTIMUM for s in range(12)]))
    assert rows.loc["sha_savings_learning_curve", "effect"] == pytest.approx(1 - 5 / 243)
    assert rows.loc["sha_savings_learning_curve", "verdict"] == HOLDS
    assert rows.loc["sha_savings_learning_curve", "chapter vs ours"] == "below our CI"
    # gp_ucb: distances 0.5, 1.0 after the initial point; gp_ei: 0.1, 0.05
    assert rows.loc["ucb_explores_branin", "a mean"] == pytest.approx(0.75)
    assert rows.loc["ucb_explores_branin", "b mean"] == pytest.approx(0.075)
    assert rows.loc["ucb_explores_branin", "verdict"] == HOLDS
    # one family: Holm over the three claims
    assert rows.p_holm.max() <= 1.0
    assert (rows.p_holm >= rows.p).all()
    for key in rows.index:
        assert f"figures/claim_{key}.png" in text
        assert (tmp_path / "out" / "figures" / f"claim_{key}.png").is_file()
    assert "`pbt_vs_random_mlp`" in text  # absent: listed as not tested


def test_too_few_seeds_in_a_study_gives_inconclusive(tmp_path):
    results = _study(tmp_path, seeds=range(4))
    rows = evaluate_claims(results, CLAIMS).rows
    assert set(rows.verdict) == {INCONCLUSIVE}
    assert set(rows.n) == {4}


def test_absent_claims_are_skipped(tmp_path):
    write_test_cell(tmp_path, "rf", "random", 0, [{"trial": 0, "value": 0.9}])
    results = load_results(tmp_path / "s")
    tested = evaluate_claims(results, CLAIMS)
    assert tested.rows.empty
    assert len(tested.skipped) == len(CLAIMS)
    lines, table = claims_section(results, tmp_path / "out")
    assert table.empty
    assert any("No claim's cells" in line for line in lines)


def test_a_claim_needs_both_arms(tmp_path):
    for seed in range(3):
        write_test_cell(tmp_path, "p", "a", seed, [{"trial": 0, "value": 1.0}])
    results = load_results(tmp_path / "s")
    both = Claim("k", "c", "h", Arm("p", "a"), Arm("p", "b"), "quality", 0.1, "why")
    one = Claim("k1", "c", "h", Arm("p", "a"), Arm("p", "a"), "quality", 0.1, "why")
    tested = evaluate_claims(results, [both, one])
    assert [c.key for c in tested.skipped] == ["k"]
    assert tested.rows.key.tolist() == ["k1"]
    assert tested.rows.verdict.iloc[0] == INCONCLUSIVE  # 3 seeds, all-zero effects


def test_every_claim_names_a_known_measure_and_unique_key():
    from analysis.claims import MEASURES

    assert len({c.key for c in CLAIMS}) == len(CLAIMS)
    assert all(c.measure in MEASURES for c in CLAIMS)
    assert all((c.b is None) == (c.measure == "saving_full") for c in CLAIMS)


def test_quality_is_compared_at_each_seeds_common_budget(tmp_path):
    # a's seed 1 stops after 2 units: that seed's pair is compared at 2, the others at 3
    for seed in range(3):
        n = 2 if seed == 1 else 3
        write_test_cell(tmp_path, "p", "a", seed,
                        [{"trial": t, "value": 10.0 - t} for t in range(n)])
        write_test_cell(tmp_path, "p", "b", seed,
                        [{"trial": t, "value": 10.0 - 2 * t} for t in range(3)])
    results = load_results(tmp_path / "s")
    claim = Claim("k", "c", "h", Arm("p", "a"), Arm("p", "b"), "quality", 0.1, "why")
    tested = evaluate_claims(results, [claim])
    paired = tested.paired["k"].set_index("seed")
    assert tested.budgets["k"].tolist() == [3.0, 2.0, 3.0]
    # no reference: raw losses; at 3 units a = 8, b = 6; at 2 units a = 9, b = 8
    assert paired.a.tolist() == [8.0, 9.0, 8.0]
    assert paired.b.tolist() == [6.0, 8.0, 6.0]
    assert paired.effect.tolist() == [-2.0, -1.0, -2.0]
    assert "2–3 compute units" in tested.rows.comparison.iloc[0]


def test_claims_at_equal_trials_need_equal_configurations(tmp_path):
    # seed 1 of b drew one configuration more: the equal-trials comparison is not made
    for seed in range(3):
        write_test_cell(tmp_path, "p", "a", seed, [{"trial": 0, "value": 1.0}])
        write_test_cell(tmp_path, "p", "b", seed,
                        [{"trial": t, "value": 1.0} for t in range(1 + (seed == 1))])
    results = load_results(tmp_path / "s")
    equal = Claim("k", "c", "h", Arm("p", "a"), Arm("p", "b"), "quality", 0.1, "why",
                  axis="trials")
    at_budget = Claim("k2", "c", "h", Arm("p", "a"), Arm("p", "b"), "quality", 0.1, "why")
    tested = evaluate_claims(results, [equal, at_budget])
    assert [c.key for c in tested.incomparable] == ["k"]
    assert tested.rows.key.tolist() == ["k2"]
    lines, _ = claims_section(results, tmp_path / "out", [equal, at_budget])
    assert any("Not comparable here" in line and "`k`" in line for line in lines)
