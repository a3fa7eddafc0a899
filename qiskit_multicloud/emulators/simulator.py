"""The simulator behind every emulator (Qiskit Aer), plus QASM parsing and expectations.

Outcomes are per-shot bitstrings in Qiskit order (clbit 0 rightmost, no spaces); each
emulator converts them to its vendor's wire format.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit import qasm2, qasm3
from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp, Statevector

from ..results import counts_from_memory
from .noise import DeviceNoise


@dataclasses.dataclass(frozen=True)
class SimOutcome:
    """Per-shot outcomes of one circuit, Qiskit order, all clbits, no spaces."""

    memory: list[str]

    @property
    def counts(self) -> dict[str, int]:
        """Histogram of :attr:`memory`."""
        return counts_from_memory(self.memory)


class Simulator:
    """Runs circuits on Aer, noiseless unless a run is given a device's noise.

    Args:
        seed: seed for reproducible sampling (noise included); ``None`` for fresh randomness.
        max_qubits: larger circuits fail with a clear message (Aer's statevector limit).
    """

    def __init__(self, seed: int | None = None, max_qubits: int = 28):
        self.seed = seed
        self.max_qubits = max_qubits
        self._backend: Any = None
        self._lock = threading.Lock()

    def _aer(self) -> Any:
        with self._lock:
            if self._backend is None:
                from qiskit_aer import AerSimulator

                self._backend = AerSimulator()
            return self._backend

    def run(
        self, circuits: Sequence[QuantumCircuit], shots: int, noise: DeviceNoise | None = None
    ) -> list[SimOutcome]:
        """Sample every circuit ``shots`` times, with ``noise`` if given.

        Idle qubits are dropped first (a 5-qubit program on a 150-qubit device simulates as 5
        qubits). With noise, all circuits are compacted onto the qubits any of them uses, so
        one noise model of those qubits serves the whole batch.

        Raises:
            ValueError: a circuit is too wide to simulate here.
        """
        used = [_used_qubits(c) for c in circuits]
        for circuit, active in zip(circuits, used, strict=True):
            if len(active) > self.max_qubits:
                raise ValueError(
                    f"circuit {circuit.name!r} acts on {len(active)} qubits; the emulator "
                    f"simulates at most {self.max_qubits}"
                )
        options: dict[str, Any] = {"shots": shots, "memory": True}
        if self.seed is not None:
            options["seed_simulator"] = self.seed
        if noise is None:
            compact = [_compact(c, sorted(a)) for c, a in zip(circuits, used, strict=True)]
        else:
            union = sorted(set().union(*used))
            if len(union) > self.max_qubits:
                return [self.run([c], shots, noise)[0] for c in circuits]
            compact = [_compact(c, union) for c in circuits]
            model = noise.model(union)
            if model is not None:
                options["noise_model"] = model
        result = self._aer().run(compact, **options).result()
        outcomes = []
        for index, circuit in enumerate(compact):
            if circuit.num_clbits == 0:
                outcomes.append(SimOutcome([""] * shots))
                continue
            outcomes.append(SimOutcome(_binary(result.results[index].data.memory, circuit)))
        return outcomes


def _binary(hex_memory: Sequence[str], circuit: QuantumCircuit) -> list[str]:
    """Aer's per-shot hex values as full-width bitstrings (each distinct value formatted once)."""
    width = circuit.num_clbits
    formatted: dict[str, str] = {}
    out = []
    for value in hex_memory:
        bits = formatted.get(value)
        if bits is None:
            bits = formatted[value] = format(int(value, 16), f"0{width}b")
        out.append(bits)
    return out


def _used_qubits(circuit: QuantumCircuit) -> set[int]:
    """Indices of the qubits an instruction other than a barrier acts on."""
    return {
        circuit.find_bit(q).index
        for inst in circuit.data
        if inst.operation.name != "barrier"
        for q in inst.qubits
    }


def _compact(circuit: QuantumCircuit, keep: Sequence[int]) -> QuantumCircuit:
    """The circuit on wires ``keep`` (wire ``keep[i]`` becomes ``i``); barriers are cut to them."""
    if list(keep) == list(range(circuit.num_qubits)):
        return circuit
    mapping = {old: new for new, old in enumerate(keep)}
    compact = QuantumCircuit(len(keep), name=circuit.name)
    for creg in circuit.cregs:
        compact.add_register(creg)
    loose = [c for c in circuit.clbits if not circuit.find_bit(c).registers]
    if loose:
        compact.add_bits(loose)
    for inst in circuit.data:
        indices = [circuit.find_bit(q).index for q in inst.qubits]
        if inst.operation.name == "barrier":
            indices = [i for i in indices if i in mapping]
            if not indices:
                continue
            compact.barrier(*(compact.qubits[mapping[i]] for i in indices))
            continue
        qubits = [compact.qubits[mapping[i]] for i in indices]
        compact.append(inst.operation, qubits, inst.clbits, copy=False)
    return compact


def parse_qasm(text: str) -> QuantumCircuit:
    """Parse OpenQASM 2 or 3 (chosen by the version header).

    Raises:
        ValueError: the program does not parse; the message says where.
    """
    head = text.lstrip()[:40]
    try:
        if head.startswith("OPENQASM 3"):
            return qasm3.loads(text)
        return qasm2.loads(
            text,
            custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS,
            strict=False,
        )
    except Exception as exc:
        raise ValueError(f"cannot parse program: {exc}") from exc


def expectation(circuit: QuantumCircuit, observable: SparsePauliOp) -> float:
    """Exact expectation value of ``observable`` on the state ``circuit`` prepares.

    Final measurements are removed first. Pauli labels follow Qiskit order (qubit 0
    rightmost).
    """
    stripped = circuit.remove_final_measurements(inplace=False)
    assert stripped is not None
    width = max(stripped.num_qubits, observable.num_qubits)
    if stripped.num_qubits < width:
        stripped = QuantumCircuit(width).compose(stripped, qubits=range(stripped.num_qubits))
    if observable.num_qubits < width:
        observable = SparsePauliOp("I" * (width - observable.num_qubits)).tensor(observable)
    value = Statevector(stripped).expectation_value(observable)
    return float(np.real(value))
