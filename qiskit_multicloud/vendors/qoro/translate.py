"""Circuit and observable encodings of the Qoro Service.

* Circuits travel as OpenQASM 2.0 text, gzip-compressed, then standard base64.
* Observables (``ham_ops``) are dense Pauli strings with **qubit 0 leftmost** (the reverse
  of a Qiskit label), ``;`` between terms and ``|`` between groups. On the wire each group
  becomes ``@gzs<n>:<base64(gzip(sparse))>``, where the sparse form lists only the
  non-identity positions of each term (``ZIIZ`` -> ``Z0Z3``; all-identity -> ``I``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import gzip
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from ...decoding import inflate
from ...exceptions import CircuitValidationError, MalformedResponseError
from ...sweeps import SweepCircuits
from ..translate import emit_qasm, merge_registers, register_refs, single_refs, to_qasm2

_SPARSE_TERM = re.compile(r"([XYZ])(\d+)")
_GROUP_HEADER = re.compile(r"@gzs(\d+):(.*)", re.DOTALL)


def compress(text: str) -> str:
    """UTF-8, gzip, then base64 (the encoding of circuits and observable groups)."""
    return base64.b64encode(gzip.compress(text.encode("utf-8"), mtime=0)).decode("ascii")


def decompress(data: str) -> str:
    """Inverse of :func:`compress`.

    Raises:
        ValueError: not base64, not gzip, too large once inflated, or not UTF-8.
    """
    try:
        raw = inflate(base64.b64decode(data, validate=True), vendor="qoro", what="payload")
        return raw.decode("utf-8")
    except (binascii.Error, MalformedResponseError, UnicodeDecodeError) as exc:
        raise ValueError(f"not base64(gzip(utf-8)) data: {exc}") from exc


def _tiled(circuit: QuantumCircuit) -> bool:
    """True when the classical registers cover the clbits exactly, in order."""
    return [bit for reg in circuit.cregs for bit in reg] == list(circuit.clbits)


def circuit_to_qasm(circuit: QuantumCircuit) -> str:
    """OpenQASM 2.0 for one circuit.

    Registers are kept when they tile the classical bits in order (the service's bitstring
    then covers them in declaration order); loose or overlapping bits are merged into one
    register so the outcome string still covers clbit ``i`` at position ``i`` from the right.

    Raises:
        CircuitValidationError: the circuit uses something OpenQASM 2 cannot express.
    """
    text = _fast_qasm(circuit, None)
    return text if text is not None else circuit_to_qasm_exported(circuit)


def _fast_qasm(
    circuit: QuantumCircuit, placeholders: Mapping[tuple[int, int], str] | None
) -> str | None:
    """:func:`circuit_to_qasm` through the fast emitter only (``None`` where it is unsure)."""
    quantum = register_refs(circuit.qregs, circuit.qubits)
    classical = register_refs(circuit.cregs, circuit.clbits)
    if circuit.num_clbits and classical is None:
        classical = ([("c", circuit.num_clbits)], single_refs(circuit.clbits, "c"))
    if quantum is None or classical is None:
        return None
    return emit_qasm(
        circuit, 2, quantum[0], classical[0], quantum[1], classical[1], placeholders=placeholders
    )


def circuit_to_qasm_exported(circuit: QuantumCircuit) -> str:
    """:func:`circuit_to_qasm` through Qiskit's exporter (the reference of the fast path)."""
    if circuit.num_clbits and not _tiled(circuit):
        circuit = merge_registers(circuit)
    return to_qasm2(circuit)


def encode_circuit(circuit: QuantumCircuit) -> str:
    """The wire form of one circuit: ``base64(gzip(qasm2))``."""
    return compress(circuit_to_qasm(circuit))


# -- circuit labels -------------------------------------------------------------------------

#: Digits of circuit labels: ``"0"``..``"9"`` as before, then letters (base 62). Labels are
#: any strings to the service; these need no JSON escaping and are safe in any URL or file name.
LABEL_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def circuit_label(index: int) -> str:
    """The label of the circuit at ``index`` of ``run()``: its position in base 62.

    The shortest unique label per position (one character up to 61, two up to 3843), so a
    1000-point sweep spends ~1.9 bytes per row on labels instead of ~2.9 in decimal.
    """
    digits = []
    while True:
        index, digit = divmod(index, len(LABEL_DIGITS))
        digits.append(LABEL_DIGITS[digit])
        if not index:
            return "".join(reversed(digits))


# -- parametric templates ---------------------------------------------------------------------

#: Prefix of template parameter names (distinct from anything the emitter writes).
PARAMETER_PREFIX = "qmc_"


@dataclasses.dataclass
class Sweep:
    """Circuits of one structure that differ only in gate angles, as a Qoro template.

    Attributes:
        template: OpenQASM 2.0 with a parameter name where the angles differ.
        names: the parameter names, in the order of each row of ``values``.
        indices: positions of the circuits in the ``run()`` order (their labels).
        values: per circuit, the value of each parameter (``str(float)`` of it restores the
            angle exactly, which is how the service substitutes it).
    """

    template: str
    names: list[str]
    indices: list[int]
    values: list[list[float]]


def _structure(circuit: QuantumCircuit) -> tuple[Any, list[float]] | None:
    """(everything but the angles, the angles) of a circuit; ``None`` if not templatable."""
    qindex = {bit: i for i, bit in enumerate(circuit.qubits)}
    cindex = {bit: i for i, bit in enumerate(circuit.clbits)}
    shape: list[Any] = [
        tuple((r.name, r.size) for r in circuit.qregs),
        tuple((r.name, r.size) for r in circuit.cregs),
        circuit.num_qubits,
        circuit.num_clbits,
    ]
    angles: list[float] = []
    for instruction in circuit.data:
        params = instruction.operation.params
        for value in params:
            if type(value) is not float or not math.isfinite(value):
                return None
        angles.extend(params)
        shape.append(
            (
                instruction.name,
                tuple(qindex[q] for q in instruction.qubits),
                tuple(cindex[c] for c in instruction.clbits),
                len(params),
            )
        )
    return tuple(shape), angles


def _structures(
    circuits: Sequence[QuantumCircuit],
) -> Iterator[tuple[int, tuple[Any, Any] | None]]:
    """(index, :func:`_structure`) of every circuit; the points of a parameter sweep
    (:class:`~qiskit_multicloud.sweeps.SweepCircuits`) share the structure of one bound
    point and take their angles from the sweep's values, without being bound."""
    if not isinstance(circuits, SweepCircuits):
        yield from enumerate(map(_structure, circuits))
        return
    for index, part in circuits.indexed_parts():
        if isinstance(part, QuantumCircuit):
            yield index, _structure(part)
            continue
        sweep, plan = part.sweep, part.sweep.plan
        points = range(part.start, part.stop)
        first_usable = next((p for p in points if plan is not None and plan.usable[p]), None)
        first = None if first_usable is None else _structure(sweep.bound(first_usable))
        if first is not None and plan is not None:
            offsets = np.cumsum([0] + [len(i.params) for i in sweep.circuit.data])
            flat = [int(offsets[position]) + slot for position, slot in plan.slots]
            angles = np.array(first[1], dtype=float)
            values = plan.values[:, plan.columns]
        for number, point in enumerate(points):
            if first is not None and plan is not None and plan.usable[point]:
                row = angles.copy()
                row[flat] = values[point]
                yield index + number, (first[0], row)
            else:
                yield index + number, _structure(sweep.bound(point))


def find_sweeps(circuits: Sequence[QuantumCircuit]) -> tuple[list[Sweep], list[int]]:
    """Group circuits into templates where that is possible.

    Circuits with the same instructions, qubits, bits and registers that differ only in
    gate angles form one :class:`Sweep`; angle positions holding the same value in every
    circuit stay literal, and positions whose values agree in every circuit share one
    parameter (a bound ``2*theta`` used in several gates travels once per circuit).

    Returns:
        (sweeps of two or more circuits, indices of circuits sent as they are).
    """
    groups: dict[Any, list[tuple[int, list[float]]]] = {}
    single: list[int] = []
    for index, found in _structures(circuits):
        if found is None:
            single.append(index)
        else:
            groups.setdefault(found[0], []).append((index, found[1]))
    raw = _parameter_values(circuits)
    sweeps: list[Sweep] = []
    for members in groups.values():
        sweep = _sweep(circuits, members, raw) if len(members) > 1 else None
        if sweep is None:
            single.extend(index for index, _ in members)
        else:
            sweeps.append(sweep)
    return sweeps, sorted(single)


def _parameter_values(circuits: Sequence[QuantumCircuit]) -> dict[int, tuple[int, Any]]:
    """index -> (id of its sweep, its parameter values) for the points of a parameter sweep.

    The free parameters themselves can then travel as template values: ``rzz(2*w*gamma)``
    for several weights ``w`` are exact multiples of ``gamma`` (Qiskit binds them as one
    multiplication), though not of each other.
    """
    if not isinstance(circuits, SweepCircuits):
        return {}
    found: dict[int, tuple[int, Any]] = {}
    for index, part in circuits.indexed_parts():
        if not isinstance(part, QuantumCircuit):
            for number, point in enumerate(range(part.start, part.stop)):
                found[index + number] = (id(part.sweep), part.sweep.values[point])
    return found


def _sweep(
    circuits: Sequence[QuantumCircuit],
    members: list[tuple[int, list[float]]],
    raw: Mapping[int, tuple[int, Any]] | None = None,
) -> Sweep | None:
    """The template of one group of same-structure circuits (``None`` if none is needed)."""
    table = np.array([angles for _, angles in members], dtype=float)
    if table.size == 0:
        return None
    first = circuits[members[0][0]]
    if any(r.name.startswith(PARAMETER_PREFIX) for r in (*first.qregs, *first.cregs)):
        return None  # a register name could be taken for a parameter
    varying = np.flatnonzero((table != table[0]).any(axis=0))
    if varying.size == 0:
        return None  # identical circuits: nothing to parametrise
    columns, inverse = np.unique(table[:, varying], axis=1, return_inverse=True)
    parameter_of = inverse.reshape(-1)
    needed = columns.shape[1]
    sources = [raw[index] for index, _ in members if index in raw] if raw else []
    if len(sources) == len(members) and len({sweep for sweep, _ in sources}) == 1:
        candidates = np.array([values for _, values in sources], dtype=float)
        columns = np.hstack([columns, candidates.reshape(len(members), -1)])
    bases, scaled = proportional_columns(columns, needed)
    names = [f"{PARAMETER_PREFIX}{k}" for k in range(len(bases))]
    texts = [scaled_name(names[base], factor) for base, factor in scaled]
    slots: list[tuple[int, int]] = []
    for position, instruction in enumerate(first.data):
        slots.extend((position, slot) for slot in range(len(instruction.operation.params)))
    placeholders = {
        slots[flat]: texts[int(parameter_of[k])] for k, flat in enumerate(varying.tolist())
    }
    template = _fast_qasm(first, placeholders)
    if template is None:
        return None
    return Sweep(
        template=template,
        names=names,
        indices=[index for index, _ in members],
        values=columns[:, bases].tolist(),
    )


def proportional_columns(
    columns: np.ndarray, needed: int | None = None
) -> tuple[list[int], list[tuple[int, float]]]:
    """Which value columns must travel, and how the others follow from them exactly.

    A column ``b`` follows from a travelling column ``a`` when one factor ``f`` gives
    ``a[i] * f`` (one IEEE double multiplication) **bit-identical** to ``b[i]`` in every
    row, up to the sign of a zero (``rzz(-0.0)`` is ``rzz(0.0)``; Qiskit binds ``-2*gamma``
    at ``gamma=0`` to ``0.0``, and the bound upload writes both as ``0`` anyway). E.g.
    ``rz(gamma)`` and ``rzz(2*gamma)``, or ``rzz(2*gamma)`` and ``rzz(-2*gamma)`` (the signs
    of an SK model). The template then writes ``name*f``, which a server's
    OpenQASM 2.0 parser evaluates (after substituting ``str(float(a[i]))``) to the same
    float. Columns that explain the most others travel first. Angles bound from
    ``2*w*gamma`` with different weights ``w`` are usually *not* exact multiples of each
    other (two roundings); they follow from ``gamma`` itself, which is why the first
    ``needed`` columns are the angle columns to express and any further ones are
    candidates only (a sweep's free parameter values), sent when they explain two or more.

    Returns:
        (indices of the travelling columns, per needed column (position in that list,
        factor)).
    """
    data = np.ascontiguousarray(columns, dtype=float)
    count = data.shape[1]
    needed = count if needed is None else needed
    followers: list[list[tuple[int, float]]] = [[] for _ in range(count)]
    if count > 1:
        rows = data.shape[0]
        check = np.unique(np.linspace(0, rows - 1, num=min(rows, 5)).astype(int))
        pivots = (data != 0.0).argmax(axis=0)  # a varying column has a non-zero row
        for j in range(needed):
            for i, factor in _sources(data, j, pivots, check):
                followers[i].append((j, factor))
    order = sorted(range(count), key=lambda i: (-len(followers[i]), i))
    bases: list[int] = []
    scaled: list[tuple[int, float] | None] = [None] * needed
    for i in order:
        if i < needed and scaled[i] is not None:
            continue
        waiting = [(j, factor) for j, factor in followers[i] if scaled[j] is None]
        if i >= needed and len(waiting) < 2:
            continue  # a candidate must save a value to be worth sending
        if i < needed:
            scaled[i] = (len(bases), 1.0)
        for j, factor in waiting:
            scaled[j] = (len(bases), factor)
        bases.append(i)
    return bases, [entry for entry in scaled if entry is not None]


def _sources(
    data: np.ndarray, j: int, pivots: np.ndarray, check: np.ndarray
) -> list[tuple[int, float]]:
    """Every (column ``i``, factor) with ``data[:, i] * factor`` equal to column ``j``.

    Equal floats (no NaN here) are bit-identical but for the sign of a zero.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        factors = data[pivots, j] / data[pivots, np.arange(data.shape[1])]
        near = np.isclose(data[check] * factors, data[check, j][:, None], rtol=1e-12, atol=0.0)
    candidates = near.all(axis=0) & np.isfinite(factors) & (factors != 0.0)
    candidates[j] = False
    found = []
    for i in np.flatnonzero(candidates).tolist():
        factor = float(factors[i])
        for candidate in (factor, math.nextafter(factor, math.inf),
                          math.nextafter(factor, -math.inf)):
            with np.errstate(over="ignore"):
                product = data[:, i] * candidate
            if np.array_equal(product, data[:, j]):
                found.append((i, candidate))
                break
    return found


def scaled_name(name: str, factor: float) -> str:
    """``name`` times ``factor`` as an OpenQASM 2.0 expression (``name`` when 1).

    The factor is written so it parses back to the same double, always with a decimal
    point, and in parentheses when negative (``name*(-2.0)``: a substituted negative value
    then reads ``-0.5*(-2.0)``, never ``--``).
    """
    if factor == 1.0:
        return name
    text = repr(abs(factor))
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    text = mantissa + ("e" + exponent if exponent else "")
    return f"{name}*{text}" if factor > 0 else f"{name}*(-{text})"


# -- observables ----------------------------------------------------------------------------


def qiskit_label_to_dense(label: str) -> str:
    """A Qiskit Pauli label (qubit 0 rightmost) as a Qoro dense term (qubit 0 leftmost)."""
    return label[::-1]


def dense_to_qiskit_label(term: str) -> str:
    """A Qoro dense term (qubit 0 leftmost) as a Qiskit Pauli label (qubit 0 rightmost)."""
    return term[::-1]


def observable_terms(observable: SparsePauliOp, num_qubits: int) -> tuple[list[str], list[complex]]:
    """Dense Qoro terms and their coefficients for a ``SparsePauliOp``.

    The operator is padded with identities up to ``num_qubits`` (on the high qubits).

    Raises:
        CircuitValidationError: the operator is wider than the circuit.
    """
    if observable.num_qubits > num_qubits:
        raise CircuitValidationError(
            f"observable acts on {observable.num_qubits} qubits but the circuit has "
            f"{num_qubits}; give an observable no wider than the circuit"
        )
    pad = "I" * (num_qubits - observable.num_qubits)
    terms: list[str] = []
    coeffs: list[complex] = []
    for label, coeff in observable.to_list():
        terms.append(qiskit_label_to_dense(pad + label))
        coeffs.append(complex(coeff))
    return terms, coeffs


def check_ham_group(group: str) -> list[str]:
    """Split and check one ``;``-separated group of dense terms.

    Raises:
        CircuitValidationError: empty terms, unequal lengths or letters other than IXYZ.
    """
    terms = group.split(";")
    if not all(terms):
        raise CircuitValidationError(f"ham_ops group {group!r} has an empty term")
    if len({len(t) for t in terms}) != 1:
        raise CircuitValidationError(f"ham_ops group {group!r} mixes terms of different lengths")
    if any(set(t) - set("IXYZ") for t in terms):
        raise CircuitValidationError(f"ham_ops group {group!r} may only use the letters I, X, Y, Z")
    return terms


def _sparse(term: str) -> str:
    parts = [f"{p}{i}" for i, p in enumerate(term) if p != "I"]
    return "".join(parts) or "I"


def encode_ham_ops(groups: Sequence[Sequence[str]]) -> str:
    """Wire form of observable groups: ``@gzs<n>:<...>`` per group, joined by ``|``."""
    encoded = []
    for terms in groups:
        width = len(terms[0])
        encoded.append(f"@gzs{width}:" + compress(";".join(_sparse(t) for t in terms)))
    return "|".join(encoded)


def decode_ham_ops(wire: str) -> list[list[str]]:
    """Dense terms per group from the wire form (plain dense groups are accepted too).

    Raises:
        ValueError: a group is not decodable or names a qubit outside its width.
    """
    groups: list[list[str]] = []
    for group in wire.split("|"):
        match = _GROUP_HEADER.fullmatch(group)
        if match is None:
            groups.append(group.split(";"))
            continue
        width = int(match.group(1))
        terms = []
        for sparse in decompress(match.group(2)).split(";"):
            dense = ["I"] * width
            if sparse != "I":
                consumed = 0
                for pauli, index in _SPARSE_TERM.findall(sparse):
                    if int(index) >= width:
                        raise ValueError(f"term {sparse!r} names qubit {index} of {width}")
                    dense[int(index)] = pauli
                    consumed += len(pauli) + len(index)
                if consumed != len(sparse):
                    raise ValueError(f"malformed sparse Pauli term {sparse!r}")
            terms.append("".join(dense))
        groups.append(terms)
    return groups
