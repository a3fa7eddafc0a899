"""Helpers of the OQTOPUS emulator: ids, operator parsing, validation, estimation errors."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from ...emulators.simulator import expectation

JOB_TYPES = ("sampling", "estimation", "multi_manual", "sse")
_PAULI = re.compile(r"([IXYZ])(\d*)")


def uuid7() -> str:
    """A UUIDv7-style id (millisecond timestamp first), as the server issues."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=value))


def parse_operator(terms: Any, n_qubits: int) -> SparsePauliOp:
    """OQTOPUS operator terms -> ``SparsePauliOp`` over ``n_qubits`` (qubit 0 rightmost).

    Raises:
        ValueError: malformed term or qubit index out of range.
    """
    labels, coeffs = [], []
    for term in terms or []:
        text = str(term["pauli"]).replace(" ", "")
        chars = ["I"] * max(n_qubits, 1)
        pos = 0
        for match in _PAULI.finditer(text):
            if match.start() != pos:
                raise ValueError(f"cannot parse Pauli string {term['pauli']!r}")
            pos = match.end()
            if match[2] == "":
                if match[1] != "I":
                    raise ValueError(f"Pauli factor {match[1]!r} has no qubit index")
                continue
            index = int(match[2])
            if index >= n_qubits:
                raise ValueError(f"Pauli index {index} >= program qubits {n_qubits}")
            chars[-1 - index] = match[1]
        if pos != len(text):
            raise ValueError(f"cannot parse Pauli string {term['pauli']!r}")
        labels.append("".join(chars))
        coeffs.append(float(term["coeff"]))
    if not labels:
        raise ValueError("operator is empty")
    return SparsePauliOp(labels, coeffs)


def problem(where: str, name: str, kind: str, msg: str | None = None) -> dict[str, Any]:
    return {"loc": [where, name], "msg": msg or f"invalid value for {name}", "type": kind}


def validate_submit(body: Any) -> list[dict[str, Any]]:
    """FastAPI-style validation problems of a submit body (empty list = valid)."""
    if not isinstance(body, Mapping):
        return [problem("body", "body", "model_attributes_type", "Input should be an object")]
    problems = []
    for name in ("device_id", "job_type", "shots"):
        if name not in body:
            problems.append(problem("body", name, "missing", "Field required"))
    if "device_id" in body and not isinstance(body["device_id"], str):
        problems.append(
            problem("body", "device_id", "string_type", "Input should be a valid string")
        )
    if "job_type" in body and body["job_type"] not in JOB_TYPES:
        problems.append(
            problem("body", "job_type", "enum", f"Input should be one of {', '.join(JOB_TYPES)}")
        )
    shots = body.get("shots")
    if "shots" in body and (
        not isinstance(shots, int) or isinstance(shots, bool) or not 1 <= shots <= 10_000_000
    ):
        problems.append(
            problem("body", "shots", "less_than_equal", "shots must be an integer in 1..10000000")
        )
    for name in ("transpiler_info", "simulator_info", "mitigation_info"):
        if body.get(name) is not None and not isinstance(body[name], Mapping):
            problems.append(
                problem("body", name, "dict_type", "Input should be a valid dictionary")
            )
    return problems


def estimate(circuit: QuantumCircuit, operator: SparsePauliOp, shots: int) -> tuple[float, float]:
    """Exact ``<operator>`` and the standard error a ``shots``-shot estimate would have.

    Only the qubits the circuit acts on or the operator touches are simulated, so a
    2-qubit state on a 150-qubit device stays cheap.
    """
    touched = {circuit.find_bit(q).index for inst in circuit.data for q in inst.qubits}
    for pauli in operator.paulis:
        touched.update(int(i) for i in (pauli.x | pauli.z).nonzero()[0])
    keep = sorted(touched) or [0]
    if len(keep) < circuit.num_qubits:
        index = {old: new for new, old in enumerate(keep)}
        small = QuantumCircuit(len(keep))
        for inst in circuit.data:
            targets = [index[circuit.find_bit(q).index] for q in inst.qubits]
            small.append(inst.operation, targets, copy=False)
        labels = [
            "".join(label[::-1][q] for q in keep)[::-1] for label in operator.paulis.to_labels()
        ]
        operator = SparsePauliOp(labels, operator.coeffs)
        circuit = small
    value = expectation(circuit, operator)
    return value, standard_error(circuit, operator, shots)


def standard_error(circuit: QuantumCircuit, operator: SparsePauliOp, shots: int) -> float:
    """Sum over terms of ``|coeff| * sqrt(1 - <P>^2)``, divided by ``sqrt(shots)``."""
    total = 0.0
    for label, coeff in operator.to_list():
        if set(label) == {"I"}:
            continue
        value = expectation(circuit, SparsePauliOp(label))
        variance = 1.0 - value * value
        total += abs(complex(coeff)) * (variance**0.5 if variance > 1e-12 else 0.0)
    return float(total / shots**0.5)


def transpile_result(circuits: list[QuantumCircuit], record: Mapping[str, Any]) -> dict[str, Any]:
    """An identity-layout transpile result (the emulator runs programs as given)."""
    first = circuits[0] if circuits else QuantumCircuit()
    stats = {
        "n_qubits": first.num_qubits,
        "n_gates": sum(1 for i in first.data if i.operation.name not in ("measure", "barrier")),
        "n_gates_1q": sum(
            1 for i in first.data if len(i.qubits) == 1 and i.operation.name != "measure"
        ),
        "n_gates_2q": sum(1 for i in first.data if len(i.qubits) == 2),
        "depth": first.depth(),
    }
    programs = (record.get("input") or {}).get("program") or [""]
    return {
        "transpiled_program": str(programs[0]),
        "stats": {"before": stats, "after": stats},
        "virtual_physical_mapping": {
            "qubit_mapping": {str(q): q for q in range(first.num_qubits)},
            "bit_mapping": {str(c): c for c in range(first.num_clbits)},
        },
    }
