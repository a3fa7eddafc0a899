"""gzip_compress: one gzip member, deflated in pieces on several threads, deterministic."""

from __future__ import annotations

import gzip
import os
import random
import select
import signal
import zlib

import pytest

from qiskit_multicloud import compression
from qiskit_multicloud.compression import crc32_combine, gzip_compress
from qiskit_multicloud.decoding import inflate

#: Small pieces (the window is still 32 KiB) so a few hundred KB cross many cuts.
PIECE = 40_000


def sample(size: int, seed: int = 3) -> bytes:
    """Repetitive text with random numbers in it, like a program list of a sweep."""
    rng = random.Random(seed)
    lines = []
    while sum(map(len, lines)) < size:
        lines.append(f"rz({rng.uniform(-3.2, 3.2)!r}) q[{rng.randrange(20)}];\\nsx q[1];\\n")
    return "".join(lines).encode()[:size]


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compression, "PIECE_BYTES", PIECE)


def members(data: bytes) -> int:
    """How many gzip members ``data`` holds, checking nothing follows the last."""
    count = 0
    while data:
        reader = zlib.decompressobj(31)
        reader.decompress(data)
        assert reader.eof
        data = reader.unused_data
        count += 1
    return count


@pytest.mark.usefixtures("small_pieces")
@pytest.mark.parametrize("size", [0, 1, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE, 250_000])
def test_one_member_every_reader_reads_whole(size: int) -> None:
    data = sample(size)
    packed = gzip_compress(data, 3)
    assert gzip.decompress(packed) == data
    assert zlib.decompress(packed, 31) == data
    assert inflate(packed, vendor="test", what="payload") == data
    assert members(packed) == 1
    assert packed[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # mtime 0


@pytest.mark.usefixtures("small_pieces")
def test_same_bytes_however_many_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    data = sample(250_000)
    threaded = gzip_compress(data, 3)
    monkeypatch.setattr(compression, "_workers", lambda: None)  # one core: in line
    assert gzip_compress(data, 3) == threaded
    assert gzip_compress(bytearray(data), 3) == threaded


@pytest.mark.usefixtures("small_pieces")
def test_pieces_refer_back_across_the_cuts() -> None:
    """Primed with the window before each cut, the pieces compress about as one stream."""
    data = sample(250_000)
    one_stream = len(gzip.compress(data, 6, mtime=0))
    assert len(gzip_compress(data, 6)) < one_stream * 1.01


def test_crc32_combine_matches_zlib() -> None:
    rng = random.Random(1)
    for first, second in [(0, 0), (5, 0), (0, 7), (1, 1), (1000, 65_537), (3, 2**20 + 3)]:
        a, b = rng.randbytes(first), rng.randbytes(second)
        assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.usefixtures("small_pieces")
def test_a_forked_child_compresses_with_its_own_threads() -> None:
    data = sample(250_000)
    expected = gzip_compress(data, 3)  # the parent's threads exist now
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        ok = gzip_compress(data, 3) == expected
        os.write(writer, b"1" if ok else b"0")
        os._exit(0)
    os.close(writer)
    try:
        ready, _, _ = select.select([reader], [], [], 60)  # waits only if the child hangs
        answer = os.read(reader, 1) if ready else b"hang"
    finally:
        os.close(reader)
        if not ready:
            os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    assert answer == b"1", "the forked child's compression hung or differed"
