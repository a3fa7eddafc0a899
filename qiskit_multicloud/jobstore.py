"""Local, persistent record of every submission (sqlite, file mode 0600).

A record is written **before** the submit request and completed with the vendor job id
after, so a crash or a dropped connection never loses track of a job that may be billed.
No credential is ever stored: records hold vendor, device, options, circuits (QPY) and ids.

Location: ``$QISKIT_MULTICLOUD_HOME/jobs.sqlite``, else ``$XDG_DATA_HOME/qiskit-multicloud``,
else ``~/.local/share/qiskit-multicloud``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import io
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from qiskit import qpy
from qiskit.circuit import QuantumCircuit

from .types import CircuitLayout

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
    error       TEXT
);
CREATE INDEX IF NOT EXISTS jobs_job_id ON jobs(job_id);
"""


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
        )


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if _is_json(v)}


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class JobStore:
    """Thread-safe sqlite job store; every write is one committed transaction."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self._lock = threading.Lock()
        self._ready = False

    def __repr__(self) -> str:
        return f"JobStore({str(self.path)!r})"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if not self._ready:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
                os.close(fd)
                os.chmod(self.path, 0o600)
            connection = sqlite3.connect(self.path, timeout=30)
            connection.row_factory = sqlite3.Row
            try:
                if not self._ready:
                    connection.executescript(_SCHEMA)
                    self._ready = True
                with connection:
                    yield connection
            finally:
                connection.close()

    def record_submission(
        self,
        *,
        vendor: str,
        backend: str,
        circuits: Sequence[QuantumCircuit],
        layouts: Sequence[CircuitLayout],
        options: dict[str, Any],
    ) -> str:
        """Write the record BEFORE submitting; returns its id."""
        buffer = io.BytesIO()
        try:
            qpy.dump(list(circuits), buffer)
            blob: bytes | None = buffer.getvalue()
        except Exception:  # QPY cannot serialise every custom object; keep the rest.
            blob = None
        record_id = str(uuid.uuid4())
        now = _now()
        with self._connect() as db:
            db.execute(
                "INSERT INTO jobs (record_id, vendor, backend, status, created_at, updated_at,"
                " options, layouts, circuits) VALUES (?,?,?,?,?,?,?,?,?)",
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
                ),
            )
        return record_id

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
        fields["updated_at"] = _now()
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._connect() as db:
            db.execute(
                f"UPDATE jobs SET {assignments} WHERE record_id = ?",
                (*fields.values(), record_id),
            )

    def get(self, job_id: str) -> JobRecord | None:
        """The record for a job id (or a record id), newest first."""
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM jobs WHERE job_id = ? OR record_id = ? "
                "ORDER BY created_at DESC LIMIT 1",
                (job_id, job_id),
            ).fetchone()
        return JobRecord.from_row(row) if row else None

    def circuits(self, record_id: str) -> list[QuantumCircuit] | None:
        """The circuits of a record, loaded from QPY."""
        with self._connect() as db:
            row = db.execute(
                "SELECT circuits FROM jobs WHERE record_id = ?", (record_id,)
            ).fetchone()
        if not row or row["circuits"] is None:
            return None
        loaded = qpy.load(io.BytesIO(row["circuits"]))
        return [c for c in loaded if isinstance(c, QuantumCircuit)]

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
