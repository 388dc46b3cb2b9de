"""Optimizers: HPO algorithms behind the ask / report / tell contract."""

from optimizers.base import Decision, Job, JobKind, Optimizer, Status

__all__ = ["Decision", "Job", "JobKind", "Optimizer", "Status"]
