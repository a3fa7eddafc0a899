"""gzip of large request payloads, deflated on several cores (pigz's scheme, stdlib only).

The input is cut at fixed offsets into pieces of :data:`PIECE_BYTES`. Each piece is
deflated on its own by a worker thread (zlib releases the GIL while it compresses), primed
with the 32 KiB of input before it as a preset dictionary so that it may refer back across
the cut as one compressor would, and ended with a sync flush (a byte-aligned empty stored
block) so the pieces join into one raw deflate stream; only the last piece ends the stream.
One gzip header (mtime 0) and one trailer (CRC-32 and length of the whole input) wrap it:
the result is a single gzip member that ``gzip.decompress`` and ``zlib.decompress(data, 31)``
read whole, whatever reader is used.

The output depends only on the input, the level and the zlib build (the cuts are at fixed
offsets, whatever the number of threads), so the same payload is byte-identical from run to
run.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

#: Input bytes deflated by one task. Small enough to share a 12 MB payload between cores;
#: large enough that the cuts cost nothing measurable in size (each adds one block header
#: and 5 bytes of flush marker) or time (each piece's compressor first reads its window).
PIECE_BYTES = 1 << 20

#: The deflate window: how much preceding input a piece's compressor is primed with.
WINDOW = 32 * 1024

#: gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS "unknown" (255), so the
#: bytes do not depend on the machine.
_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"

#: The CRC-32 polynomial, bit-reversed (as zlib uses it).
_POLY = 0xEDB88320

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _forget_pool() -> None:
    """In a forked child: the parent's threads do not exist there, so start new ones."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _workers() -> ThreadPoolExecutor | None:
    """The shared compression threads (``None`` on a single core: compress in line)."""
    global _pool
    count = min(4, os.cpu_count() or 1)
    if count < 2:
        return None
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="multicloud-gzip")
        return _pool


def _multiply(a: int, b: int) -> int:
    """``a * b`` modulo the CRC-32 polynomial (zlib's ``multmodp``, bit-reversed operands)."""
    product = 0
    mask = 1 << 31
    while mask:
        if a & mask:
            product ^= b
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1
        mask >>= 1
    return product


def _square_powers() -> list[int]:
    powers = [1 << 30]  # x^1
    for _ in range(31):
        powers.append(_multiply(powers[-1], powers[-1]))
    return powers


#: ``x^(2^k)`` modulo the polynomial, for :func:`crc32_combine`.
_X2N = _square_powers()


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of ``A + B`` from ``crc32(A)``, ``crc32(B)`` and ``len(B)`` (zlib's
    ``crc32_combine``, which Python's zlib module does not expose)."""
    power = 1 << 31  # x^0
    n, k = length2, 3  # shifting by one byte multiplies by x^8 = x^(2^3)
    while n:
        if n & 1:
            power = _multiply(_X2N[k & 31], power)
        n >>= 1
        k += 1
    return _multiply(power, crc1) ^ crc2


def _deflate(
    window: memoryview, piece: memoryview, level: int, last: bool
) -> tuple[bytes, int, int]:
    """Raw deflate of ``piece`` primed with ``window`` (the input just before it), the
    piece's CRC-32 and its length."""
    primer = {"zdict": window} if len(window) else {}
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, **primer)
    body = compressor.compress(piece)
    body += compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
    return body, zlib.crc32(piece), len(piece)


def gzip_compress(data: bytes, level: int = 6) -> bytes:
    """One gzip member (mtime 0) holding ``data``, deflated in pieces on several cores.

    Args:
        data: the input.
        level: zlib compression level, 0-9.
    """
    pool = _workers()
    view = memoryview(data)
    cuts = list(range(0, len(data), PIECE_BYTES)) or [0]
    jobs = [
        (view[max(0, start - WINDOW) : start], view[start : start + PIECE_BYTES], level,
         start == cuts[-1])
        for start in cuts
    ]
    if pool is None or len(jobs) == 1:
        done = [_deflate(*job) for job in jobs]
    else:
        done = [future.result() for future in [pool.submit(_deflate, *job) for job in jobs]]
    crc = 0
    for _, piece_crc, piece_length in done:
        crc = crc32_combine(crc, piece_crc, piece_length)
    trailer = struct.pack("<II", crc, len(data) & 0xFFFFFFFF)
    return b"".join([_HEADER, *(body for body, _, _ in done), trailer])
