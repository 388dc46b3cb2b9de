"""Before joining a Ray cluster: ask its GCS which nodes it has, in a subprocess with a limit.

`ray.init(address=...)` can wait for minutes (no cluster there), abort the process (no
token) or end in a traceback; asking the cluster's GCS first, from a child process limited
to `PROBE_SECONDS`, turns each of those into one sentence and tells the driver which
address its node is registered under: `ray start --head --node-ip-address=127.0.0.1`
registers the machine's address (Ray's CLI rewrites loopback), a loopback-only cluster
127.0.0.1, and the driver must use the one its node has.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["PROBE_SECONDS", "JoinError", "probe_cluster"]

#: How long the GCS of a cluster may take to answer (a join fails within ~this + 5 s).
PROBE_SECONDS = 15.0

_PROBE = r"""
import json, sys
from ray._raylet import GcsClient
from ray._private.services import get_node_ip_address
try:
    nodes = GcsClient(address=sys.argv[1]).get_all_node_info(timeout=5)
except Exception as err:
    print(json.dumps({"error": type(err).__name__, "detail": str(err).splitlines()[0][:200]}))
    sys.exit(0)
alive = sorted({n.node_manager_address for n in nodes.values() if n.state == 0})
print(json.dumps({"nodes": alive, "here": get_node_ip_address()}))
"""


class JoinError(RuntimeError):
    """Joining the cluster is impossible from here (one sentence)."""


def _has_token() -> bool:
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if path:
        return Path(path).is_file()
    return (Path.home() / ".ray" / "auth_token").is_file()


def probe_cluster(address: str) -> tuple[list[str], str]:
    """The addresses of the cluster's live nodes and this machine's address.

    Raises:
        JoinError: no token, no cluster answering, a rejected token, no live node.

    """
    if os.environ.get("RAY_AUTH_MODE", "token") != "disabled" and not _has_token():
        raise JoinError(f"cannot join the Ray cluster at {address}: no token (set "
                        "RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH to the cluster's token, with "
                        "RAY_AUTH_MODE=token).")
    env = {**os.environ, "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "token")}
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE, address], env=env,
                              capture_output=True, text=True, timeout=PROBE_SECONDS)
    except subprocess.TimeoutExpired:
        raise JoinError(f"no Ray cluster answered at {address} within {PROBE_SECONDS:.0f} s; "
                        "check the address (host:port of the head's GCS, `ray start --head "
                        "--port`) and that the cluster is running.") from None
    lines = done.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if "error" in answer or not answer:
        detail = answer.get("detail", "") + " " + (done.stderr or "")
        if "Auth" in answer.get("error", "") or "InvalidAuthToken" in detail:
            raise JoinError(f"the Ray cluster at {address} rejected this token; set "
                            "RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) to the token the "
                            "cluster was started with.")
        raise JoinError(f"no Ray cluster answered at {address} "
                        f"({answer.get('detail') or 'the probe failed'}); check the address "
                        "and that the cluster is running.")
    if not answer["nodes"]:
        raise JoinError(f"the Ray cluster at {address} has no live node.")
    return list(answer["nodes"]), str(answer["here"])
