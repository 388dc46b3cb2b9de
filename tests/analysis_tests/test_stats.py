"""Ranks with ties, Wilcoxon signed-rank + Holm against scipy, Nemenyi's critical difference."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.stats import (
    average_ranks,
    friedman_nemenyi,
    holm,
    nemenyi_cd,
    pairwise_wilcoxon,
    rank_rows,
)


def test_ranks_with_ties_share_the_average_rank():
    table = pd.DataFrame({"a": [1.0, 3.0, 2.0], "b": [1.0, 1.0, 2.0], "c": [2.0, 2.0, 2.0]})
    ranks = rank_rows(table)
    np.testing.assert_array_equal(ranks.to_numpy(), [[1.5, 1.5, 3], [3, 1, 2], [2, 2, 2]])
    np.testing.assert_allclose(average_ranks(table), [6.5 / 3, 4.5 / 3, 7 / 3])


def test_average_ranks_use_complete_rows_only():
    table = pd.DataFrame({"a": [1.0, np.nan], "b": [2.0, 0.0]})
    np.testing.assert_array_equal(average_ranks(table), [1.0, 2.0])


def test_holm_by_hand():
    # sorted: 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(holm([0.5, np.nan, 0.9]), [1.0, np.nan, 1.0])
    np.testing.assert_allclose(holm([0.001]), [0.001])


def test_pairwise_wilcoxon_matches_scipy_and_holm():
    rng = np.random.default_rng(0)
    base = rng.normal(size=12)
    table = pd.DataFrame({"a": base, "b": base + 0.5 + rng.normal(0, 0.3, 12),
                          "c": base + rng.normal(0, 1.0, 12)})
    out = pairwise_wilcoxon(table)
    raw = []
    for x, y in [("a", "b"), ("a", "c"), ("b", "c")]:
        expected = sps.wilcoxon(table[x], table[y])
        row = out[(out.a == x) & (out.b == y)].iloc[0]
        assert row.p == pytest.approx(expected.pvalue)
        assert row.statistic == pytest.approx(expected.statistic)
        assert row.a_better == int((table[x] < table[y]).sum())
        raw.append(expected.pvalue)
    np.testing.assert_allclose(out.p_holm, holm(raw))
    assert bool(out[(out.a == "a") & (out.b == "b")].significant.iloc[0])


def test_pairwise_wilcoxon_skips_identical_or_too_short_pairs():
    table = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0],
                          "c": [np.nan, np.nan, 1.0]})
    out = pairwise_wilcoxon(table)
    assert out.p.isna().all()


def test_nemenyi_cd_matches_demsar_table():
    # Demšar (2006), table 5(a): q_0.05 for k = 2..10
    q = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
    for k, qk in zip(range(2, 11), q, strict=True):
        assert nemenyi_cd(k, 10) == pytest.approx(qk * np.sqrt(k * (k + 1) / 60), abs=2e-3)
    with pytest.raises(ValueError, match="needs k >= 2 and n >= 1"):
        nemenyi_cd(1, 5)


def test_friedman_nemenyi_ranks_and_friedman_p():
    table = pd.DataFrame({"a": [1.0, 1.0, 1.0, 2.0], "b": [2.0, 2.0, 3.0, 1.0],
                          "c": [3.0, 3.0, 2.0, 3.0]})
    out = friedman_nemenyi(table)
    assert out["ranks"].to_dict() == {"a": 1.25, "b": 2.0, "c": 2.75}
    assert out["friedman_p"] == pytest.approx(
        sps.friedmanchisquare(table.a, table.b, table.c).pvalue)
    assert out["cd"] == pytest.approx(nemenyi_cd(3, 4))
