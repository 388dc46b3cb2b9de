"""Which optimizers each table treats as a family (grid, fidelity, pruning, ...).

A cell file records its optimizer conf's `tags` (a reserved conf key outside a cell's
identity); `family(results, tag)` is every loaded optimizer carrying `tag`. Files written
before tags existed fall back to the name lists below, kept in this one place. The lists
also give the display order of known names (new names follow, alphabetically), so old and
new files give the same tables.

Tags: `grid`, `sampler`, `multi_fidelity`, `successive_halving` (the SHA formula predicts
its units), `pruning`, `population`, `random_baseline` (full-fidelity random search that
grid and SHA schedules are measured against), `pruning_baseline` (a sampler without a
pruner, shown beside the pruners), `pbt_comparator`, `unbiased` (samples feed
parameter importance), `library:<name>` (native, optuna, hyperopt, ray, ...).
"""

from __future__ import annotations

from analysis.load import Results
from analysis.provenance import optimizer_tags

__all__ = [
    "FIDELITY_OPTIMIZERS",
    "GRID_OPTIMIZERS",
    "IMPORTANCE_PREFERRED",
    "LEGACY_FAMILIES",
    "PBT_COMPARATORS",
    "PBT_OPTIMIZERS",
    "PRUNING_BASELINES",
    "PRUNING_OPTIMIZERS",
    "RANDOM_BASELINE",
    "SAMPLER_OPTIMIZERS",
    "SHA_THEORY_PREFIXES",
    "family",
    "first_of",
]

# -- files written before tags: membership by conf name (and display order) ---------------
#: The full-fidelity random search that grid search and the SHA family are measured against.
RANDOM_BASELINE = "random"
GRID_OPTIMIZERS = ("grid_rf_chapter", "grid", "optuna_grid")
FIDELITY_OPTIMIZERS = ("sha", "sha_restart", "asha", "asha_restart", "hyperband",
                       "ray_asha", "ray_hyperband", "optuna_asha", "optuna_hyperband",
                       "multifidelity", "smac_mf")
#: Optimizers (by name prefix) whose units the SHA formula predicts (asha_savings' theory columns).
SHA_THEORY_PREFIXES = ("sha", "asha")
PRUNING_OPTIMIZERS = ("tpe_median", "optuna_asha", "optuna_hyperband")
#: Baselines of the pruning table, first present wins: the sampler without a pruner, else random.
PRUNING_BASELINES = ("tpe", "random")
SAMPLER_OPTIMIZERS = ("random", "optuna_random", "tpe", "cmaes", "gp", "qmc", "hyperopt_tpe",
                      "hyperopt_random", "hyperopt_anneal", "gp_ei", "gp_ucb", "ray_random",
                      "ray_optuna", "smac", "smac_bb")
PBT_OPTIMIZERS = ("pbt", "ray_pbt")
PBT_COMPARATORS = ("random", "asha", "ray_asha", "hyperband", "sha")
#: The cell whose trials feed parameter importance: unbiased samples first.
IMPORTANCE_PREFERRED = ("random", "optuna_random", "hyperopt_random", "ray_random", "qmc")

#: Tag -> the conf names that carried it before tags were recorded (and their order).
LEGACY_FAMILIES: dict[str, tuple[str, ...]] = {
    "grid": GRID_OPTIMIZERS,
    "sampler": SAMPLER_OPTIMIZERS,
    "multi_fidelity": FIDELITY_OPTIMIZERS,
    "successive_halving": tuple(n for n in FIDELITY_OPTIMIZERS
                                if n.startswith(SHA_THEORY_PREFIXES)),
    "pruning": PRUNING_OPTIMIZERS,
    "population": PBT_OPTIMIZERS,
    "random_baseline": (RANDOM_BASELINE,),
    "pruning_baseline": PRUNING_BASELINES,
    "pbt_comparator": PBT_COMPARATORS,
    "unbiased": IMPORTANCE_PREFERRED,
}


def family(results: Results, tag: str) -> tuple[str, ...]:
    """The loaded optimizers carrying `tag` (by their recorded tags, else by legacy name)."""
    key = f"family:{tag}"
    if key not in results._cache:
        legacy = LEGACY_FAMILIES.get(tag, ())
        members = set()
        for optimizer, meta in zip(results.cells.optimizer, results.cells.meta, strict=True):
            tags = optimizer_tags(meta)
            if (tag in tags) if tags is not None else _legacy_member(tag, optimizer, legacy):
                members.add(optimizer)
        order = {name: i for i, name in enumerate(legacy)}
        results._cache[key] = tuple(sorted(members, key=lambda n: (order.get(n, len(order)),
                                                                   n)))
    return results._cache[key]


def first_of(results: Results, *tags: str) -> str | None:
    """The first optimizer of the first of `tags` with a loaded member (None if none)."""
    for tag in tags:
        members = family(results, tag)
        if members:
            return members[0]
    return None


def _legacy_member(tag: str, optimizer: str, legacy: tuple[str, ...]) -> bool:
    if tag == "successive_halving":  # the old rule was a name prefix, not a list
        return optimizer in FIDELITY_OPTIMIZERS and optimizer.startswith(SHA_THEORY_PREFIXES)
    return optimizer in legacy
