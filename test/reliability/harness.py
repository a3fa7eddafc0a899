"""Fault-matrix harness: a batch of jobs per vendor through one fault mode, then an audit.

Shared by ``test/reliability`` and ``benchmarks/fault_matrix.py``. For each (vendor, fault)
cell it runs ``n_jobs`` one-circuit jobs (job ``i`` uses ``20 + i`` shots, so every job the
emulator created can be attributed to the run that made it) with seeded fault rates plus
faults forced on the submit requests, and then compares what the emulator created with what
the client's job store knows.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qiskit import QuantumCircuit, transpile

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.emulators import EmulatorHandle, start
from qiskit_multicloud.emulators.faults import FAULT_KINDS, FaultConfig
from qiskit_multicloud.exceptions import MultiCloudError
from qiskit_multicloud.jobstore import JobStore
from qiskit_multicloud.transport import RetryPolicy

VENDORS = ("oqc", "oqtopus", "iqm", "qoro", "qilimanjaro")
#: Faults that test time bounds: forced on a status poll, a result download or a submit.
TIME_FAULTS = ("frozen", "trickle", "retry_later")
#: Every fault kind the emulators inject.
FAULTS: tuple[str, ...] = FAULT_KINDS
#: The timeout the time faults are measured against: ``result(timeout=...)`` for status polls
#: and result downloads, the ``submit_timeout`` run option for submits.
WAIT_TIMEOUT = 1.0

#: A small online device per vendor (fast to simulate).
DEVICES = {
    "oqc": "qpu:uk:2:d865b5a184",
    "oqtopus": "qulacs",
    "iqm": "sirius-6",
    "qoro": "qoro_emulated_qpu",
    "qilimanjaro": "radagast",
}
#: A substring of each vendor's final, billable submit request path.
SUBMIT_PATHS = {
    "oqc": "/tasks/submit",
    "oqtopus": "/submit",
    "iqm": "/circuit",
    "qoro": "/add_circuits",
    "qilimanjaro": "/circuits",
}
#: Run options that make polling instant (no real sleeping).
FAST = {"poll_interval": 0.001, "max_poll_interval": 0.005}
#: Retries that wait milliseconds, not seconds.
FAST_RETRY = RetryPolicy(total=4, backoff_factor=0.001, backoff_cap=0.005, retry_after_cap=0.005)
SEED = 7


def fault_config(kind: str) -> FaultConfig:
    """Seeded rates for one fault mode (every request is eligible)."""
    rates: dict[str, dict[str, Any]] = {
        "error": {"error_rate": 0.25},
        "rate_limit": {"rate_limit_rate": 0.3, "retry_after": 0.001},
        "drop_after": {"drop_rate": 0.15},
        "malformed": {"malformed_rate": 0.15},
        "expired_token": {"expired_token_rate": 0.05},
        "latency": {"latency": 0.002, "latency_spike": 0.005},
        "frozen": {"hold_limit": 30.0},
        "trickle": {"trickle_interval": 0.5, "hold_limit": 30.0},
        "retry_later": {"long_retry_after": 30.0},
        "hostile_counts": {},
    }
    return FaultConfig(seed=SEED, **rates[kind])


@dataclasses.dataclass
class CellResult:
    """Outcome of one (vendor, fault) cell."""

    vendor: str
    fault: str
    jobs: int = 0
    completed: int = 0
    failed_clearly: int = 0
    raw_errors: list[str] = dataclasses.field(default_factory=list)
    duplicates: int = 0
    lost: int = 0
    uncertain: int = 0
    leaked_secrets: list[str] = dataclasses.field(default_factory=list)
    errors: Counter[str] = dataclasses.field(default_factory=Counter)
    messages: list[str] = dataclasses.field(default_factory=list)
    #: Whether urllib3's own DEBUG lines were among the captured logs.
    saw_urllib3: bool = False
    seconds: float = 0.0
    #: Time faults: the longest a bounded call ran past its requested timeout, seconds
    #: (``None`` for the other faults; negative when every call ended early).
    overrun: float | None = None


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Every log record (DEBUG and up, urllib3 included) written to a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def circuit() -> QuantumCircuit:
    """X on qubit 0 and a measurement of two qubits (asymmetric counts)."""
    qc = QuantumCircuit(2, 2, name="rel")
    qc.x(0)
    qc.measure([0, 1], [0, 1])
    return qc


def secrets_of(emu: EmulatorHandle, provider: MultiCloudProvider) -> list[str]:
    """Strings that must never appear in logs or the store: the token and live credentials."""
    found = [emu.token]
    adapter = provider.adapters[emu.vendor] if hasattr(provider, "adapters") else None
    for auth in (getattr(adapter, "auth", None), getattr(getattr(adapter, "transport", None),
                                                           "auth", None)):
        if auth is None:
            continue
        try:
            headers = auth.headers()
        except MultiCloudError:
            continue
        for value in headers.values():
            token = value.split()[-1]
            if len(token) >= 8:
                found.append(token)
    return list(dict.fromkeys(found))


def run_cell(
    emu: EmulatorHandle,
    fault: str,
    store_path: Path,
    n_jobs: int = 6,
    wait_timeout: float = WAIT_TIMEOUT,
) -> CellResult:
    """Run ``n_jobs`` jobs on ``emu`` through ``fault`` and audit the outcome.

    Time faults (:data:`TIME_FAULTS`) run with the default retry policy and real sleeps, and
    job ``i`` meets the fault on its status poll (``i % 3 == 0``), its result download (1)
    or its billable submit (2), bounded by ``wait_timeout``.
    """
    vendor = emu.vendor
    result = CellResult(vendor, fault, jobs=n_jobs)
    store = JobStore(store_path)
    provider = MultiCloudProvider({vendor: emu.settings()}, vendors=[vendor], job_store=store)
    started = time.perf_counter()
    before = {job.job_id for job in emu.jobs.all()}
    with captured_logs() as logs:
        backend = provider.get_backend(DEVICES[vendor], vendor=vendor)
        if fault in TIME_FAULTS:
            backend.adapter.transport.sleep = time.sleep
        else:
            backend.adapter.transport.retry = FAST_RETRY
            backend.adapter.transport.sleep = lambda seconds: time.sleep(min(seconds, 0.005))
        compiled = transpile(circuit(), backend, seed_transpiler=1)
        emu.faults.configure(fault_config(fault))
        for index in range(n_jobs):
            if fault in TIME_FAULTS:
                _time_fault_job(emu, backend, compiled, fault, index, wait_timeout, result)
                continue
            if fault == "hostile_counts":
                if index % 2 == 0:
                    emu.faults.force(fault, method="POST", path=SUBMIT_PATHS[vendor])
            elif fault != "latency" and index % 3 == 1:
                emu.faults.force(fault, method="POST")  # the run's first POST
            elif fault != "latency" and index % 3 == 2:
                emu.faults.force(fault, method="POST", path=SUBMIT_PATHS[vendor])
            elif fault == "latency":
                emu.faults.force("latency")
            with _outcome(result):
                backend.run(compiled, shots=20 + index, **FAST).result(timeout=20)
        emu.faults.clear()
        secrets = secrets_of(emu, provider)
    provider.close()
    result.seconds = time.perf_counter() - started
    _audit(result, emu, store, before)
    text = "\n".join(
        [logs.getvalue(), store_path.read_bytes().decode("latin-1"), *result.messages]
    )
    result.leaked_secrets = [s[:4] + "..." for s in secrets if s in text]
    result.saw_urllib3 = "urllib3.connectionpool DEBUG" in logs.getvalue()
    return result


def _time_fault_job(
    emu: EmulatorHandle,
    backend: Any,
    compiled: QuantumCircuit,
    fault: str,
    index: int,
    timeout: float,
    result: CellResult,
) -> None:
    """One job meeting a time fault on one wait path; records how long the bounded call took."""
    shots = 20 + index
    path = index % 3
    times: list[float] = []
    try:
        with _outcome(result):
            _meet_time_fault(emu, backend, compiled, fault, path, shots, timeout, times)
    finally:
        emu.faults.clear()
        emu.faults.configure(fault_config(fault))
    if len(times) == 2:
        overrun = times[1] - times[0] - timeout
        result.overrun = overrun if result.overrun is None else max(result.overrun, overrun)


def _meet_time_fault(
    emu: EmulatorHandle,
    backend: Any,
    compiled: QuantumCircuit,
    fault: str,
    path: int,
    shots: int,
    timeout: float,
    times: list[float],
) -> None:
    """Run one job that meets ``fault``; ``times`` gets the bounded call's start and end."""
    if path == 2:
        emu.faults.force(fault, method="POST", path=SUBMIT_PATHS[emu.vendor])
        times.append(time.monotonic())
        try:
            job = backend.run(compiled, shots=shots, submit_timeout=timeout, **FAST)
        finally:
            times.append(time.monotonic())
        job.result(timeout=20)
        return
    job = backend.run(compiled, shots=shots, **FAST)
    if path == 1:
        job.wait_for_final_state(timeout=20)
    emu.faults.force(fault, method="GET")
    times.append(time.monotonic())
    try:
        job.result(timeout=timeout)
    finally:
        times.append(time.monotonic())


@contextmanager
def _outcome(result: CellResult) -> Iterator[None]:
    """Count the block as completed, failed clearly (a qiskit_multicloud error) or raw."""
    try:
        yield
        result.completed += 1
    except MultiCloudError as exc:
        result.failed_clearly += 1
        result.errors[type(exc).__name__] += 1
        result.messages.append(f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # the audit reports it
        result.raw_errors.append(f"{type(exc).__name__}: {exc}")


def _audit(result: CellResult, emu: EmulatorHandle, store: JobStore, before: set[str]) -> None:
    """Duplicates (several emulator jobs for one run) and lost ids (unknown to the store)."""
    created = [job for job in emu.jobs.all() if job.job_id not in before]
    records = store.list(limit=10_000)
    known: set[str] = set()
    mentioned = " ".join(r.error or "" for r in records)
    for record in records:
        for ref in record.chunk_refs:
            known.update(part for part in ref.split(",") if part)
        if record.status == "SUBMISSION_UNCERTAIN":
            result.uncertain += 1
    per_run = Counter(job.shots for job in created)
    result.duplicates = sum(count - 1 for count in per_run.values() if count > 1)
    uncertain_runs = {
        record.options.get("shots") for record in records if record.status == "SUBMISSION_UNCERTAIN"
    }
    result.lost = sum(
        1
        for job in created
        if job.job_id not in known
        and job.job_id not in mentioned
        and job.shots not in uncertain_runs
    )


def run_matrix(
    workdir: Path,
    vendors: tuple[str, ...] = VENDORS,
    faults: tuple[str, ...] = FAULTS,
    n_jobs: int = 6,
    wait_timeout: float = WAIT_TIMEOUT,
) -> list[CellResult]:
    """Every (vendor, fault) cell, one emulator per vendor."""
    results = []
    for vendor in vendors:
        with start(vendor, seed=SEED) as emu:
            for fault in faults:
                store = workdir / f"{vendor}-{fault}.sqlite"
                results.append(run_cell(emu, fault, store, n_jobs, wait_timeout))
    return results
