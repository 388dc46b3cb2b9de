r"""Record a benchmark table: ``python -m benchmarks.tabulate problem=<p> configs=<N>``.

Trains N configurations of a real problem (the design of :mod:`problems.table_format`),
each once per seed to the maximum fidelity through the Problem/Trial contract, and records
every reported step of that one run: objective, extra metrics, cumulative units and the
measured cumulative seconds. Rows (seconds aside) depend only on the problem conf, the
design, the seeds and the library versions.

Usage::

    python -m benchmarks.tabulate problem=lgbm configs=500 'seeds=[0,1,2]' \\
        [n_jobs=N | executor=ray [executor.address=...]] [subset=a:b] [out=<dir>] \\
        [problem.<setting>=<value> ...]

`out` defaults to the shipped location ``problems/tables/<problem>/``. Chunks of
``CHUNK`` ids are written atomically as they complete, so rerunning the same command
resumes; ``subset=a:b`` computes only ids a..b-1 (ids never depend on `subset`).
Exit codes: 0 done, 2 bad input (one sentence, nothing written), 1 unexpected error.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import json
import logging
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from problems.base import config_key
from problems.table_format import (
    DESIGN,
    META_NAME,
    TABLES_DIR,
    chunk_name,
    chunk_ranges,
    data_hash,
    design_configs,
    rows_to_arrow,
    space_to_dict,
)

__all__ = ["CHUNK", "collect_block", "main"]

log = logging.getLogger("benchmarks.tabulate")

#: Ids per chunk file: one file per 25 consecutive ids (fewer where `subset` cuts a block).
CHUNK = 25
#: Libraries whose versions can change a table's numbers; a table is only extended, and
#: only compared with recomputed rows, under the same versions.
RESULT_LIBRARIES = ("numpy", "scipy", "scikit-learn", "lightgbm", "torch", "python")
KEYS = ("problem", "configs", "seeds", "n_jobs", "executor", "subset", "out")


class UsageError(Exception):
    """Bad input: one sentence, exit code 2, nothing written."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    from problems.errors import UserError

    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("lightgbm").setLevel(logging.WARNING)
    try:
        plan = prepare(args)
        return run(plan, args)
    except (UsageError, UserError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: complete chunks are saved; rerun the same command to resume.",
              file=sys.stderr)
        return 130


# -- checking the command line (nothing is written here) ----------------------------------
def prepare(args: Sequence[str]) -> dict[str, Any]:
    """Parse and check the command line, compose and build the problem, and check `out`."""
    from benchmarks.compose import compose_runs
    from problems.loading import build_problem

    values: dict[str, str] = {}
    passthrough: list[str] = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            raise UsageError(f"arguments are key=value; got {arg!r} (keys: {', '.join(KEYS)}).")
        if key.startswith(("problem.", "executor.")):
            passthrough.append(arg)
        elif key in KEYS:
            values[key] = value
        else:
            raise UsageError(
                f"`{key}` is not a setting of tabulate; the settings are {', '.join(KEYS)}, "
                "problem.<setting> and executor.<setting>."
            )
    if "problem" not in values:
        raise UsageError("`problem` is required, e.g. problem=lgbm.")
    if "configs" not in values:
        raise UsageError("`configs` is required: the number of configurations, e.g. 500.")
    n_configs = _positive_int("configs", values["configs"])
    n_jobs = _positive_int("n_jobs", values.get("n_jobs", "1"))
    seeds = _seeds(values.get("seeds", "[0,1,2]"))
    subset = _subset(values.get("subset"), n_configs)
    executor = values.get("executor", "local")
    if executor not in ("local", "ray"):
        raise UsageError(f"`executor` must be local or ray; got {executor!r}.")
    name = values["problem"]
    job = compose_runs([f"problem={name}", f"executor={executor}", *passthrough])[0]
    from omegaconf import OmegaConf

    conf = OmegaConf.to_container(job.cfg.problem, resolve=True)
    try:
        problem = build_problem(conf)
    except (ValueError, TypeError) as err:
        raise UsageError(f"problem `{name}`: {err}") from None
    if getattr(problem, "is_table", False):
        raise UsageError(f"problem `{name}` is itself a table; tabulate a real problem.")
    executor_cfg = None
    if executor == "ray":
        from benchmarks.ray_executor import check_executor

        executor_cfg = check_executor(OmegaConf.to_container(job.cfg.executor, resolve=True))
    out = Path(values["out"]) if "out" in values else TABLES_DIR / name
    meta = _identity(name, conf, problem, seeds)
    done = _check_out(out, meta)
    todo = [i for i in range(*subset) if i not in done]
    return {"name": name, "conf": conf, "problem": problem, "seeds": seeds, "out": out,
            "meta": meta, "todo": todo, "n_configs": n_configs, "n_jobs": n_jobs,
            "executor": executor_cfg, "subset": subset}


def _positive_int(key: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < 1:
        raise UsageError(f"`{key}` must be a positive int; got {text!r}.")
    return value


def _seeds(text: str) -> list[int]:
    import yaml

    try:
        seeds = yaml.safe_load(text)
    except yaml.YAMLError:
        seeds = None
    if (not isinstance(seeds, list) or not seeds or len(set(seeds)) != len(seeds)
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds)):
        raise UsageError(
            f"`seeds` must be a non-empty list of distinct non-negative ints such as "
            f"[0,1,2]; got {text!r}."
        )
    return seeds


def _subset(text: str | None, n_configs: int) -> tuple[int, int]:
    if text is None:
        return 0, n_configs
    a, sep, b = text.partition(":")
    try:
        start, stop = int(a), int(b)
    except ValueError:
        start = stop = -1
    if not sep or not 0 <= start < stop <= n_configs:
        raise UsageError(
            f"`subset` must be a:b with 0 <= a < b <= configs ({n_configs}); got {text!r}."
        )
    return start, stop


def _identity(name: str, conf: Mapping[str, Any], problem: Any, seeds: list[int]) -> dict:
    """What a table's rows depend on; an existing table must match it to be extended."""
    from benchmarks.executors import library_versions

    versions = library_versions()
    fid = problem.fidelity
    return {
        "format": 1,
        "problem": name,
        "problem_conf": {k: v for k, v in conf.items() if k != "reference"},
        "reference": conf.get("reference"),
        "space": space_to_dict(problem.space),
        "direction": problem.direction,
        "fidelity": None if fid is None else {
            "name": fid.name, "min": fid.min, "max": fid.max, "report_every": fid.report_every},
        "metric_names": list(problem.metric_names),
        "design": DESIGN,
        "seeds": seeds,
        "chunk": CHUNK,
        "versions": {k: versions[k] for k in RESULT_LIBRARIES},
        "data_hash": data_hash(problem),
    }


_IDENTITY_KEYS = ("format", "problem", "problem_conf", "space", "direction", "fidelity",
                  "metric_names", "design", "seeds", "chunk", "versions", "data_hash")


def _check_out(out: Path, meta: Mapping[str, Any]) -> set[int]:
    """The ids already recorded in `out`; UsageError when `out` holds something else."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"`out` {str(out)!r} is a file; give a folder for the table.")
    if not out.is_dir() or not any(out.iterdir()):
        return set()
    meta_path = out / META_NAME
    if not meta_path.is_file():
        raise UsageError(
            f"`out` {str(out)!r} is not empty and holds no {META_NAME}: not a table; "
            "give an empty or new folder."
        )
    try:
        recorded = json.loads(meta_path.read_text())
    except (OSError, ValueError) as err:
        raise UsageError(f"`out` {str(out)!r}: {META_NAME} cannot be read ({err}).") from None
    for key in _IDENTITY_KEYS:
        if recorded.get(key) != meta[key]:
            raise UsageError(
                f"`out` {str(out)!r} holds a table recorded with another `{key}` "
                f"({_short(recorded.get(key))} here: {_short(meta[key])}); use another `out` "
                "or move that folder away."
            )
    done: set[int] = set()
    for start, stop, _ in chunk_ranges(out):
        done.update(range(start, stop))
    return done


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


# -- collecting ---------------------------------------------------------------------------
def blocks(ids: Sequence[int]) -> list[list[int]]:
    """Consecutive runs of `ids` inside aligned blocks of CHUNK ids: one file each."""
    out: list[list[int]] = []
    for i in sorted(ids):
        if out and i == out[-1][-1] + 1 and i // CHUNK == out[-1][0] // CHUNK:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def collect_block(conf: Mapping[str, Any], configs: Mapping[int, Mapping[str, Any]],
                  seeds: Sequence[int]) -> dict[str, Any]:
    """Train each configuration once per seed to the maximum fidelity; return the rows.

    Seconds are measured per reported step around the trial's own training and
    evaluation (``next`` of :meth:`Trial.advance`), accumulated along the run: CPU seconds
    of the process (``cum_seconds``; the problems train on one thread, and CPU time does
    not count the waits of a machine shared with other work) and wall seconds
    (``cum_wall_seconds``).
    """
    from problems.loading import build_problem

    problem = build_problem(conf)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    rows: list[dict[str, Any]] = []
    for config_id, config in sorted(configs.items()):
        key = config_key(config)
        for seed in seeds:
            trial = problem.trial(config, seed)
            reports = trial.advance()
            cum_units, cum_seconds, cum_wall = 0, 0.0, 0.0
            while True:
                cpu, wall = time.process_time(), time.perf_counter()
                report = next(reports, None)
                if report is None:
                    break
                cum_seconds += time.process_time() - cpu
                cum_wall += time.perf_counter() - wall
                cum_units += report.units
                rows.append({"config_id": config_id, "seed": seed, "step": report.step,
                             "value": report.value, "cum_units": cum_units,
                             "cum_seconds": cum_seconds, "cum_wall_seconds": cum_wall,
                             "config": key, **report.metrics})
    return {"rows": rows, "cpu_seconds": time.process_time() - cpu0,
            "wall_seconds": time.perf_counter() - wall0}


def write_chunk(out: Path, ids: Sequence[int], table: pa.Table, info: Mapping[str, Any]) -> Path:
    """Write ids ``ids[0]..ids[-1]`` atomically (temp file, then a link that never replaces)."""
    path = out / chunk_name(ids[0], ids[-1] + 1)
    table = table.sort_by([("config_id", "ascending"), ("seed", "ascending"),
                           ("step", "ascending")])
    table = table.replace_schema_metadata({"hpo_arena_table": json.dumps(info, default=str)})
    tmp = out / f".{path.name}.{os.getpid()}.tmp"
    try:
        pq.write_table(table, tmp, compression="zstd", compression_level=9)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_meta(out: Path, meta: Mapping[str, Any]) -> None:
    tmp = out / f".{META_NAME}.{os.getpid()}.tmp"
    # Key order kept: `space` lists the parameters in declaration order (conditions refer
    # to earlier parameters, and optimizers walk a space in order).
    tmp.write_text(json.dumps(meta, indent=1, default=str) + "\n")
    os.replace(tmp, out / META_NAME)


def _machine() -> dict[str, Any]:
    return {"host": platform.node(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()}


def run(plan: dict[str, Any], argv: Sequence[str]) -> int:
    """Compute the plan's missing ids chunk by chunk; record the run in ``table.json``."""
    out: Path = plan["out"]
    todo = plan["todo"]
    if not todo:
        print(f"nothing to do: ids {plan['subset'][0]}..{plan['subset'][1] - 1} are all "
              f"recorded in {out}", file=sys.stderr)
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".ids-*.tmp"):
        stale.unlink(missing_ok=True)
    meta_path = out / META_NAME
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else dict(plan["meta"])
    meta["n_configs"] = max(int(meta.get("n_configs", 0)), plan["n_configs"])
    entry = {"command": "python -m benchmarks.tabulate " + " ".join(argv),
             "machine": _machine(), "n_jobs": plan["n_jobs"],
             "executor": "ray" if plan["executor"] else "local",
             "started": _now(), "finished": None, "ids_recorded": 0,
             "wall_seconds": 0.0, "cpu_seconds": 0.0}
    meta.setdefault("runs", []).append(entry)
    _write_meta(out, meta)
    configs = design_configs(plan["problem"].space, todo)
    work = [{i: configs[i] for i in block} for block in blocks(todo)]
    metric_names = plan["problem"].metric_names
    wall0 = time.perf_counter()
    done = 0
    for block, result in _execute(plan, work):
        ids = sorted(block)
        info = {"ids": [ids[0], ids[-1] + 1], "machine": entry["machine"], "finished": _now(),
                "cpu_seconds": result["cpu_seconds"], "wall_seconds": result["wall_seconds"]}
        write_chunk(out, ids, rows_to_arrow(result["rows"], metric_names), info)
        done += len(ids)
        entry.update(ids_recorded=done, wall_seconds=round(time.perf_counter() - wall0, 1),
                     cpu_seconds=round(entry["cpu_seconds"] + result["cpu_seconds"], 1))
        _write_meta(out, meta)
        log.info("ids %d..%d recorded (%d/%d of this run, %.0f s)", ids[0], ids[-1], done,
                 len(todo), time.perf_counter() - wall0)
    entry["finished"] = _now()
    _write_meta(out, meta)
    print(f"recorded {done} configuration(s) x {len(plan['seeds'])} seed(s) in {out}")
    return 0


def _execute(plan: dict[str, Any], work: list[dict[int, Any]]) -> Iterator[tuple[dict, dict]]:
    conf, seeds = plan["conf"], plan["seeds"]
    if plan["executor"] is not None:
        yield from _execute_ray(plan, work)
        return
    if plan["n_jobs"] <= 1 or len(work) <= 1:
        for block in work:
            yield block, collect_block(conf, block, seeds)
        return
    # Spawned (not forked) workers: forking after torch/LightGBM threads started can hang.
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(min(plan["n_jobs"], len(work)), mp_context=context) as pool:
        futures = {pool.submit(collect_block, conf, block, seeds): block for block in work}
        try:
            for future in cf.as_completed(futures):
                yield futures[future], future.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _execute_ray(plan: dict[str, Any], work: list[dict[int, Any]]) -> Iterator[tuple]:
    import ray

    from benchmarks.ray_executor import PACKAGES, ROOT
    from optimizers.ray_session import start_ray

    cfg = plan["executor"]
    runtime_env = None
    if cfg["ship_code"] and cfg["address"] is not None:
        runtime_env = {"py_modules": [str(ROOT / p) for p in PACKAGES]}
    session = start_ray(cfg["address"], cfg["num_cpus"], cfg["include_dashboard"], runtime_env)
    pending: dict[Any, dict] = {}
    try:
        task = ray.remote(collect_block).options(num_cpus=cfg["num_cpus_per_cell"],
                                                 max_retries=0)
        pending = {task.remote(plan["conf"], block, plan["seeds"]): block for block in work}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                yield pending.pop(ref), ray.get(ref)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        session.close()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


if __name__ == "__main__":
    sys.exit(main())
