"""Circuits, observables and archives in the shapes OQTOPUS expects.

* Programs are OpenQASM 3 with one quantum register ``q`` (qubit ``i`` = device qubit ``i``
  for a circuit transpiled to our Target) and one classical register ``c`` whose bit ``i`` is
  clbit ``i`` of the circuit, so the server's bitstring keys (clbit 0 rightmost, all bits)
  are exactly our ``CircuitCounts`` keys.
* Observables are lists of ``{"pauli": "X0 Z2", "coeff": 1.0}``.
* Every file exchanged through storage is a zip archive with exactly one entry.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from qiskit.circuit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.quantum_info import SparsePauliOp

from ...decoding import MAX_RESPONSE_BYTES, loads, too_large
from ...exceptions import CircuitValidationError, MalformedResponseError
from ..translate import emit_qasm, single_refs, to_qasm3

VENDOR = "oqtopus"


def flatten(circuit: QuantumCircuit, *, keep_measurements: bool = True) -> QuantumCircuit:
    """Copy ``circuit`` onto one register ``q`` and one register ``c`` (bit order kept)."""
    source = circuit if keep_measurements else circuit.remove_final_measurements(inplace=False)
    assert source is not None
    qreg = QuantumRegister(source.num_qubits, "q")
    cregs = [ClassicalRegister(source.num_clbits, "c")] if source.num_clbits else []
    flat = QuantumCircuit(qreg, *cregs, name=circuit.name, global_phase=source.global_phase)
    qmap = {bit: qreg[i] for i, bit in enumerate(source.qubits)}
    cmap = {bit: flat.clbits[i] for i, bit in enumerate(source.clbits)}
    for instruction in source.data:
        flat.append(
            instruction.operation,
            [qmap[q] for q in instruction.qubits],
            [cmap[c] for c in instruction.clbits],
            copy=False,
        )
    return flat


def to_program(circuit: QuantumCircuit, *, keep_measurements: bool = True) -> str:
    """The OpenQASM 3 program text OQTOPUS runs for ``circuit``."""
    source = circuit if keep_measurements else circuit.remove_final_measurements(inplace=False)
    assert source is not None
    text = program_template(source, None)
    if text is not None:
        return text
    return to_program_exported(circuit, keep_measurements=keep_measurements)


def program_template(
    circuit: QuantumCircuit, placeholders: Mapping[tuple[int, int], str] | None
) -> str | None:
    """:func:`to_program` through the fast emitter, with ``placeholders`` written in place
    of those angles (a sweep's template; see :mod:`qiskit_multicloud.sweeps`), or ``None``."""
    return emit_qasm(
        circuit,
        3,
        [("q", circuit.num_qubits)],
        [("c", circuit.num_clbits)] if circuit.num_clbits else [],
        single_refs(circuit.qubits, "q"),
        single_refs(circuit.clbits, "c"),
        placeholders=placeholders,
    )


def to_program_exported(circuit: QuantumCircuit, *, keep_measurements: bool = True) -> str:
    """:func:`to_program` through Qiskit's exporter (the reference of the fast path)."""
    return to_qasm3(flatten(circuit, keep_measurements=keep_measurements))


def pauli_terms(observable: SparsePauliOp | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """OQTOPUS operator terms for an observable.

    Args:
        observable: a ``SparsePauliOp`` (Qiskit label order, qubit 0 rightmost) or terms
            already in OQTOPUS form (``{"pauli": "Z0 Z1", "coeff": 1.0}``).

    Raises:
        CircuitValidationError: a coefficient is not real (the observable is not Hermitian).
    """
    if not isinstance(observable, SparsePauliOp):
        terms = []
        for term in observable:
            if "pauli" not in term or "coeff" not in term:
                raise CircuitValidationError(
                    f"operator term {term!r} needs 'pauli' and 'coeff' keys"
                )
            terms.append({"pauli": str(term["pauli"]), "coeff": _real(term["coeff"])})
        return terms
    terms = []
    for label, coeff in observable.to_list():
        factors = [f"{p}{q}" for q, p in enumerate(reversed(label)) if p != "I"]
        terms.append({"pauli": " ".join(factors) or "I", "coeff": _real(coeff)})
    return terms


def _real(coeff: Any) -> float:
    value = complex(coeff)
    if abs(value.imag) > 1e-9:
        raise CircuitValidationError(
            f"observable coefficient {coeff} is not real; OQTOPUS estimates Hermitian "
            "observables only"
        )
    return float(value.real)


def zip_single(entry: str, content: bytes | str) -> bytes:
    """A zip archive holding one entry."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(entry, content)
    return buffer.getvalue()


def zip_json(entry: str, data: Any) -> bytes:
    """A zip archive whose one entry is ``data`` as JSON."""
    return zip_single(entry, json.dumps(data))


def unzip_single(data: bytes, what: str) -> bytes:
    """The one entry of a zip archive.

    Raises:
        MalformedResponseError: not a zip, or not exactly one entry.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if len(names) != 1:
                raise MalformedResponseError(
                    f"{VENDOR}: {what} archive holds {len(names)} entries, expected 1",
                    vendor=VENDOR,
                )
            with archive.open(names[0]) as entry:
                content = entry.read(MAX_RESPONSE_BYTES + 1)
            if len(content) > MAX_RESPONSE_BYTES:
                raise too_large(VENDOR, f"{what} archive entry", MAX_RESPONSE_BYTES)
            return content
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise MalformedResponseError(
            f"{VENDOR}: {what} download is not a zip archive", vendor=VENDOR
        ) from exc


def unzip_json(data: bytes, what: str) -> Any:
    """Parse the one entry of a zip archive as JSON.

    Raises:
        MalformedResponseError: not a zip with one JSON entry.
    """
    return loads(unzip_single(data, what), vendor=VENDOR, what=f"{what} archive entry")
