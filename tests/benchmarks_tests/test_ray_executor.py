"""executor=ray: cells as Ray tasks equal a local n_jobs=1 run; loopback only."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from benchmarks.run import main
from tests.ray_cluster import (
    TwoNodeCluster,
    listening_addresses,
    no_ray_children,
    ray_children,
)

ROOT = Path(__file__).resolve().parents[2]
TIMING = ["wall_time", "optimizer_time", "study"]
STUDY = ["problem=learning_curve", "optimizer=random", "seeds=[0,1,2,3]", "budget.units=300",
         "problem.max_iterations=30"]

pytestmark = pytest.mark.ray


def _rows(folder: Path) -> pd.DataFrame:
    frames = [pd.read_parquet(f) for f in sorted(folder.rglob("*.parquet"))]
    return pd.concat(frames, ignore_index=True).drop(columns=TIMING)


def _metadata(folder: Path) -> list[dict]:
    return [json.loads(pq.read_schema(f).metadata[b"hpo_arena"])
            for f in sorted(folder.rglob("*.parquet"))]


def test_two_node_cluster_equals_local_run(tmp_path: Path) -> None:
    assert main([*STUDY, "study=local", f"results_dir={tmp_path}"]) == 0
    cluster = TwoNodeCluster()
    try:
        cluster.start()
        addresses = listening_addresses(cluster.pids())
        assert addresses
        assert all(a.rsplit(":", 1)[0] in ("127.0.0.1", "[::ffff:127.0.0.1]")
                                 for a in addresses), addresses
        env = {k: v for k, v in cluster.env.items() if k != "HOME"}
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.run", *STUDY, "study=cluster", "executor=ray",
             f"executor.address={cluster.address}", f"results_dir={tmp_path}"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
    finally:
        cluster.stop()
    assert done.returncode == 0, done.stderr[-2000:]
    assert not cluster.pids()
    nodes = {m["node"]["node_id"] for m in _metadata(tmp_path / "cluster")}
    assert len(nodes) == 2  # both nodes ran cells
    assert {m["node"]["ip"] for m in _metadata(tmp_path / "cluster")} == {"127.0.0.1"}
    pd.testing.assert_frame_equal(_rows(tmp_path / "cluster"), _rows(tmp_path / "local"))
    assert "Ray" not in done.stderr  # Ray's start-up noise stays out of the console


def test_local_ray_equals_local_run_and_resumes(tmp_path: Path) -> None:
    args = [*STUDY, f"results_dir={tmp_path}"]
    assert main([*args, "study=local"]) == 0
    assert main([*args, "study=ray", "executor=ray", "executor.num_cpus=2"]) == 0
    pd.testing.assert_frame_equal(_rows(tmp_path / "ray"), _rows(tmp_path / "local"))
    stamp = {f: f.stat().st_mtime_ns for f in (tmp_path / "ray").rglob("*.parquet")}
    assert main([*args, "study=ray", "executor=ray", "executor.num_cpus=2"]) == 0
    assert stamp == {f: f.stat().st_mtime_ns for f in (tmp_path / "ray").rglob("*.parquet")}
    no_ray_children()  # let the local Ray exit before the next test starts one


def test_local_ray_listens_on_loopback_only() -> None:
    from optimizers.ray_session import start_ray

    session = start_ray(num_cpus=1)
    try:
        assert session.started
        addresses = listening_addresses(ray_children())
    finally:
        session.close()
    assert addresses
    assert all(a.rsplit(":", 1)[0] in ("127.0.0.1", "[::ffff:127.0.0.1]") for a in addresses), (
        addresses)
    assert not (Path.home() / ".ray" / "auth_token").exists() or os.environ.get("RAY_AUTH_TOKEN")


@pytest.mark.parametrize(("override", "message"), [
    ("executor.address=not an address", r"`executor.address` must be null"),
    ("executor.num_cpus=0", r"`executor.num_cpus` must be a positive int"),
    ("executor.num_cpus_per_cell=-1", r"`executor.num_cpus_per_cell` must be a number > 0"),
    ("executor.ship_code=maybe", r"`executor.ship_code` must be true or false"),
])
def test_bad_executor_settings_exit_2_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture, override: str, message: str
) -> None:
    code = main([*STUDY, "executor=ray", override, f"results_dir={tmp_path}"])
    assert code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not list(tmp_path.rglob("*.parquet"))
