"""The report's Optuna figures: history, importances and parallel coordinates of one cell.

Per problem, one representative cell (the one parameter importance uses: unbiased samples
first, lowest seed) is exported to an in-memory Optuna storage exactly as
`analysis.export_optuna` writes it, then drawn with `optuna.visualization.matplotlib`.
Given the importance table's fANOVA values, the importance plot draws those (the same
cell, the same capped trials) instead of fitting fANOVA again: on a 729-trial cell that
refit cost a minute of the report.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from analysis.export_optuna import cell_study  # noqa: E402
from analysis.load import Results  # noqa: E402
from analysis.tables.families import family  # noqa: E402

__all__ = ["plot_optuna_cells", "representative_cells"]

PLOTS = ("plot_optimization_history", "plot_param_importances", "plot_parallel_coordinate")


def representative_cells(results: Results) -> list:
    """Per problem (sorted), the cell drawn: unbiased samplers first, then name, seed."""
    prefer = family(results, "unbiased")
    out = []
    for _, cells in results.cells.groupby("problem", sort=True):
        out.append(sorted(cells.itertuples(), key=lambda c: (
            prefer.index(c.optimizer) if c.optimizer in prefer else len(prefer),
            c.optimizer, c.seed))[0])
    return out


def _given(importances: Mapping[str, float]):  # noqa: ANN202 - an Optuna evaluator
    """An Optuna importance evaluator that answers with importances computed before."""
    from optuna.importance import BaseImportanceEvaluator

    class Given(BaseImportanceEvaluator):
        def evaluate(self, study, params=None, *, target=None) -> dict[str, float]:  # noqa: ANN001
            names = params if params is not None else list(importances)
            return dict(sorted(((n, float(importances[n])) for n in names),
                               key=lambda item: item[1], reverse=True))

    return Given()


def plot_optuna_cells(results: Results, folder: Path,
                      importances: Mapping[str, Mapping[str, float]] | None = None
                      ) -> list[Path]:
    """Draw the three Optuna plots of each representative cell; return the PNG paths.

    `importances` (problem -> parameter -> fANOVA importance, from the report's importance
    table) is drawn as is for the problems it holds; other problems get Optuna's own
    fANOVA evaluator (seed 0) on the exported trials.
    """
    import optuna
    import optuna.visualization.matplotlib as ovm

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for cell in representative_cells(results):
        study = cell_study(optuna.storages.InMemoryStorage(), results, cell)
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if len(complete) < 2:
            continue
        for plot in PLOTS:
            with warnings.catch_warnings():  # the matplotlib backend is "experimental"
                warnings.simplefilter("ignore")
                if plot == "plot_param_importances":
                    known = (importances or {}).get(cell.problem)
                    evaluator = (_given(known) if known else
                                 optuna.importance.FanovaImportanceEvaluator(seed=0))
                    ax = getattr(ovm, plot)(study, evaluator=evaluator,
                                            params=list(known) if known else None)
                else:
                    ax = getattr(ovm, plot)(study)
            fig = (ax.flat[0] if hasattr(ax, "flat") else ax).get_figure()
            fig.suptitle(f"{cell.problem}: {cell.optimizer}, seed {int(cell.seed)}",
                         fontsize=9)
            path = folder / f"optuna_{plot.removeprefix('plot_')}_{cell.problem}.png"
            fig.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(fig)
            paths.append(path)
    return paths
