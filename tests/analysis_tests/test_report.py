"""The report command on a small study: files written, figures rendered, exit codes."""

import pytest

from analysis.report import build_report, main
from tests.analysis_tests.test_tables import study  # noqa: F401 - the shared fixture


def test_report_writes_tables_figures_and_provenance(study, tmp_path):  # noqa: F811
    paths = sorted({p.rsplit("/", 4)[0] for p in study.cells.path})
    report = build_report(paths, out_dir=tmp_path)
    text = report.read_text()
    for title in ("Grid search vs random search", "Successive-halving savings",
                  "Evaluations per fidelity level", "Early stopping", "Pruning", "Samplers",
                  "Population-based training", "Parameter importance", "Overall",
                  "Wilcoxon", "Critical difference", "Library versions", "abc123",
                  "## Claims of the chapter, tested", "How a verdict is reached"):
        assert title in text
    figures = {p.name for p in (tmp_path / "figures").glob("*.png")}
    assert {"anytime_lc.png", "final_toy.png", "rank_over_budget.png", "pbt_lc_pbt.png",
            "critical_difference.png"} <= figures
    assert (tmp_path / "tables" / "samplers.csv").is_file()
    assert (tmp_path / "tables" / "claims.md").is_file()  # the claims section, even empty
    assert "![critical_difference](figures/critical_difference.png)" in text


def test_main_exit_codes(tmp_path, capsys):
    assert main([str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main([]) == 2
    assert main(["--help"]) == 0


@pytest.mark.parametrize("argv", [["a", "b"]])
def test_main_reports_the_first_missing_path(argv, capsys):
    assert main(argv) == 2
    assert "'a' does not exist" in capsys.readouterr().err
