"""Hand-made result cells for the analysis tests, written with the project's own recorder."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from benchmarks.recorder import cell_path, write_cell
from benchmarks.schema import COLUMNS, SCHEMA_VERSION


def write_test_cell(
    root: Path,
    problem: str,
    optimizer: str,
    seed: int,
    reports: list[dict[str, Any]],
    *,
    study: str = "s",
    direction: str = "minimize",
    optimum: float | None = None,
    max_step: int | None = None,
    problem_conf: dict | None = None,
    optimizer_conf: dict | None = None,
    space: list[str] | None = None,
) -> Path:
    """Write one cell. Each report needs `trial` and `value`; `step` defaults to 1 (or
    max_step), `units` to 1, `status` to completed; loss, cum_units, virtual/wall time and
    best_loss are derived the way the runner derives them."""
    sign = 1.0 if direction == "minimize" else -1.0
    cols: dict[str, list] = {c: [] for c in COLUMNS}
    cum, best = 0, math.inf
    for i, rep in enumerate(reports):
        value = float(rep["value"])
        status = rep.get("status", "completed")
        units = int(rep.get("units", 1))
        cum += units
        loss = sign * value
        if status != "failed" and loss < best:
            best = loss
        row = {
            "study": study, "problem": problem, "optimizer": optimizer, "seed": seed,
            "trial": int(rep["trial"]), "parent_trial": rep.get("parent_trial"),
            "step": int(rep.get("step", max_step or 1)), "value": value, "loss": loss,
            "status": status, "units": units, "cum_units": cum,
            "virtual_time": float(rep.get("virtual_time", cum)),
            "wall_time": float(rep.get("wall_time", 0.1 * (i + 1))), "optimizer_time": 0.0,
            "best_loss": best if math.isfinite(best) else None,
            "config": json.dumps(rep.get("config", {"x": float(rep["trial"])}),
                                 sort_keys=True),
            "test_value": rep.get("test_value"), "true_value": rep.get("true_value"),
            "metrics": None, "error": None,
        }
        for c in COLUMNS:
            cols[c].append(row[c])
    fidelity = None if max_step is None else {"name": "step", "min": 1, "max": max_step,
                                              "report_every": 1}
    config = {"problem": problem_conf or {"_target_": f"problems.fake.{problem}"},
              "optimizer": optimizer_conf or {"_target_": f"optimizers.fake.{optimizer}"}}
    meta = {
        "schema_version": SCHEMA_VERSION, "study": study, "problem": problem,
        "optimizer": optimizer, "seed": seed, "config": config, "cell_config": config,
        "git_commit": "abc123", "host": "test", "python": "3.11", "started": "t0",
        "finished": "t1", "deterministic": True, "stop_reason": "trials",
        "versions": {"numpy": "2"}, "wall_time": float(cols["wall_time"][-1]),
        "problem_info": {"class": f"problems.fake.{problem_conf and problem_conf.get('cls')}",
                         "direction": direction, "optimum": optimum, "fidelity": fidelity,
                         "space": space or ["Float(name='x', low=0.0, high=100.0, log=False, "
                                            "condition=None)"]},
    }
    path = cell_path(root, study, problem, optimizer, seed)
    write_cell(path, cols, meta)
    return path
