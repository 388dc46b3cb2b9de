"""Measure the memory a paused trial holds, in a fresh process (run with ``python -m``).

``python -m tests.kits.paused_memory '<json>'`` builds the problem of a conf node, trains
one warm-up trial (libraries, allocator pools and caches settle), then holds `k` paused
trials of configurations drawn from the space, each trained to `paused_at`, and prints the
resident-set growth per held trial in MiB as JSON. A fresh process, so nothing another test
allocated or freed moves the figure.
"""

from __future__ import annotations

import gc
import json
import sys
from typing import Any

import numpy as np


def rss_mib() -> float:
    """Resident set size of this process (Linux ``/proc``), in MiB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(conf: dict[str, Any], k: int, paused_at: int, seed: int = 0,
            fixed: dict[str, Any] | None = None) -> dict[str, float]:
    """RSS growth per paused trial (MiB) for `k` trials of `conf`'s problem at `paused_at`
    (configurations drawn from the space, `fixed` parameters replacing the drawn ones).
    """
    from problems.loading import build_problem

    problem = build_problem(conf)
    rng = np.random.default_rng(seed)
    configs = [{**problem.space.sample(rng), **(fixed or {})} for _ in range(k + 1)]
    warm = problem.trial(configs[0], 0)
    for _ in warm.advance(paused_at):
        pass
    del warm
    gc.collect()
    before = rss_mib()
    held = []
    for i, config in enumerate(configs[1:]):
        trial = problem.trial(config, i)
        for _ in trial.advance(paused_at):
            pass
        held.append(trial)
    gc.collect()
    after = rss_mib()
    return {"per_trial_mib": (after - before) / k, "k": k, "paused_at": paused_at,
            "held": len(held)}


if __name__ == "__main__":
    args = json.loads(sys.argv[1])
    print(json.dumps(measure(args["conf"], args["k"], args["paused_at"], args.get("seed", 0),
                             args.get("fixed"))))
