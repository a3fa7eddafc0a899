"""The Qoro compressed histogram formats ``qh1`` and ``qh2`` (encoder and strict decoder).

A histogram maps outcome integers to counts. On the wire it is a small binary blob
(base64 inside the JSON result envelope)::

    magic        b"QH1" + one width byte, or b"QH2" + width as a varint
    unique       number of distinct outcomes
    total_shots  sum of all counts
    num_gaps     then that many varints: outcomes ascending, each minus the previous
    rle_len      byte length of the run-length block that follows:
                 num_runs, [first flag byte, run lengths...] -> one flag per outcome,
                 1 when the outcome's count is exactly 1 (runs alternate 1/0)
    extras_len   then that many varints: count - 2 for every outcome whose flag is 0

All integers after the magic are unsigned LEB128 varints. Outcome ``v`` renders as the
``n_bits``-wide binary string of ``v``, most significant bit first, which is Qiskit's
order (classical bit 0 rightmost).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

#: Widest histogram accepted when decoding (guards against absurd allocations).
MAX_BITS = 1 << 20


class HistogramError(ValueError):
    """A histogram blob is truncated, inconsistent or wider than declared."""


def _varint(value: int) -> bytes:
    if value < 0:
        raise ValueError(f"varints are unsigned, got {value}")
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


class _Reader:
    """Cursor over a blob that reads varints and raises :class:`HistogramError` on overrun."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise HistogramError("truncated histogram: expected one more byte")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self, max_bits: int | None = None) -> int:
        value = 0
        shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
            if max_bits is not None and shift > max_bits + 7:
                raise HistogramError("varint longer than the declared width allows")
        return value


def encode(counts: Mapping[str, int] | Mapping[int, int], n_bits: int) -> bytes:
    """Encode a histogram; ``qh2`` framing is used when ``n_bits`` exceeds 255.

    Args:
        counts: bitstring (MSB first) or integer outcome -> positive count.
        n_bits: width of every outcome.

    Raises:
        ValueError: a key is wider than ``n_bits`` or a count is not positive.
    """
    values: dict[int, int] = {}
    for key, count in counts.items():
        value = int(key, 2) if isinstance(key, str) and key else int(key or 0)
        if value >> n_bits:
            raise ValueError(f"outcome {key!r} does not fit in {n_bits} bits")
        if int(count) <= 0:
            raise ValueError(f"count of {key!r} must be positive, got {count}")
        values[value] = values.get(value, 0) + int(count)
    ordered = sorted(values)
    header = b"QH1" + bytes([n_bits]) if n_bits <= 255 else b"QH2" + _varint(n_bits)
    body = bytearray(header)
    body += _varint(len(ordered)) + _varint(sum(values.values())) + _varint(len(ordered))
    previous = 0
    for value in ordered:
        body += _varint(value - previous)
        previous = value
    flags = [values[v] == 1 for v in ordered]
    runs: list[int] = []
    for index, flag in enumerate(flags):
        if index and flag == flags[index - 1]:
            runs[-1] += 1
        else:
            runs.append(1)
    block = bytearray(_varint(len(runs)))
    if runs:
        block.append(1 if flags[0] else 0)
        for run in runs:
            block += _varint(run)
    body += _varint(len(block)) + block
    extras = [values[v] - 2 for v, one in zip(ordered, flags, strict=True) if not one]
    body += _varint(len(extras))
    for extra in extras:
        body += _varint(extra)
    return bytes(body)


def envelope(counts: Mapping[str, int], n_bits: int) -> dict[str, object]:
    """The JSON result envelope ``{"encoding", "n_bits", "payload"}`` for ``counts``."""
    return {
        "encoding": "qh1" if n_bits <= 255 else "qh2",
        "n_bits": n_bits,
        "payload": base64.b64encode(encode(counts, n_bits)).decode("ascii"),
    }


def decode(
    blob: bytes, *, expected_bits: int | None = None, magic: bytes | None = None
) -> dict[str, int]:
    """Decode a ``qh1``/``qh2`` blob into bitstring -> count (Qiskit order).

    Args:
        blob: the raw bytes (already base64-decoded).
        expected_bits: width the envelope declares; must match the blob's.
        magic: ``b"QH1"`` or ``b"QH2"`` as the envelope's ``encoding`` demands.

    Raises:
        HistogramError: anything inconsistent (truncation, sums, widths, trailing data).
    """
    if len(blob) < 4 or blob[:3] not in (b"QH1", b"QH2"):
        raise HistogramError("not a QH1/QH2 histogram (bad magic)")
    if magic is not None and blob[:3] != magic:
        raise HistogramError(f"blob is {blob[:3]!r} but the envelope says {magic!r}")
    reader = _Reader(blob, 3)
    n_bits = reader.byte() if blob[:3] == b"QH1" else reader.varint(max_bits=21)
    if n_bits > MAX_BITS:
        raise HistogramError(f"declared width {n_bits} exceeds {MAX_BITS} bits")
    if expected_bits is not None and n_bits != expected_bits:
        raise HistogramError(f"blob declares {n_bits} bits but the envelope {expected_bits}")
    unique = reader.varint()
    total = reader.varint()
    num_gaps = reader.varint()
    if num_gaps > len(blob):
        raise HistogramError(f"histogram claims {num_gaps} outcomes in {len(blob)} bytes")
    outcomes: list[int] = []
    value = 0
    for _ in range(num_gaps):
        value += reader.varint(max_bits=n_bits)
        if value >> n_bits:
            raise HistogramError(f"outcome {value} does not fit in {n_bits} bits")
        outcomes.append(value)
    rle_len = reader.varint()
    block_end = reader.pos + rle_len
    if block_end > len(blob):
        raise HistogramError("truncated run-length block")
    flags: list[bool] = []
    num_runs = reader.varint()
    if num_runs:
        flag = reader.byte() != 0
        for _ in range(num_runs):
            flags.extend([flag] * reader.varint())
            flag = not flag
    if reader.pos != block_end:
        raise HistogramError("run-length block length does not match its contents")
    if len(flags) != num_gaps:
        raise HistogramError(f"run lengths cover {len(flags)} outcomes, not {num_gaps}")
    extras_len = reader.varint()
    if extras_len != flags.count(False):
        raise HistogramError(f"{extras_len} extra counts for {flags.count(False)} outcomes")
    counts: dict[str, int] = {}
    for outcome, one in zip(outcomes, flags, strict=True):
        count = 1 if one else reader.varint() + 2
        counts[format(outcome, f"0{n_bits}b") if n_bits else ""] = count
    if reader.pos != len(blob):
        raise HistogramError(f"{len(blob) - reader.pos} unexpected trailing byte(s)")
    if len(counts) != unique:
        raise HistogramError(f"decoded {len(counts)} outcomes but the header says {unique}")
    if sum(counts.values()) != total:
        raise HistogramError(f"counts sum to {sum(counts.values())}, header says {total}")
    return counts


def decode_envelope(data: Mapping[str, object]) -> dict[str, int]:
    """Decode a result envelope ``{"encoding": "qh1"|"qh2", "n_bits", "payload"}``.

    Raises:
        HistogramError: unknown encoding, bad base64 or an inconsistent blob.
    """
    encoding = data.get("encoding")
    if encoding not in ("qh1", "qh2"):
        raise HistogramError(f"unsupported histogram encoding {encoding!r}")
    payload = data.get("payload")
    n_bits = data.get("n_bits")
    if not isinstance(payload, str) or not isinstance(n_bits, int):
        raise HistogramError("histogram envelope needs a string 'payload' and integer 'n_bits'")
    try:
        blob = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HistogramError(f"histogram payload is not base64: {exc}") from exc
    return decode(blob, expected_bits=n_bits, magic=b"QH1" if encoding == "qh1" else b"QH2")
