"""Vendor-neutral data passed between vendor adapters and the shared core.

Adapters turn vendor JSON into these types; the shared core turns them into Qiskit
objects (:mod:`~qiskit_multicloud.target` builds the ``Target`` from a :class:`DeviceSpec`,
:mod:`~qiskit_multicloud.results` builds the ``Result`` from :class:`CircuitCounts`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus

#: Qubit indices an instruction acts on; ``None`` means "any qubits" (all-to-all).
Qargs = tuple[int, ...] | None


@dataclasses.dataclass(frozen=True)
class InstructionProps:
    """Error rate and duration (seconds) of one instruction on one set of qubits."""

    error: float | None = None
    duration: float | None = None


@dataclasses.dataclass(frozen=True)
class DeviceSpec:
    """What a vendor tells us about one device, in Qiskit terms.

    ``gates`` maps a Qiskit instruction name (``"sx"``, ``"cz"``, ``"measure"``, ...) to the
    qubit tuples it may act on and their properties. A qargs key of ``None`` means the
    instruction is available on any qubits (used for all-to-all simulators).
    """

    vendor: str
    device_id: str
    n_qubits: int
    gates: Mapping[str, Mapping[Qargs, InstructionProps]]
    description: str = ""
    aliases: tuple[str, ...] = ()
    online: bool = True
    simulator: bool = False
    queue_length: int | None = None
    max_shots: int = 100_000
    max_circuits: int | None = None
    #: True when the vendor returns per-shot outcomes (so ``memory=True`` is real data).
    supports_memory: bool = False
    #: T1 / T2 per qubit, in seconds.
    t1: Mapping[int, float] = dataclasses.field(default_factory=dict)
    t2: Mapping[int, float] = dataclasses.field(default_factory=dict)
    calibration_id: str | None = None
    calibrated_at: str | None = None
    version: str = ""
    #: Where the gate set came from, e.g. "device_info" or "documented defaults".
    target_source: str = ""
    #: The vendor's own payload for this device, untouched.
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: Adapter-private facts (task URLs, resonator names, ...).
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        """The id followed by every alias."""
        return (self.device_id, *self.aliases)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the on-disk cache); :meth:`from_dict` inverts it.

        ``raw`` and ``extra`` must be JSON already (vendor answers are); tuples in them
        come back as lists.
        """
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["gates"] = {
            name: [
                [None if qargs is None else list(qargs), props.error, props.duration]
                for qargs, props in entries.items()
            ]
            for name, entries in self.gates.items()
        }
        data["aliases"] = list(self.aliases)
        data["t1"] = {str(q): v for q, v in self.t1.items()}
        data["t2"] = {str(q): v for q, v in self.t2.items()}
        data["raw"] = dict(self.raw)
        data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeviceSpec:
        """Inverse of :meth:`to_dict`.

        Raises:
            KeyError, TypeError, ValueError: ``data`` is not a :meth:`to_dict` form.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["gates"] = {
            str(name): {
                (None if qargs is None else tuple(int(q) for q in qargs)): InstructionProps(
                    error, duration
                )
                for qargs, error, duration in entries
            }
            for name, entries in data["gates"].items()
        }
        values["aliases"] = tuple(str(a) for a in data.get("aliases") or ())
        values["t1"] = {int(q): float(v) for q, v in (data.get("t1") or {}).items()}
        values["t2"] = {int(q): float(v) for q, v in (data.get("t2") or {}).items()}
        return cls(**values)


def uniform_gates(
    n_qubits: int,
    one_qubit: Iterable[str],
    two_qubit: Iterable[str] = (),
    *,
    edges: Iterable[tuple[int, int]] | None = None,
    symmetric: bool = True,
    measure: bool = True,
    reset: bool = False,
    one_qubit_props: Mapping[int, InstructionProps] | None = None,
    two_qubit_props: Mapping[tuple[int, int], InstructionProps] | None = None,
    measure_props: Mapping[int, InstructionProps] | None = None,
) -> dict[str, dict[Qargs, InstructionProps]]:
    """Build a ``DeviceSpec.gates`` mapping for the common case.

    Args:
        n_qubits: number of qubits.
        one_qubit: single-qubit gate names available on every qubit.
        two_qubit: two-qubit gate names available on every edge.
        edges: coupled pairs; ``None`` means all-to-all (expressed as qargs ``None``).
        symmetric: also allow each edge in the reverse direction.
        measure: add ``measure`` on every qubit.
        reset: add ``reset`` on every qubit.
        one_qubit_props: per-qubit properties applied to every single-qubit gate.
        two_qubit_props: per-edge properties (looked up in either direction when symmetric).
        measure_props: per-qubit readout properties.
    """
    empty = InstructionProps()
    q_props = one_qubit_props or {}
    e_props = two_qubit_props or {}
    m_props = measure_props or {}
    qubits = range(n_qubits)
    gates: dict[str, dict[Qargs, InstructionProps]] = {}
    for name in one_qubit:
        gates[name] = {(q,): q_props.get(q, empty) for q in qubits}
    pairs: dict[Qargs, InstructionProps] | None = None
    if edges is not None:
        pairs = {}
        for a, b in edges:
            props = e_props.get((a, b)) or e_props.get((b, a)) or empty
            pairs[(a, b)] = props
            if symmetric:
                pairs.setdefault((b, a), props)
    for name in two_qubit:
        gates[name] = dict(pairs) if pairs is not None else {None: empty}
    if measure:
        gates["measure"] = {(q,): m_props.get(q, empty) for q in qubits}
    if reset:
        gates["reset"] = {(q,): empty for q in qubits}
    return gates


@dataclasses.dataclass(frozen=True)
class CircuitLayout:
    """What the result builder needs to know about a submitted circuit.

    Stored with the job (and in the job store) so results can be rebuilt in a new process
    without the circuit itself.
    """

    name: str
    num_qubits: int
    num_clbits: int
    #: Classical registers in declaration order, as (name, size).
    creg_sizes: tuple[tuple[str, int], ...]
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_circuit(cls, circuit: QuantumCircuit) -> CircuitLayout:
        """Describe ``circuit``'s classical layout (registers must tile the clbits in order)."""
        cregs = tuple((reg.name, reg.size) for reg in circuit.cregs)
        tiled = [bit for reg in circuit.cregs for bit in reg]
        if tiled != list(circuit.clbits):
            # Loose clbits or overlapping registers: present them as one register.
            cregs = (("c", circuit.num_clbits),) if circuit.num_clbits else ()
        metadata = circuit.metadata if isinstance(circuit.metadata, dict) else {}
        return cls(circuit.name, circuit.num_qubits, circuit.num_clbits, cregs, dict(metadata))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "num_qubits": self.num_qubits,
            "num_clbits": self.num_clbits,
            "creg_sizes": [list(item) for item in self.creg_sizes],
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CircuitLayout:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=str(data["name"]),
            num_qubits=int(data["num_qubits"]),
            num_clbits=int(data["num_clbits"]),
            creg_sizes=tuple((str(n), int(s)) for n, s in data["creg_sizes"]),
            metadata=dict(data.get("metadata") or {}),
        )


@dataclasses.dataclass
class CircuitCounts:
    """One circuit's outcome, already in Qiskit's bit order.

    Keys of ``counts`` and entries of ``memory`` are bitstrings over **all** classical bits
    of the circuit, clbit 0 rightmost, no spaces (``"0101"``). The result builder splits them
    into registers.
    """

    counts: dict[str, int]
    memory: list[str] | None = None
    shots: int | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: True when ``memory`` was synthesised from counts (order-less), not measured per shot.
    memory_synthesised: bool = False


@dataclasses.dataclass(frozen=True)
class QueueInfo:
    """How busy a device is, as its vendor publishes it (read fresh, not cached).

    Attributes:
        pending_jobs: jobs waiting for the device (``None`` = not published).
        estimated_wait: seconds until the device is expected to take a new job, where
            the vendor publishes an estimate.
        source: which vendor request/field the numbers came from, or why there are none.
        error: why reading the queue failed (the numbers are then ``None``).
    """

    pending_jobs: int | None = None
    estimated_wait: float | None = None
    source: str = ""
    error: str | None = None

    @property
    def known(self) -> bool:
        """True when the vendor told us something about the queue."""
        return self.pending_jobs is not None or self.estimated_wait is not None

    def describe(self) -> str:
        """Short human form, e.g. ``"3 jobs, ~120 s"`` or ``"unknown"``."""
        parts = []
        if self.pending_jobs is not None:
            parts.append(f"{self.pending_jobs} job{'s' if self.pending_jobs != 1 else ''}")
        if self.estimated_wait is not None:
            parts.append(f"~{self.estimated_wait:.0f} s")
        return ", ".join(parts) or "unknown"


@dataclasses.dataclass(frozen=True)
class VendorJobStatus:
    """A vendor job's status: the Qiskit status plus what the vendor literally said."""

    status: JobStatus
    raw: str
    queue_position: int | None = None
    message: str | None = None


def map_status(table: Mapping[str, JobStatus], raw: str, default: JobStatus) -> JobStatus:
    """Look ``raw`` up in a vendor status table (case-insensitive), else ``default``."""
    return table.get(raw, table.get(raw.upper(), table.get(raw.lower(), default)))


def bits_from_ints(values: Sequence[int], width: int) -> list[str]:
    """Format integers as fixed-width bitstrings (bit 0 rightmost)."""
    return [format(v, f"0{width}b") if width else "" for v in values]
