"""Build a study's report: ``python -m analysis.report results/<study> [more studies...]``.

Writes `report.md` with every table (also as Markdown and CSV under `tables/`), the figures
(PNG under `figures/`), the study's configuration, library versions and git commits, into
`_report/` inside the (first) study folder, and prints where. Dataset readers (pandas,
pyarrow, DuckDB, polars) skip folders starting with `_`, so the study folder stays a Parquet
dataset. Reads the Parquet files only, so re-running on complete results just rebuilds the
report.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from analysis.claims import claims_section
from analysis.load import ANALYSIS_COLUMNS, Results, SchemaError, load_results
from analysis.optuna_plots import plot_optuna_cells
from analysis.plots import (
    plot_anytime,
    plot_cd_diagram,
    plot_final_boxes,
    plot_pbt_schedules,
    plot_rank_over_budget,
)
from analysis.stats import block_losses, cd_selection, friedman_nemenyi, rank_over_budget
from analysis.tables import Table, all_tables

__all__ = ["REPORT_DIR", "build_report", "main"]

log = logging.getLogger(__name__)

#: The report's folder inside a study: a leading `_` keeps it out of the Parquet dataset.
REPORT_DIR = "_report"

USAGE = "usage: python -m analysis.report results/<study> [results/<other study> ...]"


def build_report(paths: Sequence[str | Path], out_dir: str | Path | None = None) -> Path:
    """Load the studies, write tables, figures and report.md; return report.md's path.

    The report goes to `out_dir`, by default `<first study>/_report/`.
    """
    results = load_results(paths, columns=ANALYSIS_COLUMNS)
    out = Path(out_dir) if out_dir is not None else Path(paths[0]) / REPORT_DIR
    tables = all_tables(results)
    table_dir, fig_dir = out / "tables", out / "figures"
    for table in tables:
        table.write(table_dir)
    figures = _figures(results, tables, fig_dir)
    claims, claims_table = claims_section(results, out)
    claims_table.write(table_dir)
    text = _render(results, tables, figures, out, claims)
    out.mkdir(parents=True, exist_ok=True)
    report = out / "report.md"
    report.write_text(text)
    return report


def _figures(results: Results, tables: list[Table], folder: Path) -> dict[str, list[Path]]:
    def cd_figure() -> list[Path]:
        cd = next((t for t in tables if t.name == "critical_difference"), None)
        if cd is None or cd.empty:
            return []
        per_problem = block_losses(results).groupby(level="problem").mean()
        fn = friedman_nemenyi(cd_selection(per_problem))
        return plot_cd_diagram(fn["ranks"], fn["cd"], folder,
                               f"Critical difference over {fn['n']} problems "
                               "(Nemenyi, α = 0.05)")

    figures: dict[str, list[Path]] = {}
    for title, draw in [
        ("Anytime curves", lambda: plot_anytime(results, folder)),
        ("Final performance", lambda: plot_final_boxes(results, folder)),
        ("Rank over budget", lambda: plot_rank_over_budget(rank_over_budget(results), folder)),
        ("PBT hyperparameter schedules", lambda: plot_pbt_schedules(results, folder)),
        ("Critical difference", cd_figure),
        ("Optuna plots of one cell per problem (history, importances, parallel coordinates)",
         lambda: plot_optuna_cells(results, folder, _importances(tables))),
    ]:
        try:
            figures[title] = draw()
        except Exception:  # a figure that fails is listed as missing, the report goes on
            log.warning("figure %r failed", title, exc_info=True)
            figures[title] = []
    return figures


def _importances(tables: list[Table]) -> dict[str, dict[str, float]]:
    """Problem -> parameter -> fANOVA importance, from the importance table (reused by the
    Optuna importance plots of the same cells).
    """
    table = next((t for t in tables if t.name == "importance"), None)
    if table is None or table.empty:
        return {}
    return {problem: dict(zip(rows.param, rows["fANOVA"], strict=True))
            for problem, rows in table.frame.groupby("problem", sort=True)}


def _render(results: Results, tables: list[Table], figures: dict[str, list[Path]],
            out: Path, claims: Sequence[str] = ()) -> str:
    cells = results.cells
    studies = ", ".join(sorted(set(cells.study)))
    lines = [f"# hpo-arena report: {studies}", ""]
    lines.append(
        f"{len(cells)} cells, {cells.problem.nunique()} problems, "
        f"{cells.optimizer.nunique()} optimizers, {len(results.reports)} reports. "
        f"Built {time.strftime('%Y-%m-%d %H:%M:%S')} from the Parquet files under "
        f"{', '.join(sorted({str(Path(p).parents[2]) for p in cells.path}))}.")
    lines.append("")
    grid = cells.groupby(["problem", "optimizer"]).seed.apply(
        lambda s: ",".join(map(str, sorted(s)))).unstack()
    lines += ["## Cells (seeds per problem × optimizer)", "",
              grid.fillna("").to_markdown(), ""]
    lines += list(claims)
    lines += ["## Tables", ""]
    for table in tables:
        lines.append(table.markdown())
        if not table.empty:
            lines.append(f"CSV: [tables/{table.name}.csv](tables/{table.name}.csv)\n")
    lines += ["## Figures", ""]
    for title, paths in figures.items():
        lines += [f"### {title}", ""]
        if not paths:
            lines += ["_Not available in this study._", ""]
        for p in paths:
            lines += [f"![{p.stem}]({p.relative_to(out).as_posix()})", ""]
    lines += _provenance(results)
    return "\n".join(lines) + "\n"


def _provenance(results: Results) -> list[str]:
    metas = list(results.cells.meta)
    lines = ["## Provenance", ""]
    commits = sorted({str(m.get("git_commit")) for m in metas})
    hosts = sorted({str(m.get("host")) for m in metas})
    pythons = sorted({str(m.get("python")) for m in metas})
    lines += [f"- git commit(s): {', '.join(commits)}",
              f"- host(s): {', '.join(hosts)}; python {', '.join(pythons)}",
              f"- started {min(str(m.get('started')) for m in metas)}, finished "
              f"{max(str(m.get('finished')) for m in metas)}",
              f"- non-deterministic cells: "
              f"{sum(1 for m in metas if m.get('deterministic') is False)}", ""]
    versions: dict[str, set[str]] = {}
    for m in metas:
        for k, v in (m.get("versions") or {}).items():
            versions.setdefault(k, set()).add(str(v))
    if versions:
        frame = pd.DataFrame([{"library": k, "version": ", ".join(sorted(v))}
                              for k, v in sorted(versions.items())])
        lines += ["### Library versions", "", frame.to_markdown(index=False), ""]
    lines += ["### Configuration", "",
              "The resolved configuration of each problem × optimizer (first seed; the cells "
              "of a pair differ only in `seeds`).", ""]
    seen = set()
    for cell in results.cells.itertuples():
        key = (cell.study, cell.problem, cell.optimizer)
        if key in seen:
            continue
        seen.add(key)
        conf = cell.meta.get("cell_config") or cell.meta.get("config") or {}
        lines += [f"<details><summary>{cell.study} / {cell.problem} / {cell.optimizer}"
                  "</summary>", "", "```json", json.dumps(conf, indent=2, sort_keys=True,
                                                          default=str), "```", "",
                  "</details>", ""]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry; returns the exit code (2 for bad input)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or any(a in ("-h", "--help") for a in args):
        print(USAGE)
        return 0 if args else 2
    try:
        tick = time.perf_counter()
        report = build_report(args)
    except (FileNotFoundError, SchemaError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {report} ({time.perf_counter() - tick:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
