"""Circuit translation helpers shared by vendor adapters (QASM export, register merging)."""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from qiskit import qasm2, qasm3
from qiskit.circuit import (
    Barrier,
    ClassicalRegister,
    Clbit,
    Measure,
    QuantumCircuit,
    QuantumRegister,
    Qubit,
    Reset,
)
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.qasm2 import export as qasm2_export
from qiskit.qasm3 import exporter as qasm3_exporter

from ..exceptions import CircuitValidationError
from ..transport import encode_json


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


def _export(circuit: QuantumCircuit, version: int) -> str:
    """Qiskit's OpenQASM exporter, its failures turned into CircuitValidationError."""
    try:
        text: str = (qasm2 if version == 2 else qasm3).dumps(circuit)
    except Exception as exc:
        raise CircuitValidationError(
            f"circuit {circuit.name!r} cannot be written as OpenQASM {version}: {exc}"
        ) from exc
    return text


def to_qasm2(circuit: QuantumCircuit) -> str:
    """OpenQASM 2 text, with a clear error for what QASM 2 cannot express."""
    return _export(circuit, 2)


def to_qasm3(circuit: QuantumCircuit) -> str:
    """OpenQASM 3 text, with a clear error for what the exporter cannot express."""
    return _export(circuit, 3)


# -- fast OpenQASM emitter ------------------------------------------------------------------
#
# Qiskit's exporters cost 10-20 us per instruction; most circuits sent to a QPU are made of
# standard gates only, so they are written here directly, producing exactly the text
# ``qasm2.dumps`` / ``qasm3.dumps`` would (same gate names and definitions, parameters
# formatted like Qiskit's ``pi_check``). Anything else makes :func:`emit_qasm` return
# ``None`` and the caller uses Qiskit's exporter (test/vendors/test_fast_qasm.py compares
# the two texts on many random circuits).

_FRACTIONS = sorted(
    {
        (n / d, n // math.gcd(n, d), d // math.gcd(n, d))
        for n in range(1, 100)
        for d in range(1, 100)
    }
)
_FRACTION_VALUES = [value for value, _, _ in _FRACTIONS]
_PI_POWERS = (math.pi**2, math.pi**3, math.pi**4)
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
#: Names a register may not have on the fast path (the exporters would rename it).
_RESERVED_NAMES = frozenset(qasm2_export._RESERVED) | frozenset(
    qasm3_exporter._RESERVED_KEYWORDS
) | frozenset(get_standard_gate_name_mapping())
#: Eps of ``pi_check`` in each exporter (qasm2 passes 1e-12, qasm3 uses the default).
_EPS = {2: 1e-12, 3: 1e-9}


class _Unsupported(Exception):
    """The fast emitter cannot write this circuit; use Qiskit's exporter."""


def _near_fraction(value: float, eps: float) -> tuple[int, int] | None:
    """``(n, d)`` with n, d <= 99 and ``|value - n/d| < eps``, as ``pi_check`` finds it.

    Distinct such fractions are >= 1e-4 apart, so the one within eps (if any) is also the
    one ``Fraction.limit_denominator(99)`` returns.
    """
    if value > 100.0:
        return None
    index = bisect.bisect_left(_FRACTION_VALUES, value)
    for i in (index - 1, index):
        if 0 <= i < len(_FRACTIONS):
            frac, n, d = _FRACTIONS[i]
            if abs(value - frac) < eps:
                return n, d
    return None


def format_angle(value: float, eps: float) -> str:
    """``pi_check(value, output="qasm", eps=eps)`` for a finite float, without its cost."""
    if abs(value) < eps:
        return "0"
    neg = "-" if value < 0 else ""
    size = abs(value)
    if size > math.pi and any(abs(size - p) < eps for p in _PI_POWERS):
        return f"{value:#}"
    found = _near_fraction(size / math.pi, eps)
    if found is not None:
        n, d = found
        if d == 1:
            return f"{neg}pi" if n == 1 else f"{neg}{n}*pi"
        return f"{neg}pi/{d}" if n == 1 else f"{neg}{n}*pi/{d}"
    found = _near_fraction(size * math.pi, eps)
    if found is not None:
        n, d = found
        return f"{neg}{n}/({d}*pi)"
    return f"{value:#}"


_FRACTIONS_ARRAY = np.asarray(_FRACTION_VALUES)


#: Buckets per unit of ratio in the table of :func:`_fraction_buckets` (1 MiB in all).
_GRID_STEPS = 1 << 16
#: Ratios from here on are checked by search alone.
_GRID_END = 16
#: Half-width around each fraction that the table marks; wider than any ``2 * eps`` used.
_GRID_MARGIN = 1e-8


@functools.cache
def _fraction_buckets() -> NDArray[np.bool_]:
    """True at each bucket of width ``1/_GRID_STEPS`` that lies within ``_GRID_MARGIN`` of
    a fraction n/d (n, d <= 99); buckets are wider than two margins, so marking the buckets
    of ``f - margin`` and ``f + margin`` covers the whole interval."""
    grid = np.zeros(_GRID_END * _GRID_STEPS + 1, dtype=bool)
    for shift in (-_GRID_MARGIN, _GRID_MARGIN):
        index = np.floor((_FRACTIONS_ARRAY + shift) * _GRID_STEPS).astype(np.intp)
        grid[index[(index >= 0) & (index < grid.size)]] = True
    return grid


def _near_any_fraction(ratio: NDArray[np.float64], eps: float) -> NDArray[np.bool_]:
    """True where ``ratio`` (>= 0) may be within ``eps`` of a fraction n/d (n, d <= 99).

    A table lookup first (~5% of uniform random angles land in a marked bucket), then the exact
    search for those candidates only: the search alone was ~12% of a sweep's client time.
    """
    if 2 * eps > _GRID_MARGIN:
        return _near_by_search(ratio, eps)
    inside = ratio < _GRID_END
    bucket = (np.where(inside, ratio, 0.0) * _GRID_STEPS).astype(np.intp)
    near: NDArray[np.bool_] = _fraction_buckets()[bucket] | ~inside
    candidates = np.flatnonzero(near)
    if candidates.size:
        near[candidates] = _near_by_search(ratio[candidates], eps)
    return near


def _near_by_search(ratio: NDArray[np.float64], eps: float) -> NDArray[np.bool_]:
    """:func:`_near_any_fraction` by binary search in the sorted fractions."""
    index = np.searchsorted(_FRACTIONS_ARRAY, ratio)
    low = _FRACTIONS_ARRAY[np.clip(index - 1, 0, len(_FRACTIONS_ARRAY) - 1)]
    high = _FRACTIONS_ARRAY[np.clip(index, 0, len(_FRACTIONS_ARRAY) - 1)]
    margin = 2 * eps  # wider than format_angle's test: a false alarm only costs time
    near: NDArray[np.bool_] = (np.abs(ratio - low) < margin) | (np.abs(ratio - high) < margin)
    return near


def json_numbers(values: NDArray[np.float64]) -> list[str]:
    """Each finite value as a JSON number: orjson's shortest round-trip text (``1e-05`` as
    ``0.00001``, ``1e17`` as ``1e+17``), so parsing it gives the same double back."""
    flat = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    if not flat.size:
        return []
    return encode_json(flat)[1:-1].decode().split(",")


def format_angles(values: NDArray[np.float64], eps: float) -> list[str]:
    """``[format_angle(v, eps) for v in values]`` for finite values, vectorized.

    Values that are not plainly ``repr`` (near 0, near a fraction of pi or of 1/pi, near a
    power of pi, or written with an exponent) go through :func:`format_angle` one by one.
    The others are written by orjson: the same shortest round-trip digits as ``repr``
    (both print the shortest text that reads back as the same double, the closest such
    text), ~20x faster; the two differ only in how they write exponents, i.e. below 1e-4,
    which is in the one-by-one set. ``test/core/test_sweeps.py`` compares them on ~1.2 million
    doubles.
    """
    texts = json_numbers(values)
    size = np.abs(values)
    # repr writes an exponent below 1e-4 and from 1e16 on; format_angle's "#" form differs
    special = (size < 1e-4) | (size >= 1e16)
    special |= _near_any_fraction(size / math.pi, eps)
    with np.errstate(over="ignore"):  # size * pi is inf above ~5.7e307: not near a fraction
        special |= _near_any_fraction(size * math.pi, eps)
    for power in _PI_POWERS:
        special |= np.abs(size - power) < 2 * eps
    for index in np.flatnonzero(special).tolist():
        texts[index] = format_angle(float(values[index]), eps)
    return texts


def _probe(version: int, names: tuple[str, ...]) -> str:
    """Qiskit's own export of one instance of each named standard gate."""
    mapping = get_standard_gate_name_mapping()
    gates = []
    for name in names:
        template = mapping[name]
        gates.append(type(template)(*[0.25] * len(template.params)))
    width = max((g.num_qubits for g in gates), default=1)
    probe = QuantumCircuit(QuantumRegister(width, "q"))
    for gate in gates:
        probe.append(gate, range(gate.num_qubits))
    return str(qasm2.dumps(probe) if version == 2 else qasm3.dumps(probe))


def _split_probe(version: int, text: str) -> tuple[list[str], list[str]]:
    """(definition lines, instruction lines) of a probe export."""
    lines = text.splitlines()
    declaration = "qreg " if version == 2 else "qubit["
    index = next(i for i, line in enumerate(lines) if line.startswith(declaration))
    return lines[2:index], lines[index + 1 :]


@functools.cache
def _gate_info(version: int, name: str) -> tuple[str, bool] | None:
    """(call name, needs a definition) of a standard gate, or None if not fast-pathable."""
    if name in ("delay", "global_phase", "measure", "reset", "barrier"):
        return None
    template = get_standard_gate_name_mapping().get(name)
    if template is None or hasattr(template, "_qasm_decomposition"):
        return None
    try:
        definitions, calls = _split_probe(version, _probe(version, (name,)))
    except Exception:
        return None
    if len(calls) != 1:
        return None
    call = re.split(r"[( ]", calls[0], maxsplit=1)[0]
    return call, bool(definitions)


@functools.lru_cache(maxsize=256)
def _definitions(version: int, names: tuple[str, ...]) -> str:
    """The gate definitions Qiskit writes for these gates, in this first-use order."""
    definitions, _ = _split_probe(version, _probe(version, names))
    return "\n".join(definitions)


def _check_name(name: str, seen: set[str]) -> None:
    if name in seen or name in _RESERVED_NAMES or not _IDENTIFIER.fullmatch(name):
        raise _Unsupported(name)
    seen.add(name)


def emit_qasm(
    circuit: QuantumCircuit,
    version: int,
    qregs: Sequence[tuple[str, int]],
    cregs: Sequence[tuple[str, int]],
    qubit_ref: Mapping[Qubit, str],
    clbit_ref: Mapping[Clbit, str],
    *,
    drop: frozenset[str] = frozenset(),
    placeholders: Mapping[tuple[int, int], str] | None = None,
) -> str | None:
    """OpenQASM text of ``circuit`` as Qiskit's exporter writes it, or ``None`` if unsure.

    The registers to declare and the text of each bit (``"q[3]"``) are given by the caller,
    so a vendor can rename or merge registers without rebuilding the circuit. The text is
    what ``qasm2.dumps`` / ``qasm3.dumps`` give for the circuit with exactly these registers
    (and without the ``drop``-ped instruction names). ``placeholders`` maps
    ``(instruction index, parameter index)`` to a name written instead of that angle (a
    template whose values a server fills in).
    """
    try:
        return _emit(
            circuit, version, qregs, cregs, qubit_ref, clbit_ref, drop, placeholders or {}
        )
    except _Unsupported:
        return None


def _emit(
    circuit: QuantumCircuit,
    version: int,
    qregs: Sequence[tuple[str, int]],
    cregs: Sequence[tuple[str, int]],
    qubit_ref: Mapping[Qubit, str],
    clbit_ref: Mapping[Clbit, str],
    drop: frozenset[str],
    placeholders: Mapping[tuple[int, int], str],
) -> str:
    seen: set[str] = set()
    for name, _ in (*qregs, *cregs):
        _check_name(name, seen)
    eps = _EPS[version]
    sep = "," if version == 2 else ", "
    info_of: dict[str, tuple[str, bool] | None] = {}
    defined: dict[str, None] = {}
    angles: dict[float, str] = {}
    body: list[str] = []
    append = body.append
    for position, instruction in enumerate(circuit.data):
        name = instruction.name
        if name in drop:
            continue
        qubits = instruction.qubits
        if instruction.is_standard_gate():
            if name in info_of:
                info = info_of[name]
            else:
                info = info_of[name] = _gate_info(version, name)
            if info is None or instruction.clbits:
                raise _Unsupported(name)
            call, needs_definition = info
            if needs_definition and name not in defined:
                defined[name] = None
            targets = sep.join([qubit_ref[q] for q in qubits])
            params = instruction.params
            if params:
                texts = []
                for slot, value in enumerate(params):
                    if placeholders and (position, slot) in placeholders:
                        texts.append(placeholders[position, slot])
                        continue
                    text = angles.get(value) if type(value) is float else None
                    if text is None:
                        if type(value) is not float or not math.isfinite(value):
                            raise _Unsupported(name)
                        text = angles[value] = format_angle(value, eps)
                    texts.append(text)
                append(f"{call}({sep.join(texts)}) {targets};")
            else:
                append(f"{call} {targets};")
        elif name == "measure":
            if instruction.operation.base_class is not Measure:
                raise _Unsupported(name)
            qubit, clbit = qubit_ref[qubits[0]], clbit_ref[instruction.clbits[0]]
            append(
                f"measure {qubit} -> {clbit};" if version == 2 else f"{clbit} = measure {qubit};"
            )
        elif name == "barrier":
            if not qubits or instruction.operation.base_class is not Barrier:
                raise _Unsupported(name)
            append(f"barrier {sep.join([qubit_ref[q] for q in qubits])};")
        elif name == "reset":
            if instruction.operation.base_class is not Reset:
                raise _Unsupported(name)
            append(f"reset {qubit_ref[qubits[0]]};")
        else:
            raise _Unsupported(name)
    if version == 2:
        head = ['OPENQASM 2.0;', 'include "qelib1.inc";']
        if defined:
            head.append(_definitions(2, tuple(defined)))
        head += [f"qreg {name}[{size}];" for name, size in qregs]
        head += [f"creg {name}[{size}];" for name, size in cregs]
        return "\n".join([*head, *body])
    head = ["OPENQASM 3.0;", 'include "stdgates.inc";']
    if defined:
        head.append(_definitions(3, tuple(defined)))
    head += [f"bit[{size}] {name};" for name, size in cregs]
    head += [f"qubit[{size}] {name};" for name, size in qregs]
    return "\n".join([*head, *body]) + "\n"


def register_refs(
    registers: Sequence[QuantumRegister] | Sequence[ClassicalRegister],
    bits: Sequence[Qubit] | Sequence[Clbit],
) -> tuple[list[tuple[str, int]], dict[Any, str]] | None:
    """Declarations and bit texts for a circuit's own registers, if they tile ``bits``."""
    refs: dict[Any, str] = {}
    declarations = []
    position = 0
    for register in registers:
        name = register.name
        declarations.append((name, register.size))
        for index, bit in enumerate(register):
            if position >= len(bits) or bits[position] != bit:
                return None
            refs[bit] = f"{name}[{index}]"
            position += 1
    if position != len(bits):
        return None
    return declarations, refs


def single_refs(bits: Sequence[Any], name: str) -> dict[Any, str]:
    """Bit texts when ``bits`` become one register ``name`` in order."""
    return {bit: f"{name}[{index}]" for index, bit in enumerate(bits)}


def dumps_fast(circuit: QuantumCircuit, version: int) -> str | None:
    """Fast ``qasm{version}.dumps(circuit)`` when its registers tile its bits, else ``None``."""
    quantum = register_refs(circuit.qregs, circuit.qubits)
    classical = register_refs(circuit.cregs, circuit.clbits)
    if quantum is None or classical is None:
        return None
    return emit_qasm(circuit, version, quantum[0], classical[0], quantum[1], classical[1])
