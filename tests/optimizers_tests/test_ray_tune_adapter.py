"""Ray Tune schedulers as optimizers: real Tune runs recorded in the results schema."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from benchmarks.compose import compose_runs
from benchmarks.run import main
from benchmarks.validate import validate
from optimizers.ray_tune_adapter import RayTuneAdapter
from problems.synthetic import BraninProblem, LearningCurveProblem

pytestmark = pytest.mark.ray
CONFS = ["ray_asha", "ray_hyperband", "ray_pbt", "ray_random", "ray_optuna"]
CURVE = ["problem=learning_curve", "problem.max_iterations=27", "seeds=[0]"]


# `local_ray`: the shared fixture of tests/conftest.py.


def _run(tmp_path: Path, study: str, *overrides: str) -> tuple[pd.DataFrame, dict]:
    assert main([*overrides, f"study={study}", f"results_dir={tmp_path}"]) == 0
    (path,) = (tmp_path / study).rglob("*.parquet")
    meta = json.loads(pq.read_schema(path).metadata[b"hpo_arena"])
    return pd.read_parquet(path).drop(columns=["wall_time", "optimizer_time", "study"]), meta


@pytest.mark.parametrize("name", CONFS)
def test_conf_composes_and_builds(name: str) -> None:
    (job,) = compose_runs([f"optimizer={name}", "problem=learning_curve"])
    validate(job)


def test_asha_is_reproducible_and_prunes(local_ray, tmp_path: Path) -> None:
    args = [*CURVE, "optimizer=ray_asha", "budget.units=200"]
    first, meta = _run(tmp_path, "a", *args)
    second, _ = _run(tmp_path, "b", *args)
    pd.testing.assert_frame_equal(first, second)
    assert meta["deterministic"] is True
    assert (first.status == "pruned").any()
    assert (first.status == "completed").any()
    assert first.cum_units.iloc[-1] >= 200
    assert first.units.sum() == first.cum_units.iloc[-1]
    # every trial's steps go up by one per report (report_every=1)
    assert (first.groupby("trial").step.diff().dropna() == 1).all()


def test_asha_spends_far_fewer_units_than_random(local_ray, tmp_path: Path) -> None:
    asha, _ = _run(tmp_path, "a", *CURVE, "optimizer=ray_asha", "budget.trials=27")
    rand, _ = _run(tmp_path, "r", *CURVE, "optimizer=ray_random", "budget.trials=27")
    assert asha.trial.nunique() == rand.trial.nunique() == 27
    assert asha.units.sum() < 0.5 * rand.units.sum()


def test_hyperband_pauses_and_resumes_from_checkpoint(local_ray, tmp_path: Path) -> None:
    rows, _ = _run(tmp_path, "h", *CURVE, "optimizer=ray_hyperband", "budget.units=150")
    paused = rows[rows.status == "paused"]
    assert len(paused)
    resumed = 0
    for _, row in paused.iterrows():
        later = rows[(rows.trial == row.trial) & (rows.index > row.name)]
        if len(later):
            resumed += 1
            # state restored: training continues at the next step, charging one unit
            assert later.step.iloc[0] == row.step + 1
            assert later.units.iloc[0] == 1
    assert resumed


def test_pbt_records_lineage_and_copies_state(local_ray, tmp_path: Path) -> None:
    rows, _ = _run(tmp_path, "p", *CURVE, "optimizer=ray_pbt", "optimizer.n_trials=4",
                   "optimizer.scheduler_args.perturbation_interval=5", "budget.units=200")
    clones = rows.dropna(subset=["parent_trial"])
    assert len(clones)
    for _trial, group in clones.groupby("trial"):
        parent = rows[rows.trial == group.parent_trial.iloc[0]]
        first = group.iloc[0]
        # the clone starts from its donor's checkpointed step, not from scratch
        assert first.step > 1
        assert first.step - 1 in set(parent.step)
        assert first.units == 1


def test_random_and_optuna_on_single_fidelity_problem(local_ray, tmp_path: Path) -> None:
    for name in ("ray_random", "ray_optuna"):
        rows, _ = _run(tmp_path, name, "problem=branin", "seeds=[3]", f"optimizer={name}",
                       "budget.trials=12")
        assert rows.trial.tolist() == list(range(12))
        assert (rows.status == "completed").all()
        space = BraninProblem().space
        assert all(space.contains(json.loads(c)) for c in rows.config)


def test_workers_2_is_recorded_not_deterministic(local_ray, tmp_path: Path) -> None:
    rows, meta = _run(tmp_path, "w", *CURVE, "optimizer=ray_asha", "workers=2",
                      "budget.units=100")
    assert meta["deterministic"] is False
    assert rows.cum_units.iloc[-1] >= 100


def _adapter(**kwargs) -> RayTuneAdapter:
    problem = LearningCurveProblem(max_iterations=27)
    return RayTuneAdapter(problem.space, problem.fidelity, problem.direction, 0, **kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"scheduler": "bohb"}, r"`scheduler` must be one of fifo, asha, hyperband, pbt"),
    ({"search": "grid"}, r"`search` must be one of random, optuna"),
    ({"n_trials": 0}, r"`n_trials` must be an int >= 1 or null, got 0"),
    ({"reuse_actors": "yes"}, r"`reuse_actors` must be true or false"),
    ({"scheduler": "pbt", "search": "optuna"}, r"pbt scheduler samples its population"),
    ({"scheduler": "asha", "scheduler_args": {"reduction_factor": 1}},
     r"`scheduler_args.reduction_factor` must be >= 2, got 1"),
    ({"scheduler": "asha", "scheduler_args": {"max_t": 100}},
     r"`scheduler_args.max_t` must be an int in \[1, 27\]"),
    ({"scheduler": "asha", "scheduler_args": {"grace_period": 0}},
     r"`scheduler_args.grace_period` must be an int in \[1, max_t\]"),
    ({"scheduler": "asha", "scheduler_args": {"time_attr": "training_iteration"}},
     r"`scheduler_args.time_attr` must be 'step'"),
    ({"scheduler": "hyperband", "scheduler_args": {"brackets": 2}},
     r"`scheduler_args.brackets` is not an argument of the hyperband scheduler"),
    ({"scheduler": "asha", "scheduler_args": {"brackets": 0}},
     r"`scheduler_args.brackets` must be an int >= 1"),
    ({"scheduler": "pbt", "scheduler_args": {"quantile_fraction": 0.9}},
     r"`scheduler_args.quantile_fraction` must be in \(0, 0.5\]"),
    ({"scheduler": "pbt", "scheduler_args": {"resample_probability": 2}},
     r"`scheduler_args.resample_probability` must be in \[0, 1\]"),
])
def test_bad_settings_raise(kwargs: dict, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        _adapter(**kwargs)


def test_scheduler_needs_a_fidelity() -> None:
    problem = BraninProblem()
    with pytest.raises(ValueError, match=r"the asha scheduler needs a problem with a fidelity"):
        RayTuneAdapter(problem.space, None, problem.direction, 0, scheduler="asha")


def test_extra_metrics_reach_the_results(local_ray, tmp_path: Path) -> None:
    rows, _ = _run(tmp_path, "m", "optimizer=ray_random", "optimizer.n_trials=2", *CURVE)
    assert rows.true_value.notna().all()  # learning_curve records its noise-free value
