"""Qiskit circuits <-> the Qibo OpenQASM 2 dialect, the gzip+base64 envelope, bit order.

Circuits are flattened to one register ``c`` holding only the measured clbits (sorted by
their Qiskit index); the original index of each ``c[p]`` is written into a QASM comment
(``// qiskit-multicloud clbits: 0,2,3``) so results can be put back in Qiskit order from the
job record alone, even in a new process. Qibo ignores comment lines.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any

from qiskit.circuit import ClassicalRegister, QuantumCircuit, QuantumRegister

from ...compression import gzip_compress
from ...decoding import inflate, inflate_chunks, loads
from ...exceptions import CircuitValidationError, MalformedResponseError
from ...results import count_value
from ...transport import encode_json
from ..translate import emit_qasm, single_refs, to_qasm2

VENDOR = "qilimanjaro"
ORDER_COMMENT = "// qiskit-multicloud clbits:"
_ORDER_RE = re.compile(r"^//\s*qiskit-multicloud clbits:\s*([0-9,\s]*)$", re.MULTILINE)

#: Instructions the Qibo importer cannot read (and that must not reach the service).
REJECTED = {
    "reset": "Qibo's QASM importer rejects 'reset'; remove it (start from |0> instead)",
    "delay": "Qibo's QASM importer cannot parse 'delay'; remove delays",
    "if_else": "classical conditionals are not supported by Qilimanjaro",
    "while_loop": "control flow is not supported by Qilimanjaro",
    "for_loop": "control flow is not supported by Qilimanjaro",
    "switch_case": "control flow is not supported by Qilimanjaro",
}
#: Directives silently dropped (Qibo rejects them; they do not change the outcome).
DROPPED = frozenset({"barrier"})


def flatten(circuit: QuantumCircuit) -> tuple[QuantumCircuit, list[int]]:
    """Rebuild ``circuit`` with one register ``c`` of only the measured clbits (and one
    register ``q`` of the qubits up to the last one used, see :func:`checked`).

    Returns:
        The new circuit and ``order`` (``order[p]`` = Qiskit index of the clbit in ``c[p]``).

    Raises:
        CircuitValidationError: reset/conditionals/delay, a clbit written twice, a qubit
            measured twice or used after its measurement.
    """
    order, width = checked(circuit)
    qindex = {bit: i for i, bit in enumerate(circuit.qubits)}
    cindex = {bit: i for i, bit in enumerate(circuit.clbits)}
    qreg = QuantumRegister(width, "q")
    creg = ClassicalRegister(len(order), "c")
    flat = QuantumCircuit(qreg, creg, name=circuit.name)
    slot = {clbit: p for p, clbit in enumerate(order)}
    for instruction in circuit.data:
        name = instruction.operation.name
        if name in DROPPED:
            continue
        qubits = [qreg[qindex[q]] for q in instruction.qubits]
        if name == "measure":
            flat.measure(qubits[0], creg[slot[cindex[instruction.clbits[0]]]])
        else:
            flat.append(instruction.operation, qubits, [], copy=False)
    return flat, order


def measured_clbits(circuit: QuantumCircuit) -> list[int]:
    """Check ``circuit`` can run on Qibo; return the measured clbit indices, sorted.

    Raises:
        CircuitValidationError: see :func:`flatten`.
    """
    return checked(circuit)[0]


def checked(circuit: QuantumCircuit) -> tuple[list[int], int]:
    """:func:`measured_clbits` and the width of ``qreg q`` to declare: one past the highest
    qubit an instruction (barriers aside) acts on.

    Idle trailing qubits (a Bell pair transpiled onto a 20-qubit device) are not declared:
    qubit indices stay those of the device, and Qibo does not simulate (2^20 amplitudes
    on the service's simulators) or place qubits nothing uses, as for a ``Circuit(2)`` built
    in Qibo itself.

    Raises:
        CircuitValidationError: see :func:`flatten`.
    """
    label = f"circuit {circuit.name!r}"
    qindex = {bit: i for i, bit in enumerate(circuit.qubits)}
    cindex = {bit: i for i, bit in enumerate(circuit.clbits)}
    measured_qubits: set[int] = set()
    written: dict[int, int] = {}
    top = -1
    for instruction in circuit.data:
        name = instruction.name
        if name in DROPPED:
            continue
        if name in REJECTED:
            raise CircuitValidationError(f"{label}: {REJECTED[name]}")
        qubits = [qindex[q] for q in instruction.qubits]
        if qubits:
            top = max(top, *qubits)
        if name == "measure":
            qubit, clbit = qubits[0], cindex[instruction.clbits[0]]
            if clbit in written:
                raise CircuitValidationError(
                    f"{label}: clbit {clbit} is written by more than one measurement; "
                    "Qilimanjaro needs every classical bit measured exactly once"
                )
            if qubit in measured_qubits:
                raise CircuitValidationError(
                    f"{label}: qubit {qubit} is measured twice; Qilimanjaro only supports "
                    "one final measurement per qubit"
                )
            measured_qubits.add(qubit)
            written[clbit] = qubit
            continue
        if instruction.clbits or (
            not instruction.is_standard_gate()
            and getattr(instruction.operation, "condition", None)
        ):
            raise CircuitValidationError(f"{label}: '{name}' uses classical bits; not supported")
        if not measured_qubits:
            continue
        late = measured_qubits.intersection(qubits)
        if late:
            raise CircuitValidationError(
                f"{label}: '{name}' acts on qubit {min(late)} after it was measured; "
                "Qilimanjaro supports measurements only at the end of a circuit"
            )
    return sorted(written), (top + 1 if top >= 0 else circuit.num_qubits)


def circuit_to_qasm(circuit: QuantumCircuit) -> str:
    """The Qibo-dialect OpenQASM 2 text of one circuit (with the clbit-order comment)."""
    text = circuit_template(circuit, None)
    if text is not None:
        return text
    flat, order = flatten(circuit)
    return _finish(circuit, to_qasm2(flat), order)


def circuit_template(
    circuit: QuantumCircuit, placeholders: Mapping[tuple[int, int], str] | None
) -> str | None:
    """:func:`circuit_to_qasm` through the fast emitter, with ``placeholders`` written in
    place of those angles (a sweep's template; see :mod:`qiskit_multicloud.sweeps`), or
    ``None`` where the emitter is unsure.

    Raises:
        CircuitValidationError: see :func:`flatten`.
    """
    order, width = checked(circuit)
    clbits = circuit.clbits
    text = emit_qasm(
        circuit,
        2,
        [("q", width)],
        [("c", len(order))],
        single_refs(circuit.qubits, "q"),
        {clbits[clbit]: f"c[{p}]" for p, clbit in enumerate(order)},
        drop=DROPPED,
        placeholders=placeholders,
    )
    return None if text is None else _finish(circuit, text, order)


def circuit_to_qasm_exported(circuit: QuantumCircuit) -> str:
    """:func:`circuit_to_qasm` through Qiskit's exporter (the reference of the fast path)."""
    flat, order = flatten(circuit)
    return _finish(circuit, to_qasm2(flat), order)


def _finish(circuit: QuantumCircuit, text: str, order: list[int]) -> str:
    if "\ngate " in text or "opaque " in text:
        raise CircuitValidationError(
            f"circuit {circuit.name!r} needs custom gate definitions in QASM; transpile it "
            "to the backend's native gates first"
        )
    header, _, body = text.partition("\n")
    comment = f"{ORDER_COMMENT} {','.join(str(i) for i in order)}"
    return f"{header}\n{comment}\n{body}"


def clbit_order(qasm: str) -> list[int] | None:
    """The clbit order recorded in a QASM text by :func:`circuit_to_qasm`, if present."""
    match = _ORDER_RE.search(qasm)
    if match is None:
        return None
    text = match.group(1).strip()
    return [int(part) for part in text.split(",") if part.strip()] if text else []


# -- envelope ---------------------------------------------------------------------------------


#: zlib level of the envelope. On a 1000-point sweep of a 20-qubit x depth-50 circuit
#: (12.6 MB of program text) level 3 takes ~120 ms of CPU for 2.79 MB, level 6 ~255 ms for
#: 2.39 MB, level 1 ~88 ms for 3.85 MB (``benchmarks/envelope.py``); the pieces are
#: deflated on the cores (:mod:`qiskit_multicloud.compression`).
LEVEL = 3


def compress(payload: Any) -> str:
    """Wrap ``payload`` as the envelope string ``{"data", "encoding", "compression"}``.

    ``data`` is base64 of one gzip member (mtime 0: the same payload gives the same bytes)
    of the payload's compact UTF-8 JSON (written by the transport's encoder).
    """
    raw = gzip_compress(encode_json(payload), LEVEL)
    data = base64.b64encode(raw).decode("ascii")
    # json.dumps of {"data": data, ...} (as qiboconnection writes it) without scanning the
    # megabytes of base64 for characters to escape: it has none.
    return f'{{"data": "{data}", "encoding": "utf-8", "compression": "gzip"}}'


#: The start of a per-shot ``samples`` array in a decoded result.
_SAMPLES_OPEN = re.compile(rb'"samples"\s*:\s*\[')
#: A byte that cannot be part of a ``samples`` array of integers (digits, whitespace, commas
#: and brackets only).
_NOT_SAMPLES = re.compile(rb"[^\d\s,\[\]]")
#: Bytes kept back between pieces so that a ``"samples":[`` split across two is still found.
_OPEN_CARRY = 64
#: Encodings in which those byte patterns mean the same text.
_ASCII_COMPATIBLE = frozenset({"utf-8", "utf8", "ascii", "us-ascii", "latin-1", "iso-8859-1"})
#: What :func:`decompress` leaves in place of ``samples`` it was asked to skip.
SKIPPED_SAMPLES = "skipped"


class _NotIntegerSamples(Exception):
    """A ``samples`` value that is not an array of integers: decode without cutting."""


class _SamplesCutter:
    r"""Drops every ``"samples": [...]`` array of integers from text that arrives in pieces.

    The array runs from its ``[`` over digits, whitespace, commas and brackets up to the
    last ``]`` before the first other byte (as the regular expression
    ``"samples"\s*:\s*\[[\d\s,\[\]]*\]`` would match it on the whole text) and must
    balance its brackets; it is replaced by ``"samples": "skipped"``. Only the kept text is
    held, never the arrays. Anything else raises :class:`_NotIntegerSamples`.
    """

    def __init__(self) -> None:
        self.kept: list[bytes] = []
        self._carry = b""
        self._in_array = False
        self._closed = False  # a ']' was seen in the current array
        self._depth = 0  # '[' minus ']' in the current array so far
        self._after_close = bytearray()  # bytes after the array's last ']' so far

    def feed(self, piece: bytes) -> None:
        """Take the next piece of the text."""
        buf = self._carry + piece if self._carry else piece
        self._carry = b""
        pos = 0
        while pos < len(buf):
            if self._in_array:
                pos = self._skip(buf, pos)
                continue
            found = _SAMPLES_OPEN.search(buf, pos)
            if found is None:
                keep_from = max(pos, len(buf) - _OPEN_CARRY)
                self.kept.append(buf[pos:keep_from])
                self._carry = buf[keep_from:]
                return
            self.kept.append(buf[pos : found.start()])
            self.kept.append(f'"samples": "{SKIPPED_SAMPLES}"'.encode())
            self._in_array, self._closed, self._depth = True, False, 1
            self._after_close.clear()
            pos = found.end()

    def _skip(self, buf: bytes, pos: int) -> int:
        other = _NOT_SAMPLES.search(buf, pos)
        end = len(buf) if other is None else other.start()
        self._depth += buf.count(b"[", pos, end) - buf.count(b"]", pos, end)
        last_close = buf.rfind(b"]", pos, end)
        if last_close >= 0:
            self._closed = True
            self._after_close[:] = buf[last_close + 1 : end]
        elif self._closed:
            self._after_close += buf[pos:end]
        if other is None:
            return end
        if not self._closed or self._depth != self._after_close.count(b"["):
            raise _NotIntegerSamples  # no ']' at all, or brackets that do not balance
        self.kept.append(bytes(self._after_close))
        self._in_array = False
        return end

    def finish(self) -> bytes:
        """The kept text, once every piece was fed."""
        if self._in_array:
            raise _NotIntegerSamples  # the text ends inside an array: not for us to judge
        self.kept.append(self._carry)
        return b"".join(self.kept)


def decompress(envelope: Any, what: str, *, skip_samples: bool = False) -> Any:
    """Decode an envelope (string or object); either base64 alphabet, padding optional.

    ``skip_samples`` replaces every per-shot ``samples`` array of integers by
    :data:`SKIPPED_SAMPLES` while the data is inflated, before the JSON is parsed: a run
    without ``memory=True`` never holds the decompressed text of the shots (~8 MB for
    1000 circuits x 1000 shots) nor builds their Python lists (113 MiB). A ``samples``
    value that is not such an array is left in place (the text is then decoded whole).

    Raises:
        MalformedResponseError: anything in the chain fails to decode.
    """

    def bad(reason: str) -> MalformedResponseError:
        return MalformedResponseError(f"{VENDOR}: cannot decode {what}: {reason}", vendor=VENDOR)

    if isinstance(envelope, str):
        envelope = loads(envelope, vendor=VENDOR, what=what)
    if not isinstance(envelope, Mapping) or not isinstance(envelope.get("data"), str):
        raise bad("missing string field 'data'")
    compression = envelope.get("compression", "gzip")
    encoding = envelope.get("encoding", "utf-8")
    data: str = envelope["data"]
    try:
        raw = base64.b64decode(
            data.replace("-", "+").replace("_", "/") + "=" * (-len(data) % 4), validate=True
        )
        if compression not in (None, "", "none", "gzip"):
            raise bad(f"unknown compression {compression!r}")
        gzipped = compression == "gzip"
        text = None
        if skip_samples and str(encoding).lower() in _ASCII_COMPATIBLE:
            cutter = _SamplesCutter()
            try:
                for piece in inflate_chunks(raw, vendor=VENDOR, what=what) if gzipped else [raw]:
                    cutter.feed(piece)
                text = cutter.finish().decode(str(encoding))
            except _NotIntegerSamples:
                text = None
            del cutter
        if text is None:
            whole = inflate(raw, vendor=VENDOR, what=what) if gzipped else raw
            text = whole.decode(str(encoding))
    except (binascii.Error, LookupError, UnicodeDecodeError) as exc:
        raise bad(f"{type(exc).__name__}: {exc}") from exc
    except ValueError as exc:
        raise bad(f"payload is not base64 ({exc})") from exc
    return loads(text, vendor=VENDOR, what=f"{what} (decoded)")


# -- bit order --------------------------------------------------------------------------------


def qibo_to_qiskit(bits: str, order: Sequence[int], width: int) -> str:
    """A Qibo key (first measured bit leftmost) as a Qiskit bitstring over ``width`` clbits."""
    out = ["0"] * width
    for position, clbit in enumerate(order):
        out[width - 1 - clbit] = bits[position]
    return "".join(out)


def convert_counts(
    counts: Any, order: Sequence[int], width: int, where: str
) -> dict[str, int]:
    """Qibo ``counts`` -> Qiskit-order counts (validating keys and values)."""
    if not isinstance(counts, Mapping):
        raise MalformedResponseError(f"{VENDOR}: {where}: 'counts' is not an object", vendor=VENDOR)
    out: dict[str, int] = {}
    for key, value in counts.items():
        if not isinstance(key, str) or len(key) != len(order) or key.strip("01"):
            raise MalformedResponseError(
                f"{VENDOR}: {where}: count key {key!r} is not a {len(order)}-bit string",
                vendor=VENDOR,
            )
        number = count_value(value, vendor=VENDOR, where=f"{where}, key {key!r}")
        qiskit_key = qibo_to_qiskit(key, order, width)
        out[qiskit_key] = out.get(qiskit_key, 0) + number
    return out


def convert_samples(samples: Any, order: Sequence[int], width: int, where: str) -> list[str]:
    """Qibo per-shot ``samples`` (lists of 0/1) -> Qiskit-order bitstrings, in shot order."""
    if not isinstance(samples, list):
        raise MalformedResponseError(f"{VENDOR}: {where}: 'samples' is not a list", vendor=VENDOR)
    memory = []
    for shot in samples:
        if (
            not isinstance(shot, list)
            or len(shot) != len(order)
            or any(bit not in (0, 1) or isinstance(bit, float) for bit in shot)
        ):
            raise MalformedResponseError(
                f"{VENDOR}: {where}: sample {shot!r} is not a list of {len(order)} bits",
                vendor=VENDOR,
            )
        memory.append(qibo_to_qiskit("".join(str(int(b)) for b in shot), order, width))
    return memory
