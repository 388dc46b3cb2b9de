"""Optuna's samplers and pruners behind the ask / report / tell contract."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.study._tell import _tell_with_warning
from optuna.trial import TrialState

from optimizers.base import Decision, Job, JobKind, Optimizer, Status
from optimizers.grid import grid_points
from problems.base import Direction, Fidelity
from problems.space import Categorical, Float, SearchSpace

__all__ = ["PRUNERS", "SAMPLERS", "OptunaAdapter", "suggest_config"]

SAMPLERS = {
    "tpe": optuna.samplers.TPESampler,
    "cmaes": optuna.samplers.CmaEsSampler,
    "gp": optuna.samplers.GPSampler,
    "qmc": optuna.samplers.QMCSampler,
    "random": optuna.samplers.RandomSampler,
    "grid": optuna.samplers.GridSampler,
}

#: Pruner classes with every argument pinned, so that `optimizer.pruner=median` on the CLI
#: means the same thing whatever the installed Optuna's defaults; `pruner_args` override.
#: `max_resource: null` means the problem's maximum fidelity.
PRUNERS: dict[str, tuple[type, dict[str, Any]]] = {
    "none": (optuna.pruners.NopPruner, {}),
    "median": (optuna.pruners.MedianPruner,
               {"n_startup_trials": 5, "n_warmup_steps": 0, "interval_steps": 1,
                "n_min_trials": 1}),
    "percentile": (optuna.pruners.PercentilePruner,
                   {"percentile": 25.0, "n_startup_trials": 5, "n_warmup_steps": 0,
                    "interval_steps": 1, "n_min_trials": 1}),
    "sha": (optuna.pruners.SuccessiveHalvingPruner,
            {"min_resource": 1, "reduction_factor": 4, "min_early_stopping_rate": 0,
             "bootstrap_count": 0}),
    "hyperband": (optuna.pruners.HyperbandPruner,
                  {"min_resource": 1, "max_resource": None, "reduction_factor": 3,
                   "bootstrap_count": 0}),
    "wilcoxon": (optuna.pruners.WilcoxonPruner, {"p_threshold": 0.1, "n_startup_steps": 2}),
}

_STATES = {Status.PRUNED: TrialState.PRUNED, Status.FAILED: TrialState.FAIL}


class OptunaAdapter(Optimizer):
    """An Optuna sampler with an optional pruner, on one in-memory ``Study`` per cell.

    Samplers: TPE (Bergstra et al. 2011), CMA-ES (Hansen 2016), GP-BO with log EI,
    quasi-random (Sobol/Halton), random and grid.

    Each trial is a new job to the maximum fidelity; every intermediate report goes to
    ``trial.report`` and a True ``should_prune()`` stops the trial (recorded `pruned`).
    Tells may come in any order; pending trials stay RUNNING in the study, which samplers
    such as TPE with `constant_liar` take into account.

    Args:
        sampler: one of :data:`SAMPLERS`; it gets the cell seed unchanged.
        sampler_args: keyword arguments of the sampler (the conf writes them all out).
            For ``grid``: ``resolution`` and ``values`` as in the native `grid` optimizer.
        pruner: one of :data:`PRUNERS`; anything but ``none`` needs a problem with a fidelity.
        pruner_args: overrides of the pruner's pinned arguments.
        study_name: fixed, because HyperbandPruner assigns brackets from a hash of it.

    """

    def __init__(
        self,
        space: SearchSpace,
        fidelity: Fidelity | None,
        direction: Direction,
        seed: int,
        sampler: str = "tpe",
        sampler_args: Mapping[str, Any] | None = None,
        pruner: str = "none",
        pruner_args: Mapping[str, Any] | None = None,
        study_name: str = "hpo-arena",
    ) -> None:
        super().__init__(space, fidelity, direction, seed)
        self._n_grid: int | None = None
        self._gridded: set[str] | None = None  # grid `values` may leave parameters out
        # Optimizers never print: Optuna logs each study's creation at INFO by default.
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(
            sampler=self._sampler(sampler, dict(sampler_args or {})),
            pruner=self._pruner(pruner, dict(pruner_args or {})),
            study_name=study_name,
            direction=direction,
        )
        self._running: dict[int, optuna.Trial] = {}

    def _sampler(self, name: str, args: dict[str, Any]) -> optuna.samplers.BaseSampler:
        if name not in SAMPLERS:
            raise ValueError(f"`sampler` must be one of {sorted(SAMPLERS)}, got {name!r}.")
        if name == "grid":
            if self.space.is_conditional:
                raise ValueError(
                    "`sampler` 'grid' cannot grid a conditional space (GridSampler would "
                    "repeat configurations over inactive parameters); use the native `grid`."
                )
            unknown = sorted(set(args) - {"resolution", "values"})
            if unknown:
                raise ValueError(f"`sampler_args.{unknown[0]}` is not an argument of the "
                                 "grid sampler; its arguments are resolution and values.")
            points = grid_points(self.space, args.get("values"), args.get("resolution", 5))
            grid = {k: sorted({p[k] for p in points}, key=list(self.space[k].choices).index)
                    if isinstance(self.space[k], Categorical) else sorted({p[k] for p in points})
                    for k in points[0]}
            self._n_grid, self._gridded = len(points), set(grid)
            args = {"search_space": grid}
        try:
            with warnings.catch_warnings():
                # QMC and some sampler options are flagged experimental; that is Optuna's
                # notice to the reader of its docs, not a fault of this run.
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return SAMPLERS[name](seed=self.seed, **args)
        except TypeError as err:
            raise ValueError(f"`sampler_args` do not fit {SAMPLERS[name].__name__}: {err}.") \
                from None

    def _pruner(self, name: str, args: dict[str, Any]) -> optuna.pruners.BasePruner:
        if name not in PRUNERS:
            raise ValueError(f"`pruner` must be one of {sorted(PRUNERS)}, got {name!r}.")
        cls, pinned = PRUNERS[name]
        if name != "none" and self.fidelity is None:
            raise ValueError(
                f"`pruner` {name!r} needs a problem with a fidelity; this one has none. "
                "Set `optimizer.pruner=none` or pick a problem with a fidelity."
            )
        unknown = sorted(set(args) - set(pinned))
        if unknown:
            raise ValueError(f"`pruner_args.{unknown[0]}` is not an argument of {cls.__name__}; "
                             f"its arguments are {', '.join(pinned) or '(none)'}.")
        kwargs = {**pinned, **args}
        if kwargs.get("max_resource", "") is None:
            kwargs["max_resource"] = self.max_step
        return cls(**kwargs)

    def ask(self) -> Job | None:
        """Start a new Optuna trial; None once a grid sampler has proposed its whole grid."""
        if self._n_grid is not None and self._next_id >= self._n_grid:
            return None
        trial = self.study.ask()
        config = suggest_config(trial, self.space, self._gridded)
        tid = self.new_trial_id()
        self._running[tid] = trial
        return Job(JobKind.NEW, tid, config, self.max_step)

    def report(self, trial: int, step: int, value: float) -> Decision:
        """``trial.report`` then ``should_prune`` (single-fidelity problems: nothing to do)."""
        if self.fidelity is None:
            return Decision.CONTINUE
        optuna_trial = self._running[trial]
        optuna_trial.report(value, step)
        return Decision.STOP if optuna_trial.should_prune() else Decision.CONTINUE

    def tell(self, trial: int, status: Status, value: float, step: int) -> None:
        """Close the Optuna trial: COMPLETE with `value`, PRUNED or FAIL."""
        optuna_trial = self._running.pop(trial)
        try:
            # The call `Study.optimize` makes: `Study.tell` would also deep-copy the finished
            # trial for a return value we drop (about 0.4 ms a trial, doubling RandomSampler's
            # cost). A pruned trial's value is its last report, which Optuna already holds.
            if status is Status.COMPLETED and not math.isnan(value):
                _tell_with_warning(self.study, optuna_trial, value, suppress_warning=True)
            else:
                _tell_with_warning(self.study, optuna_trial, None,
                                   _STATES.get(status, TrialState.FAIL), suppress_warning=True)
        except RuntimeError:
            # GridSampler calls `study.stop()` once its grid is done, which Optuna allows
            # only inside `optimize`; the trial is already stored, and `ask` ends the grid.
            if self._n_grid is None:
                raise


def suggest_config(
    trial: optuna.Trial, space: SearchSpace, names: set[str] | None = None
) -> dict[str, Any]:
    """Suggest the active parameters of `space` (those in `names`, when given) in order.

    Optuna's define-by-run: only active parameters are suggested, so conditions need no
    translation.
    """
    config: dict[str, Any] = {}
    for p in space:
        if (names is not None and p.name not in names) or not space.is_active(p, config):
            continue
        if isinstance(p, Categorical):
            config[p.name] = trial.suggest_categorical(p.name, p.choices)
        elif isinstance(p, Float):
            config[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
        else:
            config[p.name] = trial.suggest_int(p.name, p.low, p.high, log=p.log)
    return config
