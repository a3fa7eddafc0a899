"""Estimated success probability of an ISA circuit from the device's own ``Target``.

The estimate is the product, over the circuit's operations, of ``(1 - error)`` as the Target
publishes it (measurement included), times an idle-decoherence factor for the time each
qubit waits between its operations: ``exp(-t (1/(2 T1) + 1/T2))``, i.e. amplitude damping at
rate ``1/T1`` and pure dephasing at rate ``1/T2 - 1/(2 T1)``. Idle times come from an
as-soon-as-possible schedule of the published gate durations.

Where a device publishes no error for an operation, the estimate uses a clearly marked
assumption (:data:`ASSUMED_ERRORS`) and names the gap in ``missing``; it never treats an
unpublished error as zero. Exceptions: virtual gates (:data:`VIRTUAL_GATES`, frame changes
that take no time) and simulators, which are ideal by construction. An explicit ``delay`` is
idle time.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.transpiler import InstructionProperties, Target

#: Error assumed per operation kind when the Target publishes none (QPUs only).
ASSUMED_ERRORS: Mapping[str, float] = {"1q": 1e-3, "2q": 1e-2, "measure": 2e-2}

#: Gates that are frame changes on every vendor here: no duration, no error of their own.
VIRTUAL_GATES = frozenset({"rz", "p", "u1", "z", "id"})

#: Not operations on the quantum state.
_IGNORED = frozenset({"barrier"})


@dataclasses.dataclass(frozen=True)
class SuccessEstimate:
    """An estimated success probability and what it was computed from.

    Attributes:
        probability: gate x readout x idle factors.
        gate_factor: product of ``1 - error`` over gates (not measurements).
        readout_factor: product of ``1 - error`` over measurements.
        idle_factor: decoherence while idle (``1.0`` when T1/T2 or durations are missing).
        duration: scheduled circuit duration in seconds (``None`` if no duration known).
        missing: inputs the device does not publish, e.g. ``"error of cz"``, ``"T1/T2"``.
        assumptions: what was assumed in their place (empty = computed from data only).
    """

    probability: float
    gate_factor: float
    readout_factor: float
    idle_factor: float
    duration: float | None
    missing: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()

    @property
    def assumed(self) -> bool:
        """True when any input was assumed rather than published."""
        return bool(self.assumptions)


def _kind(name: str, num_qubits: int) -> str:
    if name == "measure":
        return "measure"
    return "2q" if num_qubits >= 2 else "1q"


def estimate_success(
    circuit: QuantumCircuit, target: Target, *, simulator: bool = False
) -> SuccessEstimate:
    """Estimate the probability that ``circuit`` (already ISA for ``target``) runs error-free.

    Args:
        circuit: a circuit transpiled for the target (physical qubit indices).
        target: the device's Target, with errors, durations and qubit properties.
        simulator: the device is a simulator; unpublished errors are then zero by design.
    """
    index = {bit: i for i, bit in enumerate(circuit.qubits)}
    gate = readout = 1.0
    missing: dict[str, None] = {}
    assumptions: dict[str, None] = {}
    clock = [0.0] * circuit.num_qubits
    first: list[float | None] = [None] * circuit.num_qubits
    busy = [0.0] * circuit.num_qubits
    durations_known = True
    for instruction in circuit.data:
        name = instruction.operation.name
        if name in _IGNORED:
            continue
        qargs = tuple(index[q] for q in instruction.qubits)
        if name == "delay":  # an explicit wait: idle time, no error of its own
            wait = _delay_seconds(instruction.operation, target.dt)
            for q in qargs:
                clock[q] += wait
            continue
        props = _properties(target, name, qargs)
        error = props.error if props is not None else None
        duration = props.duration if props is not None else None
        kind = _kind(name, len(qargs))
        if error is None and name not in VIRTUAL_GATES and not simulator:
            error = ASSUMED_ERRORS[kind]
            missing[f"error of {name}"] = None
            assumptions[f"{name}: assumed error {error:g} (not published)"] = None
        if duration is None and name not in VIRTUAL_GATES:
            durations_known = False
        factor = 1.0 - (error or 0.0)
        if kind == "measure":
            readout *= factor
        else:
            gate *= factor
        start = max(clock[q] for q in qargs) if qargs else 0.0
        for q in qargs:
            if first[q] is None:
                first[q] = start
            clock[q] = start + (duration or 0.0)
            busy[q] += duration or 0.0
    idle_factor, total = 1.0, max(clock, default=0.0)
    if simulator:
        return SuccessEstimate(gate * readout, gate, readout, 1.0, None, (), ())
    if not durations_known:
        missing["durations of some operations"] = None
    idle = [
        clock[q] - first_start - busy[q] if (first_start := first[q]) is not None else 0.0
        for q in range(circuit.num_qubits)
    ]
    if any(t > 0 for t in idle):
        rates = _decay_rates(target, circuit.num_qubits)
        if rates is None:
            missing["T1/T2"] = None
            assumptions["no idle decoherence counted (T1/T2 not published)"] = None
        else:
            idle_factor = math.exp(-sum(t * rates[q] for q, t in enumerate(idle)))
    return SuccessEstimate(
        probability=gate * readout * idle_factor,
        gate_factor=gate,
        readout_factor=readout,
        idle_factor=idle_factor,
        duration=total if total > 0 else None,
        missing=tuple(missing),
        assumptions=tuple(assumptions),
    )


_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12}


def _delay_seconds(operation: Any, dt: float | None) -> float:
    """A ``Delay``'s length in seconds (``dt`` units need the Target's ``dt``)."""
    value = float(operation.duration or 0.0)
    unit = getattr(operation, "unit", "dt")
    if unit == "dt":
        return value * dt if dt else 0.0
    return value * _SECONDS.get(unit, 0.0)


def _properties(
    target: Target, name: str, qargs: tuple[int, ...]
) -> InstructionProperties | None:
    if name not in target.operation_names:
        return None
    by_qargs = target[name]
    found: InstructionProperties | None = (
        by_qargs[qargs] if qargs in by_qargs else by_qargs.get(None)
    )
    return found


def _decay_rates(target: Target, num_qubits: int) -> list[float] | None:
    """Per-qubit idle decay rate ``1/(2 T1) + 1/T2`` (1/s); ``None`` if nothing published."""
    props = target.qubit_properties
    if not props:
        return None
    rates = []
    for q in range(num_qubits):
        prop = props[q] if q < len(props) else None
        t1: float = getattr(prop, "t1", None) or 0.0
        t2: float = getattr(prop, "t2", None) or 0.0
        if not t1 and not t2:
            return None
        # Without T2, take its best case T2 = 2 T1 (rate 1/T1).
        dephasing = 1.0 / t2 if t2 else 1.0 / (2.0 * t1)
        rates.append(dephasing + (1.0 / (2.0 * t1) if t1 else 0.0))
    return rates
