"""scikit-learn ensembles tuned by cross-validation: the chapter's random forest and
gradient boosting problems (single fidelity).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from problems._ml import model_params, split_data
from problems.base import Problem, Trial
from problems.params import check_fraction, check_int
from problems.space import Categorical, Float, Int, SearchSpace

__all__ = ["GradientBoostingProblem", "RandomForestProblem"]


class _CVTrial(Trial):
    """One cross-validated evaluation: all the work happens at step 1.

    Nothing but the resulting numbers is kept afterwards (fitted models are dropped), so
    a finished trial holds a few hundred bytes.
    """

    problem: _CrossValidatedProblem

    def _train(self, step: int) -> int:
        self._result = self.problem.fit_and_score(self.config)
        # A single-fidelity evaluation costs one compute unit (DESIGN); the work inside it
        # (folds, trees) is recorded in the metrics.
        return 1

    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        return self._result


class _CrossValidatedProblem(Problem):
    """Mean k-fold CV accuracy on the training part, as scikit-learn's ``GridSearchCV``
    (``scoring='accuracy'``) and ``cross_val_score`` compute it; maximize.

    Folds are those ``check_cv(cv, y, classifier=True)`` makes (``StratifiedKFold`` without
    shuffling), and the fold scores come from ``cross_validate``, the same code path as
    ``GridSearchCV``, so values equal scikit-learn's to the last bit. The model's
    ``random_state`` is the problem setting `model_seed`, not the cell seed, as in the
    chapter (its grid and random searches compare configurations on identical forests).

    Metrics: ``test_value`` (accuracy on the held-out test part of a model refit on the
    whole training part) and ``test_log_loss`` (its log-loss), both absent when `test_size`
    is 0; ``cv_log_loss`` (mean fold log-loss), ``cv_accuracy_std``, ``n_folds`` and
    ``n_trees`` (trees actually fitted, over the folds and the refit).
    """

    direction = "maximize"
    metric_names: ClassVar[tuple[str, ...]] = (
        "test_value", "cv_log_loss", "cv_accuracy_std", "n_folds", "n_trees", "test_log_loss"
    )
    name: ClassVar[str] = ""

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        cv: int,
        test_size: float,
        split_seed: int,
        model_seed: int,
        n_jobs: int,
    ) -> None:
        from sklearn.model_selection import check_cv

        self.cv = check_int("cv", cv, 2)
        test_size = check_fraction("test_size", test_size, low_open=False)
        self.split_seed = check_int("split_seed", split_seed, 0)
        self.model_seed = check_int("model_seed", model_seed, 0)
        self.n_jobs = check_int("n_jobs", n_jobs, 1)
        if test_size > 0:
            data = split_data(x, y, test_size, 1.0, self.split_seed)
            self.x_train, self.y_train = data.x_train, data.y_train
            self.x_test, self.y_test = data.x_test, data.y_test
        else:
            self.x_train, self.y_train, self.x_test, self.y_test = x, y, None, None
            # No test part, no test metrics: the declaration says what reports record.
            self.metric_names = tuple(m for m in self.metric_names if not m.startswith("test_"))
        splitter = check_cv(self.cv, self.y_train, classifier=True)
        self.folds = list(splitter.split(self.x_train, self.y_train))

    def make_model(self, config: Mapping[str, Any]) -> Any:
        """The unfitted estimator for `config` (missing parameters: model defaults)."""
        raise NotImplementedError

    def fit_and_score(self, config: Mapping[str, Any]) -> tuple[float, dict[str, Any]]:
        """Cross-validate `config`, refit on the training part, score the test part."""
        from sklearn.metrics import accuracy_score, log_loss
        from sklearn.model_selection import cross_validate

        model = self.make_model(config)
        scores = cross_validate(
            model,
            self.x_train,
            self.y_train,
            cv=self.folds,
            scoring={"accuracy": "accuracy", "neg_log_loss": "neg_log_loss"},
            n_jobs=self.n_jobs,
            return_estimator=True,
            error_score="raise",
        )
        accuracy = scores["test_accuracy"]
        metrics: dict[str, Any] = {
            "cv_log_loss": float(-np.mean(scores["test_neg_log_loss"])),
            "cv_accuracy_std": float(np.std(accuracy)),
            "n_folds": len(self.folds),
        }
        n_trees = sum(_n_trees(m) for m in scores["estimator"])
        if self.x_test is not None:
            model.fit(self.x_train, self.y_train)
            n_trees += _n_trees(model)
            metrics["test_value"] = float(accuracy_score(self.y_test, model.predict(self.x_test)))
            proba = model.predict_proba(self.x_test)
            metrics["test_log_loss"] = float(log_loss(self.y_test, proba))
        metrics["n_trees"] = n_trees
        return float(np.mean(accuracy)), metrics

    def trial(self, config: Mapping[str, Any], seed: int) -> Trial:
        """A one-step trial; the model seed is the problem's `model_seed`, not `seed`."""
        model_params(self.space, config, self.name)  # reject unknown names before any work
        return _CVTrial(self, config, seed)


def _n_trees(model: Any) -> int:
    return int(np.size(model.estimators_))


class RandomForestProblem(_CrossValidatedProblem):
    """The chapter's random forest: ``RandomForestClassifier`` on
    ``make_classification(n_samples=1000, n_features=20, n_informative=15, n_redundant=5,
    random_state=42)``, 80/20 train/test split (``random_state=42``), objective the mean
    3-fold CV accuracy on the training part; maximize.

    Space (the chapter's random search): `n_estimators` 50-300, `max_depth` 3-20,
    `min_samples_split` 2-20, `min_samples_leaf` 1-10, `max_features` 0.3-1.0. With the
    chapter's 36-point grid (``optimizer=grid_rf_chapter``) every value equals
    ``GridSearchCV(RandomForestClassifier(random_state=42), grid, cv=3)``'s
    ``mean_test_score``.

    Args:
        n_samples, n_features, n_informative, n_redundant, data_seed: the dataset.
        test_size: fraction held out as the test set (0: none, no ``test_value``).
        split_seed: ``random_state`` of the train/test split.
        cv: number of stratified folds.
        model_seed: the forest's ``random_state``.
        n_jobs: processes for the folds (results do not depend on it).

    """

    name = "rf"

    def __init__(
        self,
        n_samples: int = 1000,
        n_features: int = 20,
        n_informative: int = 15,
        n_redundant: int = 5,
        data_seed: int = 42,
        test_size: float = 0.2,
        split_seed: int = 42,
        cv: int = 3,
        model_seed: int = 42,
        n_jobs: int = 1,
    ) -> None:
        from sklearn.datasets import make_classification

        x, y = make_classification(
            n_samples=check_int("n_samples", n_samples, 10),
            n_features=check_int("n_features", n_features, 1),
            n_informative=check_int("n_informative", n_informative, 1),
            n_redundant=check_int("n_redundant", n_redundant, 0),
            random_state=check_int("data_seed", data_seed, 0),
        )
        super().__init__(x, y, cv, test_size, split_seed, model_seed, n_jobs)
        self.space = SearchSpace(
            (
                Int("n_estimators", 50, 300),
                Int("max_depth", 3, 20),
                Int("min_samples_split", 2, 20),
                Int("min_samples_leaf", 1, 10),
                Float("max_features", 0.3, 1.0),
            )
        )

    def make_model(self, config: Mapping[str, Any]) -> Any:
        """``RandomForestClassifier(random_state=model_seed, **config)``."""
        from sklearn.ensemble import RandomForestClassifier

        params = model_params(self.space, config, self.name)
        return RandomForestClassifier(random_state=self.model_seed, **params)


class GradientBoostingProblem(_CrossValidatedProblem):
    """The chapter's gradient boosting: ``GradientBoostingClassifier(random_state=42)`` on
    ``load_breast_cancer`` (569 samples, shipped with scikit-learn), objective the mean
    5-fold CV accuracy; maximize.

    The chapter cross-validates on all 569 samples and has no test set. Here, by default,
    20% (``test_size=0.2``, ``random_state=42``) is held out first so that a test accuracy
    (``test_value``: a model refit on the other 80%) can be recorded; the CV runs on the
    80%. ``test_size=0`` gives the chapter's exact objective (and no ``test_value``).

    Space (the chapter's): `n_estimators` 50-500, `learning_rate` 0.01-0.3 log,
    `max_depth` 3-10, `min_samples_split` 2-20, `min_samples_leaf` 1-10, `subsample`
    0.5-1.0, `max_features` in {sqrt, log2, None}.

    Args:
        test_size: fraction held out as the test set (0: the chapter's setup).
        split_seed: ``random_state`` of the train/test split.
        cv: number of stratified folds.
        model_seed: the model's ``random_state`` (subsampling, feature sampling).
        n_jobs: processes for the folds (results do not depend on it).

    """

    name = "gbm"

    def __init__(
        self,
        test_size: float = 0.2,
        split_seed: int = 42,
        cv: int = 5,
        model_seed: int = 42,
        n_jobs: int = 1,
    ) -> None:
        from sklearn.datasets import load_breast_cancer

        x, y = load_breast_cancer(return_X_y=True)
        super().__init__(x, y, cv, test_size, split_seed, model_seed, n_jobs)
        self.space = SearchSpace(
            (
                Int("n_estimators", 50, 500),
                Float("learning_rate", 0.01, 0.3, log=True),
                Int("max_depth", 3, 10),
                Int("min_samples_split", 2, 20),
                Int("min_samples_leaf", 1, 10),
                Float("subsample", 0.5, 1.0),
                Categorical("max_features", ("sqrt", "log2", None)),
            )
        )

    def make_model(self, config: Mapping[str, Any]) -> Any:
        """``GradientBoostingClassifier(random_state=model_seed, **config)``."""
        from sklearn.ensemble import GradientBoostingClassifier

        params = model_params(self.space, config, self.name)
        return GradientBoostingClassifier(random_state=self.model_seed, **params)
