"""Bounded decoding of what vendors send: JSON, gzip/zlib payloads, response bodies.

A hostile or broken server must not exhaust memory, the stack or the clock. Every piece of
vendor data decoded by the package goes through these helpers:

* :func:`loads`: JSON, with nesting that would overflow the parser's stack reported as
  :class:`~qiskit_multicloud.exceptions.MalformedResponseError` (not ``RecursionError``);
* :func:`inflate` / :func:`inflate_chunks`: gzip or zlib data, decompressed with a size limit
  (a 1 MiB bomb that expands to 1 GiB stops at the limit instead of filling memory), whole
  or in pieces;
* :func:`read_body`: an HTTP body streamed in chunks, counting *decoded* bytes (``requests``
  undoes ``Content-Encoding: gzip`` itself), abandoned past :data:`MAX_RESPONSE_BYTES` or
  when the current :mod:`~qiskit_multicloud.deadline` runs out, however slowly the server
  trickles it.
"""

from __future__ import annotations

import json
import socket
import zlib
from collections.abc import Iterator
from typing import Any

import requests
import urllib3

from . import deadline
from .exceptions import DeadlineExceededError, MalformedResponseError

#: Largest decoded response body or decompressed payload accepted, in bytes (256 MiB).
#: The largest real answers are per-shot results of big runs (1000 circuits x 1000 shots of
#: per-shot rows is ~100 MB of JSON); anything larger is refused as malformed. A transport's
#: own limit is ``Transport.max_response_bytes`` (defaults to this).
MAX_RESPONSE_BYTES = 256 * 2**20

#: Bytes read from the network per step while streaming a body.
CHUNK_BYTES = 64 * 1024


def loads(data: str | bytes | bytearray, *, vendor: str, what: str) -> Any:
    """Decode JSON from a vendor.

    Raises:
        MalformedResponseError: not JSON, not text, or nested too deeply to parse.
    """
    try:
        return json.loads(data)
    except RecursionError:
        raise MalformedResponseError(
            f"{vendor}: {what} is JSON nested too deeply to be a real answer; refused",
            vendor=vendor,
        ) from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError included
        preview = bytes(data[:80]) if isinstance(data, bytes | bytearray) else data[:80]
        raise MalformedResponseError(
            f"{vendor}: {what} is not JSON ({preview!r}...)", vendor=vendor
        ) from exc


def too_large(vendor: str, what: str, limit: int) -> MalformedResponseError:
    """The error for data over ``limit`` decoded bytes."""
    return MalformedResponseError(
        f"{vendor}: {what} decodes to more than {limit} bytes "
        f"(qiskit_multicloud.decoding.MAX_RESPONSE_BYTES); refused as malformed. If a real "
        "result is this large, split the run into fewer circuits or shots per job",
        vendor=vendor,
    )


def inflate(data: bytes, *, vendor: str, what: str, limit: int | None = None) -> bytes:
    """Decompress gzip or zlib ``data`` (format detected), refusing output over ``limit``
    (default :data:`MAX_RESPONSE_BYTES`).

    Concatenated gzip members are decoded one after another, as ``gzip.decompress`` does.

    Raises:
        MalformedResponseError: not gzip/zlib, truncated, or larger than ``limit``.
    """
    return b"".join(inflate_chunks(data, vendor=vendor, what=what, limit=limit))


def inflate_chunks(
    data: bytes, *, vendor: str, what: str, limit: int | None = None,
    chunk: int = CHUNK_BYTES,
) -> Iterator[bytes]:
    """:func:`inflate`, yielding the output in pieces of at most ``chunk`` bytes.

    A caller that filters the text as it comes (e.g. drops per-shot data it will not use)
    never holds the whole decompressed payload.

    Raises:
        MalformedResponseError: as :func:`inflate`, once the bad part is reached.
    """
    limit = MAX_RESPONSE_BYTES if limit is None else limit
    produced = 0
    rest = data
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header
            pending = rest
            while True:
                piece = inflater.decompress(pending, chunk)
                produced += len(piece)
                if produced > limit:
                    raise too_large(vendor, what, limit)
                if piece:
                    yield piece
                pending = inflater.unconsumed_tail
                if inflater.eof or (not pending and not piece):
                    break
            if not inflater.eof:
                raise MalformedResponseError(
                    f"{vendor}: {what} is truncated compressed data", vendor=vendor
                )
            rest = inflater.unused_data.lstrip(b"\0")
    except zlib.error as exc:
        raise MalformedResponseError(
            f"{vendor}: {what} is not gzip/zlib data ({exc})", vendor=vendor
        ) from exc


def read_body(response: requests.Response, *, vendor: str, where: str, limit: int) -> bytes:
    """Read a streamed ``response`` body into ``response.content``, within bounds.

    Each network read waits at most the time left under the current deadline, and the body
    is abandoned once that time is up or more than ``limit`` decoded bytes arrived.

    Raises:
        DeadlineExceededError: the deadline ran out while the body was arriving.
        MalformedResponseError: the body is larger than ``limit``.
        requests.RequestException: the connection failed while reading (the caller
            translates it).
    """
    declared = response.headers.get("Content-Length", "")
    encoded = response.headers.get("Content-Encoding", "").strip().lower()
    if declared.isdigit() and int(declared) > limit and encoded in ("", "identity"):
        response.close()
        raise too_large(vendor, f"the answer to {where}", limit)
    sock = _socket_of(response)
    body = bytearray()
    try:
        while True:
            left = deadline.remaining()
            if left is not None:
                if left <= 0:
                    raise DeadlineExceededError(
                        f"{vendor}: {where}: the answer was still arriving when the time "
                        f"bound ran out ({len(body)} bytes read); giving up",
                        vendor=vendor,
                    )
                if sock is not None:
                    sock.settimeout(max(left, deadline.MIN_TIMEOUT))
            chunk = _read_some(response)
            if not chunk:
                break
            body += chunk
            if len(body) > limit:
                raise too_large(vendor, f"the answer to {where}", limit)
    except BaseException:
        response.close()
        raise
    content = bytes(body)
    response._content = content  # what requests keeps for .content/.text
    response._content_consumed = True  # type: ignore[attr-defined]
    return content


def _read_some(response: requests.Response) -> bytes:
    """Whatever the next network read brings (at most :data:`CHUNK_BYTES` decoded), with
    urllib3's errors translated as ``requests`` itself does."""
    try:
        chunk: bytes = response.raw.read1(CHUNK_BYTES, decode_content=True)
    except urllib3.exceptions.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ConnectionError(exc) from exc
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc
    except (OSError, urllib3.exceptions.HTTPError) as exc:
        raise requests.exceptions.ConnectionError(exc) from exc
    return chunk


def _socket_of(response: requests.Response) -> socket.socket | None:
    """The socket a streamed response is read from (``None`` if not a real socket)."""
    connection = getattr(response.raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    return sock if isinstance(sock, socket.socket) else None
