"""Qiskit circuits <-> IQM circuit JSON (G3: ``locus``, ``prx`` angles in radians).

Measurement keys encode the Qiskit classical bit, following IQM's own adapter:
``<register>_<size>_<register index>_<bit index>``. A clbit measured more than once gets a
``r<k>__`` prefix on later measurements (keys must be unique within a circuit); the last one
wins, as in Qiskit. Parsing is anchored at the end, so register names may contain ``_``.

Feed-forward: ``with circuit.if_test((clbit, 1)):`` around ``r``/``x``/``y``/``rx``/``ry``
gates becomes ``cc_prx`` instructions conditioned on the last measurement into ``clbit``
(that ``measure`` gets a ``feedback_key`` equal to its key; ``feedback_qubit`` is its qubit).
Everything else IQM cannot run conditionally (register conditions, else branches, loops,
``switch``) is refused before anything is sent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray
from qiskit.circuit import (
    CONTROL_FLOW_OP_NAMES,
    CircuitInstruction,
    ClassicalRegister,
    Clbit,
    IfElseOp,
    QuantumCircuit,
)

from ...exceptions import CircuitValidationError, MalformedResponseError
from ...sweeps import ParameterSweep, Placeholders, SweepCircuits
from ...transport import encode_json
from ...types import CircuitLayout

Instruction = dict[str, Any]
Converter = Callable[[CircuitInstruction, list[str]], list[Instruction]]

KEY_PATTERN = re.compile(
    r"^(?:r(?P<repeat>\d+)__)?(?P<reg>.*)_(?P<size>\d+)_(?P<ri>\d+)_(?P<bi>\d+)$"
)


def _inst(name: str, locus: Sequence[str], args: Mapping[str, Any] | None = None) -> Instruction:
    return {"name": name, "locus": list(locus), "args": dict(args or {}), "implementation": None}


def _angle(value: Any, circuit: QuantumCircuit, gate: str) -> float:
    try:
        number = float(value)
    except TypeError as exc:
        raise CircuitValidationError(
            f"circuit {circuit.name!r}: '{gate}' has an unbound parameter {value}; bind all "
            "parameters (circuit.assign_parameters) before run()"
        ) from exc
    if not math.isfinite(number):
        raise CircuitValidationError(f"circuit {circuit.name!r}: '{gate}' angle {number}")
    return number


def clbit_keys(circuit: QuantumCircuit) -> list[tuple[str, int, int, int]]:
    """Per clbit: (register name, register size, register index, bit index).

    Matches :meth:`CircuitLayout.from_circuit`: when registers do not tile the clbits in
    order, all clbits form one register ``c``.
    """
    tiled = [bit for reg in circuit.cregs for bit in reg]
    if tiled != list(circuit.clbits):
        return [("c", circuit.num_clbits, 0, i) for i in range(circuit.num_clbits)]
    return [
        (reg.name, reg.size, ri, bi)
        for ri, reg in enumerate(circuit.cregs)
        for bi in range(reg.size)
    ]


class CircuitTranslator:
    """Translate one transpiled circuit into an IQM circuit object.

    Args:
        qubit_names: component name of each physical qubit index.
        cz_routes: for a qubit pair ``(a, b)`` without a real CZ, the MOVE sandwich to use,
            as ``(mover, resonator, stayer)``: ``move(mover, r), cz(stayer, r), move(mover, r)``.
        real_cz: qubit-index pairs (either orientation) with a calibrated qubit-qubit CZ.
    """

    def __init__(
        self,
        qubit_names: Sequence[str],
        cz_routes: Mapping[tuple[int, int], tuple[str, str, str]] | None = None,
        real_cz: set[tuple[int, int]] | None = None,
    ) -> None:
        self.qubit_names = list(qubit_names)
        self.cz_routes = dict(cz_routes or {})
        self.real_cz = set(real_cz or set())
        self._converters: dict[str, Converter] = {
            "r": self._r,
            "cz": self._cz,
            "measure": self._measure,
            "barrier": lambda inst, locus: [_inst("barrier", locus)] if len(locus) > 1 else [],
            "id": lambda inst, locus: [],
            "delay": self._delay,
            "reset": lambda inst, locus: [_inst("reset", locus)],
            "if_else": self._if_else,
        }

    def translate_all(self, circuits: Sequence[QuantumCircuit]) -> list[dict[str, Any]]:
        """:meth:`translate` of every circuit; each sweep's structure translated once.

        A sweep point's ``instructions`` are its JSON text, written from the sweep's template
        when the transport encodes the request body (:meth:`ParameterSweep.json_texts`);
        parsed, it equals :meth:`translate` of the bound circuit.
        """
        if not isinstance(circuits, SweepCircuits):
            return [self.translate(circuit) for circuit in circuits]
        out: list[dict[str, Any]] = []
        for part in circuits.parts():
            if isinstance(part, QuantumCircuit):
                out.append(self.translate(part))
            else:
                out.extend(self._sweep(part.sweep, part.start, part.stop))
        return out

    def _sweep(self, sweep: ParameterSweep, start: int, stop: int) -> list[dict[str, Any]]:
        """Points ``start:stop`` of a sweep, their instructions as JSON text."""
        texts = sweep.json_texts(
            self._key, self._template, self._instructions_text, start, stop
        )
        return [
            {
                "name": sweep.point_name(point),
                "instructions": text,
                "metadata": _jsonable(sweep.point_metadata(point)),
            }
            for point, text in zip(range(start, stop), texts, strict=True)
        ]

    @property
    def _key(self) -> tuple[Any, ...]:
        """Names this translator's output among a sweep's cached texts (device-specific)."""
        return (
            "iqm",
            tuple(self.qubit_names),
            tuple(sorted(self.cz_routes.items())),
            tuple(sorted(self.real_cz)),
        )

    def _template(self, circuit: QuantumCircuit, placeholders: Placeholders) -> str:
        """The instructions' JSON text with each placeholder written raw at its angle."""
        return encode_json(self.translate(circuit, placeholders)["instructions"]).decode()

    def _instructions_text(self, circuit: QuantumCircuit) -> str:
        """The instructions' JSON text of one bound circuit."""
        return encode_json(self.translate(circuit)["instructions"]).decode()

    def translate(
        self, circuit: QuantumCircuit, placeholders: Placeholders | None = None
    ) -> dict[str, Any]:
        """The IQM circuit object (``name``, ``instructions``, ``metadata``).

        ``placeholders`` maps (instruction position, parameter index) of a sweep's template
        to the text written (as an :class:`orjson.Fragment`) instead of that angle.
        """
        self._circuit = circuit
        self._placeholders = placeholders or {}
        self._keys = clbit_keys(circuit)
        self._seen: dict[int, int] = {}
        self._qindex = {bit: i for i, bit in enumerate(circuit.qubits)}
        self._cindex = {bit: i for i, bit in enumerate(circuit.clbits)}
        self._last_measure: dict[int, Instruction] = {}
        instructions: list[Instruction] = []
        for position, inst in enumerate(circuit.data):
            self._position = position
            name = inst.operation.name
            converter = self._converters.get(name)
            if converter is None and name in CONTROL_FLOW_OP_NAMES:
                raise CircuitValidationError(
                    f"circuit {circuit.name!r} uses '{name}', which IQM cannot run: IQM's only "
                    f"classical control is {FEED_FORWARD}"
                )
            if converter is None:
                raise CircuitValidationError(
                    f"circuit {circuit.name!r} uses '{name}', which IQM cannot run "
                    f"(native: {', '.join(sorted(self._converters))}); run "
                    "transpile(circuit, backend) first"
                )
            locus = [self._name(self._qindex[q]) for q in inst.qubits]
            instructions.extend(converter(inst, locus))
        metadata = circuit.metadata if isinstance(circuit.metadata, dict) else {}
        return {
            "name": circuit.name or "circuit",
            "instructions": instructions,
            "metadata": _jsonable(metadata),
        }

    def _name(self, index: int) -> str:
        if index >= len(self.qubit_names):
            raise CircuitValidationError(
                f"circuit {self._circuit.name!r} uses qubit {index} but the device has "
                f"{len(self.qubit_names)}"
            )
        return self.qubit_names[index]

    def _r(self, inst: CircuitInstruction, locus: list[str]) -> list[Instruction]:
        theta, phi = (self._param(i, p, "r") for i, p in enumerate(inst.operation.params))
        return [_inst("prx", locus, {"angle": theta, "phase": phi})]

    def _param(self, index: int, value: Any, gate: str) -> float | orjson.Fragment:
        mark = self._placeholders.get((self._position, index))
        return _angle(value, self._circuit, gate) if mark is None else orjson.Fragment(mark)

    def _cz(self, inst: CircuitInstruction, locus: list[str]) -> list[Instruction]:
        a, b = (self._qindex[q] for q in inst.qubits)
        if (a, b) in self.real_cz or (b, a) in self.real_cz or not self.cz_routes:
            return [_inst("cz", locus)]
        route = self.cz_routes.get((a, b)) or self.cz_routes.get((b, a))
        if route is None:
            raise CircuitValidationError(
                f"circuit {self._circuit.name!r}: no CZ or MOVE route between qubits {a} and "
                f"{b}; run transpile(circuit, backend) first"
            )
        mover, resonator, stayer = route
        return [
            _inst("move", [mover, resonator]),
            _inst("cz", [stayer, resonator]),
            _inst("move", [mover, resonator]),
        ]

    def _measure(self, inst: CircuitInstruction, locus: list[str]) -> list[Instruction]:
        clbit = self._cindex[inst.clbits[0]]
        reg, size, ri, bi = self._keys[clbit]
        key = f"{reg}_{size}_{ri}_{bi}"
        repeat = self._seen.get(clbit, 0)
        self._seen[clbit] = repeat + 1
        if repeat:
            key = f"r{repeat}__{key}"
        measure = _inst("measure", locus, {"key": key})
        self._last_measure[clbit] = measure
        return [measure]

    def _if_else(self, inst: CircuitInstruction, locus: list[str]) -> list[Instruction]:
        """``cc_prx`` for each rotation in the true branch (see the module docstring)."""
        op = inst.operation
        assert isinstance(op, IfElseOp)
        where = f"circuit {self._circuit.name!r}: if_test"
        refuse = f"; IQM runs only {FEED_FORWARD}"
        true_body, false_body = op.blocks[0], (op.blocks[1] if len(op.blocks) > 1 else None)
        if false_body is not None and false_body.data:
            raise CircuitValidationError(f"{where} has an else branch{refuse}")
        target, value = _condition(op, where + refuse)
        if value != 1:
            raise CircuitValidationError(
                f"{where} is conditioned on the value {value}{refuse} (the gate runs when the "
                "bit is 1; to act on 0, flip the gate instead)"
            )
        measure = self._last_measure.get(self._cindex[target])
        if measure is None:
            raise CircuitValidationError(
                f"{where} is conditioned on a clbit that nothing has measured into yet{refuse}"
            )
        feedback_key = measure["args"]["key"]
        measure["args"]["feedback_key"] = feedback_key
        body_locus = dict(zip(true_body.qubits, locus, strict=True))
        out = []
        for body_inst in true_body.data:
            name = body_inst.operation.name
            if name in ("barrier", "id"):
                continue
            rotation = _ROTATIONS.get(name)
            if rotation is None:
                raise CircuitValidationError(
                    f"{where} contains '{name}'{refuse}; transpile(circuit, backend) turns "
                    "single-qubit gates into r"
                )
            params = [_angle(p, self._circuit, name) for p in body_inst.operation.params]
            angle, phase = rotation(params)
            out.append(
                _inst(
                    "cc_prx",
                    [body_locus[body_inst.qubits[0]]],
                    {
                        "angle": angle,
                        "phase": phase,
                        "feedback_qubit": measure["locus"][0],
                        "feedback_key": feedback_key,
                    },
                )
            )
        return out

    def _delay(self, inst: CircuitInstruction, locus: list[str]) -> list[Instruction]:
        op = inst.operation
        duration = _angle(op.duration, self._circuit, "delay")
        scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12, "dt": 1e-9}
        seconds = duration * scale.get(op.unit, 1.0)
        return [_inst("delay", locus, {"duration": seconds})]


#: What IQM's feed-forward (``cc_prx``) can express, for error messages.
FEED_FORWARD = (
    "'with circuit.if_test((clbit, 1)):' around r/x/y/rx/ry gates (no else branch), "
    "conditioned on a bit measured earlier in the circuit"
)

#: Conditional single-qubit gates -> (angle, phase) of the ``cc_prx`` they become.
_ROTATIONS: dict[str, Callable[[list[float]], tuple[float, float]]] = {
    "r": lambda p: (p[0], p[1]),
    "x": lambda p: (math.pi, 0.0),
    "rx": lambda p: (p[0], 0.0),
    "y": lambda p: (math.pi, math.pi / 2),
    "ry": lambda p: (p[0], math.pi / 2),
}


def _condition(op: IfElseOp, refusal: str) -> tuple[Clbit, int]:
    """The (clbit, value) an ``if_else`` tests; one-bit registers count as their bit.

    Raises:
        CircuitValidationError: an expression or a register of several bits.
    """
    condition = op.condition
    if not isinstance(condition, tuple):
        raise CircuitValidationError(f"{refusal} (got a classical expression condition)")
    target, value = condition
    if isinstance(target, ClassicalRegister):
        if target.size != 1:
            raise CircuitValidationError(
                f"{refusal} (got a condition on the {target.size}-bit register "
                f"{target.name!r}; condition on one bit instead)"
            )
        target = target[0]
    assert isinstance(target, Clbit)
    return target, int(value)


def _jsonable(value: Any) -> Any:
    """Metadata made JSON-safe (unknown objects become their ``str``)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def decode_measurements(data: Any, layout: CircuitLayout, circuit_index: int) -> list[str]:
    """Per-shot Qiskit bitstrings (all clbits, clbit 0 rightmost) from one circuit's
    ``{key: [[bit, ...], ...]}`` measurement object.

    Keys that do not follow the clbit encoding (e.g. from circuits built by hand) are mapped
    in first-appearance order onto consecutive clbits, one clbit per locus component.

    Raises:
        MalformedResponseError: not an object of equal-length lists of integer rows.
    """
    where = f"measurements[{circuit_index}]"
    if not isinstance(data, dict):
        raise MalformedResponseError(f"iqm: {where} is not an object", vendor="iqm")
    offsets = [0]
    for _, size in layout.creg_sizes:
        offsets.append(offsets[-1] + size)
    width = layout.num_clbits
    plan: list[tuple[int, int, str]] = []  # (repeat, clbit, key)
    fallback = 0
    for key in data:
        match = KEY_PATTERN.match(str(key))
        if match and int(match["ri"]) < len(layout.creg_sizes):
            clbit = offsets[int(match["ri"])] + int(match["bi"])
            plan.append((int(match["repeat"] or 0), clbit, key))
        else:
            plan.append((0, fallback, key))
            fallback += 1
    shots: int | None = None
    rows_by_key: dict[str, list[Any]] = {}
    for _, _, key in plan:
        rows = data[key]
        if not isinstance(rows, list) or (shots is not None and len(rows) != shots):
            raise MalformedResponseError(
                f"iqm: {where}[{key!r}] is not a list of {shots} shot rows", vendor="iqm"
            )
        shots = len(rows)
        rows_by_key[key] = rows
    count = shots or 0
    bits = np.zeros((count, width), dtype=np.uint8)  # column j = clbit j
    for _, clbit, key in sorted(plan, key=lambda item: item[0]):
        rows = _integer_rows(rows_by_key[key], count, f"{where}[{key!r}]")
        if clbit + rows.shape[1] > width:
            raise MalformedResponseError(
                f"iqm: {where} key {key!r} addresses clbit {clbit + rows.shape[1] - 1}, but "
                f"the circuit has {width}",
                vendor="iqm",
            )
        bits[:, clbit : clbit + rows.shape[1]] = rows != 0
    if count == 0 or width == 0:
        return [""] * count
    # Clbit 0 rightmost: reverse the columns, then cut one ASCII string per shot.
    text = (bits[:, ::-1] + ord("0")).tobytes().decode("ascii")
    return [text[i : i + width] for i in range(0, count * width, width)]


def _integer_rows(rows: Any, shots: int, where: str) -> NDArray[np.int64]:
    """``rows`` as a (shots, k>=1) integer array, or MalformedResponseError."""
    try:
        array = np.asarray(rows)
    except ValueError as exc:  # ragged rows
        raise MalformedResponseError(
            f"iqm: {where} has rows of different lengths", vendor="iqm"
        ) from exc
    if (
        array.ndim != 2
        or array.shape[0] != shots
        or array.shape[1] == 0
        or array.dtype.kind not in "iub"
    ):
        raise MalformedResponseError(
            f"iqm: {where} is not {shots} non-empty rows of integers", vendor="iqm"
        )
    return array.astype(np.int64, copy=False)


def check_one_per_circuit(
    data: Any, layouts: Sequence[CircuitLayout], job_ref: str, artifact: str
) -> None:
    """Raise MalformedResponseError unless ``data`` is a list with one entry per circuit."""
    if not isinstance(data, list) or len(data) != len(layouts):
        count = len(data) if isinstance(data, list) else "no list of"
        raise MalformedResponseError(
            f"iqm: job {job_ref} {artifact} hold {count} result(s) for "
            f"{len(layouts)} circuit(s)",
            vendor="iqm",
        )


def decode_counts(
    data: Any, layouts: Sequence[CircuitLayout], job_ref: str
) -> list[dict[str, int]] | None:
    """Qiskit-order counts from the ``measurement_counts`` artifact, one dict per circuit.

    Each histogram key concatenates the measurement keys' bits in ``measurement_keys``
    order. Returns ``None`` when a key is not one of our one-clbit keys (the caller then
    reads per-shot measurements, which carry each key's width).

    Raises:
        MalformedResponseError: not one ``{measurement_keys, counts}`` entry per circuit.
    """
    check_one_per_circuit(data, layouts, job_ref, "measurement_counts")
    decoded = []
    for index, (entry, layout) in enumerate(zip(data, layouts, strict=True)):
        keys = entry.get("measurement_keys") if isinstance(entry, dict) else None
        counts = entry.get("counts") if isinstance(entry, dict) else None
        if not isinstance(keys, list) or not isinstance(counts, dict):
            raise MalformedResponseError(
                f"iqm: measurement_counts[{index}] lacks 'measurement_keys' or 'counts'",
                vendor="iqm",
            )
        offsets = [0]
        for _, size in layout.creg_sizes:
            offsets.append(offsets[-1] + size)
        plan = []  # (repeat, clbit, position in the histogram key)
        for position, key in enumerate(keys):
            match = KEY_PATTERN.match(str(key))
            if not match or int(match["ri"]) >= len(layout.creg_sizes):
                return None
            clbit = offsets[int(match["ri"])] + int(match["bi"])
            if clbit >= layout.num_clbits:
                return None
            plan.append((int(match["repeat"] or 0), clbit, position))
        plan.sort()
        width = layout.num_clbits
        histogram: dict[str, int] = {}
        for bitstring, count in counts.items():
            if len(bitstring) != len(keys) or bitstring.strip("01") or not isinstance(count, int):
                return None
            bits = ["0"] * width
            for _, clbit, position in plan:
                bits[width - 1 - clbit] = bitstring[position]
            outcome = "".join(bits)
            histogram[outcome] = histogram.get(outcome, 0) + count
        decoded.append(histogram)
    return decoded
