"""Checks run before any request is sent, so a bad circuit never costs a job."""

from __future__ import annotations

from collections.abc import Sequence

from qiskit.circuit import QuantumCircuit
from qiskit.transpiler import Target

from .exceptions import CircuitValidationError

#: Directives that every vendor accepts (or that translators drop) regardless of the Target.
DIRECTIVES = frozenset({"barrier"})


def validate_circuits(
    circuits: Sequence[QuantumCircuit],
    target: Target,
    backend_name: str,
    *,
    max_circuits: int | None = None,
) -> None:
    """Raise :class:`CircuitValidationError` for anything ``target`` cannot run.

    Checks: at least one circuit; each circuit fits the device, measures something, and uses
    only instructions the Target has on the qubits it applies them to.
    """
    if not circuits:
        raise CircuitValidationError("run() needs at least one circuit")
    if max_circuits is not None and len(circuits) > max_circuits:
        raise CircuitValidationError(
            f"{len(circuits)} circuits exceed {backend_name}'s limit of {max_circuits} per job"
        )
    for index, circuit in enumerate(circuits):
        if not isinstance(circuit, QuantumCircuit):
            raise CircuitValidationError(
                f"run() item {index} is a {type(circuit).__name__}, not a QuantumCircuit"
            )
        label = f"circuit {index} ({circuit.name!r})"
        if circuit.num_qubits > target.num_qubits:
            raise CircuitValidationError(
                f"{label} uses {circuit.num_qubits} qubits but {backend_name} has "
                f"{target.num_qubits}; use a smaller circuit or a larger backend"
            )
        if circuit.parameters:
            names = ", ".join(sorted(p.name for p in circuit.parameters))
            raise CircuitValidationError(
                f"{label} has unbound parameter(s) {names}; bind them first with "
                "circuit.assign_parameters({...}) or use a Sampler/Estimator primitive"
            )
        _check_instructions(circuit, target, backend_name, label)


def _check_instructions(
    circuit: QuantumCircuit, target: Target, backend_name: str, label: str
) -> None:
    measured = False
    index_of = {bit: i for i, bit in enumerate(circuit.qubits)}
    for instruction in circuit.data:
        operation = instruction.operation
        name = operation.name
        if name in DIRECTIVES:
            continue
        if name == "measure":
            measured = True
        qargs = tuple(index_of[q] for q in instruction.qubits)
        if name not in target.operation_names:
            raise CircuitValidationError(
                f"{label} uses '{name}', which {backend_name} does not support "
                f"(native: {', '.join(sorted(target.operation_names))}). "
                "Run transpile(circuit, backend) first"
            )
        if not target.instruction_supported(name, qargs):
            raise CircuitValidationError(
                f"{label} applies '{name}' to qubits {qargs}, which are not coupled for it "
                f"on {backend_name}. Run transpile(circuit, backend) first"
            )
    if not measured:
        raise CircuitValidationError(
            f"{label} has no measurements, so it would return no counts; add "
            "circuit.measure_all() or measure into classical bits"
        )
