"""Rank devices for given circuits by estimated success probability.

Every candidate transpiles the circuits for its own Target (concurrently), the ISA circuits
are scored with :func:`~qiskit_multicloud.selection.estimate.estimate_success`, and the
entries are sorted by score; the queue breaks ties, or weighs in with ``queue_weight``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from qiskit import transpile
from qiskit.circuit import QuantumCircuit
from qiskit.exceptions import QiskitError

from ..types import QueueInfo
from .estimate import SuccessEstimate, estimate_success
from .queue import queue_key, queue_snapshot

if TYPE_CHECKING:
    from ..backend import MultiCloudBackend

#: Most backends transpiled at once (transpiling is CPU-bound; more threads do not help).
MAX_PARALLEL_TRANSPILES = 4


@dataclasses.dataclass
class RankingEntry:
    """One device's score for the circuits.

    Attributes:
        backend: the device.
        circuits: the ISA circuits that were scored (run exactly these).
        estimates: one success estimate per circuit.
        estimate: the mean estimated success probability over the circuits.
        two_qubit_gates: two-qubit operations in the ISA circuits (summed).
        depth: largest depth of the ISA circuits.
        queue: the device's queue information, read when ranking.
        score: what the ranking sorts by (``estimate``, lowered by ``queue_weight``).
    """

    backend: MultiCloudBackend
    circuits: list[QuantumCircuit]
    estimates: list[SuccessEstimate]
    estimate: float
    two_qubit_gates: int
    depth: int
    queue: QueueInfo
    score: float

    @property
    def circuit(self) -> QuantumCircuit:
        """The first (usually only) ISA circuit."""
        return self.circuits[0]

    @property
    def name(self) -> str:
        """``vendor:backend``."""
        return f"{self.backend.vendor}:{self.backend.name}"

    @property
    def missing(self) -> tuple[str, ...]:
        """Inputs the device does not publish (queue included), e.g. ``"error of cz"``."""
        found = dict.fromkeys(m for e in self.estimates for m in e.missing)
        if not self.queue.known:
            found["queue length"] = None
        return tuple(found)

    @property
    def assumptions(self) -> tuple[str, ...]:
        """What the estimate assumed in place of missing data (empty = all published)."""
        return tuple(dict.fromkeys(a for e in self.estimates for a in e.assumptions))


@dataclasses.dataclass
class SkippedBackend:
    """A candidate that could not be scored, and why."""

    backend: MultiCloudBackend
    reason: str


class Ranking(list[RankingEntry]):
    """Ranking entries, best first, plus the candidates that could not be scored."""

    def __init__(
        self, entries: Sequence[RankingEntry], skipped: Sequence[SkippedBackend] = ()
    ) -> None:
        super().__init__(entries)
        self.skipped = list(skipped)

    def table(self, top: int | None = None) -> str:
        """A plain-text table; ``*`` marks estimates resting on assumptions."""
        rows = [("#", "backend", "estimate", "2q gates", "depth", "queue", "missing")]
        for rank, entry in enumerate(self[:top] if top else self, start=1):
            mark = "*" if entry.assumptions else ""
            rows.append(
                (
                    str(rank),
                    entry.name,
                    f"{entry.estimate:.3f}{mark}",
                    str(entry.two_qubit_gates),
                    str(entry.depth),
                    entry.queue.describe(),
                    ", ".join(entry.missing) or "-",
                )
            )
        lines = format_rows(rows)
        if any(entry.assumptions for entry in self):
            lines.append("* estimate uses assumed values for unpublished errors (see missing)")
        lines += [f"skipped {s.backend.vendor}:{s.backend.name}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


def format_rows(rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns separated by two spaces (first row is the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]


class _TooSmall(Exception):
    """The device has fewer qubits than the circuit."""


def two_qubit_count(circuit: QuantumCircuit) -> int:
    """Operations on two or more qubits (barriers excluded)."""
    return sum(
        1
        for instruction in circuit.data
        if len(instruction.qubits) >= 2 and instruction.operation.name != "barrier"
    )


def score_backend(
    backend: MultiCloudBackend,
    circuits: Sequence[QuantumCircuit],
    *,
    optimization_level: int = 2,
    seed_transpiler: int | None = None,
) -> tuple[list[QuantumCircuit], list[SuccessEstimate]]:
    """Transpile ``circuits`` for ``backend`` as a user would, and estimate each.

    Raises:
        QiskitError: the circuits cannot be transpiled for this device.
    """
    isa = transpile(
        list(circuits),
        backend=backend,
        optimization_level=optimization_level,
        seed_transpiler=seed_transpiler,
        num_processes=1,
    )
    simulator = bool(backend.device.simulator)
    return isa, [estimate_success(c, backend.target, simulator=simulator) for c in isa]


def rank(
    backends: Sequence[MultiCloudBackend],
    circuits: Sequence[QuantumCircuit],
    *,
    optimization_level: int = 2,
    seed_transpiler: int | None = None,
    queue_weight: float = 0.0,
) -> Ranking:
    """Score every backend for ``circuits`` and sort, best first.

    Args:
        backends: candidates.
        circuits: the circuits to run (not yet transpiled).
        optimization_level: transpiler optimisation level.
        seed_transpiler: transpiler seed, for reproducible rankings.
        queue_weight: ``0`` ranks by estimate alone (queue breaks ties); ``w > 0`` divides
            the estimate by ``1 + w * pending_jobs`` (unknown queues count as the longest
            known one).
    """
    needed = max(c.num_qubits for c in circuits)
    fits = list(backends)
    skipped: list[SkippedBackend] = []

    def attempt(backend: MultiCloudBackend) -> tuple[list[QuantumCircuit], list[SuccessEstimate]]:
        if backend.num_qubits < needed:  # reads the device (lazily, per backend) in a thread
            raise _TooSmall(f"{backend.num_qubits} qubits; the circuit needs {needed}")
        return score_backend(
            backend, circuits, optimization_level=optimization_level,
            seed_transpiler=seed_transpiler,
        )

    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_TRANSPILES, len(fits)))) as pool:
        futures = [pool.submit(attempt, b) for b in fits]
        queues = queue_snapshot(fits)
        scored = []
        for backend, future, queue in zip(fits, futures, queues, strict=True):
            try:
                isa, estimates = future.result()
            except _TooSmall as exc:
                skipped.append(SkippedBackend(backend, str(exc)))
                continue
            except (QiskitError, ValueError) as exc:
                skipped.append(SkippedBackend(backend, f"cannot transpile: {exc}"))
                continue
            scored.append((backend, isa, estimates, queue))
    worst = max((q.pending_jobs for *_, q in scored if q.pending_jobs is not None), default=0)
    entries = []
    for backend, isa, estimates, queue in scored:
        estimate = sum(e.probability for e in estimates) / len(estimates)
        pending = queue.pending_jobs if queue.pending_jobs is not None else worst
        entries.append(
            RankingEntry(
                backend=backend,
                circuits=isa,
                estimates=estimates,
                estimate=estimate,
                two_qubit_gates=sum(two_qubit_count(c) for c in isa),
                depth=max(c.depth() for c in isa),
                queue=queue,
                score=estimate / (1.0 + queue_weight * pending),
            )
        )
    entries.sort(key=lambda e: (-round(e.score, 12), queue_key(e.queue)))
    return Ranking(entries, skipped)
