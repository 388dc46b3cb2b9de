"""Ray Tune's schedulers and searchers as optimizers that drive their own trial loop.

Schedulers: FIFO (no early stopping), ASHA (Li et al., 2020, "A System for Massively
Parallel Hyperparameter Tuning"), HyperBand (Li et al., 2018, "Hyperband: A Novel
Bandit-Based Approach to Hyperparameter Optimization") and PBT (Jaderberg et al., 2017,
"Population Based Training of Neural Networks"); searchers: Tune's random
``BasicVariantGenerator`` and ``OptunaSearch`` (TPE, Bergstra et al., 2011).

Trials run for real through ``tune.Tuner``: the trainable wraps the Problem, trains one
report at a time, calls ``tune.report`` at each fidelity step and, for schedulers that
pause or clone trials (HyperBand, PBT), checkpoints the pickled Trial so a resumed or
exploiting trial really continues from that state. Every scheduler decision is seen in
the driver, in order, by a thin subclass of the scheduler, which records the report.

Status mapping (Ray → results): CONTINUE → running; PAUSE/NOOP (HyperBand milestone,
PBT pause or exploit) → paused; STOP → pruned; a report at the trial's maximum
(``max_t``) → completed whatever the decision; an exception or NaN → failed. A trial that
PBT makes exploit another gets a new trial id whose ``parent_trial`` is the donor.
"""

from __future__ import annotations

import functools
import json
import math
import pickle
import random
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from optimizers.base import Job, Optimizer, RecordFn, Status
from problems.base import Direction, Fidelity, Report, config_key
from problems.space import Categorical, Float, Int, SearchSpace

__all__ = ["RayTuneAdapter"]

SCHEDULERS = ("fifo", "asha", "hyperband", "pbt")
SEARCHERS = ("random", "optuna")
#: The scheduler arguments each scheduler accepts (metric/mode are set by the adapter).
SCHEDULER_ARGS = {
    "fifo": (),
    "asha": ("time_attr", "max_t", "grace_period", "reduction_factor", "brackets",
             "stop_last_trials"),
    "hyperband": ("time_attr", "max_t", "reduction_factor", "stop_last_trials"),
    "pbt": ("time_attr", "perturbation_interval", "burn_in_period", "quantile_fraction",
            "resample_probability", "perturbation_factors", "synch"),
}
_STEP = "step"  # the reported fidelity step: Tune's `time_attr` for every scheduler
_TRIAL_FILE = "trial.pkl"


class RayTuneAdapter(Optimizer):
    """A Ray Tune scheduler + searcher, run by ``tune.Tuner`` on real trials.

    Args:
        space, fidelity, direction, seed: as for every optimizer (see ``Optimizer``).
        scheduler: "fifo", "asha", "hyperband" or "pbt".
        search: "random" (``BasicVariantGenerator(random_state=seed)``) or "optuna"
            (``OptunaSearch`` with ``TPESampler(seed=seed, **search_args)``).
        n_trials: trials Tune samples (``num_samples``; the PBT population); None lets the
            budget decide (budget.trials when set, else unlimited until units/seconds end).
        scheduler_args: the scheduler's arguments, all written out in the conf.
            ``max_t: null`` means the fidelity maximum, ``grace_period: null`` its minimum.
        search_args: extra arguments of the searcher (TPESampler's for "optuna").
        reuse_actors: keep trial actors alive between trials (large saving per trial).

    """

    drives_own_loop = True
    keeps_trials = True

    def __init__(
        self,
        space: SearchSpace,
        fidelity: Fidelity | None,
        direction: Direction,
        seed: int,
        scheduler: str = "fifo",
        search: str = "random",
        n_trials: int | None = None,
        scheduler_args: Mapping[str, Any] | None = None,
        search_args: Mapping[str, Any] | None = None,
        reuse_actors: bool = True,
        hyperparameters: Sequence[str] | None = None,
    ) -> None:
        super().__init__(space, fidelity, direction, seed)
        if hyperparameters is not None and (
            isinstance(hyperparameters, str)
            or not hyperparameters
            or any(name not in space for name in hyperparameters)
        ):
            raise ValueError(
                f"`hyperparameters` must be a non-empty list of parameters of the problem "
                f"({', '.join(space.names)}) or null, got {hyperparameters!r}."
            )
        self.hyperparameters = space.names if hyperparameters is None else list(hyperparameters)
        if scheduler not in SCHEDULERS:
            raise ValueError(
                f"`scheduler` must be one of {', '.join(SCHEDULERS)}, got {scheduler!r}.")
        if search not in SEARCHERS:
            raise ValueError(f"`search` must be one of {', '.join(SEARCHERS)}, got {search!r}.")
        if scheduler != "fifo" and fidelity is None:
            raise ValueError(
                f"the {scheduler} scheduler needs a problem with a fidelity; this one has none. "
                "Pick learning_curve or another problem with a fidelity."
            )
        if scheduler == "pbt" and search != "random":
            raise ValueError(f"the pbt scheduler samples its population itself: `search` must be "
                             f"'random', got {search!r}.")
        if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int)
                                     or n_trials < 1):
            raise ValueError(f"`n_trials` must be an int >= 1 or null, got {n_trials!r}.")
        if not isinstance(reuse_actors, bool):
            raise TypeError(f"`reuse_actors` must be true or false, got {reuse_actors!r}.")
        self.scheduler_name, self.search = scheduler, search
        # PBT clones trials with new hyperparameters: table problems refuse it.
        self.changes_hyperparameters = scheduler == "pbt"
        self.n_trials, self.reuse_actors = n_trials, reuse_actors
        self.scheduler_args = self._check_scheduler_args(dict(scheduler_args or {}))
        self.search_args = dict(search_args or {})
        top = self.scheduler_args.get("max_t")
        self.target = (fidelity.max if fidelity is not None else 1) if top is None else top

    def _check_scheduler_args(self, args: dict[str, Any]) -> dict[str, Any]:
        allowed = SCHEDULER_ARGS[self.scheduler_name]
        for key in args:
            if key not in allowed:
                raise ValueError(
                    f"`scheduler_args.{key}` is not an argument of the {self.scheduler_name} "
                    f"scheduler; its arguments are {', '.join(allowed) or '(none)'}."
                )
        if args.get("time_attr", _STEP) != _STEP:
            raise ValueError(f"`scheduler_args.time_attr` must be 'step' (the fidelity step), "
                             f"got {args['time_attr']!r}.")
        fid = self.fidelity
        if "max_t" in args:
            max_t = args["max_t"] if args["max_t"] is not None else fid.max
            if not isinstance(max_t, int) or not fid.min <= max_t <= fid.max:
                raise ValueError(f"`scheduler_args.max_t` must be an int in "
                                 f"[{fid.min}, {fid.max}] or null, got {args['max_t']!r}.")
            args["max_t"] = max_t
        if "grace_period" in args:
            grace = args["grace_period"] if args["grace_period"] is not None else fid.min
            if not isinstance(grace, int) or not 1 <= grace <= args.get("max_t", fid.max):
                raise ValueError(f"`scheduler_args.grace_period` must be an int in "
                                 f"[1, max_t] or null, got {args['grace_period']!r}.")
            args["grace_period"] = grace
        rf = args.get("reduction_factor", 2)
        if isinstance(rf, bool) or not isinstance(rf, int | float) or rf < 2:
            raise ValueError(f"`scheduler_args.reduction_factor` must be >= 2, got {rf!r}.")
        for key in ("brackets", "perturbation_interval"):
            v = args.get(key, 1)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"`scheduler_args.{key}` must be an int >= 1, got {v!r}.")
        q = args.get("quantile_fraction", 0.25)
        if not isinstance(q, int | float) or not 0 < q <= 0.5:
            raise ValueError(f"`scheduler_args.quantile_fraction` must be in (0, 0.5], got {q!r}.")
        p = args.get("resample_probability", 0.25)
        if not isinstance(p, int | float) or not 0 <= p <= 1:
            raise ValueError(
                f"`scheduler_args.resample_probability` must be in [0, 1], got {p!r}.")
        if "perturbation_factors" in args:
            args["perturbation_factors"] = tuple(args["perturbation_factors"])
        return args

    # -- ask/tell are not used: Tune owns the loop ---------------------------------------------
    def ask(self) -> Job | None:
        """Not used: the runner calls :meth:`drive` for this optimizer."""
        raise NotImplementedError("RayTuneAdapter drives its own loop; the runner calls drive().")

    def tell(self, trial: int, status: Status, value: float, step: int) -> None:
        """Not used: Tune's scheduler sees every result itself."""

    # -- the cell's loop -----------------------------------------------------------------------
    def drive(self, problem: Any, budget: Any, workers: int, record: RecordFn) -> None:
        """Run the cell as one ``tune.Tuner`` experiment and record every report in order."""
        from ray import tune

        from optimizers._ray_local import start_ray

        # Real parallel trials finish in timing order: results then depend on timing.
        self.deterministic = workers == 1
        session = start_ray(num_cpus=workers)
        storage = tempfile.mkdtemp(prefix="hpoa-tune-")
        # Ray's ASHA (brackets > 1) and PBT draw from the global `random` and `np.random`;
        # they are seeded here, only because Ray reads them, and restored afterwards.
        saved = random.getstate(), np.random.get_state()  # noqa: NPY002
        random.seed(self.seed)
        np.random.seed(self.seed)  # noqa: NPY002
        try:
            sink = _Sink(self, record, budget)
            scheduler = _recording(_scheduler_class(self.scheduler_name))(
                **self._scheduler_kwargs())
            scheduler._hpo_sink = sink
            trainable = tune.with_parameters(
                _train, problem=problem, seed=self.seed, target=self.target,
                checkpoint=self.scheduler_name in ("hyperband", "pbt"),
            )
            import ray

            # Actors of a previous Tune run on a shared Ray release their CPUs shortly after
            # it returns; wait for them rather than fail.
            deadline = time.monotonic() + 30
            while (cpus := ray.available_resources().get("CPU", 0.0)) < 0.01 and (
                time.monotonic() < deadline
            ):
                time.sleep(0.1)
            if cpus < 0.01:
                raise RuntimeError("Ray has no free CPU for the Tune trials of this cell.")
            # Each trial takes 1/workers of the free CPUs, so at most `workers` trials train
            # at once even while HyperBand/PBT keep more trials alive (paused).
            trainable = tune.with_resources(trainable, {"cpu": cpus / workers})
            tuner = tune.Tuner(
                trainable,
                param_space=self._param_space(),
                tune_config=tune.TuneConfig(
                    metric="loss", mode="min", scheduler=scheduler,
                    search_alg=self._searcher(workers), num_samples=self._num_samples(budget),
                    reuse_actors=self.reuse_actors, time_budget_s=budget.seconds,
                ),
                run_config=tune.RunConfig(
                    storage_path=storage, verbose=0, log_to_file=False,
                    stop=_budget_stopper(sink),
                    # PBT exploits other trials' older checkpoints; HyperBand needs the latest.
                    checkpoint_config=tune.CheckpointConfig(
                        num_to_keep=None if self.scheduler_name == "pbt" else 1),
                ),
            )
            try:
                tuner.fit()
            except RuntimeError as err:
                # When the budget stops the experiment, trials Tune created but never
                # started have no folder, and building the (unused) ResultGrid fails on
                # them after the run itself has ended; every report is already recorded.
                if "trial_dir_name" not in str(err):
                    raise
        finally:
            random.setstate(saved[0])
            np.random.set_state(saved[1])  # noqa: NPY002
            shutil.rmtree(storage, ignore_errors=True)
            session.close()

    def _num_samples(self, budget: Any) -> int:
        counts = [n for n in (self.n_trials, budget.trials) if n is not None]
        return min(counts) if counts else -1  # -1: sample until units or seconds end

    def _scheduler_kwargs(self) -> dict[str, Any]:
        kwargs = dict(self.scheduler_args)  # metric and mode come from TuneConfig
        if self.scheduler_name == "fifo":
            return {}
        kwargs["time_attr"] = _STEP
        if self.scheduler_name == "pbt":
            kwargs["hyperparam_mutations"] = self._mutations()
            kwargs["log_config"] = False
        return kwargs

    def _param_space(self) -> dict[str, Any]:
        from ray import tune

        out = {}
        for p in self.space:
            if isinstance(p, Categorical):
                out[p.name] = tune.choice(list(p.choices))
            elif isinstance(p, Int):
                out[p.name] = (tune.lograndint if p.log else tune.randint)(int(p.low),
                                                                           int(p.high) + 1)
            else:
                out[p.name] = (tune.loguniform if p.log else tune.uniform)(p.low, p.high)
        return out

    def _mutations(self) -> dict[str, Any]:
        space = self._param_space()
        return {p.name: list(p.choices) if isinstance(p, Categorical) else space[p.name]
                for p in self.space if p.name in self.hyperparameters}

    def _searcher(self, workers: int) -> Any:
        from ray.tune.search import BasicVariantGenerator, ConcurrencyLimiter

        # HyperBand and PBT keep paused trials alive: the live-trial limit would deadlock
        # them at workers=1, so their parallelism is capped by trial resources instead.
        limit = workers if self.scheduler_name in ("fifo", "asha") else 0
        if self.search == "random":
            return BasicVariantGenerator(max_concurrent=limit, random_state=self.seed)
        from optuna.samplers import TPESampler
        from ray.tune.search.optuna import OptunaSearch

        searcher = OptunaSearch(sampler=TPESampler(seed=self.seed, **self.search_args))
        return ConcurrencyLimiter(searcher, max_concurrent=workers)


# -- driver side: the recording scheduler ----------------------------------------------------
class _Sink:
    """Turns the scheduler's view of each result into the runner's rows, in order."""

    def __init__(self, adapter: RayTuneAdapter, record: RecordFn, budget: Any) -> None:
        self.adapter, self.record, self.budget = adapter, record, budget
        self.ids: dict[str, int] = {}  # Ray trial id -> current trial id in our results
        self.clone_of: dict[str, int] = {}  # Ray trial id -> donor, until its next report
        self.n_trials = 0
        self.cum_units = 0
        self.exhausted = False

    def on_result(self, ray_trial: str, result: Mapping[str, Any], decision: str) -> str:
        from ray.tune.schedulers import TrialScheduler

        if self.exhausted:
            return TrialScheduler.STOP
        parent = self.clone_of.pop(ray_trial, None)
        if ray_trial not in self.ids or parent is not None:
            if self.budget.trials is not None and self.n_trials >= self.budget.trials:
                self.exhausted = True
                return TrialScheduler.STOP
            self.ids[ray_trial] = self.adapter.new_trial_id()
            self.n_trials += 1
        trial = self.ids[ray_trial]
        config = json.loads(result["config_key"])  # what the trainable trained
        report = Report(int(result[_STEP]), float(result["value"]), int(result["units"]),
                        json.loads(result.get("extra") or "{}"), bool(result["final"]))
        if result.get("error"):
            status, error = Status.FAILED, result["error"]
        elif math.isnan(report.value):
            status, error = Status.FAILED, "objective is NaN"
        elif report.final or report.step >= self.adapter.target:
            status, error = Status.COMPLETED, None
        elif decision == TrialScheduler.STOP:
            status, error = Status.PRUNED, None
        elif decision in (TrialScheduler.PAUSE, TrialScheduler.NOOP):
            status, error = Status.PAUSED, None
        else:
            status, error = Status.RUNNING, None
        if report is not None:
            self.cum_units += report.units
        self.record(trial, parent, config, report, status, error)
        if self.budget.units is not None and self.cum_units >= self.budget.units:
            self.exhausted = True
            return TrialScheduler.STOP
        return decision

    def on_exploit(self, ray_trial: str, donor: str) -> None:
        self.clone_of[ray_trial] = self.ids[donor]


@functools.cache
def _recording(cls: type) -> type:
    """Subclass scheduler `cls` so that each decision is shown to the adapter's sink."""

    class Recording(cls):  # type: ignore[misc, valid-type]
        _hpo_sink: _Sink | None = None

        def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
            decision = super().on_trial_result(tune_controller, trial, result)
            if self._hpo_sink is None or _STEP not in result:
                return decision
            return self._hpo_sink.on_result(trial.trial_id, result, decision)

        def _exploit(self, tune_controller: Any, trial: Any, trial_to_clone: Any) -> None:
            super()._exploit(tune_controller, trial, trial_to_clone)
            if self._hpo_sink is not None:
                self._hpo_sink.on_exploit(trial.trial_id, trial_to_clone.trial_id)

        def __getstate__(self) -> dict:
            # Tune pickles its config into the experiment folder: leave the sink out.
            return {k: v for k, v in self.__dict__.items() if k != "_hpo_sink"}

    Recording.__name__ = Recording.__qualname__ = f"Recording{cls.__name__}"
    return Recording


def _scheduler_class(name: str) -> type:
    from ray.tune.schedulers import (
        ASHAScheduler,
        FIFOScheduler,
        HyperBandScheduler,
        PopulationBasedTraining,
    )

    return {"fifo": FIFOScheduler, "asha": ASHAScheduler, "hyperband": HyperBandScheduler,
            "pbt": PopulationBasedTraining}[name]


def _budget_stopper(sink: _Sink) -> Any:
    """Build a Tune Stopper that ends the experiment once the cell's budget is spent."""
    from ray.tune.stopper import NoopStopper, Stopper

    class BudgetStopper(Stopper):
        def __call__(self, trial_id: str, result: dict) -> bool:
            return sink.exhausted

        def stop_all(self) -> bool:
            return sink.exhausted

        def __reduce__(self) -> tuple:
            # Tune pickles its config into the experiment folder: the sink stays here.
            return (NoopStopper, ())

    return BudgetStopper()


def _active_config(space: SearchSpace, sampled: Mapping[str, Any]) -> dict[str, Any]:
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


# -- worker side: the trainable --------------------------------------------------------------
def _train(config: dict, problem: Any, seed: int, target: int, checkpoint: bool) -> None:
    """Tune's trainable: a Problem trial trained one report at a time."""
    from ray import tune

    active = _active_config(problem.space, config)
    trial = None
    restored = tune.get_checkpoint()
    if restored is not None:
        with restored.as_directory() as folder:
            trial = pickle.loads((Path(folder) / _TRIAL_FILE).read_bytes())
        trial.problem = problem
        if trial.config != active:  # PBT explored new hyperparameters on copied state
            trial.config = dict(active)
            trial._on_config_change()
    if trial is None:
        trial = problem.trial(active, seed)
    base = {"config_key": config_key(active)}
    try:
        for report in trial.advance(target):
            metrics = {**base, _STEP: report.step, "value": report.value,
                       "units": report.units, "final": report.final,
                       # JSON: Tune flattens nested dicts in results ("extra/test_value").
                       "extra": json.dumps(dict(report.metrics), default=float), "error": None,
                       "loss": _loss(problem.direction, report.value)}
            if checkpoint:
                with tempfile.TemporaryDirectory(prefix="hpoa-ckpt-") as folder:
                    _save(trial, Path(folder) / _TRIAL_FILE)
                    tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))
            else:
                tune.report(metrics)
            if math.isnan(report.value):  # recorded as failed; training further is moot
                return
    except Exception as err:  # a failing trial is recorded, never fatal
        text = str(err).strip().splitlines()
        tune.report({**base, _STEP: trial.step, "value": math.nan, "units": 0, "final": True,
                     "extra": "{}", "loss": math.inf,
                     "error": f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")})


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

