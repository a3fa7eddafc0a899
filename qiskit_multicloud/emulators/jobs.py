"""Job table and lifecycle shared by every emulator.

A job's phase is derived from an injectable clock: QUEUED for ``queue_delay`` seconds after
submission, RUNNING for ``run_time`` more, then DONE (simulated lazily on first read) unless
cancelled or failed. Tests use :class:`ManualClock` and never sleep.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from qiskit.circuit import QuantumCircuit

from .noise import DeviceNoise
from .simulator import SimOutcome, Simulator


class JobPhase(enum.Enum):
    """Vendor-neutral lifecycle of an emulated job; each emulator maps it to its words."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """True for DONE, FAILED and CANCELLED."""
        return self in (JobPhase.DONE, JobPhase.FAILED, JobPhase.CANCELLED)


class ManualClock:
    """A clock that only moves when told (``clock.advance(5)``)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@dataclasses.dataclass
class EmulatedJob:
    """One job held by an emulator.

    ``circuits`` are what the simulator runs; ``meta`` keeps whatever the vendor protocol
    needs to echo back (names, tags, raw payloads, ...).
    """

    job_id: str
    device_id: str
    circuits: list[QuantumCircuit]
    shots: int
    created: float
    queue_delay: float
    run_time: float
    owner: str = ""
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    failure: str | None = None
    cancelled_at: float | None = None
    ended_at: float | None = None
    outcomes: list[SimOutcome] | None = None
    #: Results get one shot more than asked (the ``hostile_counts`` fault).
    hostile_counts: bool = False
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def timed_phase(self, now: float) -> JobPhase:
        """Phase from the clock alone (ignores whether simulation succeeded)."""
        if self.cancelled_at is not None:
            return JobPhase.CANCELLED
        if now < self.created + self.queue_delay:
            return JobPhase.QUEUED
        if now < self.created + self.queue_delay + self.run_time:
            return JobPhase.RUNNING
        return JobPhase.FAILED if self.failure else JobPhase.DONE

    @property
    def started_at(self) -> float:
        """When the job left the queue."""
        return self.created + self.queue_delay


class JobTable:
    """Thread-safe store of emulated jobs with clock-driven phases.

    Args:
        simulator: runs circuits when a job completes.
        clock: time source (seconds).
        queue_delay: default seconds a job stays QUEUED.
        run_time: default seconds a job stays RUNNING.
        noise_for: the noise of a device id (``None`` = ideal), applied to its jobs.
    """

    def __init__(
        self,
        simulator: Simulator,
        clock: Callable[[], float] = time.monotonic,
        queue_delay: float = 0.0,
        run_time: float = 0.0,
        noise_for: Callable[[str], DeviceNoise | None] = lambda device_id: None,
    ) -> None:
        self.simulator = simulator
        self.noise_for = noise_for
        self.clock = clock
        self.queue_delay = queue_delay
        self.run_time = run_time
        self._jobs: dict[str, EmulatedJob] = {}
        self._lock = threading.Lock()
        self._simulate_lock = threading.Lock()
        #: Number of jobs ever created (fault tests compare it with client submissions).
        self.created_count = 0
        self._corrupt = 0

    def corrupt_next(self, count: int = 1) -> None:
        """Give the next ``count`` jobs created one shot more than asked in their results
        (the ``hostile_counts`` fault)."""
        with self._lock:
            self._corrupt += count

    def add(
        self,
        device_id: str,
        circuits: Sequence[QuantumCircuit],
        shots: int,
        *,
        job_id: str | None = None,
        owner: str = "",
        meta: dict[str, Any] | None = None,
        failure: str | None = None,
    ) -> EmulatedJob:
        """Register a submitted job (``failure`` makes it end FAILED with that message)."""
        job = EmulatedJob(
            job_id=job_id or str(uuid.uuid4()),
            device_id=device_id,
            circuits=list(circuits),
            shots=shots,
            created=self.clock(),
            queue_delay=self.queue_delay,
            run_time=self.run_time,
            owner=owner,
            meta=dict(meta or {}),
            failure=failure,
        )
        with self._lock:
            self._jobs[job.job_id] = job
            self.created_count += 1
            if self._corrupt > 0:
                self._corrupt -= 1
                job.hostile_counts = True
        return job

    def get(self, job_id: str) -> EmulatedJob | None:
        """The job, or ``None`` if unknown."""
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[EmulatedJob]:
        """Every job, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def remove(self, job_id: str) -> bool:
        """Forget a job; True if it existed."""
        with self._lock:
            return self._jobs.pop(job_id, None) is not None

    def phase(self, job: EmulatedJob) -> JobPhase:
        """Current phase; a job reaching DONE is simulated here, once."""
        phase = job.timed_phase(self.clock())
        if phase is JobPhase.DONE and job.outcomes is None:
            self._simulate_due(job)
            phase = job.timed_phase(self.clock())
        if phase.final and job.ended_at is None:
            job.ended_at = self.clock()
        return phase

    def _simulate_due(self, job: EmulatedJob) -> None:
        """Simulate ``job`` together with every other job now due with the same shots and noise.

        One simulator call for many small jobs (e.g. one task per circuit) costs a fraction
        of one call each; a batch that fails is retried job by job so one bad program only
        fails its own job. Jobs share a call only if their devices share a noise model
        (ideal devices all do).
        """
        with self._simulate_lock:
            if job.outcomes is not None or job.failure is not None:
                return
            now = self.clock()
            noise = self.noise_for(job.device_id)
            due = [
                other
                for other in self.all()
                if other.outcomes is None
                and other.failure is None
                and other.shots == job.shots
                and other.timed_phase(now) is JobPhase.DONE
                and self.noise_for(other.device_id) is noise
            ]
            if job not in due:
                due.append(job)
            circuits = [circuit for other in due for circuit in other.circuits]
            try:
                outcomes = self.simulator.run(circuits, job.shots, noise)
            except Exception:
                for other in due:
                    self._simulate_one(other)
                return
            offset = 0
            for other in due:
                other.outcomes = _hostile(other, outcomes[offset : offset + len(other.circuits)])
                offset += len(other.circuits)

    def _simulate_one(self, job: EmulatedJob) -> None:
        try:
            outcomes = self.simulator.run(job.circuits, job.shots, self.noise_for(job.device_id))
            job.outcomes = _hostile(job, outcomes)
        except Exception as exc:  # the vendor would report a failed job
            job.failure = f"simulation failed: {exc}"

    def cancel(self, job: EmulatedJob) -> bool:
        """Cancel a job that is not final; True if it changed."""
        if self.phase(job).final:
            return False
        job.cancelled_at = self.clock()
        job.ended_at = job.cancelled_at
        return True

    def pending(self, device_id: str | None = None) -> int:
        """Jobs queued (not yet running), optionally for one device."""
        now = self.clock()
        return sum(
            1
            for job in self.all()
            if (device_id is None or job.device_id == device_id)
            and job.timed_phase(now) is JobPhase.QUEUED
        )

    def queue_position(self, job: EmulatedJob) -> int | None:
        """1-based position among queued jobs of the same device, None if not queued."""
        now = self.clock()
        if job.timed_phase(now) is not JobPhase.QUEUED:
            return None
        ahead = [
            j
            for j in self.all()
            if j.device_id == job.device_id
            and j.timed_phase(now) is JobPhase.QUEUED
            and j.created <= job.created
        ]
        return len(ahead)


def _hostile(job: EmulatedJob, outcomes: list[SimOutcome]) -> list[SimOutcome]:
    """``outcomes``, with one extra shot per circuit if the job was marked hostile."""
    if not job.hostile_counts:
        return outcomes
    return [SimOutcome(memory=[*o.memory, *o.memory[:1]]) for o in outcomes]
