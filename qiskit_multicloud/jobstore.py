"""Local, persistent record of every submission (sqlite, file mode 0600).

A record is written **before** the submit request and completed with the vendor job id
after, so a crash or a dropped connection never loses track of a job that may be billed.
Ids a vendor hands out before the billable request (OQC's reserved task ids, OQTOPUS's
registered job id) are written before that request too (:meth:`JobStore.note_reserved`).
No credential is ever stored: records hold vendor, account origin, device, options,
circuits (QPY) and ids.

Writes BEFORE a submit must succeed, or nothing is sent (:class:`JobStoreError`). Writes
AFTER a submit never fail the caller: they are retried for :attr:`JobStore.retry_for`
seconds, then appended to a fallback journal next to the store (``<store>.pending``, mode
0600, one JSON line per write) that is replayed into the store on its next use, and a
:class:`JobStoreWarning` names the vendor job id.

The store is a security boundary: a path that is a symbolic link is refused, missing
parent directories are created 0700, and every failure (locked, corrupt, read-only, a
directory) becomes a :class:`JobStoreError` naming the file and what to do.

Location: ``$QISKIT_MULTICLOUD_HOME/jobs.sqlite``, else ``$XDG_DATA_HOME/qiskit-multicloud``,
else ``~/.local/share/qiskit-multicloud``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import errno
import io
import json
import logging
import os
import sqlite3
import stat
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from qiskit import qpy
from qiskit.circuit import QuantumCircuit

from .cache import make_private_dirs
from .deadline import Deadline
from .exceptions import JobStoreError, JobStoreWarning
from .sweeps import SweepCircuits
from .types import CircuitLayout

try:  # POSIX: serialise journal appends and replays across processes
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SUBMITTING = "SUBMITTING"
SUBMITTED = "SUBMITTED"
UNCERTAIN = "SUBMISSION_UNCERTAIN"
SUBMIT_FAILED = "SUBMIT_FAILED"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    record_id   TEXT PRIMARY KEY,
    vendor      TEXT NOT NULL,
    backend     TEXT NOT NULL,
    job_id      TEXT,
    chunk_refs  TEXT NOT NULL DEFAULT '[]',
    chunk_sizes TEXT NOT NULL DEFAULT '[]',
    status      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    options     TEXT NOT NULL,
    layouts     TEXT NOT NULL,
    circuits    BLOB,
    error       TEXT,
    origin      TEXT NOT NULL DEFAULT '',
    reserved    TEXT NOT NULL DEFAULT '{}',
    bindings    BLOB
);
CREATE INDEX IF NOT EXISTS jobs_job_id ON jobs(job_id);
"""

#: Columns added after the first release, with their definitions (added to older stores).
_ADDED_COLUMNS = {
    "origin": "TEXT NOT NULL DEFAULT ''",
    "reserved": "TEXT NOT NULL DEFAULT '{}'",
    "bindings": "BLOB",
}

#: Seconds sqlite waits for another connection's lock before one attempt fails.
BUSY_TIMEOUT = 0.5
#: Seconds a write after a submit keeps retrying before it goes to the fallback journal.
RETRY_FOR = 3.0


def default_store_path() -> Path:
    """Where the job store lives unless told otherwise."""
    root = os.environ.get("QISKIT_MULTICLOUD_HOME")
    if root:
        return Path(root) / "jobs.sqlite"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "qiskit-multicloud" / "jobs.sqlite"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


@dataclasses.dataclass(frozen=True)
class JobRecord:
    """One row of the job store."""

    record_id: str
    vendor: str
    backend: str
    job_id: str | None
    chunk_refs: tuple[str, ...]
    chunk_sizes: tuple[int, ...]
    status: str
    created_at: str
    updated_at: str
    options: dict[str, Any]
    layouts: tuple[CircuitLayout, ...]
    error: str | None
    #: ``scheme://host:port`` of the account's API (``""`` in records made before 0.2).
    origin: str = ""
    #: chunk index (as a string) -> ids the vendor reserved before the billable request.
    reserved: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    @property
    def shots(self) -> int | None:
        """Shots asked per circuit, if recorded."""
        value = self.options.get("shots")
        return value if isinstance(value, int) else None

    def describe(self) -> str:
        """One line naming the record for messages (id, vendor, origin, time, job id)."""
        where = f" at {self.origin}" if self.origin else ""
        return (
            f"record {self.record_id} ({self.vendor}{where}, {self.backend}, created "
            f"{self.created_at[:19]}, job id {self.job_id or 'none'}, {self.status})"
        )

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> JobRecord:
        """Decode a database row."""
        return cls(
            record_id=row["record_id"],
            vendor=row["vendor"],
            backend=row["backend"],
            job_id=row["job_id"],
            chunk_refs=tuple(json.loads(row["chunk_refs"])),
            chunk_sizes=tuple(json.loads(row["chunk_sizes"])),
            status=row["status"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            options=json.loads(row["options"]),
            layouts=tuple(CircuitLayout.from_dict(d) for d in json.loads(row["layouts"])),
            error=row["error"],
            origin=row["origin"] or "",
            reserved=json.loads(row["reserved"] or "{}"),
        )


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if _is_json(v)}


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True



def _open_private(path: Path, flags: int) -> int:
    """``os.open`` that never follows a symbolic link and leaves the file mode 0600.

    Raises:
        JobStoreError: the path is a symbolic link, a directory, or cannot be opened.
    """
    if path.is_symlink():
        raise JobStoreError(
            f"job store {path} is a symbolic link; refusing to follow it (a link could send "
            "job records and a chmod to another file). Replace it with a regular file or "
            "pass the real path as job_store=...",
            path=path,
        )
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags | nofollow | os.O_CREAT, 0o600)
    except OSError as exc:
        raise _os_error(path, exc) from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise JobStoreError(
            f"job store {path} is not a regular file; pass a file path as job_store=...",
            path=path,
        )
    if stat.S_IMODE(info.st_mode) != 0o600:
        os.fchmod(fd, 0o600)
    return fd


def _os_error(path: Path, exc: OSError) -> JobStoreError:
    if exc.errno == errno.ELOOP:
        reason = "is a symbolic link; refusing to follow it. Pass the real path"
    elif exc.errno == errno.EISDIR:
        reason = "is a directory; pass a file path as job_store=..."
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = (
            f"cannot be written ({exc.strerror}); make it (and its directory) writable by "
            "you, or pass another path as job_store=..."
        )
    else:
        reason = f"cannot be opened ({exc.strerror}); check the path or pass another job_store"
    return JobStoreError(f"job store {path} {reason}", path=path)


def _sqlite_error(path: Path, exc: sqlite3.Error) -> JobStoreError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        reason = (
            "is locked by another process or connection; finish or close the program "
            "holding it, or pass another path as job_store=..."
        )
    elif "not a database" in text or "malformed" in text or "corrupt" in text:
        reason = (
            f"is not a readable job store ({text}); move it aside (it may hold records of "
            "paid jobs) and a new one is created on next use"
        )
    elif "readonly" in text or "read-only" in text:
        reason = f"is read-only ({text}); make it writable or pass another job_store"
    else:
        reason = f"failed ({text}); check the file or pass another job_store"
    return JobStoreError(f"job store {path} {reason}", path=path, locked="locked" in text)


class JobStore:
    """Thread-safe sqlite job store; every write is one committed transaction.

    Args:
        path: the sqlite file (``~`` expanded); default :func:`default_store_path`.
        busy_timeout: seconds one attempt waits for another connection's lock.
        retry_for: seconds a write after a submit keeps retrying before it goes to the
            fallback journal (:attr:`journal_path`).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        busy_timeout: float = BUSY_TIMEOUT,
        retry_for: float = RETRY_FOR,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        self.busy_timeout = busy_timeout
        self.retry_for = retry_for
        self._sleep = sleep
        self._lock = threading.Lock()
        self._ready = False

    def __repr__(self) -> str:
        return f"JobStore({str(self.path)!r})"

    @property
    def journal_path(self) -> Path:
        """Fallback journal of writes the store refused after a submit (replayed on use)."""
        return self.path.with_name(self.path.name + ".pending")

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction; every failure becomes a :class:`JobStoreError`."""
        with self._lock:
            try:
                if not self._ready:
                    make_private_dirs(self.path.parent)
                    os.close(_open_private(self.path, os.O_RDWR))
                connection = sqlite3.connect(self.path, timeout=self.busy_timeout)
            except OSError as exc:
                raise _os_error(self.path, exc) from exc
            except sqlite3.Error as exc:
                raise _sqlite_error(self.path, exc) from exc
            connection.row_factory = sqlite3.Row
            try:
                if not self._ready:
                    self._migrate(connection)
                    self._ready = True
                self._replay(connection)
                with connection:
                    yield connection
            except sqlite3.Error as exc:
                raise _sqlite_error(self.path, exc) from exc
            finally:
                connection.close()

    @staticmethod
    def _migrate(connection: sqlite3.Connection) -> None:
        """Create the table, or add the columns newer versions need (old rows stay)."""
        connection.executescript(_SCHEMA)
        have = {row["name"] for row in connection.execute("PRAGMA table_info(jobs)")}
        with connection:
            for name, definition in _ADDED_COLUMNS.items():
                if name not in have:
                    connection.execute(f"ALTER TABLE jobs ADD COLUMN {name} {definition}")
            connection.execute(
                "CREATE INDEX IF NOT EXISTS jobs_vendor_origin_job_id "
                "ON jobs(vendor, origin, job_id)"
            )

    # -- writes before a submit: must succeed, or nothing is sent --------------------------

    def record_submission(
        self,
        *,
        vendor: str,
        backend: str,
        circuits: Sequence[QuantumCircuit],
        layouts: Sequence[CircuitLayout],
        options: dict[str, Any],
        origin: str = "",
        chunk_sizes: Sequence[int] = (),
    ) -> str:
        """Write the record BEFORE submitting; returns its id.

        Raises:
            JobStoreError: the record could not be written (the caller must not submit).
        """
        structures, bindings = _stored_form(circuits)
        buffer = io.BytesIO()
        try:
            qpy.dump(structures, buffer)
            blob: bytes | None = buffer.getvalue()
        except Exception:  # QPY cannot serialise every custom object; keep the rest.
            blob, bindings = None, None
        record_id = str(uuid.uuid4())
        now = _now()
        with self._connect() as db:
            db.execute(
                "INSERT INTO jobs (record_id, vendor, backend, status, created_at, updated_at,"
                " options, layouts, circuits, origin, chunk_sizes, bindings)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record_id,
                    vendor,
                    backend,
                    SUBMITTING,
                    now,
                    now,
                    json.dumps(_jsonable(options)),
                    json.dumps([layout.to_dict() for layout in layouts]),
                    blob,
                    origin,
                    json.dumps(list(chunk_sizes)),
                    bindings,
                ),
            )
        return record_id

    def note_reserved(self, record_id: str, chunk: int, ids: Mapping[str, Any]) -> None:
        """Remember ids the vendor reserved for one chunk, BEFORE its billable request.

        Raises:
            JobStoreError: not written (the caller must not send the billable request).
        """
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT reserved FROM jobs WHERE record_id = ?", (record_id,)
            ).fetchone()
            reserved = json.loads(row["reserved"] or "{}") if row else {}
            reserved[str(chunk)] = dict(ids)
            db.execute(
                "UPDATE jobs SET reserved = ?, updated_at = ? WHERE record_id = ?",
                (json.dumps(reserved), _now(), record_id),
            )

    # -- writes after a submit: never fail the caller ---------------------------------------

    def mark_submitted(
        self, record_id: str, chunk_refs: Sequence[str], chunk_sizes: Sequence[int], job_id: str
    ) -> None:
        """Complete the record with the vendor's job references."""
        self._update(
            record_id,
            job_id=job_id,
            chunk_refs=json.dumps(list(chunk_refs)),
            chunk_sizes=json.dumps(list(chunk_sizes)),
            status=SUBMITTED,
        )

    def mark_uncertain(self, record_id: str, error: str, chunk_refs: Sequence[str] = ()) -> None:
        """The submit may have reached the vendor; keep what we know."""
        self._update(
            record_id, status=UNCERTAIN, error=error, chunk_refs=json.dumps(list(chunk_refs))
        )

    def mark_failed(self, record_id: str, error: str) -> None:
        """The vendor refused the submit; no job exists."""
        self._update(record_id, status=SUBMIT_FAILED, error=error)

    def update_status(self, record_id: str, status: str) -> None:
        """Remember the last known final status."""
        self._update(record_id, status=status)

    def _update(self, record_id: str, **fields: Any) -> None:
        """Write after a submit: retried briefly, then journaled; never raises."""
        fields["updated_at"] = _now()
        deadline = Deadline(self.retry_for)
        pause = 0.01
        while True:
            try:
                self._apply(record_id, fields)
                return
            except JobStoreError as exc:
                if not exc.locked or deadline.cap(pause) < pause:  # no time for another try
                    self._journal(record_id, fields, exc)
                    return
            self._sleep(pause)
            pause = min(pause * 2, 0.5)

    def _apply(self, record_id: str, fields: Mapping[str, Any]) -> None:
        with self._connect() as db:
            _set(db, record_id, fields)

    def _journal(self, record_id: str, fields: Mapping[str, Any], exc: JobStoreError) -> None:
        """Keep a write the store refused in the fallback journal, and say so."""
        line = json.dumps({"record_id": record_id, "fields": dict(fields)}) + "\n"
        job = fields.get("job_id") or record_id
        try:
            fd = _open_private(self.journal_path, os.O_WRONLY | os.O_APPEND)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except (OSError, JobStoreError) as journal_exc:
            warnings.warn(
                JobStoreWarning(
                    f"{exc}. The update of record {record_id} (job {job}, {fields}) could not "
                    f"be kept in {self.journal_path} either ({journal_exc}); note the job id "
                    "now: it is the only copy",
                    path=self.path,
                    record_id=record_id,
                    job_id=fields.get("job_id"),
                ),
                stacklevel=4,
            )
            return
        warnings.warn(
            JobStoreWarning(
                f"{exc}. The update of record {record_id} (job {job}) was kept in "
                f"{self.journal_path} and is written to the store on its next use",
                path=self.path,
                record_id=record_id,
                job_id=fields.get("job_id"),
            ),
            stacklevel=4,
        )

    def _replay(self, db: sqlite3.Connection) -> None:
        """Apply the fallback journal (if any) to the store, then empty it."""
        journal = self.journal_path
        if not journal.exists():
            return
        try:
            fd = _open_private(journal, os.O_RDWR)
        except JobStoreError as exc:
            log.warning("job store journal not replayed: %s", exc)
            return
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            with os.fdopen(os.dup(fd), "rb") as reader:
                lines = reader.read().splitlines()
            if not lines:
                return
            with db:
                for raw in lines:
                    try:
                        entry = json.loads(raw)
                        _set(db, str(entry["record_id"]), dict(entry["fields"]))
                    except (ValueError, KeyError, TypeError):
                        log.warning("job store journal %s: skipping unreadable line", journal)
            os.ftruncate(fd, 0)
            log.info("job store: replayed %d journaled update(s) from %s", len(lines), journal)
        except sqlite3.Error as exc:
            log.info("job store journal %s kept for later (%s)", journal, exc)
        finally:
            os.close(fd)

    # -- reads ------------------------------------------------------------------------------

    def get(self, job_id: str) -> JobRecord | None:
        """The newest record for a job id or a record id."""
        found = self.find(job_id)
        return found[0] if found else None

    def find(self, job_id: str) -> list[JobRecord]:
        """Every record whose record id or vendor job id is ``job_id``, newest first.

        A record id matches alone (it is unique); vendor job ids may repeat across vendors
        and accounts.
        """
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM jobs WHERE record_id = ?", (job_id,)
            ).fetchall() or db.execute(
                "SELECT * FROM jobs WHERE job_id = ? ORDER BY created_at DESC", (job_id,)
            ).fetchall()
        return [JobRecord.from_row(row) for row in rows]

    def circuits(self, record_id: str) -> list[QuantumCircuit] | None:
        """The circuits of a record, loaded from QPY (sweep points bound again)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT circuits, bindings, layouts FROM jobs WHERE record_id = ?", (record_id,)
            ).fetchone()
        if not row or row["circuits"] is None:
            return None
        loaded = [c for c in qpy.load(io.BytesIO(row["circuits"])) if isinstance(c, QuantumCircuit)]
        if row["bindings"] is None:
            return loaded
        layouts = [CircuitLayout.from_dict(d) for d in json.loads(row["layouts"])]
        return _bound_again(loaded, row["bindings"], layouts)

    def list(
        self, *, vendor: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[JobRecord]:
        """Records, newest first, optionally filtered."""
        query = "SELECT * FROM jobs WHERE 1=1"
        params: list[Any] = []
        if vendor:
            query += " AND vendor = ?"
            params.append(vendor)
        if status:
            query += " AND status = ?"
            params.append(status.upper())
        query += " ORDER BY created_at DESC LIMIT ?"
        params.append(limit)
        with self._connect() as db:
            rows = db.execute(query, params).fetchall()
        return [JobRecord.from_row(row) for row in rows]


def _stored_form(circuits: Sequence[QuantumCircuit]) -> tuple[list[QuantumCircuit], bytes | None]:
    """(circuits to write as QPY, bindings) of a run: a sweep is stored as its parametrized
    circuit plus an array of values (binding 1000 points just to store them would cost more
    than translating them); plain circuits as themselves."""
    if not isinstance(circuits, SweepCircuits):
        return list(circuits), None
    structures: list[QuantumCircuit] = []
    arrays: dict[str, np.ndarray] = {}
    for part in circuits.parts():
        if isinstance(part, QuantumCircuit):
            structures.append(part)
            continue
        arrays[str(len(structures))] = part.sweep.values[part.start : part.stop]
        structures.append(part.sweep.circuit)
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return structures, buffer.getvalue()


def _bound_again(
    structures: list[QuantumCircuit], bindings: bytes, layouts: Sequence[CircuitLayout]
) -> list[QuantumCircuit]:
    """The circuits :func:`_stored_form` stored, sweep points bound with their metadata."""
    out: list[QuantumCircuit] = []
    with np.load(io.BytesIO(bindings)) as arrays:
        for index, circuit in enumerate(structures):
            if str(index) not in arrays:
                out.append(circuit)
                continue
            for row in arrays[str(index)]:
                bound = circuit.assign_parameters(row)
                if len(out) < len(layouts):
                    bound.name = layouts[len(out)].name
                    bound.metadata = dict(layouts[len(out)].metadata)
                out.append(bound)
    return out


def _set(db: sqlite3.Connection, record_id: str, fields: Mapping[str, Any]) -> None:
    """``UPDATE jobs SET <fields> WHERE record_id`` (field names are ours, never input)."""
    unknown = set(fields) - _UPDATABLE
    if unknown:
        raise ValueError(f"not job store columns: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ?" for name in fields)
    db.execute(f"UPDATE jobs SET {assignments} WHERE record_id = ?", (*fields.values(), record_id))


_UPDATABLE = frozenset(
    {"job_id", "chunk_refs", "chunk_sizes", "status", "updated_at", "error", "reserved"}
)
