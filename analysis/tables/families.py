"""Which optimizer conf names each table treats as a family (grid, fidelity, pruning, ...).

The only place the tables name optimizers: each table picks its rows by these lists, so a
new optimizer joins a table by being added here.
"""

from __future__ import annotations

__all__ = [
    "FIDELITY_OPTIMIZERS",
    "GRID_OPTIMIZERS",
    "IMPORTANCE_PREFERRED",
    "PBT_COMPARATORS",
    "PBT_OPTIMIZERS",
    "PRUNING_BASELINES",
    "PRUNING_OPTIMIZERS",
    "RANDOM_BASELINE",
    "SAMPLER_OPTIMIZERS",
    "SHA_THEORY_PREFIXES",
]

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
