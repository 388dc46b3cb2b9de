"""Every report table also as a booktabs .tex file: escaped, one row per frame row."""

from __future__ import annotations

import pandas as pd

from analysis.report import build_report
from analysis.tables._latex import escape, latex_table
from tests.analysis_tests.test_tables import study  # noqa: F401 - the shared fixture


def test_latex_escapes_specials_and_symbols():
    assert escape("a_b & 50% #1 $x {y} ~ ^ \\") == (
        r"a\_b \& 50\% \#1 \$x \{y\} \textasciitilde{} \textasciicircum{} \textbackslash{}")
    assert escape("1.2 ± 0.3, α = 0.05, −1") == (
        r"1.2 \ensuremath{\pm} 0.3, \ensuremath{\alpha} = 0.05, -1")


def test_latex_table_is_booktabs_with_every_row():
    frame = pd.DataFrame({"optimizer": ["tpe_median", "random"], "units": [3, 12],
                          "best": [0.123456, float("nan")]})
    tex = latex_table(frame, "Pruning (chapter 2.2)", "pruning")
    lines = tex.splitlines()
    assert lines[:6] == [r"\begin{table}[ht]", r"\centering",
                         r"\caption{Pruning (chapter 2.2)}", r"\label{tab:pruning}",
                         r"\begin{tabular}{lrr}", r"\toprule"]
    assert lines[6:10] == [r"optimizer & units & best \\", r"\midrule",
                           r"tpe\_median & 3 & 0.1235 \\", r"random & 12 & -- \\"]
    assert lines[10:] == [r"\bottomrule", r"\end{tabular}", r"\end{table}"]


def test_report_writes_a_tex_file_per_table(study, tmp_path):  # noqa: F811
    paths = sorted({p.rsplit("/", 4)[0] for p in study.cells.path})
    build_report(paths, out_dir=tmp_path)
    csvs = sorted(p.stem for p in (tmp_path / "tables").glob("*.csv"))
    texs = sorted(p.stem for p in (tmp_path / "tables").glob("*.tex"))
    assert csvs and texs == csvs
    for name in texs:
        tex = (tmp_path / "tables" / f"{name}.tex").read_text()
        rows = len(pd.read_csv(tmp_path / "tables" / f"{name}.csv"))
        body = tex.split("\\midrule\n", 1)[1].split("\\bottomrule", 1)[0]
        assert len(body.strip().splitlines()) == rows
        assert tex.count("{") - tex.count("\\{") == tex.count("}") - tex.count("\\}")
