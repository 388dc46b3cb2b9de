"""The chapter's PyTorch MLP (SimpleNet) problem: epochs as the fidelity."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from problems._ml import model_params, split_data
from problems.base import Fidelity, Problem, Trial, config_seed
from problems.params import check_fraction, check_int
from problems.space import Categorical, Float, SearchSpace

__all__ = ["MLPProblem", "SimpleNet"]


class SimpleNet(nn.Module):
    """The chapter's network: Linear -> ReLU -> Linear.

    Parameters are created without touching torch's global generator (on the meta device)
    and initialised as ``nn.Linear`` does (Kaiming-uniform weights, uniform biases) from
    `generator`, so a network depends only on its seed.
    """

    def __init__(
        self, input_size: int, hidden_size: int, output_size: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size, device="meta")
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, output_size, device="meta")
        self.to_empty(device="cpu")
        with torch.no_grad():
            for layer in (self.fc1, self.fc2):
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                bound = 1 / math.sqrt(layer.in_features)
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of each class."""
        return self.fc2(self.relu(self.fc1(x)))


class MLPProblem(Problem):
    """SimpleNet trained with Adam and cross-entropy on ``make_classification(n_samples=1000,
    n_features=20, random_state=42)``; fidelity = epochs 1..`max_epochs`; maximize.

    Data: ``train_test_split(test_size=holdout_size=0.4, random_state=42)`` leaves 600
    training rows; the 400 held out are split in half (``test_share=0.5``): 200 validation
    rows give the objective, 200 test rows the ``test_value``. (The chapter trains on all
    1000 rows and reports training accuracy, which cannot rank configurations honestly.)

    Objective: validation accuracy (maximize), the metric the chapter reports; the
    validation cross-entropy is recorded as ``valid_loss`` (with ``train_loss``, the mean
    minibatch loss of the last epoch, and ``test_loss``). ``test_value`` is test accuracy.

    Determinism: a ``torch.Generator`` seeded from (cell seed, configuration) initialises the
    weights and shuffles each epoch; torch runs on `num_threads` threads with deterministic
    algorithms. One epoch is one compute unit. A clone copies weights, Adam's state and the
    generator; a new `lr` (PBT) is applied to the copied optimizer. `hidden_size` cannot
    change in a clone (the weights fix it).

    Memory: a paused trial holds the network and Adam's two moment buffers: 3 x (21h + 2h
    + 2) float32 values, 17-70 KB for h = 32..256 (plus the generator's 5 KB state). Beyond
    the runner's `paused_memory` a paused trial is pickled to a file (``restores_state``)
    and continues from it bit for bit.

    Args:
        n_samples, n_features, data_seed: the dataset.
        holdout_size, test_share, split_seed: the splits (see above).
        max_epochs, min_epochs, report_every: the fidelity (epochs).
        num_threads: torch intra-op threads (fixed, for determinism).

    """

    direction = "maximize"
    #: Weights, Adam's state and the generator pickle and continue bit for bit (tested).
    restores_state = True
    metric_names: ClassVar[tuple[str, ...]] = ("test_value", "valid_loss", "test_loss",
                                               "train_loss")

    def __init__(
        self,
        n_samples: int = 1000,
        n_features: int = 20,
        data_seed: int = 42,
        holdout_size: float = 0.4,
        test_share: float = 0.5,
        split_seed: int = 42,
        max_epochs: int = 27,
        min_epochs: int = 1,
        report_every: int = 1,
        num_threads: int = 1,
    ) -> None:
        from sklearn.datasets import make_classification

        x, y = make_classification(
            n_samples=check_int("n_samples", n_samples, 10),
            n_features=check_int("n_features", n_features, 2),
            random_state=check_int("data_seed", data_seed, 0),
        )
        data = split_data(
            x,
            y,
            check_fraction("holdout_size", holdout_size),
            check_fraction("test_share", test_share),
            check_int("split_seed", split_seed, 0),
        )
        self.tensors = {
            part: (torch.as_tensor(xs, dtype=torch.float32), torch.as_tensor(ys))
            for part, xs, ys in (
                ("train", data.x_train, data.y_train),
                ("valid", data.x_valid, data.y_valid),
                ("test", data.x_test, data.y_test),
            )
        }
        self.n_features = n_features
        self.num_threads = check_int("num_threads", num_threads, 1)
        self.fidelity = Fidelity(
            "epoch",
            check_int("min_epochs", min_epochs, 1),
            check_int("max_epochs", max_epochs, 1),
            check_int("report_every", report_every, 1),
        )
        self.space = SearchSpace(
            (
                Categorical("hidden_size", (32, 64, 128, 256)),
                Float("lr", 1e-4, 1e-2, log=True),
                Categorical("batch_size", (16, 32, 64)),
            )
        )

    def settings(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The configuration with defaults for missing parameters (hidden 64, lr 1e-3 as
        Adam's default, batch 32), checked for unknown names.
        """
        return {"hidden_size": 64, "lr": 1e-3, "batch_size": 32,
                **model_params(self.space, config, "mlp")}

    def trial(self, config: Mapping[str, Any], seed: int) -> Trial:
        """A fresh, initialised network at epoch 0."""
        return _MLPTrial(self, config, seed)


class _MLPTrial(Trial):
    problem: MLPProblem

    def __init__(self, problem: Problem, config: Mapping[str, Any], seed: int) -> None:
        super().__init__(problem, config, seed)
        settings = self.problem.settings(config)
        state = config_seed(seed, config).generate_state(2, dtype=np.uint64)
        self._generator = torch.Generator().manual_seed(int(state[0] >> np.uint64(1)))
        _torch_setup(self.problem.num_threads)
        self._model = SimpleNet(self.problem.n_features, settings["hidden_size"], 2,
                                self._generator)
        self._optimizer = torch.optim.Adam(self._model.parameters(), lr=settings["lr"])
        self._batch_size = settings["batch_size"]
        self._train_loss = math.nan

    def _train(self, step: int) -> int:
        _torch_setup(self.problem.num_threads)
        x, y = self.problem.tensors["train"]
        loss_fn = nn.CrossEntropyLoss()
        self._model.train()
        for _ in range(step - self.step):
            order = torch.randperm(len(y), generator=self._generator)
            total, batches = 0.0, 0
            for start in range(0, len(y), self._batch_size):
                idx = order[start : start + self._batch_size]
                self._optimizer.zero_grad()
                loss = loss_fn(self._model(x[idx]), y[idx])
                loss.backward()
                self._optimizer.step()
                total += loss.item()
                batches += 1
            self._train_loss = total / batches
        return step - self.step

    def _evaluate(self) -> tuple[float, Mapping[str, Any]]:
        self._model.eval()
        out: dict[str, float] = {}
        with torch.no_grad():
            for part in ("valid", "test"):
                x, y = self.problem.tensors[part]
                logits = self._model(x)
                out[f"{part}_loss"] = float(nn.functional.cross_entropy(logits, y))
                out[f"{part}_accuracy"] = float((logits.argmax(1) == y).double().mean())
        metrics = {"test_value": out["test_accuracy"], "valid_loss": out["valid_loss"],
                   "test_loss": out["test_loss"], "train_loss": self._train_loss}
        return out["valid_accuracy"], metrics

    def _on_config_change(self) -> None:
        """PBT: a new `lr` goes to the copied Adam state, a new `batch_size` applies from
        the next epoch; `hidden_size` is fixed by the copied weights.
        """
        settings = self.problem.settings(self.config)
        if settings["hidden_size"] != self._model.fc1.out_features:
            raise ValueError(
                f"`hidden_size` cannot change in a cloned mlp trial (the copied weights have "
                f"{self._model.fc1.out_features}), got {settings['hidden_size']}."
            )
        for group in self._optimizer.param_groups:
            group["lr"] = settings["lr"]
        self._batch_size = settings["batch_size"]


def _torch_setup(num_threads: int) -> None:
    # Process-wide settings, set before every use so another problem in the same process
    # cannot change the arithmetic under us.
    if torch.get_num_threads() != num_threads:
        torch.set_num_threads(num_threads)
    torch.use_deterministic_algorithms(True)
