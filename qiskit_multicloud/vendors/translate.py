"""Circuit translation helpers shared by vendor adapters (QASM export, register merging)."""

from __future__ import annotations

from qiskit import qasm2, qasm3
from qiskit.circuit import ClassicalRegister, QuantumCircuit

from ..exceptions import CircuitValidationError


def merge_registers(circuit: QuantumCircuit, name: str = "c") -> QuantumCircuit:
    """Copy of ``circuit`` whose clbits form ONE register ``name``, in the original order.

    Vendors that report one histogram per register lose cross-register correlations; with a
    single register the joint distribution survives, and the result builder splits it back
    using the original layout. Bit ``i`` of the merged register is clbit ``i`` of the input.
    """
    if len(circuit.cregs) == 1 and circuit.cregs[0].name == name and list(
        circuit.cregs[0]
    ) == list(circuit.clbits):
        return circuit
    register = ClassicalRegister(circuit.num_clbits, name)
    merged = QuantumCircuit(
        *circuit.qregs,
        register,
        name=circuit.name,
        global_phase=circuit.global_phase,
        metadata=circuit.metadata,
    )
    if not circuit.qregs and circuit.num_qubits:
        merged.add_bits(circuit.qubits)
    clbit_map = {bit: register[i] for i, bit in enumerate(circuit.clbits)}
    for instruction in circuit.data:
        merged.append(
            instruction.operation,
            instruction.qubits,
            [clbit_map[c] for c in instruction.clbits],
            copy=False,
        )
    return merged


def to_qasm2(circuit: QuantumCircuit) -> str:
    """OpenQASM 2 text, with a clear error for what QASM 2 cannot express."""
    try:
        text: str = qasm2.dumps(circuit)
    except Exception as exc:
        raise CircuitValidationError(
            f"circuit {circuit.name!r} cannot be written as OpenQASM 2: {exc}"
        ) from exc
    return text


def to_qasm3(circuit: QuantumCircuit) -> str:
    """OpenQASM 3 text, with a clear error for what the exporter cannot express."""
    try:
        text: str = qasm3.dumps(circuit)
    except Exception as exc:
        raise CircuitValidationError(
            f"circuit {circuit.name!r} cannot be written as OpenQASM 3: {exc}"
        ) from exc
    return text
