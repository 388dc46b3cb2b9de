"""SMAC adapter overhead: a cell through the runner (Parquet written) vs SMAC's own `optimize()`.

Target: time(runner + adapter + Parquet) / time(raw SMAC loop) <= 1.10 for `smac`, measured
as `test_adapter_overhead.py` measures the Optuna and Hyperopt adapters: both loops in
lockstep (two threads taking turns one trial at a time, each clock running only in its own
turns), every thread pinned to one CPU, the cyclic GC off during a round; the ratio is the
median of the rounds. The raw loop is SMAC's documented one: a Scenario, the facade with the
conf's component arguments, ``optimize()`` with a target function that hands the turn over
after computing its value. SMAC spends ≈ 0.4 s a proposal here (random forest, 10,000
challengers), so 40 trials and 3 rounds take about two minutes on a busy 2-core machine.

The GP facade (`smac_bb`, seconds a proposal) and `smac_mf` share the adapter's code path
(`ask` → decode → job, `tell` → TrialValue) and are not timed separately.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import ConfigSpace as CS
import pytest
from omegaconf import OmegaConf
from smac import Scenario
from test_adapter_overhead import Turns, _function, _quiet_process, _through_runner

from benchmarks.executors import git_commit
from optimizers.smac_adapter import COMPONENTS, FACADES

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
TARGET = 1.10


def _space() -> CS.ConfigurationSpace:
    """The trivial problem's five parameters, as a SMAC user writes them."""
    cs = CS.ConfigurationSpace(seed=0)
    cs.add([
        CS.Integer("a", (0, 10)), CS.Float("b", (1e-3, 1.0), log=True), CS.Float("c", (-1.0, 1.0)),
        CS.Categorical("d", ["x", "yy", "zzz"]), CS.Integer("e", (1, 256), log=True),
    ])
    return cs


def _raw(conf: dict, n_trials: int, after: Callable[[], None] = lambda: None) -> None:
    """SMAC's own loop with the conf's arguments; `after` runs once per trial."""
    facade = FACADES[conf["facade"]]

    def target(config, seed: int) -> float:
        value = _function(dict(config))
        after()
        return value

    with tempfile.TemporaryDirectory() as out:
        scenario = Scenario(_space(), deterministic=conf["deterministic"], n_trials=n_trials,
                            seed=0, output_directory=Path(out))
        args = {name: dict(conf.get(name) or {}) for name in COMPONENTS}
        args["initial_design"]["max_ratio"] = 1.0  # the adapter's size, whatever n_trials
        components = {name: getattr(facade, f"get_{name}")(scenario, **kwargs)
                      for name, kwargs in args.items()}
        facade(scenario, target, **components, overwrite=True, logging_level=False).optimize()


def _ratio(conf: dict, n_trials: int, out: Path) -> tuple[float, dict[str, float]]:
    turns = Turns()
    ratio = turns.run(
        lambda: _raw(conf, n_trials, after=lambda: turns.handover("raw")),
        lambda: _through_runner(conf, n_trials, out, on_report=lambda: turns.handover("runner")),
    )
    return ratio, turns.seconds


@pytest.mark.bench
@pytest.mark.parametrize("name", ["smac"])
def test_smac_adapter_overhead(benchmark, name, tmp_path):
    conf = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "optimizer" / f"{name}.yaml"))
    n_trials, rounds = (12, 1) if benchmark.disabled else (40, 3)
    git_commit()  # cached; its subprocess is not part of any loop
    _raw(conf, 2), _through_runner(conf, 2, tmp_path)  # imports and caches warmed up

    ratios, seconds = [], []
    for _ in range(rounds):
        with _quiet_process():
            ratio, times = _ratio(conf, n_trials, tmp_path)
        ratios.append(ratio)
        seconds.append(times)
    benchmark.pedantic(_through_runner, args=(conf, n_trials, tmp_path), rounds=1, iterations=1)
    ratio = statistics.median(ratios)
    benchmark.extra_info.update(ratio=ratio, ratios=ratios, seconds=seconds, n_trials=n_trials)
    print(f"\n{name}: runner/raw = {ratio:.3f} (rounds: {', '.join(f'{r:.3f}' for r in ratios)})")
    assert len(list(tmp_path.glob("*.parquet"))) == rounds + 2
    if not benchmark.disabled:
        assert ratio <= TARGET, f"{name}: runner/raw = {ratio:.3f} > {TARGET}"
