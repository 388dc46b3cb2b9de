"""Self-contained parts of the runner: its row buffer, the per-trial deadline, error texts."""

from __future__ import annotations

import contextlib
import gc
import signal
import threading
from collections.abc import Iterator

from benchmarks import journal as journaling
from benchmarks.cells import CellSpec
from benchmarks.schema import SCHEMA
from problems.base import Report
from problems.errors import describe_error

__all__ = [
    "Columns",
    "TrialTimeoutError",
    "deadline",
    "error_text",
    "fewer_collections",
    "no_reports",
]

#: Allocations between two collections of the youngest generation while a cell runs
#: (CPython's default is 700).
YOUNG_THRESHOLD = 10_000


class TrialTimeoutError(Exception):
    """A trial ran past `trial_timeout` seconds of wall time."""


class Columns:
    """Row buffer: one tuple per report, turned into schema-v1 columns at the end."""

    def __init__(self, spec: CellSpec) -> None:
        self._constant = (spec.study, spec.problem, spec.optimizer, spec.seed)
        self.rows: list[tuple] = []
        self.add = self.rows.append  # the hot path: one append per report

    @property
    def data(self) -> dict[str, list]:
        """The columns, in schema order."""
        n = len(self.rows)
        constant = [[value] * n for value in self._constant]
        varying = [list(column) for column in zip(*self.rows, strict=True)] if n else [
            [] for _ in range(len(SCHEMA.names) - len(constant))
        ]
        return dict(zip(SCHEMA.names, constant + varying, strict=True))


def no_reports() -> Iterator[Report]:
    """An empty report stream, for jobs that never train (failed starts, stand-ins)."""
    yield from ()


def error_text(err: BaseException) -> str:
    """The recorded text of a trial's error (a journaled one keeps its recorded text)."""
    return err.text if isinstance(err, journaling.JournaledError) else describe_error(err)


class deadline:  # noqa: N801 - used as a context manager
    """Raise TrialTimeoutError in the main thread after `seconds` (SIGALRM-based)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.armed = seconds is not None and threading.current_thread() is threading.main_thread()

    def __enter__(self) -> None:
        if self.armed:
            self.previous = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)

    def _fire(self, signum: int, frame: object) -> None:
        raise TrialTimeoutError("the trial ran past `trial_timeout`")


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect the youngest generation every `YOUNG_THRESHOLD` allocations, not 700.

    A cell holds every paused trial (10^4-10^5 in long cells of cheap problems) and
    allocates a few objects per report, nearly all freed by reference counting. With
    CPython's default thresholds each full collection walks all paused trials, and one
    comes every ~70,000 allocations while they grow by a quarter; a cell of 200,000 reports
    then spent ~20 % of its time there. Cyclic garbage is still collected, just in larger
    batches. The previous thresholds come back when the cell ends (or raises).
    """
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], YOUNG_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
