"""Run one circuit on several devices at once and compare the outcomes.

One job per device, submitted and polled concurrently through each backend's ordinary
``run()`` (so every job is in the job store like any other). A device whose job fails, times
out or cannot be submitted appears as such; the others still come back.

The reference is the ideal distribution (statevector) when the circuit is small enough and
measures only at the end; otherwise devices are compared with each other.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus
from qiskit.quantum_info import Statevector, hellinger_fidelity

from ..exceptions import JobTimeoutError, MultiCloudError
from .estimate import SuccessEstimate
from .ranking import format_rows

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..backend import MultiCloudBackend
    from ..job import MultiCloudJob

#: Largest circuit whose ideal distribution is computed from the statevector.
MAX_IDEAL_QUBITS = 12

#: States a device passes through in a comparison; the last four are final.
PHASES = ("WAITING", "SUBMITTING", "QUEUED", "RUNNING", "DONE", "ERROR", "CANCELLED", "TIMEOUT")
FINAL_PHASES = frozenset({"DONE", "ERROR", "CANCELLED", "TIMEOUT"})


@dataclasses.dataclass
class DeviceRun:
    """One device's part of a comparison.

    Attributes:
        backend: the device.
        circuit: the ISA circuit sent to it.
        estimate: its estimated success probability (``None`` if it could not be scored).
        status: one of :data:`PHASES` (``ERROR`` also covers "could not submit").
        job: the job, once submitted.
        counts: measured counts (keys over all classical bits, clbit 0 rightmost).
        error: why the device has no counts.
        fidelity: Hellinger fidelity to the reference (ideal, or mean over other devices).
        tvd: total variation distance to the ideal distribution (``None`` without one).
        submitted_at, started_at, finished_at: ``time.monotonic()`` when submitted, first
            seen running, and final (observed by polling, so within one poll interval).
    """

    backend: MultiCloudBackend
    circuit: QuantumCircuit | None
    estimate: SuccessEstimate | None
    status: str = "WAITING"
    job: MultiCloudJob | None = None
    counts: dict[str, int] | None = None
    error: str | None = None
    fidelity: float | None = None
    tvd: float | None = None
    submitted_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def name(self) -> str:
        """``vendor:backend``."""
        return f"{self.backend.vendor}:{self.backend.name}"

    @property
    def ok(self) -> bool:
        """True when the device returned counts."""
        return self.counts is not None

    @property
    def job_id(self) -> str | None:
        """The local job id (also the job-store key), once submitted."""
        return self.job.job_id() if self.job is not None else None

    @property
    def vendor_job_ids(self) -> list[str]:
        """The vendor's own job id(s)."""
        return list(self.job.chunk_refs) if self.job is not None else []

    @property
    def queue_seconds(self) -> float | None:
        """Seconds from submit until first seen running (or final)."""
        began = self.started_at if self.started_at is not None else self.finished_at
        if self.submitted_at is None or began is None:
            return None
        return began - self.submitted_at

    @property
    def run_seconds(self) -> float | None:
        """Seconds from first seen running until final."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


#: Called whenever a device's status changes (from the device's worker thread).
ProgressCallback = Callable[[DeviceRun], None]


class Comparison:
    """Outcome of :func:`compare_runs`: per-device counts, fidelities, times and job ids."""

    def __init__(
        self,
        circuit: QuantumCircuit,
        runs: Sequence[DeviceRun],
        shots: int,
        ideal: dict[str, float] | None,
        pairwise: dict[tuple[str, str], float],
    ) -> None:
        self.circuit = circuit
        self.runs = list(runs)
        self.shots = shots
        #: Ideal outcome probabilities (``None`` when the circuit was too large or dynamic).
        self.ideal = ideal
        #: Hellinger fidelity between each pair of devices that returned counts.
        self.pairwise = pairwise

    @property
    def reference(self) -> str:
        """What fidelities are measured against."""
        return "ideal (statevector)" if self.ideal is not None else "the other devices (mean)"

    @property
    def succeeded(self) -> list[DeviceRun]:
        """Devices that returned counts."""
        return [r for r in self.runs if r.ok]

    @property
    def failed(self) -> list[DeviceRun]:
        """Devices that did not (failed, cancelled, timed out or never submitted)."""
        return [r for r in self.runs if not r.ok]

    def __getitem__(self, name: str) -> DeviceRun:
        for run in self.runs:
            if name in (run.name, run.backend.name):
                return run
        raise KeyError(name)

    def __repr__(self) -> str:
        return (
            f"<Comparison of {len(self.runs)} device(s): {len(self.succeeded)} returned counts, "
            f"{len(self.failed)} did not>"
        )

    def table(self) -> str:
        """A plain-text table, one row per device, failures explained below it."""
        rows = [("backend", "status", "estimated", "measured F", "TVD", "queue s", "run s",
                 "vendor job id")]
        for run in self.runs:
            rows.append(
                (
                    run.name,
                    run.status,
                    _number(run.estimate.probability if run.estimate else None)
                    + ("*" if run.estimate and run.estimate.assumed else ""),
                    _number(run.fidelity),
                    _number(run.tvd),
                    _number(run.queue_seconds, 1),
                    _number(run.run_seconds, 1),
                    ",".join(run.vendor_job_ids) or "-",
                )
            )
        lines = [f"{self.circuit.name}: {self.shots} shots, fidelity vs {self.reference}"]
        lines += format_rows(rows)
        if any(r.estimate and r.estimate.assumed for r in self.runs):
            lines.append("* estimate uses assumed values for unpublished errors")
        lines += [f"{r.name}: {r.error}" for r in self.runs if r.error]
        return "\n".join(lines)

    def plot(self, path: str | None = None, top: int = 16) -> Figure:
        """Histograms side by side and an estimated-vs-measured fidelity bar chart.

        Args:
            path: also save the figure there (PNG, SVG, ... by extension).
            top: outcomes shown (the most probable ones overall).

        Raises:
            ConfigurationError: matplotlib is not installed (the ``visualization`` extra).
        """
        from .plot import plot_comparison

        return plot_comparison(self, path=path, top=top)


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def ideal_distribution(
    circuit: QuantumCircuit, max_qubits: int = MAX_IDEAL_QUBITS
) -> dict[str, float] | None:
    """Exact outcome probabilities over all classical bits (clbit 0 rightmost).

    ``None`` when the circuit has more than ``max_qubits`` qubits, measures before its end,
    uses classical control or resets, or measures nothing.
    """
    if circuit.num_qubits > max_qubits or circuit.num_clbits == 0:
        return None
    measures: list[tuple[int, int]] = []
    body = circuit.copy_empty_like()
    measured: set[int] = set()
    for instruction in circuit.data:
        operation = instruction.operation
        qubits = [circuit.find_bit(q).index for q in instruction.qubits]
        if operation.name == "measure":
            measures.append((qubits[0], circuit.find_bit(instruction.clbits[0]).index))
            measured.add(qubits[0])
            continue
        if operation.name == "barrier":
            continue
        if (
            instruction.clbits
            or getattr(operation, "condition", None) is not None
            or operation.name == "reset"
            or measured.intersection(qubits)
        ):
            return None
        body.append(instruction)
    if not measures:
        return None
    body.remove_final_measurements()
    probabilities = Statevector(body).probabilities_dict(qargs=[q for q, _ in measures])
    ideal: dict[str, float] = {}
    for key, probability in probabilities.items():
        if probability < 1e-12:
            continue
        bits = ["0"] * circuit.num_clbits
        for position, (_, clbit) in enumerate(measures):
            bits[clbit] = key[len(key) - 1 - position]
        outcome = "".join(reversed(bits))
        ideal[outcome] = ideal.get(outcome, 0.0) + probability
    return ideal


def total_variation(p: dict[str, float], q: dict[str, float]) -> float:
    """Half the L1 distance between two (normalised) distributions."""
    p_total, q_total = sum(p.values()) or 1.0, sum(q.values()) or 1.0
    keys = set(p) | set(q)
    return 0.5 * sum(abs(p.get(k, 0) / p_total - q.get(k, 0) / q_total) for k in keys)


class _Observer:
    """Tracks one device's job through polling callbacks and reports status changes."""

    def __init__(self, run: DeviceRun, progress: ProgressCallback | None) -> None:
        self.run = run
        self.progress = progress
        self.lock = threading.Lock()

    def set(self, status: str, **fields: Any) -> None:
        with self.lock:
            changed = status != self.run.status
            self.run.status = status
            for key, value in fields.items():
                setattr(self.run, key, value)
            if status == "RUNNING" and self.run.started_at is None:
                self.run.started_at = time.monotonic()
            if status in FINAL_PHASES and self.run.finished_at is None:
                self.run.finished_at = time.monotonic()
        if changed and self.progress is not None:
            self.progress(self.run)

    def __call__(self, job_id: str, status: JobStatus, job: MultiCloudJob) -> None:
        if status in (JobStatus.INITIALIZING, JobStatus.QUEUED, JobStatus.VALIDATING):
            self.set("QUEUED")
        elif status is JobStatus.RUNNING:
            self.set("RUNNING")


def _execute(
    run: DeviceRun,
    shots: int,
    timeout: float | None,
    run_options: dict[str, Any],
    progress: ProgressCallback | None,
) -> None:
    observer = _Observer(run, progress)
    if run.circuit is None:
        observer.set("ERROR")
        return
    observer.set("SUBMITTING")
    try:
        job = run.backend.run(run.circuit, shots=shots, **run_options)
    except MultiCloudError as exc:
        observer.set("ERROR", error=f"not submitted: {exc}")
        return
    observer.set("QUEUED", job=job, submitted_at=time.monotonic())
    try:
        final = job.wait_for_final_state(timeout=timeout, callback=observer)
    except JobTimeoutError as exc:
        observer.set("TIMEOUT", error=str(exc))
        return
    except MultiCloudError as exc:
        observer.set("ERROR", error=str(exc))
        return
    try:
        counts = job.result().get_counts(0)  # raises JobFailedError with the vendor's reason
    except MultiCloudError as exc:
        observer.set("CANCELLED" if final is JobStatus.CANCELLED else "ERROR", error=str(exc))
        return
    observer.set("DONE", counts={k.replace(" ", ""): v for k, v in counts.items()})


def compare_runs(
    runs: Sequence[DeviceRun],
    circuit: QuantumCircuit,
    shots: int = 1000,
    *,
    timeout: float | None = None,
    run_options: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    max_ideal_qubits: int = MAX_IDEAL_QUBITS,
) -> Comparison:
    """Submit each run's ISA circuit concurrently, wait for all, and compare.

    Args:
        runs: one per device, with the ISA circuit to send (``circuit=None`` and an
            ``error`` for a device that could not be prepared).
        circuit: the logical circuit (for the ideal distribution).
        shots: shots per device.
        timeout: seconds each job may take before it is reported as ``TIMEOUT`` (it is
            not cancelled; retrieve it later by its job id).
        run_options: extra ``run()`` options for every device.
        progress: called on every status change of a device.
        max_ideal_qubits: largest circuit compared against the statevector.
    """
    threads = [
        threading.Thread(
            target=_execute,
            args=(run, shots, timeout, dict(run_options or {}), progress),
            name=f"compare-{run.name}",
            daemon=True,
        )
        for run in runs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ideal = ideal_distribution(circuit, max_ideal_qubits)
    done = [r for r in runs if r.counts is not None]
    pairwise: dict[tuple[str, str], float] = {}
    for i, a in enumerate(done):
        for b in done[i + 1 :]:
            value = hellinger_fidelity(a.counts or {}, b.counts or {})
            pairwise[(a.name, b.name)] = pairwise[(b.name, a.name)] = value
    for run in done:
        counts = run.counts or {}
        if ideal is not None:
            run.fidelity = hellinger_fidelity(counts, ideal)
            run.tvd = total_variation({k: float(v) for k, v in counts.items()}, ideal)
        elif len(done) > 1:
            others = [pairwise[(run.name, o.name)] for o in done if o is not run]
            run.fidelity = sum(others) / len(others)
    return Comparison(circuit, runs, shots, ideal, pairwise)
