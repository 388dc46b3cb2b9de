"""Test helpers: a two-node Ray cluster on this machine (real `ray` CLI), stopped by pid."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The real, unpatched `ray` CLI of this environment, as a user runs it. Ray 2.60 rewrites
# `--node-ip-address=127.0.0.1` to the machine's address (services.resolve_ip_for_localhost):
# the nodes register under that address and GCS and raylets listen on all interfaces
# (`*:port`); every server still runs on this machine, and the cluster needs its token.
RAY = str(Path(sys.executable).parent / "ray")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_addresses(pids: set[int]) -> list[str]:
    """Local addresses that the processes `pids` listen on (TCP), from `ss -ltnpH`."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        if any(f"pid={pid}," in line for pid in pids):
            found.append(line.split()[3])
    return found


def pids_with(text: str) -> set[int]:
    """Processes whose command line mentions `text` (this cluster's temp dir)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and int(entry.name) != os.getpid():
            pids.add(int(entry.name))
    return pids


def ray_children() -> set[int]:
    """Ray processes started by this test process (local ray.init): its descendants."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,stat="], capture_output=True, text=True).stdout
    rows = [line.split() for line in out.splitlines()]
    parent = {int(r[0]): int(r[1]) for r in rows}
    zombies = {int(r[0]) for r in rows if r[2].startswith("Z")}
    mine, me = set(), os.getpid()
    for pid in set(parent) - zombies:
        p = pid
        while p in parent and p not in (0, 1):
            p = parent[p]
            if p == me:
                mine.add(pid)
                break
    return mine


class TwoNodeCluster:
    """`ray start --head` plus one `ray start --address` node, 1 CPU each, started with
    `--node-ip-address=127.0.0.1` and token authentication; `stop` kills exactly the
    processes of this cluster."""

    def __init__(self) -> None:
        self.temp_dir = tempfile.mkdtemp(prefix="hpoa-rc-")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        # A local Ray started earlier in this process sets RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
        # (loopback-only single node); a real two-node cluster must not inherit it.
        inherited = {k: v for k, v in os.environ.items()
                     if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
        self.env = {**inherited, "RAY_AUTH_MODE": "token",
                    "RAY_AUTH_TOKEN": secrets.token_hex(32), "HOME": self.temp_dir}

    def start(self) -> None:
        common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
        self._ray("start", "--head", f"--port={self.port}", "--include-dashboard=false",
                  f"--temp-dir={self.temp_dir}", *common)
        # The head can take a moment to accept nodes on a loaded machine: try a few times.
        for attempt in range(3):
            try:
                self._ray("start", f"--address={self.address}", *common)
                return
            except RuntimeError:
                if attempt == 2:
                    raise
                time.sleep(3)

    def _ray(self, *args: str) -> None:
        done = subprocess.run([RAY, *args], env=self.env,
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"ray {args[0]} failed: {(done.stderr or done.stdout)[-1500:]}")

    def pids(self) -> set[int]:
        return pids_with(self.temp_dir)

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.pids()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 10
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.2)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def no_ray_children(timeout: float = 15.0) -> bool:
    """Whether this process's Ray processes are all gone (they exit shortly after shutdown)."""
    deadline = time.monotonic() + timeout
    while ray_children():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
