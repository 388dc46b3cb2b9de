"""The virtual clock in seconds (`clock=seconds`) and the virtual-time budget
(`budget.virtual_time`): event order, determinism, identity, refusals and resume."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from benchmarks import runner
from benchmarks.building import build_problem
from benchmarks.cells import cell_identity
from benchmarks.compose import compose_runs
from benchmarks.journal import journal_path
from benchmarks.plan import plan_cells
from benchmarks.recorder import read_cell_metadata
from benchmarks.run import main
from benchmarks.runner import run_cell
from optimizers.base import Decision, Optimizer, RecordFn
from optimizers.budget import Budget
from problems import loading
from problems.base import Problem
from problems.errors import UserError
from tests.benchmarks_tests.resume_helpers import planned_cell, run_unjournaled, same_rows
from tests.kits.cells import cell_spec

TABLE_ASHA = ("lgbm_table", "asha", "budget.units=3000", "workers=4")
CURVE_ASHA = ("learning_curve", "asha", "budget.units=400", "workers=3")


def _cost(columns: dict[str, list], i: int, seconds: bool) -> float:
    if not seconds:
        return columns["units"][i]
    metrics = columns["metrics"][i]
    return json.loads(metrics)["seconds"] if metrics else 0.0  # a failed report costs none


def _check_clock(columns: dict[str, list], seconds: bool) -> None:
    """Each row's clock is its job's start plus that job's costs so far: a report either
    goes on from its trial's previous one (same job) or starts at a time the clock has
    already shown (a worker freed then, or 0); events come in time order."""
    clock = columns["virtual_time"]
    assert clock == sorted(clock)
    shown = [0.0]
    last: dict[int, float] = {}
    for i, trial in enumerate(columns["trial"]):
        start = clock[i] - _cost(columns, i, seconds)
        assert any(math.isclose(start, t, abs_tol=1e-9) for t in shown), (i, start)
        assert start >= last.get(trial, 0.0) - 1e-9  # a trial's jobs never overlap
        last[trial] = clock[i]
        shown.append(clock[i])


def test_seconds_clock_is_each_jobs_cumulative_recorded_seconds(tmp_path):
    spec = planned_cell(tmp_path, *TABLE_ASHA, "clock=seconds")
    assert spec.clock == "seconds"
    columns = run_unjournaled(spec)
    _check_clock(columns, seconds=True)
    costs = {_cost(columns, i, True) for i in range(len(columns["trial"]))}
    assert len(costs) > 10  # heterogeneous durations, not units in disguise
    assert columns["virtual_time"][-1] != columns["cum_units"][-1]


def test_units_clock_keeps_its_rule(tmp_path):
    _check_clock(run_unjournaled(planned_cell(tmp_path, *TABLE_ASHA)), seconds=False)
    _check_clock(run_unjournaled(planned_cell(tmp_path, *CURVE_ASHA)), seconds=False)


def test_heterogeneous_seconds_change_the_asynchronous_order(tmp_path):
    units = run_unjournaled(planned_cell(tmp_path, *TABLE_ASHA))
    seconds = run_unjournaled(planned_cell(tmp_path, *TABLE_ASHA, "clock=seconds"))
    order = list(zip(units["trial"], units["step"], strict=True))
    assert order != list(zip(seconds["trial"], seconds["step"], strict=True))


def test_one_worker_orders_reports_alike_on_both_clocks(tmp_path):
    """With one worker nothing runs at once: the clock changes only the clock column."""
    units = run_unjournaled(planned_cell(tmp_path, *TABLE_ASHA[:3]))
    seconds = run_unjournaled(planned_cell(tmp_path, *TABLE_ASHA[:3], "clock=seconds"))
    assert units["virtual_time"] != seconds["virtual_time"]
    units.pop("virtual_time"), seconds.pop("virtual_time")
    assert same_rows(units, seconds)


def test_seconds_clock_repeats_bit_for_bit(tmp_path):
    spec = replace(planned_cell(tmp_path, "mlp_surrogate", "asha", "budget.units=400",
                                "workers=4", "clock=seconds"), journal=None)
    first = run_cell(spec)
    assert same_rows(first.columns, run_cell(spec).columns)
    assert first.info["virtual_time"] == first.columns["virtual_time"][-1]


@pytest.mark.parametrize(("clock", "deadline"), [("units", 150), ("seconds", 0.5)])
def test_virtual_time_stops_before_the_first_later_event(tmp_path, clock, deadline):
    """The deadline's rows are the unlimited run's up to it: a report later than it is not
    delivered, its job was still running."""
    cell = ("lgbm_table", "asha", "workers=4", f"clock={clock}")
    full = run_unjournaled(planned_cell(tmp_path, *cell, "budget.units=3000"))
    spec = planned_cell(tmp_path, *cell, f"budget.virtual_time={deadline}")
    result = run_cell(replace(spec, journal=None))
    assert result.info["stop_reason"] == "virtual_time"
    assert result.info["dropped_jobs"] > 0  # workers were busy at the deadline
    n = len(result.columns["trial"])
    assert result.columns["virtual_time"][-1] <= deadline < full["virtual_time"][n]
    assert same_rows(result.columns, {k: v[:n] for k, v in full.items()})


def test_virtual_time_counts_workers_idle_at_a_synchronous_rung(tmp_path):
    """SHA waits for a whole rung while ASHA keeps its workers busy: at the same deadline
    SHA has spent fewer units, its idle workers' time passed on the clock all the same."""
    spent = {}
    for method in ("sha", "asha"):
        cell = ("learning_curve", method, "workers=4", "budget.virtual_time=60")
        result = run_cell(replace(planned_cell(tmp_path, *cell), journal=None))
        assert result.info["stop_reason"] == "virtual_time"
        assert result.columns["virtual_time"][-1] <= 60
        spent[method] = result.columns["cum_units"][-1]
    assert spent["sha"] < spent["asha"]


class SequentialDriver(Optimizer):
    """A self-driven optimizer, as the Ray Tune adapters are: it trains random
    configurations to the end one after another and hands each report to the runner."""

    drives_own_loop = True

    def ask(self) -> None:
        """Not used: the runner calls drive()."""

    def report(self, trial: int, step: int, value: float) -> Decision:
        """Not used: the runner calls drive()."""
        return Decision.CONTINUE

    def tell(self, *args: object) -> None:
        """Not used: the runner calls drive()."""

    def drive(self, problem: Problem, budget: Budget, workers: int, record: RecordFn) -> None:
        """Random configurations in turn until the runner says the budget is spent."""
        rng = np.random.default_rng(self.seed)
        while True:
            trial = self.new_trial_id()
            config = problem.space.sample(rng)
            for report in problem.trial(config, self.seed).advance():
                if not record(trial, None, config, report, Decision.CONTINUE,
                              problem.fidelity.max):
                    return


def _driven(clock: str, **budget: float) -> dict[str, list]:
    problem = build_problem(loading.problem_conf("lgbm_table"))
    spec = replace(cell_spec({}, {}, 0, workers=4, **budget), clock=clock)
    optimizer = SequentialDriver(problem.space, problem.fidelity, problem.direction, 0)
    result = runner._Loop(spec, problem, optimizer, None).run()
    return {**result.columns, "stop_reason": result.info["stop_reason"]}


def test_a_self_driven_optimizers_clock_is_its_cumulative_cost():
    units = _driven("units", units=400)
    assert units["virtual_time"] == [float(u) for u in units["cum_units"]]
    seconds = _driven("seconds", units=400)
    costs = [_cost(seconds, i, True) for i in range(len(seconds["trial"]))]
    assert np.allclose(seconds["virtual_time"], np.cumsum(costs), rtol=1e-12)
    assert seconds["cum_units"] == units["cum_units"]


@pytest.mark.parametrize(("clock", "deadline"), [("units", 150), ("seconds", 0.2)])
def test_a_self_driven_optimizer_stops_before_passing_the_virtual_time(clock, deadline):
    full = _driven(clock, units=400)
    cut = _driven(clock, virtual_time=deadline)
    assert cut["stop_reason"] == "virtual_time"
    n = len(cut["trial"])
    assert cut["virtual_time"][-1] <= deadline < full["virtual_time"][n]
    full.pop("stop_reason"), cut.pop("stop_reason")
    assert same_rows(cut, {k: v[:n] for k, v in full.items()})


# -- identity ----------------------------------------------------------------------------
def _resolved(*overrides: str) -> dict:
    run, = compose_runs(["problem=lgbm_table", "optimizer=asha", *overrides])
    return OmegaConf.to_container(run.cfg, resolve=True)


def test_default_clock_and_deadline_stay_out_of_the_identity():
    resolved = _resolved()
    assert resolved["clock"] == "units" and resolved["budget"]["virtual_time"] is None
    # a cell stored before both settings existed had no such keys in its config
    before = {**resolved, "budget": dict(resolved["budget"])}
    del before["clock"], before["budget"]["virtual_time"]
    assert cell_identity(resolved) == cell_identity(before)
    assert "clock" not in cell_identity(resolved)
    assert "virtual_time" not in cell_identity(resolved)["budget"]
    seconds = cell_identity(_resolved("clock=seconds", "budget.virtual_time=2.5"))
    assert seconds["clock"] == "seconds" and seconds["budget"]["virtual_time"] == 2.5


def test_a_stored_cell_is_reused_at_the_default_clock_and_refused_at_another(tmp_path, capsys):
    args = ["problem=lgbm_table", "optimizer=random", "seeds=[0]", "budget.trials=5",
            f"results_dir={tmp_path}", "study=s"]
    assert main(args) == 0
    cell = tmp_path / "s" / "lgbm_table" / "random" / "seed=0.parquet"
    assert "clock" not in read_cell_metadata(cell)["cell_config"]
    todo, done = plan_cells(compose_runs([*args, "clock=units"]))
    assert todo == [] and done == [cell]
    with pytest.raises(UserError, match=r"produced with other settings \(clock: None -> "):
        plan_cells(compose_runs([*args, "clock=seconds"]))


# -- refusals ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["clock=hours"], "`clock` must be one of units, seconds; got 'hours'."),
        (["clock=seconds"], "`clock=seconds` needs a problem that records each report's cost "
                            "in seconds; problem `branin` records none: use clock=units or "
                            "one of lgbm_surrogate, lgbm_surrogate_w8, lgbm_table, "
                            "mlp_surrogate, mlp_surrogate_w8, mlp_table."),
        (["budget.virtual_time=0"],
         "`budget.virtual_time` must be a positive number or null; got 0."),
        (["budget.virtual_time=inf"],
         "`budget.virtual_time` must be a positive number or null; got inf."),
        (["budget.trials=null", "budget.virtual_time=null"], "budget.virtual_time."),
    ],
)
def test_bad_clock_settings_exit_2_and_write_nothing(tmp_path, capsys, args, message):
    assert main([*args, f"results_dir={tmp_path / 'r'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert not (tmp_path / "r").exists()


# -- resume ------------------------------------------------------------------------------
@pytest.mark.parametrize("deadline", [(), ("budget.virtual_time=1.5",)])
def test_a_killed_seconds_clock_cell_resumes_to_the_same_rows(tmp_path, deadline):
    spec = planned_cell(tmp_path, *TABLE_ASHA, "clock=seconds", *deadline)
    full = run_cell(spec)
    assert same_rows(full.columns, run_unjournaled(spec))
    journal = Path(spec.journal)
    assert journal == journal_path(tmp_path / "default" / "lgbm_table" / "asha" / "seed=0.parquet")
    data = journal.read_bytes()
    ends = [i + 1 for i, b in enumerate(data) if b == ord("\n")][1:-1]
    for cut in (ends[len(ends) // 3], ends[2 * len(ends) // 3] - 5):  # a boundary, a torn one
        journal.write_bytes(data[:cut])
        resumed = run_cell(spec)
        assert 0 < resumed.info["resumed_reports"] < len(full.columns["trial"])
        assert same_rows(full.columns, resumed.columns), cut
        assert resumed.info["stop_reason"] == full.info["stop_reason"]
