"""Exercise 4: compute units of successive-halving schedules against random search."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.load import Results
from analysis.stats import final_values
from analysis.tables._table import Table, _mean_std, _optimizer_param, _present_on
from analysis.tables.families import family, first_of

__all__ = ["asha_savings", "sha_units"]


def sha_units(n_configs: int, eta: float, min_step: float, max_step: float,
              resume: bool) -> float:
    """Compute units of synchronous successive halving on `n_configs` configurations.

    Rungs at min_step·η^k up to max_step, floor(n/η^k) configurations at rung k. With
    `resume` (continuation) a promoted trial trains only the steps it has not done yet;
    without, it retrains from scratch. 81 configurations, η = 3, rungs 1..81: 297 / 405.
    """
    if eta < 2:
        raise ValueError(f"`eta` must be >= 2, got {eta}.")
    total, previous, k = 0.0, 0.0, 0
    while True:
        step = min(min_step * eta ** k, max_step)
        n = int(n_configs // eta ** k)
        if n < 1:
            break
        total += n * ((step - previous) if resume else step)
        if step >= max_step:
            break
        previous, k = step, k + 1
    return total


def _roots(reports: pd.DataFrame) -> pd.Series:
    """Per cell, the configurations drawn: trials that are not restarts or clones."""
    first = reports.groupby(["seed", "trial"], sort=False).parent_trial.first()
    return first.isna().groupby(level="seed").sum()


def asha_savings(results: Results, baseline: str | None = None) -> Table:
    """Exercise 4: units of SHA-family schedules vs random search at full fidelity."""
    baseline = baseline or first_of(results, "random_baseline") or ""
    fidelity, theory = family(results, "multi_fidelity"), family(results, "successive_halving")
    finals = final_values(results)
    rows = []
    max_steps = results.max_steps()
    for problem in sorted(set(results.cells.problem)):
        max_step = max_steps.get(problem)
        if max_step is None or pd.isna(max_step):
            continue
        names = _present_on(results, problem, fidelity)
        if not names:
            continue
        base = results.rows(problem, baseline)
        base_per_config = (
            (base.groupby("seed").cum_units.last() / _roots(base)).mean() if len(base)
            else np.nan
        )
        for optimizer in ([baseline] if len(base) else []) + names:
            r = results.rows(problem, optimizer)
            configs = _roots(r).mean()
            units = r.groupby("seed").cum_units.last().mean()
            eta = _optimizer_param(results, problem, optimizer,
                                   ("reduction_factor", "eta"))
            min_step = _optimizer_param(results, problem, optimizer,
                                        ("min_fidelity", "min_step", "grace_period", "min_t",
                                         "min_resource"))
            theory_restart = theory_cont = np.nan
            if optimizer in theory and eta and eta >= 2:
                lo = min_step or float(results.cells[results.cells.problem == problem]
                                       .min_step.iloc[0] or 1)
                theory_restart = sha_units(int(round(configs)), eta, lo, max_step, False)
                theory_cont = sha_units(int(round(configs)), eta, lo, max_step, True)
            o = finals[(finals.problem == problem) & (finals.optimizer == optimizer)]
            same = base_per_config * configs
            rows.append({
                "problem": problem, "optimizer": optimizer, "seeds": len(o),
                "configurations": configs, "units": units,
                "full-fidelity units (configs × R)": configs * max_step,
                "saving vs configs × R": 1.0 - units / (configs * max_step),
                "random units, same configs": same,
                "saving vs random": 1.0 - units / same if same > 0 else np.nan,
                "theory SHA restart": theory_restart,
                "theory SHA continuation": theory_cont,
                "final best (mean ± std)": _mean_std(o.best),
            })
    notes = [] if rows else [
        "needs a problem with a fidelity (learning_curve, lgbm, mlp) run with sha, "
        "sha_restart, asha, hyperband or ray_asha, and `random` for the baseline."]
    return Table(
        "asha_savings", "Successive-halving savings (exercise 4)", pd.DataFrame(rows), """\
- *configurations*: configurations drawn per cell (trials that are neither restarts nor
  clones), mean over seeds; *units*: compute units spent per cell (mean).
- *full-fidelity units*: configurations × R (R = the problem's maximum fidelity), what
  training every configuration to the end would cost.
- *random units, same configs*: units per configuration measured in this problem's
  `random` cells (full fidelity) × this row's configurations; *saving vs random* =
  1 − units / that.
- *theory SHA restart / continuation*: synchronous successive halving on this many
  configurations with the optimizer's η and minimum step (rungs min·η^k, ⌊n/η^k⌋
  configurations each); promotions retrain from scratch (restart) or resume (continuation).
  The chapter's example (81 configurations, η = 3, rungs 1, 3, 9, 27, 81) costs 405 units
  with restarts and 297 with continuation, against 81 · 81 = 6561 at full fidelity (the
  chapter writes 81 × 100 = 8100 with R = 100).
- *final best*: the final incumbent (any fidelity) in the problem's direction.
""", notes)
