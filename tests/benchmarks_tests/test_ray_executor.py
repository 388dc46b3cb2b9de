"""executor=ray: cells as Ray tasks equal a local n_jobs=1 run; loopback only."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
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


def _run_on(cluster: TwoNodeCluster, address: str, study: str, tmp_path: Path,
            **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in cluster.env.items() if k != "HOME"}
    for key, value in env.items():
        if value:
            base[key] = value
        else:
            base.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.run", *STUDY, f"study={study}", "executor=ray",
         f"executor.address={address}", f"results_dir={tmp_path}"],
        env=base, cwd=ROOT, capture_output=True, text=True, timeout=180,
    )


def _one_sentence(done: subprocess.CompletedProcess, text: str) -> None:
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and text in lines[0], lines
    assert "Traceback" not in done.stderr


def test_two_node_cluster_equals_local_run(tmp_path: Path) -> None:
    """The real `ray` CLI with --node-ip-address=127.0.0.1, joined at 127.0.0.1 and at the
    machine's address; a wrong or missing token and a cluster gone: one sentence, < 30 s."""
    assert main([*STUDY, "study=local", f"results_dir={tmp_path}"]) == 0
    cluster = TwoNodeCluster()
    timings = {}
    try:
        cluster.start()
        addresses = listening_addresses(cluster.pids())
        assert addresses
        # What Ray 2.60 binds: loopback or all interfaces (`*`), never one foreign address.
        assert all(a.rsplit(":", 1)[0] in ("127.0.0.1", "[::ffff:127.0.0.1]", "*", "0.0.0.0",
                                           "[::]") for a in addresses), addresses
        done = _run_on(cluster, cluster.address, "cluster", tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        here = {m["node"]["ip"] for m in _metadata(tmp_path / "cluster")}
        assert len(here) == 1  # both nodes registered under one address of this machine
        at_machine = _run_on(cluster, f"{here.pop()}:{cluster.port}", "machine", tmp_path)
        assert at_machine.returncode == 0, at_machine.stderr[-2000:]
        for name, env, text in [
            ("wrong token", {"RAY_AUTH_TOKEN": "0" * 64}, "rejected this token"),
            # HOME without ~/.ray/auth_token: no token anywhere
            ("no token", {"RAY_AUTH_TOKEN": "", "HOME": str(tmp_path)},
             "no token (set RAY_AUTH_TOKEN"),
        ]:
            tick = time.monotonic()
            _one_sentence(_run_on(cluster, cluster.address, name.replace(" ", "_"), tmp_path,
                                  **env), text)
            timings[name] = time.monotonic() - tick
    finally:
        cluster.stop()
    assert not cluster.pids()
    tick = time.monotonic()
    _one_sentence(_run_on(cluster, cluster.address, "gone", tmp_path), "no Ray cluster answered")
    timings["cluster gone"] = time.monotonic() - tick
    assert max(timings.values()) < 30, timings
    nodes = {m["node"]["node_id"] for m in _metadata(tmp_path / "cluster")}
    assert len(nodes) == 2  # both nodes ran cells
    pd.testing.assert_frame_equal(_rows(tmp_path / "cluster"), _rows(tmp_path / "local"))
    pd.testing.assert_frame_equal(_rows(tmp_path / "machine"), _rows(tmp_path / "local"))
    assert "Ray" not in done.stderr  # Ray's start-up noise stays out of the console
    for study in ("wrong_token", "no_token", "gone"):
        assert not list((tmp_path / study).rglob("*.parquet"))


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
