"""The chapter's LightGBM problem: boosting rounds as the fidelity, trained round by round."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import lightgbm as lgb

from problems._ml import model_params, split_data
from problems.base import Fidelity, Problem, Report, Trial, config_seed
from problems.params import check_fraction, check_int
from problems.space import Categorical, Float, Int, SearchSpace

__all__ = ["LightGBMProblem"]

# The chapter's (scikit-learn style) names, as LightGBM's canonical parameter names.
_CANONICAL = {
    "subsample": "bagging_fraction",
    "colsample_bytree": "feature_fraction",
    "min_child_samples": "min_data_in_leaf",
    "reg_alpha": "lambda_l1",
    "reg_lambda": "lambda_l2",
    "boosting_type": "boosting",
}
# The objective's direction per `objective_metric`.
_METRICS = {"log_loss": "minimize", "accuracy": "maximize"}


class LightGBMProblem(Problem):
    """LightGBM binary classifier on ``make_classification(n_samples=5000, n_features=50,
    n_informative=30, random_state=42)`` with the chapter's 80/20 split
    (``random_state=42``); fidelity = boosting rounds 1..`max_rounds`.

    Data: the chapter's 4000 training rows are kept as they are; its 1000 held-out rows are
    split in half (``test_share=0.5``, ``random_state=split_seed``): 500 validation rows give
    the objective, 500 test rows the ``test_value``, so the test set is never looked at by
    the optimizer (the chapter uses one held-out set for both).

    Objective (`objective_metric`): ``log_loss`` (default; validation binary log-loss,
    minimize) or ``accuracy`` (validation accuracy at threshold 0.5, maximize). The other is
    recorded as an extra metric (``valid_accuracy`` or ``valid_log_loss``), and
    ``test_value`` is the objective's metric on the test rows (``test_accuracy`` or
    ``test_log_loss`` beside it).

    Training really proceeds round by round: a trial keeps its live ``lgb.Booster`` (with its
    training data and validation scores, updated incrementally by LightGBM) and
    ``Booster.update()`` boosts exactly the rounds asked for, so resuming from round 100 to
    300 costs 200 units and 0 -> a -> b equals 0 -> b bit for bit. Settings that make this
    deterministic: ``deterministic=True``, ``force_row_wise=True``, a fixed `num_threads`
    (so results do not depend on the machine's cores) and ``seed`` (LightGBM derives its
    bagging, feature-fraction and dart seeds from it) drawn from the cell seed and the
    configuration.

    `subsample` is LightGBM's ``bagging_fraction``, which has no effect unless
    ``bagging_freq > 0``: the problem sets ``bagging_freq`` (default 1: resample rows every
    round) and drops `subsample` from the space when it is 0, so no parameter is inert.

    Early stopping (`early_stopping_rounds`, off by default): when the objective has not
    improved for that many rounds, the trial ends (``Report.final``) at the round reached,
    reporting the value of its best round (the model LightGBM keeps as ``best_iteration``),
    and no further units are spent on it.

    Memory: a paused trial holds its Booster: the binned training set (4000 x 50), the
    histogram pool, score buffers and its trees: 19-25 MiB of resident memory per paused
    trial (the conf's `paused_trial_mib`, checked by the problem kit). Beyond the runner's
    `paused_memory` a paused trial leaves memory and is rebuilt by replay: a Booster
    reloaded from ``model_to_string`` and continued with ``init_model`` does not continue
    bit for bit (its bagging and feature-fraction streams restart: up to 1.1 in raw score
    after 20 + 20 rounds, measured), so ``restores_state`` stays False.

    Args:
        n_samples, n_features, n_informative, data_seed: the dataset.
        holdout_size: fraction held out from training (the chapter's ``test_size``).
        test_share: fraction of the held-out rows used as test set (the rest validates).
        split_seed: ``random_state`` of both splits.
        max_rounds, min_rounds, report_every: the fidelity (boosting rounds).
        objective_metric: ``log_loss`` or ``accuracy``.
        early_stopping_rounds: patience in rounds, or None (off).
        bagging_freq: LightGBM's ``bagging_freq`` (0 removes `subsample` from the space).
        boosting_types: the ``boosting_type`` choices; with more than one (e.g.
            ``[gbdt, dart]``) `boosting_type` becomes a categorical parameter.
        num_threads: LightGBM threads (fixed, for determinism).

    """

    metric_names: ClassVar[tuple[str, ...]] = (
        "test_value", "valid_log_loss", "valid_accuracy", "test_log_loss", "test_accuracy",
        "best_round",
    )

    def __init__(
        self,
        n_samples: int = 5000,
        n_features: int = 50,
        n_informative: int = 30,
        data_seed: int = 42,
        holdout_size: float = 0.2,
        test_share: float = 0.5,
        split_seed: int = 42,
        max_rounds: int = 1000,
        min_rounds: int = 1,
        report_every: int = 10,
        objective_metric: str = "log_loss",
        early_stopping_rounds: int | None = None,
        bagging_freq: int = 1,
        boosting_types: tuple[str, ...] | list[str] = ("gbdt",),
        num_threads: int = 1,
    ) -> None:
        from sklearn.datasets import make_classification

        if objective_metric not in _METRICS:
            raise ValueError(
                f"`objective_metric` must be one of {', '.join(_METRICS)}, "
                f"got {objective_metric!r}."
            )
        if early_stopping_rounds is not None:
            check_int("early_stopping_rounds", early_stopping_rounds, 1)
        boosting_types = tuple(boosting_types)
        if not boosting_types or any(b not in ("gbdt", "dart") for b in boosting_types):
            raise ValueError(
                f"`boosting_types` must list gbdt and/or dart, got {list(boosting_types)!r}."
            )
        x, y = make_classification(
            n_samples=check_int("n_samples", n_samples, 10),
            n_features=check_int("n_features", n_features, 2),
            n_informative=check_int("n_informative", n_informative, 1),
            random_state=check_int("data_seed", data_seed, 0),
        )
        self.data = split_data(
            x,
            y,
            check_fraction("holdout_size", holdout_size),
            check_fraction("test_share", test_share, high_open=False),
            check_int("split_seed", split_seed, 0),
        )
        self.objective_metric = objective_metric
        self.direction = _METRICS[objective_metric]
        self.early_stopping_rounds = early_stopping_rounds
        self.bagging_freq = check_int("bagging_freq", bagging_freq, 0)
        self.num_threads = check_int("num_threads", num_threads, 1)
        self.fidelity = Fidelity(
            "round",
            check_int("min_rounds", min_rounds, 1),
            check_int("max_rounds", max_rounds, 1),
            check_int("report_every", report_every, 1),
        )
        params = [
            Float("learning_rate", 0.01, 0.3, log=True),
            Int("num_leaves", 20, 200),
            Int("max_depth", 3, 15),
            Int("min_child_samples", 5, 100),
            Float("subsample", 0.5, 1.0),
            Float("colsample_bytree", 0.5, 1.0),
            Float("reg_alpha", 0.0, 10.0),
            Float("reg_lambda", 0.0, 10.0),
        ]
        if self.bagging_freq == 0:
            params = [p for p in params if p.name != "subsample"]
        if len(boosting_types) > 1:
            params.append(Categorical("boosting_type", boosting_types))
        self.boosting_types = boosting_types
        self.space = SearchSpace(tuple(params))

    def booster_params(self, config: Mapping[str, Any], seed: int) -> dict[str, Any]:
        """LightGBM parameters for `config` (missing parameters: LightGBM's defaults)."""
        params = {
            _CANONICAL.get(k, k): v for k, v in model_params(self.space, config, "lgbm").items()
        }
        params.setdefault("boosting", self.boosting_types[0])
        return {
            "objective": "binary",
            "metric": ["binary_logloss", "binary_error"],
            "verbosity": -1,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.num_threads,
            "bagging_freq": self.bagging_freq,
            "seed": int(config_seed(seed, config).generate_state(1)[0] % (2**31 - 1)),
            **params,
        }

    def trial(self, config: Mapping[str, Any], seed: int) -> Trial:
        """A fresh trial at round 0 (the Booster is built on the first advance)."""
        self.booster_params(config, seed)  # reject unknown names before any work
        return _LightGBMTrial(self, config, seed)


class _LightGBMTrial(Trial):
    problem: LightGBMProblem

    def __init__(self, problem: Problem, config: Mapping[str, Any], seed: int) -> None:
        super().__init__(problem, config, seed)
        self._booster: lgb.Booster | None = None
        # (round, parameters) in force from that round on: replayed by clone().
        self._schedule: list[tuple[int, dict[str, Any]]] = [
            (0, self.problem.booster_params(config, seed))
        ]
        self._best: tuple[float, int, dict[str, float]] | None = None  # early stopping
        self._stopped = False

    # -- training --------------------------------------------------------------------------
    def _start(self) -> lgb.Booster:
        data = self.problem.data
        params = self._schedule[0][1]
        # Every Dataset gets the Booster's parameters, as ``lgb.train`` does: without
        # `num_threads` a validation set's score updates use all cores' OpenMP threads,
        # which was 40x slower per round on 2 shared cores.
        train = lgb.Dataset(data.x_train, data.y_train, params=params)
        booster = lgb.Booster(params, train)
        for name, x, y in (("valid", data.x_valid, data.y_valid),
                           ("test", data.x_test, data.y_test)):
            if x is not None:
                booster.add_valid(lgb.Dataset(x, y, reference=train, params=params), name)
        return booster

    def _boost(self, rounds: int) -> int:
        """Boost up to `rounds` more rounds; fewer if early stopping ends the trial."""
        if self._booster is None:
            self._booster = self._start()
        patience = self.problem.early_stopping_rounds
        done = 0
        for _ in range(rounds):
            self._booster.update()
            done += 1
            if patience is not None:
                current = self._booster.current_iteration()
                scores = self._scores()
                value = scores["value"]
                if self._best is None or self.problem.direction == "minimize" and (
                    value < self._best[0]
                ) or self.problem.direction == "maximize" and value > self._best[0]:
                    self._best = (value, current, scores)
                elif current - self._best[1] >= patience:
                    self._stopped = True
                    break
        return done

    def _train(self, step: int) -> int:
        return self._boost(step - self.step)

    def advance(self, to_step: int | None = None) -> Iterator[Report]:
        """As :meth:`Trial.advance`; a report made by early stopping carries the round
        where training stopped, the best round's value and ``final=True``.
        """
        for report in super().advance(to_step):
            if self._stopped:
                self.finished = True
                self.step = self._booster.current_iteration()
                value, best_round, scores = self._best
                report = Report(self.step, value, report.units,
                                self._metrics(scores, best_round), True)
                self.last_report = report
            yield report
            if self.finished:
                return

    def _scores(self) -> dict[str, float]:
        """Objective and extra metrics of the current model (from LightGBM's incremental
        validation scores: no prediction pass).
        """
        raw = {(r[0], r[1]): float(r[2]) for r in self._booster.eval_valid()}
        out: dict[str, float] = {}
        for part in ("valid", "test"):
            if (part, "binary_logloss") in raw:
                out[f"{part}_log_loss"] = raw[(part, "binary_logloss")]
                out[f"{part}_accuracy"] = 1.0 - raw[(part, "binary_error")]
        key = self.problem.objective_metric
        out["value"] = out[f"valid_{key}"]
        if f"test_{key}" in out:
            out["test_value"] = out[f"test_{key}"]
        return out

    def _metrics(self, scores: Mapping[str, float], best_round: int) -> dict[str, Any]:
        metrics: dict[str, Any] = {k: v for k, v in scores.items() if k != "value"}
        metrics["best_round"] = best_round
        return metrics

    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        scores = self._scores()
        return scores["value"], self._metrics(scores, self._booster.current_iteration())

    # -- cloning (PBT) -------------------------------------------------------------------
    def clone(self, config: Mapping[str, Any] | None = None) -> Trial:
        """A copy of this trial's state. A live Booster cannot be copied with its training
        state (its deepcopy keeps only the trees), so the copy replays the same rounds and
        parameter changes on a fresh Booster: training is deterministic, so the state is
        identical bit for bit. The replay is not charged as compute units, standing for a
        state copy.
        """
        twin = _LightGBMTrial(self.problem, self.config, self.seed)
        twin._schedule = [(r, dict(p)) for r, p in self._schedule]
        target = self._booster.current_iteration() if self._booster is not None else 0
        if target:
            twin._booster = twin._start()
            changes = twin._schedule[1:] + [(target, {})]
            done = 0
            for at, params in changes:
                for _ in range(at - done):
                    twin._booster.update()
                done = at
                if params:
                    twin._booster.reset_parameter(params)
        twin.step, twin.finished, twin._stopped = self.step, self.finished, self._stopped
        twin._best = self._best
        twin.last_report = self.last_report
        if config is not None:
            twin.config = dict(config)
            twin._on_config_change()
        return twin

    def _on_config_change(self) -> None:
        """Apply the new configuration from the current round on (``reset_parameter``)."""
        old = self._schedule[0][1].copy()
        for _, params in self._schedule[1:]:
            old.update(params)
        new = self.problem.booster_params(self.config, self.seed)
        new["seed"] = old["seed"]  # the random streams go on; only hyperparameters change
        if set(new) != set(old) or new["boosting"] != old["boosting"]:
            raise ValueError(
                "a cloned lgbm trial must set the same parameters and `boosting_type` as its "
                f"parent, got {sorted(self.config)} (boosting {new['boosting']!r})."
            )
        diff = {k: v for k, v in new.items() if v != old[k]}
        if diff:
            at = 0 if self._booster is None else self._booster.current_iteration()
            if self._booster is not None:
                self._booster.reset_parameter(diff)
            else:
                self._schedule[0][1].update(diff)
                return
            self._schedule.append((at, diff))
