r"""A report table as a booktabs LaTeX `table` (for papers; needs `\usepackage{booktabs}`)."""

from __future__ import annotations

import math
from numbers import Integral, Real

import pandas as pd

__all__ = ["latex_table"]

# LaTeX's special characters first, then the few symbols the report's cells use.
_ESCAPES = [("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"),
            ("#", r"\#"), ("_", r"\_"), ("{", r"\{"), ("}", r"\}"),
            ("~", r"\textasciitilde{}"), ("^", r"\textasciicircum{}")]
_SYMBOLS = {"±": r"\ensuremath{\pm}", "−": "-", "×": r"\ensuremath{\times}",
            "α": r"\ensuremath{\alpha}", "≤": r"\ensuremath{\leq}", "≥": r"\ensuremath{\geq}",
            "→": r"\ensuremath{\rightarrow}", "–": "--"}


def escape(text: str) -> str:
    """Text with LaTeX's special characters and the report's symbols escaped."""
    out = str(text)
    for raw, esc in _ESCAPES:
        out = out.replace(raw, esc) if raw != "\\" else out.replace(raw, "\0")
    out = out.replace("\0", r"\textbackslash{}")
    for raw, esc in _SYMBOLS.items():
        out = out.replace(raw, esc)
    return out


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "--"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        return escape(f"{float(value):.4g}")
    return escape(str(value))


def latex_table(frame: pd.DataFrame, caption: str, label: str) -> str:
    """`frame` as a booktabs tabular in a table float (numbers right-aligned, 4 digits)."""
    align = "".join("r" if pd.api.types.is_numeric_dtype(frame[c])
                    and not pd.api.types.is_bool_dtype(frame[c]) else "l"
                    for c in frame.columns)
    lines = [r"\begin{table}[ht]", r"\centering", rf"\caption{{{escape(caption)}}}",
             rf"\label{{tab:{label}}}", rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(escape(str(c)) for c in frame.columns) + r" \\", r"\midrule"]
    for row in frame.itertuples(index=False):
        lines.append(" & ".join(_cell(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
