"""The emulator's reader for the Qibo OpenQASM 2 dialect (stricter than Qiskit's parser).

Qiskit's parser accepts more than Qibo 0.2.8 does; what the real service would reject is
rejected here too, so code that passes against the emulator also passes on the service.
"""

from __future__ import annotations

import re

from qiskit.circuit import QuantumCircuit

from ...emulators.simulator import parse_qasm

REJECTED_STATEMENTS = ("barrier", "reset", "if", "opaque", "delay")
UNDEFINED_GATES = frozenset({"p", "u", "cp", "cu", "ch", "cswap", "iswap"})
_COMMENT = re.compile(r"//[^\n]*")
_GATE_DEF = re.compile(r"\bgate\s+(\w+)[^{]*\{[^}]*\}", re.DOTALL)
_MEASURE = re.compile(r"^measure\s+\w+\s*\[\s*\d+\s*\]\s*->\s*(\w+)\s*\[\s*(\d+)\s*\]$")
_CREG = re.compile(r"^creg\s+(\w+)\s*\[\s*(\d+)\s*\]$")
_WORD = re.compile(r"^([A-Za-z_]\w*)")


def check_program(text: str) -> tuple[QuantumCircuit, list[int]]:
    """Parse one program of the Qibo dialect.

    Returns:
        The circuit and the result-key order: the global Qiskit clbit index of each key
        position (registers in order of first measurement, bits in index order).

    Raises:
        ValueError: what Qibo's importer would reject, with the reason.
    """
    source = _COMMENT.sub("", text)
    source = _GATE_DEF.sub("", source)
    cregs: dict[str, int] = {}
    first_measured: list[str] = []
    measured: set[tuple[str, int]] = set()
    for raw in source.split(";"):
        statement = " ".join(raw.split())
        if not statement:
            continue
        match = _WORD.match(statement)
        word = match.group(1) if match else ""
        if word in REJECTED_STATEMENTS:
            raise ValueError(f"'{word}' is not supported by the Qibo QASM importer")
        if word in UNDEFINED_GATES:
            raise ValueError(f"undefined gate '{word}'")
        if word == "creg":
            creg = _CREG.match(statement)
            if creg is None:
                raise ValueError(f"malformed creg declaration {statement!r}")
            cregs[creg.group(1)] = int(creg.group(2))
        elif word == "measure":
            measure = _MEASURE.match(statement)
            if measure is None:
                raise ValueError(
                    f"{statement!r}: measure one qubit into one indexed bit at a time"
                )
            register, bit = measure.group(1), int(measure.group(2))
            if (register, bit) in measured:
                raise ValueError(f"bit {register}[{bit}] is measured twice")
            measured.add((register, bit))
            if register not in first_measured:
                first_measured.append(register)
    for name, size in cregs.items():
        missing = [i for i in range(size) if (name, i) not in measured]
        if missing:
            raise ValueError(
                f"every bit of creg {name} must be measured exactly once; bits {missing} "
                "are not"
            )
    circuit = parse_qasm(text)
    offsets: dict[str, int] = {}
    offset = 0
    for register in circuit.cregs:
        offsets[register.name] = offset
        offset += register.size
    order = [offsets[name] + i for name in first_measured for i in range(cregs[name])]
    return circuit, order
