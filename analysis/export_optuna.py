"""Export a study's cells as Optuna studies: ``python -m analysis.export_optuna results/<study>
--storage sqlite:///<file>.db`` (or ``--storage <file>.log``, an Optuna journal file).

Each cell becomes one Optuna study named ``<study>/<problem>/<optimizer>/seed=<n>``, built on
the search space the cell file records: every trial with its parameters and distributions,
its value in the problem's direction, one intermediate value per reported fidelity step,
its state (complete, pruned, failed; a trial still paused when the cell ended is exported as
pruned, its `final_status` user attribute says so) and user attributes for units and times.
`optuna-dashboard <storage>` and `optuna.visualization` then work on any cell.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.load import Results, SchemaError, cell_reports, load_results
from analysis.provenance import search_space

__all__ = ["cell_study", "cell_trials", "export", "main", "open_storage"]

USAGE = ("usage: python -m analysis.export_optuna results/<study> [more studies...] "
         "--storage sqlite:///<file>.db | <file>.log")


class ExportError(ValueError):
    """Bad input to the export (one sentence, exit code 2)."""


def cell_trials(reports: pd.DataFrame, meta: Mapping[str, Any]) -> list:
    """One cell's reports as Optuna FrozenTrials (in trial-number order)."""
    import optuna

    space = search_space(meta)
    frame = reports.sort_values(["trial"], kind="stable")
    # plain arrays, sliced per trial: pandas' per-row access cost ~4 ms a trial
    col = {name: frame[name].to_numpy() for name in (
        "trial", "step", "value", "status", "units", "cum_units", "virtual_time", "wall_time",
        "optimizer_time", "parent_trial", "config", "test_value", "true_value", "error")}
    ids = col["trial"]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else ids
    stops = np.r_[starts[1:], len(ids)] if len(ids) else ids
    states = {"completed": optuna.trial.TrialState.COMPLETE,
              "failed": optuna.trial.TrialState.FAIL}
    trials = []
    for first, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        last = stop - 1
        text = col["config"][first]
        config = json.loads(text) if text else {}
        params = {k: v for k, v in config.items() if v is not None}
        dists = {name: _distribution(space.get(name), value) for name, value in params.items()}
        intermediate = {int(step): float(value) for step, value, status in zip(
            col["step"][first:stop], col["value"][first:stop], col["status"][first:stop],
            strict=True) if status != "failed" and _finite(value)}
        status = str(col["status"][last])
        state = states.get(status, optuna.trial.TrialState.PRUNED)
        value = float(col["value"][last]) if state == optuna.trial.TrialState.COMPLETE else None
        if value is not None and not math.isfinite(value):
            state, value = optuna.trial.TrialState.FAIL, None
        attrs = {
            "trial": int(ids[first]), "final_status": status,
            "final_step": int(col["step"][last]),
            "units": int(col["units"][first:stop].sum()),
            "cum_units": int(col["cum_units"][last]),
            "virtual_time": float(col["virtual_time"][last]),
            "wall_time": float(col["wall_time"][last]),
            # pandas' sum, as before: the same float as the per-row code gave
            "optimizer_time": float(pd.Series(col["optimizer_time"][first:stop]).fillna(
                0.0).sum()),
        }
        if not pd.isna(col["parent_trial"][first]):
            attrs["parent_trial"] = int(col["parent_trial"][first])
        for column in ("test_value", "true_value"):
            if _finite(col[column][last]):
                attrs[column] = float(col[column][last])
        if status == "failed" and isinstance(col["error"][last], str):
            attrs["error"] = col["error"][last]
        trials.append(optuna.trial.create_trial(
            state=state, value=value, params=params, distributions=dists,
            intermediate_values=intermediate, user_attrs=attrs))
    return trials


def cell_study(storage: Any, results: Results, cell: Any, name: str | None = None) -> Any:
    """Write one cell (a row of `results.cells`) to `storage` as an Optuna study."""
    import optuna

    reports = cell_reports(results, cell.problem, cell.optimizer, int(cell.seed))
    name = name or f"{cell.study}/{cell.problem}/{cell.optimizer}/seed={int(cell.seed)}"
    study = optuna.create_study(storage=storage, study_name=name, direction=cell.direction,
                                load_if_exists=False)
    for key in ("study", "problem", "optimizer", "seed", "direction"):
        study.set_user_attr(key, getattr(cell, key) if key != "seed" else int(cell.seed))
    study.set_user_attr("units", "compute units (one fidelity step trained)")
    study.set_user_attr("times", "wall_time and virtual_time at the trial's last report, "
                                 "seconds and compute units of the cell's clock")
    study.add_trials(cell_trials(reports, cell.meta))
    return study


def open_storage(spec: str, studies: Sequence[str | Path]) -> Any:
    """An Optuna storage from a URL or a journal file path; never inside a study folder."""
    import optuna

    is_url = "://" in spec
    path = Path(spec.split(":///", 1)[1]) if spec.startswith("sqlite:///") else (
        None if is_url else Path(spec))
    if path is not None:
        resolved = path.resolve()
        for study in studies:
            root = Path(study).resolve()
            if resolved == root or root in resolved.parents:
                raise ExportError(f"--storage {spec} is inside the study folder {study}; "
                                  "write it elsewhere (a study folder holds only cell files).")
    if is_url:
        storage = optuna.storages.RDBStorage(spec)
        if spec.startswith("sqlite"):
            _sqlite_without_sync(storage)
        return storage
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def _sqlite_without_sync(storage: Any) -> None:
    # Optuna commits every trial; SQLite syncing each commit to disk made a 72-cell export
    # take minutes. An interrupted export is redone from scratch anyway.
    from sqlalchemy import event

    def pragma(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA journal_mode=MEMORY")

    event.listen(storage.engine, "connect", pragma)
    storage.engine.dispose()  # connections opened before the listener: closed


def export(paths: Sequence[str | Path], storage_spec: str) -> int:
    """Export every cell of the studies; return the number of Optuna studies written."""
    import optuna

    storage = open_storage(storage_spec, paths)
    results = load_results(paths)
    existing = {s.study_name for s in optuna.get_all_study_summaries(storage)}
    n = 0
    for cell in results.cells.itertuples():
        name = f"{cell.study}/{cell.problem}/{cell.optimizer}/seed={int(cell.seed)}"
        if name in existing:
            raise ExportError(f"--storage {storage_spec} already holds the Optuna study "
                              f"{name!r}; export to a new storage.")
        cell_study(storage, results, cell, name)
        n += 1
    return n


def _distribution(param: Mapping[str, Any] | None, value: Any) -> Any:
    import optuna.distributions as d

    kind = (param or {}).get("type")
    if kind == "float":
        return d.FloatDistribution(float(param["low"]), float(param["high"]),
                                   log=bool(param.get("log")))
    if kind == "int":
        return d.IntDistribution(int(param["low"]), int(param["high"]),
                                 log=bool(param.get("log")))
    if kind == "categorical":
        return d.CategoricalDistribution(tuple(param["choices"]))
    # a value outside the recorded space (no space in an old file): a one-point range
    if isinstance(value, float):
        return d.FloatDistribution(value, value)
    if isinstance(value, int) and not isinstance(value, bool):
        return d.IntDistribution(value, value)
    return d.CategoricalDistribution((value,))


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not pd.isna(value) and math.isfinite(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry; returns the exit code (2 for bad input)."""
    import optuna

    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(USAGE)
        return 0
    storage, paths, i = None, [], 0
    while i < len(args):
        if args[i] == "--storage" and i + 1 < len(args):
            storage, i = args[i + 1], i + 2
        elif args[i].startswith("--storage="):
            storage, i = args[i].split("=", 1)[1], i + 1
        else:
            paths.append(args[i])
            i += 1
    if not storage or not paths or any(p.startswith("-") for p in paths):
        print(f"error: give study folders and --storage. {USAGE}", file=sys.stderr)
        return 2
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        n = export(paths, storage)
    except (FileNotFoundError, SchemaError, ExportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {n} Optuna stud{'y' if n == 1 else 'ies'} to {storage}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
