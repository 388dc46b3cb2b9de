"""Ray Tune's schedulers and searchers as optimizers that drive their own trial loop.

Schedulers: FIFO (no early stopping), ASHA (Li et al., 2020, "A System for Massively
Parallel Hyperparameter Tuning"), HyperBand (Li et al., 2018, "Hyperband: A Novel
Bandit-Based Approach to Hyperparameter Optimization") and PBT (Jaderberg et al., 2017,
"Population Based Training of Neural Networks"); searchers: Tune's random
``BasicVariantGenerator`` and ``OptunaSearch`` (TPE, Bergstra et al., 2011).

Trials run for real through ``tune.Tuner``. Three modules: this one (the adapter: checks
its arguments, builds the Tuner); ``ray_tune_worker`` (the trainable: wraps the Problem,
trains one report at a time, calls ``tune.report`` at each fidelity step and, for
schedulers that pause or clone trials (HyperBand, PBT), checkpoints the pickled Trial so a
resumed or exploiting trial really continues from that state); ``ray_tune_driver`` (every
scheduler decision is seen in the driver, in order, by a thin subclass of the scheduler,
which hands the report to the runner).

Decisions (Ray → runner): CONTINUE → continue; PAUSE/NOOP (HyperBand milestone, PBT pause
or exploit) → pause; STOP → stop, except at ``max_t``, where Ray stops every trial that got
there: that is the trial's end. The runner's rule then decides each report's status
(``benchmarks.runner.report_status``); an exception in the trainable is failed. A trial
that PBT makes exploit another gets a new trial id whose ``parent_trial`` is the donor.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from optimizers.base import Job, Optimizer, RecordFn, Status
from optimizers.budget import Budget
from optimizers.ray_tune_driver import Sink, budget_stopper, recording, scheduler_class
from optimizers.ray_tune_worker import STEP, train
from problems.base import Direction, Fidelity, Problem
from problems.params import FLAG, integer, number
from problems.space import Categorical, Int, SearchSpace

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
        integer(1, null=True).check("n_trials", n_trials)
        FLAG.check("reuse_actors", reuse_actors)
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
        if args.get("time_attr", STEP) != STEP:
            raise ValueError(f"`scheduler_args.time_attr` must be 'step' (the fidelity step), "
                             f"got {args['time_attr']!r}.")
        fid = self.fidelity
        if "max_t" in args:
            max_t = args["max_t"] if args["max_t"] is not None else fid.max
            if not integer(fid.min, fid.max).accepts(max_t):
                raise ValueError(f"`scheduler_args.max_t` must be an int in "
                                 f"[{fid.min}, {fid.max}] or null, got {args['max_t']!r}.")
            args["max_t"] = max_t
        if "grace_period" in args:
            grace = args["grace_period"] if args["grace_period"] is not None else fid.min
            if not integer(1, args.get("max_t", fid.max)).accepts(grace):
                raise ValueError(f"`scheduler_args.grace_period` must be an int in "
                                 f"[1, max_t] or null, got {args['grace_period']!r}.")
            args["grace_period"] = grace
        number(2, allowed=">= 2").check("scheduler_args.reduction_factor",
                                        args.get("reduction_factor", 2))
        for key in ("brackets", "perturbation_interval"):
            integer(1).check(f"scheduler_args.{key}", args.get(key, 1))
        number(0, 0.5, low_open=True, allowed="in (0, 0.5]").check(
            "scheduler_args.quantile_fraction", args.get("quantile_fraction", 0.25))
        number(0, 1, allowed="in [0, 1]").check(
            "scheduler_args.resample_probability", args.get("resample_probability", 0.25))
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
    def drive(self, problem: Problem, budget: Budget, workers: int, record: RecordFn) -> None:
        """Run the cell as one ``tune.Tuner`` experiment and record every report in order."""
        from ray import tune

        from optimizers.ray_session import start_ray

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
            sink = Sink(self, self.target, record)
            scheduler = recording(scheduler_class(self.scheduler_name))(
                **self._scheduler_kwargs())
            scheduler._hpo_sink = sink
            trainable = tune.with_parameters(
                train, problem=problem, seed=self.seed, target=self.target,
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
                    stop=budget_stopper(sink),
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

    def _num_samples(self, budget: Budget) -> int:
        counts = [n for n in (self.n_trials, budget.trials) if n is not None]
        return min(counts) if counts else -1  # -1: sample until units or seconds end

    def _scheduler_kwargs(self) -> dict[str, Any]:
        kwargs = dict(self.scheduler_args)  # metric and mode come from TuneConfig
        if self.scheduler_name == "fifo":
            return {}
        kwargs["time_attr"] = STEP
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
