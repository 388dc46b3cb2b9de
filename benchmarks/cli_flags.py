"""Hydra's command-line spellings on the compose-based CLI: what works, a sentence for the rest.

`benchmarks.run` composes with Hydra's compose API, not `@hydra.main`, so Hydra's own
application flags (launcher and sweeper plugins, output and working directories, logging
and shell completion) do not exist here. Users type them from habit; each one is either
understood (`-m`, `--multirun`, `--cfg job|all`, `-c job`, `--help`) or answered with one
sentence saying what to use instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Flags", "parse_flags"]

#: Hydra's `--cfg` values; this CLI has no Hydra section (no launcher, sweeper, run dir).
CFG_VALUES = ("job", "hydra", "all")
INSTEAD = "for parallel cells use n_jobs=N or executor=ray; results go to results_dir/study"
#: Hydra application flags this CLI does not offer, and what they would configure.
UNSUPPORTED = {
    "--hydra-help": "Hydra's own help",
    "--info": "Hydra's config search path information",
    "-i": "Hydra's config search path information",
    "--run": "Hydra's single-run mode (a run without -m is already single)",
    "-r": "Hydra's single-run mode (a run without -m is already single)",
    "--shell-completion": "shell completion",
    "-sc": "shell completion",
    "--config-path": "another primary config folder",
    "-cp": "another primary config folder",
    "--config-name": "another primary config file",
    "-cn": "another primary config file",
    "--config-dir": "an extra config folder",
    "-cd": "an extra config folder",
    "--experimental-rerun": "re-running a pickled Hydra job",
    "--resolve": "resolving interpolations in --cfg output (it is always resolved here)",
    "--package": "printing one package of the config",
    "-p": "printing one package of the config",
}


class FlagError(ValueError):
    """A command-line flag this CLI does not offer (one sentence, exit code 2)."""


@dataclass
class Flags:
    """What the flags asked for, and the remaining `key=value` overrides."""

    multirun: bool = False
    show_cfg: bool = False
    overrides: list[str] = field(default_factory=list)


def parse_flags(args: Sequence[str]) -> Flags:
    """Split Hydra-style flags from overrides.

    Raises:
        FlagError: an unknown flag, a Hydra flag this CLI does not offer, `--cfg hydra`, or
            an override of Hydra's own config (`hydra.*`, `hydra/<group>=...`).

    """
    flags = Flags()
    args = list(args)
    i = 0
    while i < len(args):
        arg = args[i]
        name, _, inline = arg.partition("=") if arg.startswith("-") else (arg, "", "")
        if arg in ("-m", "--multirun"):
            flags.multirun = True
        elif name in ("--cfg", "-c"):
            following = args[i + 1] if i + 1 < len(args) else None
            value = inline
            if not inline and following is not None and "=" not in following \
                    and not following.startswith("-"):
                value = following  # Hydra's `--cfg job`: the value is the next word
                i += 1
            value = value or "job"
            if value not in CFG_VALUES:
                raise FlagError(f"`{name} {value}` is not a --cfg spelling; use --cfg job (or "
                                "all), which prints the composed configuration.")
            if value == "hydra":
                raise FlagError("`--cfg hydra` has nothing to print: this CLI composes with "
                                "Hydra's compose API and has no Hydra section (launcher, "
                                "sweeper, run directory); --cfg job prints the configuration.")
            flags.show_cfg = True
        elif name in UNSUPPORTED:
            raise FlagError(f"`{name}` ({UNSUPPORTED[name]}) is a Hydra application flag this "
                            "compose-based CLI does not offer; the options are -m, --cfg "
                            "and --help.")
        elif arg.startswith("-"):
            raise FlagError(f"unknown option `{arg}`; the options are -m, --cfg and --help.")
        else:
            key = arg.lstrip("+~").split("=", 1)[0]
            if key == "hydra" or key.startswith(("hydra.", "hydra/")):
                raise FlagError(f"`{arg}` configures Hydra's launcher, sweeper or output, "
                                "which this compose-based CLI does not use (no launcher or "
                                f"sweeper plugins); {INSTEAD}.")
            flags.overrides.append(arg)
        i += 1
    return flags
