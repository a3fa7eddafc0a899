"""Time bounds hold whatever the server does (#12 item 3), over real sockets.

A frozen server accepts and never answers, a trickling one sends one byte at a time, a
busy one answers 503 with ``Retry-After: 30``: every call still ends within its bound plus
at most one connect timeout. Bounds are small so the whole file takes a few seconds.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests_mock as rm

from qiskit_multicloud.deadline import (
    Deadline,
    bounded,
    carry_deadline,
    current_deadline,
)
from qiskit_multicloud.exceptions import (
    DeadlineExceededError,
    MalformedResponseError,
    TLSVerificationError,
    VendorConnectionError,
)
from qiskit_multicloud.job import concurrently
from qiskit_multicloud.transport import RetryPolicy, Timeouts, Transport

from .harness import captured_logs
from .hostile_server import HostileServer

#: The bound used throughout, seconds.
BOUND = 0.4
#: Connect timeout of the transports under test (the allowed extra).
CONNECT = 0.2
#: Scheduling slack on a shared 2-core machine.
SLACK = 0.6


def transport(url: str, **kwargs: object) -> Transport:
    return Transport(
        "acme", url, timeouts=Timeouts(connect=CONNECT, read=60.0), **kwargs  # type: ignore[arg-type]
    )


def assert_within(started: float, bound: float = BOUND) -> float:
    elapsed = time.monotonic() - started
    assert elapsed < bound + CONNECT + SLACK, f"took {elapsed:.2f}s for a {bound}s bound"
    return elapsed


# -- the deadline module ---------------------------------------------------------------------


def test_nested_scopes_keep_the_tighter_bound() -> None:
    assert current_deadline() is None
    with bounded(10) as outer:
        with bounded(0.5) as inner:
            assert current_deadline() is inner
            left = inner.remaining()
            assert left is not None and left <= 0.5
        with bounded(100) as wider:
            assert wider is outer
        with bounded(None) as unbounded:
            assert unbounded is outer
    assert current_deadline() is None
    with bounded(None) as nothing:
        assert nothing.remaining() is None and current_deadline() is None


def test_deadline_caps_and_expires_on_its_clock() -> None:
    now = [0.0]
    deadline = Deadline(2.0, clock=lambda: now[0])
    assert deadline.cap(5.0) == 2.0 and deadline.cap(1.0) == 1.0 and not deadline.expired()
    now[0] = 2.5
    assert deadline.remaining() == 0.0 and deadline.expired()
    assert Deadline(None).cap(7.0) == 7.0


def test_thread_pools_carry_the_deadline() -> None:
    seen: list[Deadline | None] = []
    lock = threading.Lock()

    def record(_: int) -> None:
        with lock:
            seen.append(current_deadline())

    with bounded(5) as deadline:
        concurrently(record, [1, 2, 3])
        thread = threading.Thread(target=carry_deadline(record), args=(0,))
        thread.start()
        thread.join()
    assert seen == [deadline] * 4


# -- the transport over real sockets ------------------------------------------------------------


def test_frozen_server_read_ends_at_the_deadline() -> None:
    with HostileServer("frozen") as server:
        client = transport(server.url)
        started = time.monotonic()
        with bounded(BOUND), pytest.raises(DeadlineExceededError, match="time bound"):
            client.json("GET", "/jobs/1")
        assert_within(started)


def test_trickled_body_ends_at_the_deadline() -> None:
    # 1 byte / 50 ms never trips a read timeout (each socket read gets a byte in time).
    with HostileServer("trickle", interval=0.05) as server:
        client = transport(server.url)
        started = time.monotonic()
        with bounded(BOUND), pytest.raises(DeadlineExceededError, match="time bound"):
            client.json("GET", "/jobs/1")
        assert_within(started)


def test_trickled_headers_end_at_the_deadline() -> None:
    # Status line and headers one byte / 50 ms: each socket read gets a byte in time.
    with HostileServer("trickle_headers", interval=0.05) as server:
        client = transport(server.url)
        started = time.monotonic()
        with bounded(BOUND), pytest.raises(DeadlineExceededError, match="time bound"):
            client.json("GET", "/jobs/1")
        assert_within(started)


def test_retry_after_beyond_the_deadline_is_not_waited_for() -> None:
    waits: list[float] = []
    with HostileServer("retry_later") as server:
        client = transport(server.url, sleep=waits.append)
        started = time.monotonic()
        with bounded(BOUND), pytest.raises(DeadlineExceededError) as info:
            client.json("GET", "/jobs/1")
        assert_within(started)
    assert waits == [] and server.connections == 1
    assert info.value.status == 503


def test_retry_waits_never_pass_the_deadline(requests_mock: rm.Mocker) -> None:
    requests_mock.get("https://api.example/x", status_code=502)
    waits: list[float] = []
    client = Transport(
        "acme", "https://api.example", sleep=waits.append,
        retry=RetryPolicy(total=10, backoff_factor=0.1, jitter=0.0, backoff_cap=10.0),
    )
    fake_now = [0.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        fake_now[0] += seconds

    client.sleep = sleep
    with bounded(1.0) as deadline, pytest.raises(DeadlineExceededError):
        deadline._clock = lambda: fake_now[0]
        deadline.expires_at = 1.0
        client.json("GET", "/x")
    assert sum(waits) < 1.0 and waits == [0.1, 0.2, 0.4]


def test_timeouts_are_capped_to_the_time_left(requests_mock: rm.Mocker) -> None:
    requests_mock.get("https://api.example/x", json={})
    client = Transport("acme", "https://api.example")
    with bounded(0.5):
        client.json("GET", "/x")
    connect, read = requests_mock.request_history[0].timeout
    assert connect <= 0.5 and read <= 0.5


def test_unparseable_retry_after_falls_back_to_backoff(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        "https://api.example/x",
        [{"status_code": 503, "headers": {"Retry-After": "soon"}}, {"json": {"ok": 1}}],
    )
    waits: list[float] = []
    client = Transport(
        "acme", "https://api.example", sleep=waits.append,
        retry=RetryPolicy(backoff_factor=0.25, jitter=0.0),
    )
    assert client.json("GET", "/x") == {"ok": 1}
    assert waits == [0.25]


# -- hostile bodies -------------------------------------------------------------------------------


def test_deeply_nested_json_is_malformed_not_recursion(requests_mock: rm.Mocker) -> None:
    requests_mock.get("https://api.example/x", text="[" * 100_000 + "]" * 100_000)
    client = Transport("acme", "https://api.example", retry=RetryPolicy(total=0))
    with pytest.raises(MalformedResponseError, match="nested too deeply"):
        client.json("GET", "/x")


def test_deeply_nested_error_body_still_gives_a_clear_error(requests_mock: rm.Mocker) -> None:
    requests_mock.get("https://api.example/x", status_code=400, text='{"detail":' * 900 + "1")
    client = Transport("acme", "https://api.example")
    with pytest.raises(Exception) as info:
        client.json("GET", "/x")
    assert type(info.value).__module__ == "qiskit_multicloud.exceptions"


def test_gzip_bomb_stops_at_the_size_limit() -> None:
    bomb = gzip.compress(b"\0" * (8 * 2**20))  # 8 MiB of zeros in ~8 KiB
    with HostileServer("gzip_bomb", payload=bomb) as server:
        client = transport(server.url, retry=RetryPolicy(total=0))
        client.max_response_bytes = 2**20
        with pytest.raises(MalformedResponseError, match="more than 1048576 bytes"):
            client.json("GET", "/x")


# -- TLS and logs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    yield str(cert), str(key)


def test_certificate_failure_is_reported_and_not_retried(
    self_signed: tuple[str, str],
) -> None:
    with HostileServer("ok", tls=self_signed) as server:
        client = transport(server.url, retry=RetryPolicy(total=4))
        with pytest.raises(TLSVerificationError) as info:
            client.json("GET", "/devices")
    assert server.connections == 1
    message = str(info.value)
    assert "certificate" in message and "REQUESTS_CA_BUNDLE" in message
    assert not isinstance(info.value, VendorConnectionError)


def test_urllib3_debug_lines_carry_no_query_string() -> None:
    with HostileServer("ok") as server, captured_logs() as logs:
        logging.getLogger("urllib3").setLevel(logging.DEBUG)
        transport(server.url).json("GET", "/download/result.zip?X-Amz-Signature=SIGNED123")
    text = logs.getvalue()
    assert "urllib3.connectionpool DEBUG" in text and "/download/result.zip" in text
    assert "SIGNED123" not in text and "X-Amz-Signature" not in text


def test_body_over_declared_limit_is_refused(requests_mock: rm.Mocker, tmp_path: Path) -> None:
    requests_mock.get("https://api.example/x", content=b"x" * 4096)
    client = Transport("acme", "https://api.example", max_response_bytes=1024)
    with pytest.raises(MalformedResponseError, match="more than 1024 bytes"):
        client.request("GET", "/x")


def test_discovery_threads_end_at_the_discovery_timeout() -> None:
    import warnings

    from qiskit_multicloud import MultiCloudProvider
    from qiskit_multicloud.emulators import settings_for

    with HostileServer("frozen") as server:
        provider = MultiCloudProvider(
            {"qoro": settings_for("qoro", server.url, "token-123456")},
            vendors=["qoro"], discovery_timeout=0.3, job_store=False,
        )
        started = time.monotonic()
        with warnings.catch_warnings(), contextlib.suppress(Exception):
            warnings.simplefilter("ignore")
            provider.backends()
        assert_within(started, 0.3)
        while any(t.name.startswith("qiskit-multicloud-discover") for t in threading.enumerate()):
            assert time.monotonic() - started < 0.3 + CONNECT + SLACK, "discovery thread lingers"
            time.sleep(0.01)
