"""A running cell's journal of reports, and the lock that says a live process is running it.

While a cell runs, every row it records is appended to ``.seed=<n>.journal`` beside its
eventual ``seed=<n>.parquet`` (a leading dot and no ``.parquet`` suffix: dataset readers
and ``**/*.parquet`` globs skip it), one JSON list per line after a header line naming the
cell's settings. The file is flushed (not fsync'd) at every job end and removed once the
cell's Parquet file is written. After a kill -9 the same command replays the optimizer from
the journal (same asks, reports and tells; finished jobs are not retrained) and goes on; a
torn last line (killed mid-write) is dropped.

The process running a cell holds an exclusive ``flock`` on its journal for the whole run:
:func:`cell_is_locked` tells another process (a second run of the same study) to leave the
cell to it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.cells import CellSpec, cell_identity
from problems.base import Report
from problems.errors import UserError

__all__ = [
    "CellLock", "CellTakenError", "Journal", "JournaledError", "cell_is_locked",
    "check_journal", "journal_path", "open_journal", "pending_outcomes",
]

log = logging.getLogger(__name__)

VERSION = 1
# Record kinds (the last field of a record).
REPORT, FAILED_JOB, FAILED_START = 0, 1, 2
# Positions in a row (benchmarks.schema column order, without the constant columns).
_TRIAL, _STEP, _VALUE, _STATUS, _UNITS = 0, 2, 3, 5, 6
WALL, OPTIMIZER = 9, 10
_TEST, _TRUE, _EXTRA, _ERROR = 13, 14, 15, 16


def journal_path(cell_file: Path) -> Path:
    """The journal of the cell whose file is `cell_file`: ``.seed=<n>.journal`` beside it."""
    cell_file = Path(cell_file)
    return cell_file.with_name(f".{cell_file.stem}.journal")


def cell_file_of(journal: Path) -> Path:
    """The Parquet file a journal belongs to."""
    journal = Path(journal)
    return journal.with_name(f"{journal.name[1:].removesuffix('.journal')}.parquet")


class CellTakenError(Exception):
    """Another live process holds the cell (or has just written it): leave it to that one."""


class JournaledError(Exception):
    """A failure recorded in the journal, replayed with its recorded text."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class CellLock:
    """An exclusive, non-blocking ``flock`` on a cell's journal, held while the cell runs.

    ``with CellLock(path) as lock:`` then ``lock.acquired`` says whether this process holds
    the cell. The journal file is created if missing; the lock dies with the process.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.fd: int | None = None
        self.acquired = False

    def __enter__(self) -> CellLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):  # the file may be removed and recreated under us: retry
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return self
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd, self.acquired = fd, True
                return self
            os.close(fd)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the lock
            self.fd, self.acquired = None, False


def cell_is_locked(path: Path) -> bool:
    """Whether a live process holds the cell whose journal (or Parquet file) is `path`."""
    path = Path(path)
    if path.suffix == ".parquet":
        path = journal_path(path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def header_of(identity: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """The journal's first record: what a resumed run must match."""
    return {"journal": VERSION, "seed": int(seed), "cell_config": dict(identity)}


def _read(path: Path) -> tuple[dict | None, list[list], int]:
    """(header or None, complete records, byte length of the complete part)."""
    data = Path(path).read_bytes()
    header, records, good = None, [], 0
    start = 0
    while True:
        end = data.find(b"\n", start)
        if end < 0:
            break  # a torn last line (or none): dropped
        try:
            record = json.loads(data[start:end])
        except ValueError:
            if data.find(b"\n", end + 1) < 0:  # only the last line may be torn
                break
            raise ValueError(f"{path} is corrupt at byte {start}") from None
        if header is None:
            header = record if isinstance(record, dict) else None
            if header is None:
                raise ValueError(f"{path} has no journal header")
        else:
            records.append(record)
        start = good = end + 1
    return header, records, good


def check_journal(path: Path, identity: Mapping[str, Any], seed: int) -> None:
    """Raise UserError if the journal at `path` was written with other settings.

    Called while planning, before any compute; a missing, empty or torn header passes.
    """
    try:
        header, _, _ = _read(path)
    except FileNotFoundError:
        return
    except ValueError:
        return  # unreadable: the run restarts the cell and says so
    if header is not None and header != header_of(identity, seed):
        raise UserError(
            f"{path} is the journal of a cell run with other settings; use another `study` "
            "name, or delete that file to start the cell afresh."
        )


class Journal:
    """The append side of a cell's journal; `records` holds what a killed run left."""

    def __init__(self, path: Path, identity: Mapping[str, Any], seed: int,
                 resume: bool = True) -> None:
        self.path = Path(path)
        self.records: list[list] = []
        header = header_of(identity, seed)
        try:
            found, records, good = _read(self.path)
        except ValueError as err:
            log.warning("%s; restarting the cell from zero.", err)
            found, records, good = None, [], 0
        if found is not None and found != header:
            raise UserError(
                f"{self.path} is the journal of a cell run with other settings; use another "
                "`study` name, or delete that file to start the cell afresh."
            )
        self.file = open(self.path, "r+b")  # noqa: SIM115 - closed by close()
        if found is not None and resume:
            self.records = records
            self.file.truncate(good)
            self.file.seek(good)
        else:
            self.file.truncate(0)
            self.file.write(json.dumps(header, sort_keys=True).encode() + b"\n")
        self._dumps = json.JSONEncoder(allow_nan=True, separators=(",", ":")).encode
        self.found = found is not None

    def record(self, n: int, row: tuple, report: Report | None, at_start: bool) -> tuple:
        """Journal row `n` (buffered; see :meth:`flush`), or, while the rows of a killed run
        are replayed, check it against the journaled one and return it with that timing.
        """
        if n >= len(self.records):
            kind = REPORT if report is not None else FAILED_START if at_start else FAILED_JOB
            final = report is not None and report.final
            self.file.write(f"{self._dumps([*row, final, kind])}\n".encode())
            return row
        record = self.records[n]
        if not matches(record, row):
            raise RuntimeError(
                f"{self.path} does not match this cell's replay at row {n} (the cell is not "
                "deterministic?); delete the journal to restart the cell."
            )
        return (*row[:WALL], record[WALL], record[OPTIMIZER], *row[OPTIMIZER + 1:])

    def flush(self) -> None:
        """Hand buffered records to the OS (survives a kill of this process, not a crash)."""
        self.file.flush()

    def close(self) -> None:
        """Flush and close (the file stays until the cell's Parquet file is written)."""
        self.file.close()


def open_journal(spec: CellSpec, drives_own_loop: bool) -> Journal | None:
    """The cell's journal, resumed when the cell can be replayed (else restarted, said once).

    None when the cell cannot be resumed: its journal then holds only its header (the file
    stays the cell's lock until the cell is written).
    """
    identity = cell_identity(spec.config)
    why = ("its optimizer runs its own trials" if drives_own_loop
           else "it has a budget in seconds" if spec.budget.seconds is not None
           else "it has a `trial_timeout`" if spec.trial_timeout is not None else "")
    journal = Journal(spec.journal, identity, spec.seed, resume=not why)
    cell = f"{spec.problem}/{spec.optimizer}/seed={spec.seed}"
    if why:
        if journal.found:
            log.warning("cell %s restarts from zero: %s, so it cannot be resumed from its "
                        "journal.", cell, why)
        journal.close()
        return None
    if journal.records:
        log.warning("cell %s resumes from its journal (%d reports).", cell,
                    len(journal.records))
    return journal


def pending_outcomes(records: Sequence[Sequence[Any]]) -> dict[int, deque]:
    """Per trial, the journaled outcomes of its jobs in order, for the runner's replay.

    Each is (kind, Report or error text, step).
    """
    out: dict[int, deque] = {}
    for rec in records:
        kind = rec[-1]
        if kind == REPORT:
            metrics = json.loads(rec[_EXTRA]) if rec[_EXTRA] else {}
            for key, at in (("test_value", _TEST), ("true_value", _TRUE)):
                if rec[at] is not None:
                    metrics[key] = rec[at]
            item: Any = Report(rec[_STEP], float(rec[_VALUE]), rec[_UNITS], metrics,
                               bool(rec[-2]))
        else:
            item = rec[_ERROR]
        out.setdefault(rec[_TRIAL], deque()).append((kind, item, rec[_STEP]))
    return out


def matches(record: Sequence[Any], row: Sequence[Any]) -> bool:
    """Whether a replayed row is the journaled one (trial, step, status, units)."""
    return all(record[i] == row[i] for i in (_TRIAL, _STEP, _STATUS, _UNITS))
