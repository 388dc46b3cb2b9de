"""The command line: ``python -m benchmarks.run problem=<p> optimizer=<o> seeds=[0,1,2]``.

Composes the study with Hydra's compose API (overrides and ``-m`` sweeps in Hydra's
grammar), validates every run before any compute, skips complete cells, runs the rest,
writes one Parquet file per cell and prints one summary table over all runs.
Exit codes: 0 done, 2 bad input (one sentence, nothing written), 1 unexpected error.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

__all__ = ["main"]

USAGE = """usage: python -m benchmarks.run [-m] [--cfg [job|all]] [key=value ...]

  -m, --multirun   sweep comma-separated values: problem=branin,hartmann6 optimizer=random,tpe
  --cfg, -c [job|all]  print the composed configuration(s) and exit (there is no Hydra
                   section: no launcher or sweeper plugins; use n_jobs=N or executor=ray)
  -h, --help       show this help

keys: study, results_dir, seeds, budget.trials, budget.units, budget.seconds,
      budget.virtual_time, workers, clock (units|seconds), n_jobs, trial_timeout,
      problem.<setting>, optimizer.<setting>
groups (a file in conf/<group>/ is a value):
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    from benchmarks.cli_flags import FlagError, parse_flags
    from benchmarks.compose import UserError, group_options

    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(USAGE + "\n".join(f"  {g}: {', '.join(group_options(g))}"
                                for g in ("problem", "optimizer", "executor", "experiment")))
        return 0
    _setup_logging()
    try:
        flags = parse_flags(args)
        return _run(flags.overrides, flags.multirun, flags.show_cfg)
    except (UserError, FlagError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: complete cells are saved; rerun the same command to resume.",
              file=sys.stderr)
        return 130


def _run(overrides: list[str], multirun: bool, show_cfg: bool) -> int:
    from benchmarks.compose import UserError, compose_runs
    from benchmarks.plan import plan_cells
    from benchmarks.recorder import remove_stale_temp_files
    from benchmarks.validate import prepare_results_dirs, validate

    runs = compose_runs(overrides, multirun)
    if show_cfg:
        for run in runs:
            print(OmegaConf.to_yaml(run.cfg))
        return 0
    for run in runs:
        validate(run)
    todo, done = plan_cells(runs)
    executor = {run.cfg.executor.kind for run in runs}
    if len(executor) != 1:
        raise UserError(f"all jobs of a run must use one executor; got {sorted(executor)}.")
    n_jobs = max(int(run.cfg.n_jobs) for run in runs)
    studies = sorted({Path(j.cfg.results_dir) / j.cfg.study for j in runs})
    if todo:
        prepare_results_dirs(studies)
    for study_dir in studies:
        remove_stale_temp_files(study_dir)
    if done:
        print(f"skipping {len(done)} complete cell(s) already in "
              f"{', '.join(map(str, studies))}", file=sys.stderr)
    paths = [path for _, path in todo] + done
    failures, theirs = (_execute(executor.pop(), todo, n_jobs, runs[0].cfg.executor) if todo
                        else ([], 0))
    from benchmarks.summary import summarize, summary_table

    print(summary_table(summarize(sorted(p for p in set(paths) if p.exists()))))
    if todo:
        print(f"\nwrote {len(todo) - len(failures) - theirs} cell(s) under "
              f"{', '.join(map(str, studies))}")
    if theirs:
        print(f"{theirs} cell(s) were written meanwhile by another run of the same study; "
              "kept those files (a cell's rows are the same whoever runs it).", file=sys.stderr)
    if failures:
        for failure in failures:
            s = failure.spec
            print(f"cell {s.problem}/{s.optimizer}/seed={s.seed} failed: {failure.error}",
                  file=sys.stderr)
        print(f"{len(failures)} cell(s) failed and were not written; the others are saved. "
              "Rerun the same command to retry them.", file=sys.stderr)
        return 1
    return 0


def _execute(kind: str, todo: list, n_jobs: int, executor_cfg: Any) -> tuple[list, int]:
    """Run and write the cells; return the failures and the count another run wrote first."""
    from tqdm import tqdm

    from benchmarks.executors import CellFailure, CellTaken, run_local, write_result

    specs = [spec for spec, _ in todo]
    by_key = {(s.study, s.problem, s.optimizer, s.seed): path for s, path in todo}
    bar = tqdm(total=len(specs), unit="cell", desc="cells", file=sys.stderr, disable=None)
    trial_bar = tqdm(unit="report", desc="reports", file=sys.stderr, disable=None, leave=False)
    try:
        if kind == "ray":
            from benchmarks.ray_executor import run_ray

            results = run_ray(specs, executor_cfg)
        else:
            results = run_local(specs, n_jobs, on_report=trial_bar.update if n_jobs <= 1 else None)
        failures, theirs = [], 0
        for result in results:
            s = result.spec
            if isinstance(result, CellFailure):
                failures.append(result)
                bar.update()
                continue
            if isinstance(result, CellTaken):
                print(f"cell {s.problem}/{s.optimizer}/seed={s.seed} left to another process: "
                      f"{result.reason}.", file=sys.stderr)
                bar.update()
                continue
            path = by_key[(s.study, s.problem, s.optimizer, s.seed)]
            theirs += not write_result(result, path)
            bar.update()
            bar.set_postfix_str(f"{s.problem}/{s.optimizer}/seed={s.seed}")
    finally:
        trial_bar.close()
        bar.close()
    return failures, theirs


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    for noisy in ("optuna", "hyperopt", "ray", "lightgbm"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
