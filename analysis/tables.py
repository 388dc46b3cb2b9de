"""The comparison tables of the chapter study, each with the definitions of its columns.

Every builder takes loaded :class:`~analysis.load.Results` and returns a :class:`Table`
(possibly empty, with a note saying which runs it needs). Builders never fail because an
optimizer or problem is missing: they use whatever subset of the study is present.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.curves import anytime_curves
from analysis.load import Results, problem_references
from analysis.stats import (
    final_values,
    friedman_nemenyi,
    nanmean,
    normalized_regret,
    pairwise_wilcoxon,
    rank_rows,
)

__all__ = [
    "FIDELITY_OPTIMIZERS",
    "GRID_OPTIMIZERS",
    "PBT_OPTIMIZERS",
    "PRUNING_OPTIMIZERS",
    "SAMPLER_OPTIMIZERS",
    "Table",
    "all_tables",
    "asha_savings",
    "block_losses",
    "early_stopping",
    "fidelity_counts",
    "grid_vs_random",
    "overall",
    "parameter_importance",
    "pbt_summary",
    "pruning",
    "rank_over_budget",
    "references_table",
    "samplers",
]

GRID_OPTIMIZERS = ("grid_rf_chapter", "grid", "optuna_grid")
FIDELITY_OPTIMIZERS = ("sha", "sha_restart", "asha", "asha_restart", "hyperband",
                       "ray_asha", "ray_hyperband", "optuna_asha", "optuna_hyperband",
                       "multifidelity")
PRUNING_OPTIMIZERS = ("tpe_median", "optuna_asha", "optuna_hyperband")
SAMPLER_OPTIMIZERS = ("random", "optuna_random", "tpe", "cmaes", "gp", "qmc", "hyperopt_tpe",
                      "hyperopt_random", "hyperopt_anneal", "gp_ei", "gp_ucb", "ray_random",
                      "ray_optuna")
PBT_OPTIMIZERS = ("pbt", "ray_pbt")
PBT_COMPARATORS = ("random", "asha", "ray_asha", "hyperband", "sha")
log = logging.getLogger(__name__)

#: Normalized regret at or below which a cell has "reached the target" (samplers table).
TARGET_REGRET = 0.05
JOB_END = ("completed", "paused", "pruned", "failed")


@dataclass
class Table:
    """A result table: its frame, the definitions written under it, and notes."""

    name: str
    title: str
    frame: pd.DataFrame
    definitions: str
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when the study holds none of the runs this table needs."""
        return self.frame.empty

    def markdown(self) -> str:
        """Render the table (or its notes when empty) followed by its definitions."""
        parts = [f"### {self.title}", ""]
        if self.empty:
            parts.append("_Not available in this study._")
        else:
            parts.append(self.frame.to_markdown(index=False, floatfmt=".4g"))
        parts.append("")
        parts.extend(f"_Note:_ {n}  " for n in self.notes)
        if self.notes:
            parts.append("")
        parts.append(self.definitions.strip())
        return "\n".join(parts) + "\n"

    def write(self, folder: Path) -> list[Path]:
        """Write `<name>.md` and `<name>.csv` (CSV only when not empty); return the paths."""
        folder.mkdir(parents=True, exist_ok=True)
        md = folder / f"{self.name}.md"
        md.write_text(self.markdown())
        paths = [md]
        if not self.empty:
            csv = folder / f"{self.name}.csv"
            self.frame.to_csv(csv, index=False)
            paths.append(csv)
        return paths


# -- helpers ------------------------------------------------------------------------------
def _present(results: Results, names: Iterable[str]) -> list[str]:
    have = set(results.cells.optimizer)
    return [n for n in names if n in have]


def _mean_std(values: pd.Series) -> str:
    v = values.dropna()
    if v.empty:
        return "n/a"
    std = v.std(ddof=1) if len(v) > 1 else 0.0
    return f"{v.mean():.4g} ± {std:.2g}"


def _optimizer_param(results: Results, problem: str, optimizer: str,
                     keys: Sequence[str]) -> float | None:
    cells = results.cells[(results.cells.problem == problem)
                          & (results.cells.optimizer == optimizer)]
    for meta in cells.meta:
        conf = (meta.get("config") or {}).get("optimizer") or {}
        for key in keys:
            if isinstance(conf.get(key), int | float) and not isinstance(conf.get(key), bool):
                return float(conf[key])
    return None


def _trial_ends(reports: pd.DataFrame) -> pd.DataFrame:
    """Rows that close a job (the trial stopped, paused or finished there)."""
    return reports[reports.status.isin(JOB_END)]


def _final_status(reports: pd.DataFrame) -> pd.Series:
    """Per (problem, optimizer, seed, trial), the status of its last report."""
    return reports.groupby(["problem", "optimizer", "seed", "trial"], sort=True).status.last()


# -- grid vs random -----------------------------------------------------------------------
def grid_vs_random(results: Results, random: str = "random") -> Table:
    """Chapter 2.1: the chapter grid against random search (on `rf`; any problem with both)."""
    finals = final_values(results)
    rows, notes = [], []
    problems = sorted(set(results.cells.problem))
    problems.sort(key=lambda p: p != "rf")
    for problem in problems:
        sub = finals[finals.problem == problem]
        grids = [g for g in GRID_OPTIMIZERS if g in set(sub.optimizer)]
        if not grids or random not in set(sub.optimizer):
            continue
        grid = grids[0]
        grid_wall = sub[sub.optimizer == grid].wall_time.mean()
        grid_units = sub[sub.optimizer == grid].units.mean()
        for optimizer in (grid, random):
            o = sub[sub.optimizer == optimizer]
            evaluations = results.reports[(results.reports.problem == problem)
                                          & (results.reports.optimizer == optimizer)]
            n_eval = _trial_ends(evaluations).groupby("seed").size().mean()
            rows.append({
                "problem": problem, "optimizer": optimizer, "seeds": len(o),
                "evaluations": n_eval, "best CV score": o.best.mean(),
                "best (mean ± std)": _mean_std(o.best),
                "test score of incumbent": o.test_value.mean(),
                "wall time (s)": o.wall_time.mean(), "compute units": o.units.mean(),
                "time reduction vs grid": 1.0 - o.wall_time.mean() / grid_wall
                if grid_wall > 0 else np.nan,
                "unit reduction vs grid": 1.0 - o.units.mean() / grid_units
                if grid_units > 0 else np.nan,
            })
    if not rows:
        notes.append("needs `problem=rf` with `optimizer=grid_rf_chapter` (or grid / "
                     "optuna_grid) and `optimizer=random`.")
    elif "rf" not in {r["problem"] for r in rows}:
        notes.append("the chapter's version uses `rf` with `grid_rf_chapter`; this study "
                     "compares grid and random on the problems listed.")
    return Table(
        "grid_vs_random", "Grid search vs random search (chapter 2.1)", pd.DataFrame(rows),
        """\
- *evaluations*: evaluations recorded per cell (mean over seeds).
- *best CV score*: the final incumbent in the problem's direction (for `rf`, the mean 3-fold
  CV accuracy of the best configuration), mean over seeds; *best (mean ± std)* adds the std.
- *test score of incumbent*: the held-out test metric recorded with the report that first
  reached the final incumbent (`test_value`), mean over seeds.
- *wall time (s)*: real seconds per cell (mean); *compute units*: units spent per cell.
- *time reduction vs grid*: 1 − wall(random) / wall(grid), as the chapter prints it
  (wall time depends on the machine; the unit reduction does not).
""", notes)


# -- ASHA savings -------------------------------------------------------------------------
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


def asha_savings(results: Results, baseline: str = "random") -> Table:
    """Exercise 4: units of SHA-family schedules vs random search at full fidelity."""
    finals = final_values(results)
    rows = []
    max_steps = results.max_steps()
    for problem in sorted(set(results.cells.problem)):
        max_step = max_steps.get(problem)
        if max_step is None or pd.isna(max_step):
            continue
        names = _present(results.subset(problems=[problem]), FIDELITY_OPTIMIZERS)
        if not names:
            continue
        reps = results.reports[results.reports.problem == problem]
        base = reps[reps.optimizer == baseline]
        base_per_config = (
            (base.groupby("seed").cum_units.last() / _roots(base)).mean() if len(base)
            else np.nan
        )
        for optimizer in ([baseline] if len(base) else []) + names:
            r = reps[reps.optimizer == optimizer]
            configs = _roots(r).mean()
            units = r.groupby("seed").cum_units.last().mean()
            eta = _optimizer_param(results, problem, optimizer,
                                   ("reduction_factor", "eta"))
            min_step = _optimizer_param(results, problem, optimizer,
                                        ("min_fidelity", "min_step", "grace_period", "min_t",
                                         "min_resource"))
            theory_restart = theory_cont = np.nan
            if optimizer.startswith(("sha", "asha")) and eta and eta >= 2:
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


# -- fidelity counts ----------------------------------------------------------------------
def fidelity_counts(results: Results) -> Table:
    """Chapter 2.5: evaluations per fidelity level (rung, bracket start) per optimizer."""
    rows = []
    max_steps = results.max_steps()
    for problem in sorted(set(results.cells.problem)):
        max_step = max_steps.get(problem)
        if max_step is None or pd.isna(max_step):
            continue
        reps = results.reports[results.reports.problem == problem]
        for optimizer in _present(results.subset(problems=[problem]),
                                  (*FIDELITY_OPTIMIZERS, *PBT_OPTIMIZERS)):
            r = reps[reps.optimizer == optimizer]
            seeds = r.seed.nunique()
            ends = _trial_ends(r)
            first = ends.groupby(["seed", "trial"], sort=False).step.first()
            starts = first.value_counts()
            for step, count in ends.step.value_counts().sort_index().items():
                rows.append({
                    "problem": problem, "optimizer": optimizer, "step": int(step),
                    "fraction of max": step / max_step,
                    "evaluations per cell": count / seeds,
                    "trials starting here per cell": starts.get(step, 0) / seeds,
                })
    notes = [] if rows else [
        "needs a problem with a fidelity run with multifidelity, sha, asha, hyperband or "
        "their Ray/Optuna versions."]
    return Table(
        "fidelity_counts", "Evaluations per fidelity level (chapter 2.5)", pd.DataFrame(rows),
        """\
- *step*: the fidelity step (iterations, boosting rounds, epochs) at which a job ended: a
  rung of SHA/ASHA, a level of `multifidelity` (0.1/0.3/0.5/1.0 of the maximum), a
  perturbation point of PBT; *fraction of max*: step / the problem's maximum.
- *evaluations per cell*: jobs that ended at that step (completed, paused, pruned or
  failed), mean over seeds.
- *trials starting here per cell*: trials whose first job ended at that step; for
  Hyperband these are the bracket sizes (a bracket's trials all start at its lowest rung).
""", notes)


# -- early stopping -----------------------------------------------------------------------
def _problem_setting(meta: dict, key: str) -> object:
    return ((meta.get("config") or {}).get("problem") or {}).get(key)


def early_stopping(results: Results, key: str = "early_stopping_rounds") -> Table:
    """Chapter 2.1: boosting rounds and accuracy with and without early stopping."""
    cells = results.cells.copy()
    cells["setting"] = [_problem_setting(m, key) for m in cells.meta]
    cells["class"] = [(m.get("problem_info") or {}).get("class") for m in cells.meta]
    has_key = cells[[key in ((m.get("config") or {}).get("problem") or {})
                     for m in cells.meta]]
    rows = []
    finals = final_values(results)
    for (_, optimizer), group in has_key.groupby(["class", "optimizer"], sort=True):
        per = []
        for problem, g in group.groupby("problem", sort=True):
            setting = g.setting.iloc[0]
            r = results.reports[(results.reports.problem == problem)
                                & (results.reports.optimizer == optimizer)]
            done = r[r.status == "completed"]
            o = finals[(finals.problem == problem) & (finals.optimizer == optimizer)]
            per.append({
                "problem": problem, "optimizer": optimizer,
                key: "off" if setting is None or pd.isna(setting) or not setting
                else int(setting),
                "seeds": len(o), "trials per cell": o.n_trials.mean(),
                "rounds per completed trial": done.step.mean(),
                "max rounds": g.max_step.iloc[0],
                "units per cell": o.units.mean(),
                "validation value (completed, mean)": done.value.mean(),
                "test value (completed, mean)": done.test_value.mean(),
                "best (mean ± std)": _mean_std(o.best),
                "test value of incumbent": o.test_value.mean(),
            })
        off = [p for p in per if p[key] == "off"]
        for p in per:
            p["unit reduction vs off"] = (1.0 - p["units per cell"] / off[0]["units per cell"]
                                          if off and off[0]["units per cell"] else np.nan)
        rows.extend(per)
    notes = []
    if not rows:
        notes.append(f"needs LightGBM cells whose problem conf sets `{key}` (the same "
                     "optimizer on `lgbm` and on a problem conf with early stopping on).")
    elif not any(r[key] == "off" for r in rows) or all(r[key] == "off" for r in rows):
        notes.append("only one early-stopping setting is present; the comparison needs "
                     "both.")
    return Table(
        "early_stopping", "Early stopping in LightGBM (chapter 2.1)", pd.DataFrame(rows), f"""\
- Rows are grouped by problem class and optimizer; `{key}` is read from each cell's
  problem configuration ("off" when unset or 0).
- *rounds per completed trial*: the boosting round at which completed trials stopped
  (the maximum without early stopping), mean over trials and seeds.
- *validation value* / *test value*: the problem's objective (validation metric) and the
  held-out test metric of completed trials, mean.
- *unit reduction vs off*: 1 − units / units without early stopping (same optimizer and
  problem class, same seeds and trial budget), i.e. the computation saved.
""", notes)


# -- pruning ------------------------------------------------------------------------------
def pruning(results: Results, baselines: Sequence[str] = ("tpe", "random")) -> Table:
    """Chapter 2.2: completed vs pruned trials, pruning rate and units saved, per pruner."""
    finals = final_values(results)
    statuses = _final_status(results.reports)
    rows = []
    max_steps = results.max_steps()
    for problem in sorted(set(results.cells.problem)):
        max_step = max_steps.get(problem)
        if max_step is None or pd.isna(max_step):
            continue
        reps = results.reports[results.reports.problem == problem]
        with_pruned = sorted(set(reps[reps.status == "pruned"].optimizer))
        pruners = [*_present(results.subset(problems=[problem]), PRUNING_OPTIMIZERS),
                   *[o for o in with_pruned if o not in PRUNING_OPTIMIZERS
                     and o not in FIDELITY_OPTIMIZERS]]
        if not pruners:
            continue
        base = _present(results.subset(problems=[problem]), baselines)
        base_units = (finals[(finals.problem == problem) & (finals.optimizer == base[0])]
                      .set_index("seed").units) if base else None
        for optimizer in [*base, *pruners]:
            st = statuses.loc[problem, optimizer]
            o = finals[(finals.problem == problem) & (finals.optimizer == optimizer)]
            seeds = len(o)
            completed = int((st == "completed").sum())
            pruned = int((st == "pruned").sum())
            trials = o.n_trials.sum()
            units = o.units.mean()
            vs_base = np.nan
            if base_units is not None:
                paired = o.set_index("seed").units.to_frame("u").join(base_units.rename("b"),
                                                                      how="inner")
                if len(paired):
                    vs_base = 1.0 - paired.u.mean() / paired.b.mean()
            rows.append({
                "problem": problem, "optimizer": optimizer, "seeds": seeds,
                "trials per cell": trials / seeds, "completed per cell": completed / seeds,
                "pruned per cell": pruned / seeds,
                "pruning rate": pruned / (completed + pruned) if completed + pruned else np.nan,
                "units per cell": units,
                "units saved vs trials × R": 1.0 - units / (trials / seeds * max_step),
                f"units saved vs {base[0] if base else 'baseline'}": vs_base,
                "final best (mean ± std)": _mean_std(o.best),
            })
    notes = [] if rows else [
        "needs a problem with a fidelity run with tpe_median, optuna_asha or optuna_hyperband "
        "(and `tpe` without a pruner as the baseline)."]
    return Table(
        "pruning", "Pruning (chapter 2.2)", pd.DataFrame(rows), """\
- A trial is *completed* or *pruned* by the status of its last report; *pruning rate* =
  pruned / (completed + pruned).
- *units saved vs trials × R*: 1 − units / (trials × R), R the maximum fidelity: the share
  of training avoided compared with running every trial to the end.
- *units saved vs baseline*: 1 − units / units of the first baseline present (the sampler
  without a pruner, else random search), on the same seeds. Budgets in trials make this a
  like-for-like comparison; budgets in units make it ~0 and the gain shows in *trials*.
- *final best*: the final incumbent (any fidelity) in the problem's direction.
""", notes)


# -- samplers -----------------------------------------------------------------------------
def _reach(reports: pd.DataFrame, target_loss: float) -> tuple[float, float]:
    hit = reports[reports.best_loss <= target_loss]
    if hit.empty:
        return (np.nan, np.nan)
    first = hit.iloc[0]
    return (float(first.cum_units), float(first.wall_time))


def samplers(results: Results, names: Sequence[str] = SAMPLER_OPTIMIZERS,
             target_regret: float = TARGET_REGRET) -> Table:
    """Chapters 2.2–2.3: samplers per problem: final best, regret, rank, cost to a target."""
    refs = problem_references(results)
    finals = final_values(results)
    rows, notes = [], []
    for problem in sorted(set(results.cells.problem)):
        present = _present(results.subset(problems=[problem]), names)
        if len(present) < 2:
            continue
        sign = results.sign(problem)
        ref = refs.get(problem)
        f = finals[(finals.problem == problem) & finals.optimizer.isin(present)]
        ranks = rank_rows(f.pivot(index="seed", columns="optimizer", values="best_loss")
                          .dropna())
        target_loss = (sign * ref.value + target_regret * (abs(ref.value) or 1.0)
                       if ref is not None else None)
        if ref is None:
            notes.append(f"`{problem}` has no reference value: regret and target are n/a.")
        for optimizer in present:
            o = f[f.optimizer == optimizer]
            reg = normalized_regret(o.regret_loss.to_numpy(), ref, sign)
            reach_units, reach_wall, reached = [], [], 0
            if target_loss is not None:
                r = results.reports[(results.reports.problem == problem)
                                    & (results.reports.optimizer == optimizer)]
                for _, cell in r.groupby("seed"):
                    u, w = _reach(cell, target_loss)
                    if not np.isnan(u):
                        reached += 1
                        reach_units.append(u)
                        reach_wall.append(w)
            rows.append({
                "problem": problem, "optimizer": optimizer, "seeds": len(o),
                "final best (mean ± std)": _mean_std(o.best),
                "normalized regret (mean)": nanmean(reg),
                "mean rank": ranks[optimizer].mean() if optimizer in ranks else np.nan,
                "reached target": f"{reached}/{len(o)}" if target_loss is not None else "n/a",
                "units to target (median)": np.median(reach_units) if reach_units else np.nan,
                "wall s to target (median)": np.median(reach_wall) if reach_wall else np.nan,
            })
    if not rows:
        notes.append("needs at least two of tpe, cmaes, gp, optuna_random/random, "
                     "hyperopt_tpe on the same problem.")
    return Table(
        "samplers", "Samplers: TPE vs CMA-ES vs GP vs random, Optuna vs Hyperopt (2.2–2.3)",
        pd.DataFrame(rows), f"""\
- *final best*: the final incumbent in the problem's direction, mean ± std over seeds.
- *normalized regret*: (final loss − reference loss) / |reference| (/ 1 when the reference
  is 0), with the problem's fixed reference (see the references table); n/a where a
  problem has none. The final loss is the incumbent's noise-free value (`true_value`)
  where the problem records one, else its observed value.
- *mean rank*: per seed, optimizers ranked by final loss among those in this table for the
  problem (1 = best, ties share the average rank), then averaged over seeds present for all.
- *target*: normalized regret <= {target_regret:g}; *reached target*: cells that got there;
  *units / wall s to target*: compute units and wall seconds when the incumbent first met
  the target, median over the cells that reached it.
""", notes)


# -- PBT ----------------------------------------------------------------------------------
def lineage_depth(parents: dict[int, int | None], trial: int) -> int:
    """Count the parent links from `trial` back to its root (0 for a root)."""
    depth, seen = 0, {trial}
    while parents.get(trial) is not None:
        trial = int(parents[trial])
        if trial in seen:  # a malformed cycle; stop rather than loop forever
            break
        seen.add(trial)
        depth += 1
    return depth


def pbt_summary(results: Results) -> Table:
    """PBT: final best and lineage summary against random search and ASHA."""
    finals = final_values(results)
    rows = []
    for problem in sorted(set(results.cells.problem)):
        sub = results.subset(problems=[problem])
        pbts = _present(sub, PBT_OPTIMIZERS)
        if not pbts:
            continue
        for optimizer in [*pbts, *_present(sub, PBT_COMPARATORS)]:
            o = finals[(finals.problem == problem) & (finals.optimizer == optimizer)]
            row = {"problem": problem, "optimizer": optimizer, "seeds": len(o),
                   "final best (mean ± std)": _mean_std(o.best),
                   "units per cell": o.units.mean(), "trials per cell": o.n_trials.mean()}
            if optimizer in PBT_OPTIMIZERS:
                exploits, depths, roots = [], [], []
                for seed, cell in sub.reports[sub.reports.optimizer == optimizer].groupby(
                        "seed"):
                    parents = cell.groupby("trial").parent_trial.first()
                    pmap = {int(t): (None if pd.isna(p) else int(p)) for t, p in parents.items()}
                    exploits.append(sum(p is not None for p in pmap.values()))
                    inc = int(o[o.seed == seed].incumbent_trial.iloc[0])
                    depths.append(lineage_depth(pmap, inc))
                    last = cell[cell.step == cell.step.max()].trial.unique()
                    root_of = set()
                    for t in last:
                        t = int(t)
                        while pmap.get(t) is not None:
                            t = pmap[t]
                        root_of.add(t)
                    roots.append(len(root_of))
                row.update({"exploits per cell": np.mean(exploits),
                            "incumbent lineage depth": np.mean(depths),
                            "surviving roots": np.mean(roots)})
            rows.append(row)
    notes = [] if rows else ["needs `pbt` or `ray_pbt` on a problem with a fidelity "
                             "(learning_curve, mlp, lgbm), beside random and asha."]
    return Table(
        "pbt", "Population-based training vs random search and ASHA", pd.DataFrame(rows),
        """\
- *final best*: the final incumbent in the problem's direction, mean ± std over seeds.
- *trials per cell*: population members plus exploit clones (each clone is a new trial whose
  `parent_trial` is the member it copied).
- *exploits per cell*: trials with a parent (exploit steps that copied a better member's
  state); *incumbent lineage depth*: parent links from the trial holding the final
  incumbent back to an original member; *surviving roots*: distinct original members whose
  descendants reached the last recorded step.
""", notes)


# -- parameter importance -----------------------------------------------------------------
_PARAM = re.compile(r"^(Float|Int|Categorical)\((.*)\)$")


def _space_from_meta(meta: dict) -> dict[str, tuple[str, dict]]:
    out = {}
    for text in (meta.get("problem_info") or {}).get("space") or []:
        m = _PARAM.match(str(text))
        if not m:
            continue
        kind, body = m.groups()
        fields = {}
        for key in ("name", "low", "high", "log", "choices"):
            km = re.search(rf"\b{key}=(\((?:[^()]|\([^()]*\))*\)|'[^']*'|[^,)]+)", body)
            if km:
                try:
                    fields[key] = ast.literal_eval(km.group(1))
                except (ValueError, SyntaxError):
                    fields[key] = km.group(1)
        if "name" in fields:
            out[fields["name"]] = (kind, fields)
    return out


def _distributions(configs: list[dict], space: dict[str, tuple[str, dict]]) -> dict:
    import optuna

    out = {}
    # inactive conditional parameters may be missing or recorded as None: leave them out
    names = (set.intersection(*({k for k, v in c.items() if v is not None} for c in configs))
             if configs else set())
    for name in sorted(names):
        values = [c[name] for c in configs]
        kind, f = space.get(name, (None, {}))
        if kind == "Float" or (kind is None and all(isinstance(v, float) for v in values)):
            lo, hi = f.get("low", min(values)), f.get("high", max(values))
            out[name] = optuna.distributions.FloatDistribution(float(lo), float(hi),
                                                               log=bool(f.get("log", False)))
        elif kind == "Int" or (kind is None and all(
                isinstance(v, int) and not isinstance(v, bool) for v in values)):
            lo, hi = f.get("low", min(values)), f.get("high", max(values))
            out[name] = optuna.distributions.IntDistribution(int(lo), int(hi),
                                                             log=bool(f.get("log", False)))
        else:
            choices = tuple(f.get("choices") or sorted(set(values), key=repr))
            out[name] = optuna.distributions.CategoricalDistribution(choices)
    return out


def cell_importance(reports: pd.DataFrame, meta: dict, direction: str,
                    max_step: int | None) -> pd.DataFrame:
    """Optuna's importance evaluators on one cell's recorded trials.

    Trials are the reports at the cell's full fidelity that are not failed (one value per
    trial, its last at that step). Parameters are those every such trial has; their
    distributions come from the problem's recorded space (bounds, log scale, choices).
    Returns columns param, ped_anova, fanova (fANOVA with 32 trees, seed 0).
    """
    import optuna

    step = 1 if max_step is None or pd.isna(max_step) else int(max_step)
    ok = reports[(reports.status != "failed") & (reports.step == step)]
    ok = ok.groupby("trial", sort=True).last()
    configs = [json.loads(c) for c in ok.config]
    dists = _distributions(configs, _space_from_meta(meta))
    if not dists or len(configs) < 3:
        return pd.DataFrame(columns=["param", "ped_anova", "fanova"])
    study = optuna.create_study(direction=direction)
    study.add_trials([
        optuna.trial.create_trial(params={k: c[k] for k in dists}, distributions=dists,
                                  value=float(v))
        for c, v in zip(configs, ok.value, strict=True)
    ])
    ped = optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
    fan = optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.FanovaImportanceEvaluator(n_trees=32, seed=0))
    frame = pd.DataFrame({"param": list(dists)})
    frame["ped_anova"] = frame.param.map(ped).astype(float)
    frame["fanova"] = frame.param.map(fan).astype(float)
    return frame.sort_values("fanova", ascending=False, ignore_index=True)


def parameter_importance(results: Results,
                         prefer: Sequence[str] = ("random", "optuna_random", "hyperopt_random",
                                                  "ray_random", "qmc")) -> Table:
    """Optuna's importance evaluators on one cell per problem (random search preferred)."""
    import logging

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    rows, notes = [], []
    for problem in sorted(set(results.cells.problem)):
        cells = results.cells[results.cells.problem == problem]
        order = sorted(cells.itertuples(), key=lambda c: (
            prefer.index(c.optimizer) if c.optimizer in prefer else len(prefer),
            c.optimizer, c.seed))
        cell = order[0]
        reports = results.reports[(results.reports.problem == problem)
                                  & (results.reports.optimizer == cell.optimizer)
                                  & (results.reports.seed == cell.seed)]
        try:
            frame = cell_importance(reports, cell.meta, cell.direction, cell.max_step)
        except (ValueError, RuntimeError) as err:
            notes.append(f"`{problem}` ({cell.optimizer}, seed {cell.seed}): {err}")
            continue
        if frame.empty:
            notes.append(f"`{problem}`: fewer than 3 full-fidelity trials in "
                         f"{cell.optimizer}/seed={cell.seed}.")
            continue
        n = int(((reports.status != "failed") & (reports.step == (
            1 if cell.max_step is None or pd.isna(cell.max_step) else cell.max_step)))
                .groupby(reports.trial).any().sum())
        for r in frame.itertuples():
            rows.append({"problem": problem, "cell": f"{cell.optimizer}/seed={cell.seed}",
                         "trials": n, "param": r.param, "PED-ANOVA": r.ped_anova,
                         "fANOVA": r.fanova})
    if not rows and not notes:
        notes.append("needs at least one cell with 3 or more full-fidelity trials.")
    return Table(
        "importance", "Parameter importance (Optuna's evaluators on recorded trials)",
        pd.DataFrame(rows), """\
- One cell per problem: random search when present (its samples are unbiased), lowest seed.
- Its trials at full fidelity (their values, in the problem's direction) are added to an
  in-memory Optuna study with `optuna.trial.create_trial`; distributions come from the
  problem's recorded search space. Parameters absent from some trials (conditional ones)
  are left out, as Optuna does.
- *PED-ANOVA*: `PedAnovaImportanceEvaluator()` (Optuna 5's default for
  `get_param_importances`); *fANOVA*: `FanovaImportanceEvaluator(n_trees=32, seed=0)`.
  Each column sums to 1 over a problem's parameters.
""", notes)


# -- overall ------------------------------------------------------------------------------
def rank_over_budget(results: Results, n_points: int = 20) -> pd.DataFrame:
    """Mean rank of each optimizer at budget fractions 1/n..1 of each problem's units.

    Per problem and seed, optimizers are ranked by incumbent loss at each fraction of the
    problem's largest cell budget (an optimizer with no observation yet ranks last, ties
    share the average rank); ranks are averaged over seeds and problems.
    """
    curves = anytime_curves(results, "cum_units", grids={
        p: np.linspace(1.0 / n_points, 1.0, n_points) * float(g.cum_units.max())
        for p, g in results.reports.groupby("problem")})
    if curves.empty:
        return pd.DataFrame(columns=["fraction", "optimizer", "rank"])
    curves["fraction"] = curves.groupby("problem").x.transform(lambda x: x / x.max())
    curves["fraction"] = curves.fraction.round(6)
    out = []
    for (_, _, fraction), g in curves.groupby(["problem", "seed", "fraction"], sort=True):
        if g.optimizer.nunique() < 2:
            continue
        loss = g.best_loss.fillna(np.inf).to_numpy()
        from scipy.stats import rankdata

        out.append(pd.DataFrame({"fraction": fraction, "optimizer": g.optimizer.to_numpy(),
                                 "rank": rankdata(loss)}))
    if not out:
        return pd.DataFrame(columns=["fraction", "optimizer", "rank"])
    ranks = pd.concat(out, ignore_index=True)
    return ranks.groupby(["fraction", "optimizer"], as_index=False)["rank"].mean()


def block_losses(results: Results) -> pd.DataFrame:
    """Return rows (problem, seed) × optimizer columns of final normalized regret.

    Problems without a reference contribute their raw final loss.
    """
    refs = problem_references(results)
    finals = final_values(results)
    finals["score"] = [
        normalized_regret(r.regret_loss, refs.get(r.problem), results.sign(r.problem))
        if refs.get(r.problem) is not None else r.best_loss
        for r in finals.itertuples()]
    return finals.pivot_table(index=["problem", "seed"], columns="optimizer", values="score")


def cd_selection(per_problem: pd.DataFrame, min_problems: int = 3) -> pd.DataFrame:
    """Return the largest complete block of problems × optimizers for a CD diagram.

    Maximizes the block's size with at least `min_problems` problems and 2 optimizers.
    """
    best, best_size = pd.DataFrame(), 0
    problems = list(per_problem.index)
    from itertools import combinations

    for n in range(len(problems), min_problems - 1, -1):
        for subset in combinations(problems, n):
            block = per_problem.loc[list(subset)].dropna(axis=1)
            if block.shape[1] >= 2 and block.size > best_size:
                best, best_size = block, block.size
        if len(problems) > 12:  # subsets explode; the full set and one size less suffice
            break
    return best


def overall(results: Results) -> list[Table]:
    """Per problem × optimizer final performance, rank over budget, Wilcoxon + Holm, CD."""
    refs = problem_references(results)
    finals = final_values(results)
    budget_ranks = rank_over_budget(results)
    mean_budget_rank = budget_ranks.groupby("optimizer")["rank"].mean()
    rows = []
    for problem in sorted(set(finals.problem)):
        f = finals[finals.problem == problem]
        ranks = rank_rows(f.pivot(index="seed", columns="optimizer", values="best_loss")
                          .dropna())
        sign = results.sign(problem)
        for optimizer, o in f.groupby("optimizer", sort=True):
            reg = normalized_regret(o.regret_loss.to_numpy(), refs.get(problem), sign)
            rows.append({
                "problem": problem, "optimizer": optimizer, "seeds": len(o),
                "final best (mean ± std)": _mean_std(o.best),
                "normalized regret (mean)": nanmean(reg),
                "rank on problem": ranks[optimizer].mean() if optimizer in ranks else np.nan,
                "units per cell": o.units.mean(), "wall s per cell": o.wall_time.mean(),
            })
    perf = pd.DataFrame(rows)
    if len(perf):
        perf["average rank over budget (all problems)"] = perf.optimizer.map(mean_budget_rank)
    perf_table = Table(
        "overall", "Overall: final performance per problem and optimizer", perf, """\
- *final best*: the final incumbent in the problem's direction, mean ± std over seeds.
- *normalized regret*: (final loss − reference loss) / |reference| (see references), on the
  incumbent's noise-free value where the problem records one.
- *rank on problem*: per seed, all optimizers run on the problem ranked by final loss
  (ties share the average rank), averaged over the seeds every one of them has.
- *average rank over budget*: per problem and seed, optimizers ranked by incumbent at 20
  fractions of the problem's largest budget (1/20 … 1, in compute units; not yet observed
  ranks last), averaged over fractions, seeds and the problems the optimizer ran on
  (ranks on problems with different optimizer sets are not on one scale: compare within a
  problem group).
""")
    blocks = block_losses(results)
    tests = pairwise_wilcoxon(blocks) if blocks.shape[1] >= 2 else pd.DataFrame()
    if len(tests):
        tests = tests[tests.n_blocks >= 2].reset_index(drop=True)
    wilcoxon_table = Table(
        "wilcoxon", "Pairwise Wilcoxon signed-rank tests with Holm correction", tests, """\
- Blocks are (problem, seed) pairs both optimizers ran; the paired values are final
  normalized regrets (raw final losses on problems without a reference, so such problems
  weigh by their own scale).
- *a_better* / *b_better*: blocks where a (b) had the lower value; *statistic*, *p*:
  `scipy.stats.wilcoxon` (two-sided, zero differences dropped); *p_holm*: Holm's step-down
  adjustment over all pairs in this table; *significant*: p_holm < 0.05.
""", [] if len(tests) else ["needs two optimizers sharing at least two (problem, seed) "
                             "blocks."])
    per_problem = blocks.groupby(level="problem").mean()
    block = cd_selection(per_problem) if len(per_problem) >= 3 else pd.DataFrame()
    cd_rows, notes = [], []
    if block.empty:
        notes.append("a critical-difference diagram needs at least 3 problems sharing at "
                     "least 2 optimizers.")
    else:
        fn = friedman_nemenyi(block)
        for optimizer, rank in fn["ranks"].items():
            cd_rows.append({"optimizer": optimizer, "average rank": rank,
                            "problems": fn["n"], "friedman p": fn["friedman_p"],
                            "critical difference (α=0.05)": fn["cd"]})
        notes.append("problems: " + ", ".join(block.index))
    cd_table = Table(
        "critical_difference", "Critical difference (Friedman + Nemenyi, Demšar 2006)",
        pd.DataFrame(cd_rows), """\
- Data sets are problems; each optimizer's value on a problem is its mean final normalized
  regret (raw loss without a reference) over seeds; optimizers are ranked per problem and
  the ranks averaged. The largest complete block of problems × optimizers is used.
- *friedman p*: `scipy.stats.friedmanchisquare` over that block (n/a for 2 optimizers);
  *critical difference*: Nemenyi's CD = q_α √(k(k+1)/(6N)) (q_α from the studentized
  range / √2); two optimizers whose average ranks differ by less than CD are not
  significantly different.
""", notes)
    return [perf_table, wilcoxon_table, cd_table]


def references_table(results: Results) -> Table:
    """Tabulate the fixed reference of normalized regret used for each problem."""
    refs = problem_references(results)
    rows = [{"problem": p, "direction": results.directions()[p],
             "reference": np.nan if r is None else r.value,
             "how": "none: raw values are reported" if r is None else r.how}
            for p, r in sorted(refs.items())]
    return Table("references", "Reference values of normalized regret", pd.DataFrame(rows),
                 """\
- The known optimum recorded by the problem, else `problem.reference: {value, how}` from
  the problem conf. Never computed from the loaded results, so adding an optimizer never
  changes another's numbers.
""")


def all_tables(results: Results) -> list[Table]:
    """Build every table of the report, in report order.

    A builder that fails on unexpected data yields an empty table whose note names the
    error (logged with its traceback), so one odd cell never costs the whole report.
    """
    tables: list[Table] = []
    for name, build in [
        ("references", references_table), ("grid_vs_random", grid_vs_random),
        ("early_stopping", early_stopping), ("samplers", samplers), ("pruning", pruning),
        ("asha_savings", asha_savings), ("fidelity_counts", fidelity_counts),
        ("pbt", pbt_summary), ("importance", parameter_importance), ("overall", overall),
    ]:
        try:
            built = build(results)
        except Exception as err:  # report the failure in place of the table
            log.warning("table %s failed", name, exc_info=True)
            built = Table(name, name, pd.DataFrame(), "",
                          [f"could not be built: {type(err).__name__}: {err}"])
        tables.extend(built if isinstance(built, list) else [built])
    return tables


