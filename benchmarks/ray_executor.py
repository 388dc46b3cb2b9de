"""The `ray` executor: a study's cells as Ray tasks, on a local Ray or an existing cluster.

Each cell runs remotely through :func:`benchmarks.executors.execute_cell` and comes back to
the driver, which writes it (no shared filesystem needed): files, resume and rows are the
same as for local runs, because each cell is deterministic. A local Ray (no `address`)
listens on 127.0.0.1 only; a cluster is joined with its token (``RAY_AUTH_TOKEN`` or
``RAY_AUTH_TOKEN_PATH``, with ``RAY_AUTH_MODE=token``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.cells import CellResult, CellSpec
from benchmarks.executors import CellFailure
from problems.errors import UserError
from problems.params import FLAG, integer, number

__all__ = ["run_ray"]

ROOT = Path(__file__).resolve().parent.parent
#: The project's packages, shipped to cluster workers that do not share this filesystem.
PACKAGES = ("benchmarks", "optimizers", "problems")
_ADDRESS = re.compile(r"^(auto|[A-Za-z0-9.\-]+:\d{1,5}|ray://[A-Za-z0-9.\-]+:\d{1,5})$")


def run_ray(specs: Sequence[CellSpec], executor_cfg: Any) -> Iterator[CellResult]:
    """Run each cell as a Ray task; yield results as cells finish (any order).

    Args:
        specs: the cells to run.
        executor_cfg: the `executor` conf node (see conf/executor/ray.yaml).

    """
    cfg = check_executor(_plain(executor_cfg))
    import ray

    from optimizers.ray_join import JoinError
    from optimizers.ray_session import start_ray

    runtime_env = None
    if cfg["ship_code"] and cfg["address"] is not None:
        runtime_env = {"py_modules": [str(ROOT / p) for p in PACKAGES]}
    try:
        session = start_ray(cfg["address"], cfg["num_cpus"], cfg["include_dashboard"],
                            runtime_env)
    except JoinError as err:  # bad address, token or a cluster gone: exit 2, one sentence
        raise UserError(str(err)) from None
    pending: dict[Any, CellSpec] = {}
    try:
        task = ray.remote(_run_cell).options(num_cpus=cfg["num_cpus_per_cell"], max_retries=0)
        pending = {task.remote(spec): spec for spec in specs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                spec = pending.pop(ref)
                try:
                    yield ray.get(ref)
                except Exception as err:  # one broken cell must not lose the others
                    yield CellFailure.of(spec, getattr(err, "cause", None) or err)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        session.close()


def _run_cell(spec: CellSpec) -> CellResult:
    """Ray task body: run one cell and note which node ran it (for the file metadata)."""
    import ray

    from benchmarks.executors import execute_cell

    result = execute_cell(spec)
    context = ray.get_runtime_context()
    result.info["node"] = {"node_id": context.get_node_id(),
                           "ip": ray.util.get_node_ip_address()}
    return result


def check_executor(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the `executor` node of a Ray run (UserError naming the key)."""
    out = {
        "address": cfg.get("address"),
        "num_cpus": cfg.get("num_cpus"),
        "num_cpus_per_cell": cfg.get("num_cpus_per_cell", 1),
        "include_dashboard": cfg.get("include_dashboard", False),
        "ship_code": cfg.get("ship_code", True),
    }
    address = out["address"]
    if address is not None and not (isinstance(address, str) and _ADDRESS.match(address)):
        raise UserError(
            "`executor.address` must be null (a local Ray), 'auto' or 'host:port'; "
            f"got {address!r}."
        )
    integer(1, null=True, allowed="a positive int or null").check(
        "executor.num_cpus", out["num_cpus"], UserError, ";")
    number(0, low_open=True).check(
        "executor.num_cpus_per_cell", out["num_cpus_per_cell"], UserError, ";")
    for key in ("include_dashboard", "ship_code"):
        FLAG.check(f"executor.{key}", out[key], UserError, ";")
    return out


def _plain(node: Any) -> dict[str, Any]:
    from omegaconf import DictConfig, OmegaConf

    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)  # type: ignore[return-value]
    return dict(node)
