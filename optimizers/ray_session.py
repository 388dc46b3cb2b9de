"""Start or join Ray quietly, on loopback, with token authentication kept on.

Shared by the Ray Tune adapter (a private Ray per cell) and the `ray` executor (a local
Ray or an existing cluster). Nothing is written under the home directory: the token
lives in the environment and Ray's session files under a temporary directory.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import sys
import tempfile
from dataclasses import dataclass

__all__ = ["RaySession", "start_ray"]

LOOPBACK = "127.0.0.1"

# Tune's console output, default CSV/JSON/TensorBoard loggers and the new-output engine
# are off: the runner records every report itself and the CLI owns the console.
_QUIET_ENV = {
    "RAY_AIR_NEW_OUTPUT": "0",
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
    "RAY_DEDUP_LOGS": "0",
}


@dataclass
class RaySession:
    """A Ray connection made by :func:`start_ray`; ``close`` undoes only what it did."""

    started: bool
    temp_dir: str | None = None

    def close(self) -> None:
        """Shut Ray down if this session started or joined it, and remove its temp dir."""
        if not self.started:
            return
        import ray

        ray.shutdown()
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def start_ray(address: str | None = None, num_cpus: int | None = None,
              include_dashboard: bool = False,
              runtime_env: dict | None = None) -> RaySession:
    """Connect this process to Ray unless it already is.

    Args:
        address: None starts a private local Ray bound to 127.0.0.1; ``"auto"`` or
            ``"host:port"`` joins an existing cluster (its token comes from
            ``RAY_AUTH_TOKEN`` / ``RAY_AUTH_TOKEN_PATH``).
        num_cpus: CPUs of a local Ray (ignored when joining a cluster).
        include_dashboard: start Ray's dashboard with a local Ray (off by default).
        runtime_env: the job's runtime environment when joining a cluster (code to ship).

    Returns:
        A session whose ``close`` shuts down only what this call started.

    """
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            return RaySession(started=False)
    if address is None:
        # Ray 2.60 turns token authentication on for local instances and, unless a token
        # is given, writes one to ~/.ray/auth_token: give it one in the environment
        # instead (inherited by Ray's processes). Never disable authentication.
        os.environ.setdefault("RAY_AUTH_MODE", "token")
        if "RAY_AUTH_TOKEN" not in os.environ and "RAY_AUTH_TOKEN_PATH" not in os.environ:
            os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
        # A local instance otherwise listens on the machine's external address.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        import ray

        # Ray reads the authentication mode and the cluster flag once, at import: refresh
        # them in case Ray was imported before the environment was set.
        ray._raylet.Config.initialize("")
        ray._private.ray_constants.ENABLE_RAY_CLUSTER = False
        temp_dir = tempfile.mkdtemp(prefix="hpoa-ray-")
        ray.init(
            num_cpus=num_cpus,
            include_dashboard=include_dashboard,
            log_to_driver=False,
            logging_level=logging.ERROR,
            _node_ip_address=LOOPBACK,
            _temp_dir=temp_dir,
        )
        return RaySession(started=True, temp_dir=temp_dir)
    extra = {}
    if address != "auto" and not address.startswith("ray://"):
        from optimizers.ray_join import probe_cluster

        nodes, here = probe_cluster(address)  # JoinError: one sentence, within seconds
        if here not in nodes and LOOPBACK in nodes:
            # A cluster whose nodes registered under 127.0.0.1 (started with loopback kept):
            # Ray would look for this driver's node under the machine's address (and wait
            # there); with clusters "disabled" for this driver it keeps loopback. The flag
            # only affects this address resolution in a driver.
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
            extra["_node_ip_address"] = LOOPBACK
        elif here not in nodes:
            from optimizers.ray_join import JoinError

            raise JoinError(f"the Ray cluster at {address} has no node on this machine "
                            f"({here}; its nodes: {', '.join(nodes)}); start one here with "
                            f"`ray start --address={address}`.")
        # else: as raw ray.init, the driver finds its node under the machine's address,
        # whichever address of the cluster was given (127.0.0.1 included).
    import ray

    if extra:
        ray._private.ray_constants.ENABLE_RAY_CLUSTER = False  # read at import otherwise
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
            runtime_env=runtime_env,
            **extra,
        )
    except Exception as err:  # Ray's own errors: one sentence, not a traceback
        from optimizers.ray_join import JoinError

        ray.shutdown()
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise JoinError(f"could not join the Ray cluster at {address}: {first}") from None
    return RaySession(started=True)
