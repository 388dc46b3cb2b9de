"""Ray Tune adapter, worker side: the trainable that trains a Problem trial in a Tune actor.

It reports one Tune result per fidelity step (the keys the driver side reads) and, for
schedulers that pause or clone trials, checkpoints the pickled Trial so a resumed or
exploiting trial really continues from that state.
"""

from __future__ import annotations

import json
import math
import pickle
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from problems.base import config_key
from problems.errors import describe_error
from problems.space import Float, Int, SearchSpace

__all__ = ["STEP", "active_config", "train"]

STEP = "step"  # the reported fidelity step: Tune's `time_attr` for every scheduler
TRIAL_FILE = "trial.pkl"


def active_config(space: SearchSpace, sampled: Mapping[str, Any]) -> dict[str, Any]:
    """Tune's sample in our space: numbers clipped to bounds (PBT perturbs them by
    factors), inactive conditional parameters dropped.
    """
    config: dict[str, Any] = {}
    for p in space:
        if p.name not in sampled:
            continue
        value = sampled[p.name]
        if isinstance(p, Int):
            value = p.clip(int(round(value)))
        elif isinstance(p, Float):
            value = p.clip(float(value))
        elif isinstance(value, np.generic):
            value = value.item()
        config[p.name] = value
    return {k: v for k, v in config.items() if space.is_active(space[k], config)}


def train(config: dict, problem: Any, seed: int, target: int, checkpoint: bool) -> None:
    """Tune's trainable: a Problem trial trained one report at a time."""
    from ray import tune

    active = active_config(problem.space, config)
    trial = None
    restored = tune.get_checkpoint()
    if restored is not None:
        with restored.as_directory() as folder:
            trial = pickle.loads((Path(folder) / TRIAL_FILE).read_bytes())
        trial.problem = problem
        if trial.config != active:  # PBT explored new hyperparameters on copied state
            trial.config = dict(active)
            trial._on_config_change()
    if trial is None:
        trial = problem.trial(active, seed)
    base = {"config_key": config_key(active)}
    try:
        for report in trial.advance(target):
            metrics = {**base, STEP: report.step, "value": report.value,
                       "units": report.units, "final": report.final,
                       # JSON: Tune flattens nested dicts in results ("extra/test_value").
                       "extra": json.dumps(dict(report.metrics), default=float), "error": None,
                       "loss": _loss(problem.direction, report.value)}
            if checkpoint:
                with tempfile.TemporaryDirectory(prefix="hpoa-ckpt-") as folder:
                    _save(trial, Path(folder) / TRIAL_FILE)
                    tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))
            else:
                tune.report(metrics)
            if math.isnan(report.value):  # recorded as failed; training further is moot
                return
    except Exception as err:  # a failing trial is recorded, never fatal
        tune.report({**base, STEP: trial.step, "value": math.nan, "units": 0, "final": True,
                     "extra": "{}", "loss": math.inf, "error": describe_error(err)})


def _save(trial: Any, path: Path) -> None:
    # The problem (datasets, splits) is rebuilt in every worker; pickle only the trial.
    problem, trial.problem = trial.problem, None
    try:
        path.write_bytes(pickle.dumps(trial, protocol=pickle.HIGHEST_PROTOCOL))
    finally:
        trial.problem = problem


def _loss(direction: str, value: float) -> float:
    if math.isnan(value):
        return math.inf
    return value if direction == "minimize" else -value
