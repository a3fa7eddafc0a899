"""Fault-matrix harness: a batch of jobs per vendor through one fault mode, then an audit.

Shared by ``test/reliability`` and ``benchmarks/fault_matrix.py``. For each (vendor, fault)
cell it runs ``n_jobs`` one-circuit jobs (job ``i`` uses ``20 + i`` shots, so every job the
emulator created can be attributed to the run that made it) with seeded fault rates plus
faults forced on the submit requests, and then compares what the emulator created with what
the client's job store knows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
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
#: Faults of the client's own machine: another process holding the job store locked, and the
#: client process killed (SIGKILL) while its submit request is in flight.
CLIENT_FAULTS = ("locked_store", "crash_during_submit")
#: Every fault kind the emulators inject, then the client's.
FAULTS: tuple[str, ...] = (*FAULT_KINDS, *CLIENT_FAULTS)
#: Jobs per ``crash_during_submit`` cell at most (each starts a Python process).
CRASH_JOBS = 2
#: Seconds a crash cell's submit request is held by the server (the child is killed meanwhile).
IN_FLIGHT = 1.0

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
        "locked_store": {},
        "crash_during_submit": {"latency_spike": IN_FLIGHT},
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
    if fault == "crash_during_submit":
        n_jobs = min(n_jobs, CRASH_JOBS)
    result = CellResult(vendor, fault, jobs=n_jobs)
    # A locked store makes writes wait busy_timeout, retried for retry_for: keep both short.
    store = JobStore(store_path, busy_timeout=0.02, retry_for=0.1)
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
            if fault == "locked_store":
                with _outcome(result), warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    _locked_store_job(backend, compiled, store, index)
                result.messages.extend(f"warning: {w.message}" for w in caught)
                continue
            if fault == "crash_during_submit":
                with _outcome(result):
                    _crash_during_submit(emu, provider, store_path, 20 + index)
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


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Another connection holding the store's exclusive sqlite lock."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def _locked_store_job(backend: Any, compiled: QuantumCircuit, store: JobStore, index: int) -> None:
    """The store is locked before the submit (i mod 3 = 0: nothing may be sent), right after
    it (1: run() returns, the id goes to the journal) or while ``result()`` runs (2)."""
    shots = 20 + index
    phase = index % 3
    if phase == 0:
        with exclusive_lock(store.path):
            backend.run(compiled, shots=shots, **FAST)
        return
    if phase == 1:
        adapter = backend.adapter
        submit = adapter.submit
        with contextlib.ExitStack() as stack:

            def submit_then_lock(*args: Any, **kwargs: Any) -> str:
                ref: str = submit(*args, **kwargs)
                stack.enter_context(exclusive_lock(store.path))
                return ref

            adapter.submit = submit_then_lock
            try:
                job = backend.run(compiled, shots=shots, **FAST)
            finally:
                del adapter.submit
        job.result(timeout=20)
        return
    job = backend.run(compiled, shots=shots, **FAST)
    with exclusive_lock(store.path):
        job.result(timeout=20)


CRASH_CHILD = """
import sys
from qiskit import QuantumCircuit, transpile
from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.emulators import settings_for
vendor, url, token, device, store, shots = sys.argv[1:7]
provider = MultiCloudProvider(
    {vendor: settings_for(vendor, url, token)}, vendors=[vendor], job_store=store
)
backend = provider.get_backend(device, vendor=vendor)
qc = QuantumCircuit(2, 2, name="rel")
qc.x(0)
qc.measure([0, 1], [0, 1])
print("submitting", flush=True)
backend.run(transpile(qc, backend, seed_transpiler=1), shots=int(shots))
print("returned", flush=True)
"""


def _crash_during_submit(
    emu: EmulatorHandle, provider: MultiCloudProvider, store_path: Path, shots: int
) -> None:
    """A child process submits; it is killed (SIGKILL) while the server holds the billable
    request; then this process picks the record up with ``retrieve_job`` and reads results."""
    fired = emu.faults.fired["latency"]
    emu.faults.force("latency", method="POST", path=SUBMIT_PATHS[emu.vendor])
    child = subprocess.Popen(
        [sys.executable, "-c", CRASH_CHILD, emu.vendor, emu.url, emu.token,
         DEVICES[emu.vendor], str(store_path), str(shots)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_child_env(),
    )
    try:
        limit = time.monotonic() + 120
        while emu.faults.fired["latency"] == fired and child.poll() is None:
            if time.monotonic() > limit:
                raise TimeoutError("the child's submit never reached the emulator")
            time.sleep(0.01)
        time.sleep(0.2)  # the body follows the request line; a cut body is never acted on
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    time.sleep(IN_FLIGHT)  # the server finishes the request the child never saw answered
    record = next(r for r in provider.job_store.list() if r.options.get("shots") == shots)  # type: ignore[union-attr]
    provider.retrieve_job(record.record_id).result(timeout=20)


def _child_env() -> dict[str, str]:
    """This environment, with this checkout first on the child's import path."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _audit(result: CellResult, emu: EmulatorHandle, store: JobStore, before: set[str]) -> None:
    """Duplicates (several emulator jobs for one run) and lost ids (unknown to the store)."""
    created = [job for job in emu.jobs.all() if job.job_id not in before]
    records = store.list(limit=10_000)
    known: set[str] = set()
    mentioned = " ".join(r.error or "" for r in records)
    # A record still SUBMITTING (a crashed submit the vendor cannot reconcile, e.g. IQM) is
    # as good as an uncertain one: it names the run, and retrieve_job says what to check.
    unsure = ("SUBMISSION_UNCERTAIN", "SUBMITTING")
    for record in records:
        for ref in record.chunk_refs:
            known.update(part for part in ref.split(",") if part)
        if record.status in unsure:
            result.uncertain += 1
    per_run = Counter(job.shots for job in created)
    result.duplicates = sum(count - 1 for count in per_run.values() if count > 1)
    uncertain_runs = {record.options.get("shots") for record in records if record.status in unsure}
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
        with start(vendor, seed=SEED, noise=False) as emu:
            for fault in faults:
                store = workdir / f"{vendor}-{fault}.sqlite"
                results.append(run_cell(emu, fault, store, n_jobs, wait_timeout))
    return results
