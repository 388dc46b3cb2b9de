"""SMAC3's facades (random-forest BO, GP BO, BOHB-style Hyperband) through ask / tell."""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import shutil
import tempfile
import warnings
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from ConfigSpace import Configuration
from smac import BlackBoxFacade, HyperparameterOptimizationFacade, MultiFidelityFacade, Scenario
from smac.facade.abstract_facade import AbstractFacade
from smac.main.exceptions import ConfigurationSpaceExhaustedException
from smac.runhistory.dataclasses import TrialInfo, TrialValue
from smac.runhistory.enumerations import StatusType

from optimizers._configspace import configspace, decode
from optimizers._rungs import check_count, check_fidelity_bounds, check_flag
from optimizers._smac_order import install
from optimizers.base import Job, JobKind, Optimizer, Status
from problems.base import Direction, Fidelity
from problems.space import SearchSpace

__all__ = ["COMPONENTS", "FACADES", "SCENARIO_N_TRIALS", "SMACAdapter", "SMACMultiFidelityAdapter"]

FACADES: dict[str, type[AbstractFacade]] = {
    "hpo": HyperparameterOptimizationFacade,
    "blackbox": BlackBoxFacade,
}

install()  # SMAC's local search in its documented order, independent of PYTHONHASHSEED

#: The facade's components a conf may set, each built by the facade's own
#: ``get_<component>(scenario, **arguments)``, the way SMAC's documentation customizes one.
COMPONENTS = (
    "initial_design", "model", "acquisition_function", "acquisition_maximizer",
    "random_design", "intensifier", "config_selector",
)

#: Arguments of a ``get_<component>`` that a conf may not set: the initial design's size is
#: `n_configs` alone (per-hyperparameter counts and the ratio of `Scenario.n_trials` would tie
#: it to the budget), and objects (kernels, configurations) have no YAML form.
_NOT_SETTINGS = {
    "initial_design": ("n_configs_per_hyperparameter", "max_ratio", "additional_configs"),
    "model": ("kernel",),
}

#: `Scenario.n_trials`. SMAC reads it only in `optimize()` (which the runner replaces) and to
#: cap the initial design at `max_ratio` (0.25) of it; this large value keeps that cap from
#: ever shrinking the conf's `initial_design.n_configs`. The runner owns the budget.
SCENARIO_N_TRIALS = 2**31 - 1


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """SMAC logs at INFO on every ask, and its local search averages empty arrays (numpy's
    RuntimeWarning); the runner owns the console, so while SMAC runs its loggers are held at
    WARNING and RuntimeWarnings are ignored; both are restored after.
    """
    logger = logging.getLogger("smac")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            yield
    finally:
        logger.setLevel(level)


class _SMACBase(Optimizer):
    """One SMAC facade per cell, driven by ``facade.ask()`` / ``facade.tell()``.

    The facade is built exactly as SMAC's documentation customizes one: a
    ``Scenario(configspace, seed=cell seed, deterministic=...)`` and each component from the
    facade's own ``get_<component>(scenario, **conf arguments)``. SMAC must write its run files
    somewhere (``Scenario.output_directory``): a temporary directory per cell, outside the
    working tree and the results, removed by :meth:`close` (or when the adapter is collected).
    Runs are told with ``save=False``: the files are never read back. No runner or dask
    client is given to SMAC, so it starts no process or thread.
    """

    _facade_cls: type[AbstractFacade]

    def __init__(
        self,
        space: SearchSpace,
        fidelity: Fidelity | None,
        direction: Direction,
        seed: int,
        deterministic: bool,
        crash_cost: float | None,
        components: Mapping[str, Mapping[str, Any] | None],
    ) -> None:
        super().__init__(space, fidelity, direction, seed)
        deterministic = check_flag("deterministic", deterministic)
        if crash_cost is not None and (
            isinstance(crash_cost, bool) or not isinstance(crash_cost, int | float)
            or not math.isfinite(crash_cost)
        ):
            raise ValueError(
                f"`crash_cost` must be a finite number or null (the worst loss so far), "
                f"got {crash_cost!r}."
            )
        low, high = self._budgets()
        arguments = {name: self._arguments(name, args) for name, args in components.items()}
        self._output = tempfile.mkdtemp(prefix="hpo-arena-smac-")
        self._remove_output = weakref.finalize(self, shutil.rmtree, self._output, True)
        self.scenario = Scenario(
            configspace(space, self.seed), output_directory=Path(self._output),
            deterministic=deterministic, seed=self.seed, n_trials=SCENARIO_N_TRIALS,
            min_budget=low, max_budget=high,
            **({} if crash_cost is None else {"crash_cost": float(crash_cost)}),
        )
        facade = self._facade_cls
        try:
            with _quiet():
                built = {name: getattr(facade, f"get_{name}")(self.scenario, **args)
                         for name, args in arguments.items()}
                self.smac = facade(self.scenario, None, **built, logging_level=False,
                                   overwrite=True)
        except Exception:
            self.close()
            raise
        self._running: dict[int, TrialInfo] = {}
        self._exhausted = False
        self._fixed_crash_cost = crash_cost is not None
        self._worst: float | None = None  # the worst finite loss told so far
        self._held: list[TrialInfo] = []  # failures waiting for a first finite loss

    def _budgets(self) -> tuple[int | None, int | None]:
        """`Scenario.min_budget` and `max_budget` (none without multi-fidelity)."""
        return None, None

    def _arguments(self, name: str, args: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check a component's conf arguments against its ``get_<component>`` signature."""
        getter = getattr(self._facade_cls, f"get_{name}")
        params = inspect.signature(getter).parameters
        allowed = [p for p in params if p != "scenario" and p not in _NOT_SETTINGS.get(name, ())]
        args = dict(args or {})
        for key in args:
            if key not in allowed:
                raise ValueError(
                    f"`{name}.{key}` is not a setting of {self._facade_cls.__name__}"
                    f".get_{name}; its settings are {', '.join(allowed) or '(none)'}."
                )
        if name == "initial_design" and "n_configs" in args:
            check_count("initial_design.n_configs", args["n_configs"], minimum=0)
        return args

    def _ask_smac(self) -> TrialInfo | None:
        """SMAC's next trial, or None once its intensifier has no configuration left."""
        if self._exhausted:
            return None
        try:
            with _quiet():
                return self.smac.ask()
        except (StopIteration, ConfigurationSpaceExhaustedException):
            # A small discrete space can run out of unseen configurations.
            self._exhausted = True
            return None

    def _tell_smac(self, info: TrialInfo, status: Status, value: float) -> None:
        """Tell SMAC the loss, or a failure as a crash (see `crash_cost`)."""
        loss = self.loss(value)
        if status is not Status.FAILED and math.isfinite(loss):
            self._tell_value(info, TrialValue(cost=loss, status=StatusType.SUCCESS))
            first = self._worst is None
            self._worst = loss if first else max(self._worst, loss)  # type: ignore[type-var]
            if first:
                for held in self._held:
                    self._tell_crash(held)
                self._held.clear()
        elif self._fixed_crash_cost or self._worst is not None:
            self._tell_crash(info)
        else:
            self._held.append(info)  # SMAC sees it running until a loss gives it a cost

    def _tell_crash(self, info: TrialInfo) -> None:
        # SMAC's runner records a crash with cost `Scenario.crash_cost`, by default inf, which
        # its surrogate models cannot fit ("Input y contains NaN"); a number on the problem's
        # scale is needed, so the default here is the worst finite loss so far.
        cost = self.scenario.crash_cost if self._fixed_crash_cost else self._worst
        self._tell_value(info, TrialValue(cost=cost, status=StatusType.CRASHED))

    def _tell_value(self, info: TrialInfo, result: TrialValue) -> None:
        with _quiet():
            self.smac.tell(info, result, save=False)

    def close(self) -> None:
        """Remove the cell's SMAC output directory."""
        self._remove_output()


class SMACAdapter(_SMACBase):
    """SMAC3 Bayesian optimization (Lindauer et al., JMLR 23(54), 2022).

    ``hpo``: `HyperparameterOptimizationFacade`, SMAC's random-forest BO (Hutter, Hoos &
    Leyton-Brown, LION 2011) with log EI; ``blackbox``: `BlackBoxFacade`, a Gaussian process
    (Matérn 5/2 × Hamming kernel) with EI. Each ask is one SMAC trial, trained to the
    maximum fidelity; with `deterministic` every trial is a new configuration.

    Args:
        facade: one of :data:`FACADES`.
        deterministic: `Scenario.deterministic`: evaluate each configuration once.
        crash_cost: the cost SMAC is told for a failed trial (`Scenario.crash_cost`); null:
            the worst finite loss told so far (failures before any loss wait for one).
        initial_design, model, acquisition_function, acquisition_maximizer, random_design,
            intensifier, config_selector: keyword arguments of the facade's
            ``get_<component>``; the confs write every one out.

    """

    def __init__(
        self,
        space: SearchSpace,
        fidelity: Fidelity | None,
        direction: Direction,
        seed: int,
        facade: str = "hpo",
        deterministic: bool = True,
        crash_cost: float | None = None,
        initial_design: Mapping[str, Any] | None = None,
        model: Mapping[str, Any] | None = None,
        acquisition_function: Mapping[str, Any] | None = None,
        acquisition_maximizer: Mapping[str, Any] | None = None,
        random_design: Mapping[str, Any] | None = None,
        intensifier: Mapping[str, Any] | None = None,
        config_selector: Mapping[str, Any] | None = None,
    ) -> None:
        if facade not in FACADES:
            raise ValueError(f"`facade` must be one of {sorted(FACADES)}, got {facade!r}.")
        self._facade_cls = FACADES[facade]
        local = locals()
        super().__init__(space, fidelity, direction, seed, deterministic, crash_cost,
                         {name: local[name] for name in COMPONENTS})

    def ask(self) -> Job | None:
        """SMAC's next configuration as a new trial to the maximum fidelity."""
        info = self._ask_smac()
        if info is None:
            return None
        tid = self.new_trial_id()
        self._running[tid] = info
        return Job(JobKind.NEW, tid, decode(self.space, info.config), self.max_step)

    def tell(self, trial: int, status: Status, value: float, step: int) -> None:
        """Tell SMAC the trial's loss (a crash when it failed)."""
        self._tell_smac(self._running.pop(trial), status, value)


class SMACMultiFidelityAdapter(_SMACBase):
    """SMAC3's `MultiFidelityFacade`: its Hyperband intensifier (Li et al., JMLR 2018) over
    random-forest BO proposals, in the spirit of BOHB (Falkner et al., ICML 2018).

    SMAC's budgets are the problem's fidelity steps (`Scenario.min_budget` / `max_budget`);
    its real-valued stage budgets ``max · η^-k`` are rounded to the nearest step. SMAC asks
    for a configuration again at a higher budget when its successive-halving stage promotes
    it. With `resume`, that job continues the configuration's paused trial (only the extra
    steps are charged, as native `hyperband` does): a trial advanced from step a to b is the
    same trial as one trained to b from scratch, so SMAC is told the value it would get from
    a retrained run. Without `resume`, the promotion is a new trial trained from scratch
    (its `parent` is the earlier one).

    Args:
        min_fidelity: `Scenario.min_budget` (null: the problem's minimum).
        max_fidelity: `Scenario.max_budget` (null: the problem's maximum).
        resume: continue promoted configurations (true) or retrain them (false).
        deterministic, crash_cost, initial_design, ..., config_selector: as in
            :class:`SMACAdapter`.

    """

    needs_fidelity: ClassVar[bool] = True
    keeps_trials: ClassVar[bool] = True
    _facade_cls = MultiFidelityFacade

    def __init__(
        self,
        space: SearchSpace,
        fidelity: Fidelity | None,
        direction: Direction,
        seed: int,
        min_fidelity: int | None = None,
        max_fidelity: int | None = None,
        resume: bool = True,
        deterministic: bool = True,
        crash_cost: float | None = None,
        initial_design: Mapping[str, Any] | None = None,
        model: Mapping[str, Any] | None = None,
        acquisition_function: Mapping[str, Any] | None = None,
        acquisition_maximizer: Mapping[str, Any] | None = None,
        random_design: Mapping[str, Any] | None = None,
        intensifier: Mapping[str, Any] | None = None,
        config_selector: Mapping[str, Any] | None = None,
    ) -> None:
        self.resume = check_flag("resume", resume)
        # Restarts never resume, so the runner need not keep trained states in memory.
        self.keeps_trials = self.resume
        self._bounds = (min_fidelity, max_fidelity)
        if intensifier and "eta" in intensifier:
            check_count("intensifier.eta", intensifier["eta"], minimum=2, optional=False)
        local = locals()
        super().__init__(space, fidelity, direction, seed, deterministic, crash_cost,
                         {name: local[name] for name in COMPONENTS})
        self._latest: dict[Configuration, int] = {}  # a configuration's latest trial
        self._reached: dict[int, int] = {}  # step of each trial the runner keeps

    def _budgets(self) -> tuple[int, int]:
        self.min_fidelity, self.max_fidelity = check_fidelity_bounds(
            self.fidelity, *self._bounds  # type: ignore[arg-type]
        )
        return self.min_fidelity, self.max_fidelity

    def ask(self) -> Job | None:
        """SMAC's next (configuration, budget): a resume of the configuration's trial when it
        was trained to a lower step, else a new trial.
        """
        info = self._ask_smac()
        if info is None:
            return None
        target = self.step_of(info.budget)
        config = decode(self.space, info.config)
        earlier = self._latest.get(info.config)
        if self.resume and earlier is not None and self._reached.get(earlier, target) < target:
            job = Job(JobKind.RESUME, earlier, config, target)
            del self._reached[earlier]
        else:
            job = Job(JobKind.NEW, self.new_trial_id(), config, target, parent=earlier)
        self._latest[info.config] = job.trial
        self._running[job.trial] = info
        return job

    def tell(self, trial: int, status: Status, value: float, step: int) -> None:
        """Tell SMAC the loss at the step reached; remember where a kept trial stands."""
        if status in (Status.COMPLETED, Status.PAUSED):
            self._reached[trial] = step
        self._tell_smac(self._running.pop(trial), status, value)

    def step_of(self, budget: float | None) -> int:
        """The fidelity step of a SMAC budget: rounded, within [min_fidelity, max_fidelity]."""
        if budget is None:
            return self.max_fidelity
        return min(max(round(budget), self.min_fidelity), self.max_fidelity)
