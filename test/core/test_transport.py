"""The shared transport: retries, refresh, error translation, credential scoping."""

from __future__ import annotations

import logging

import orjson
import pytest
import requests
import requests_mock as rm

from qiskit_multicloud.config import Secret
from qiskit_multicloud.exceptions import (
    AuthenticationError,
    ConfigurationError,
    MalformedResponseError,
    MultiCloudError,
    VendorAPIError,
    VendorConnectionError,
)
from qiskit_multicloud.transport import (
    Auth,
    DeferredJSON,
    HeaderAuth,
    RetryPolicy,
    Transport,
    encode_json,
    error_message_from_body,
)

BASE = "https://api.vendor.example"
TOKEN = "s3cr3t-token-value"


def make(
    retry: RetryPolicy | None = None, auth: Auth | None = None
) -> tuple[Transport, list[float]]:
    waits: list[float] = []
    retry = retry or RetryPolicy()
    transport = Transport(
        "acme", BASE, auth or HeaderAuth("X-Token", Secret(TOKEN)), retry=retry, sleep=waits.append
    )
    return transport, waits


def test_get_sends_auth_header_and_decodes_json(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/devices", json=[{"id": 1}])
    transport, _ = make()
    assert transport.json("GET", "/devices") == [{"id": 1}]
    sent = requests_mock.request_history[0]
    assert sent.headers["X-Token"] == TOKEN
    assert sent.headers["User-Agent"].startswith("qiskit-multicloud/")
    assert sent.timeout == (10.0, 60.0)


class _Made(DeferredJSON):
    """Writes its JSON only when asked, and counts how often."""

    __slots__ = ("made", "text")

    def __init__(self, text: str) -> None:
        self.text, self.made = text, 0

    def fragment(self) -> orjson.Fragment:
        self.made += 1
        return orjson.Fragment(self.text)


def test_deferred_json_is_written_when_the_body_is_encoded(requests_mock: rm.Mocker) -> None:
    requests_mock.post(f"{BASE}/jobs", json={"id": "j"})
    transport, _ = make()
    later = _Made('[{"name":"prx","args":{"angle":-0.0}}]')
    body = {"circuits": [{"name": "c", "instructions": later}], "shots": 5}
    assert later.made == 0
    transport.json("POST", "/jobs", json=body)
    assert later.made == 1  # once per request, not per attempt
    sent = requests_mock.request_history[0]
    assert sent.body == b'{"circuits":[{"name":"c","instructions":[{"name":"prx","args":' \
        b'{"angle":-0.0}}]}],"shots":5}'
    assert sent.headers["Content-Type"] == "application/json"
    with pytest.raises(MultiCloudError, match="cannot be written as JSON"):
        encode_json({"circuits": [object()]})


def test_idempotent_request_retried_with_backoff_then_succeeds(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        f"{BASE}/jobs/1",
        [{"status_code": 502}, {"status_code": 500}, {"json": {"ok": True}, "status_code": 200}],
    )
    transport, waits = make(RetryPolicy(total=3, backoff_factor=0.1, jitter=0.0))
    assert transport.json("GET", "/jobs/1") == {"ok": True}
    assert waits == [0.1, 0.2]


def test_post_not_retried_on_500(requests_mock: rm.Mocker) -> None:
    requests_mock.post(f"{BASE}/jobs", status_code=500, json={"message": "boom"})
    transport, waits = make()
    with pytest.raises(VendorAPIError) as info:
        transport.json("POST", "/jobs", json={})
    assert info.value.status == 500
    assert info.value.vendor_message == "boom"
    assert requests_mock.call_count == 1
    assert waits == []


def test_post_retried_on_429_honouring_retry_after(requests_mock: rm.Mocker) -> None:
    requests_mock.post(
        f"{BASE}/jobs",
        [
            {"status_code": 429, "headers": {"Retry-After": "3"}},
            {"status_code": 503},
            {"json": {"id": "j"}, "status_code": 200},
        ],
    )
    transport, waits = make(RetryPolicy(total=3, backoff_factor=0.5, jitter=0.0))
    assert transport.json("POST", "/jobs", json={}) == {"id": "j"}
    assert waits == [3.0, 1.0]


def test_retry_after_is_capped(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        f"{BASE}/x", [{"status_code": 429, "headers": {"Retry-After": "9999"}}, {"json": {}}]
    )
    transport, waits = make(RetryPolicy(retry_after_cap=5.0))
    transport.json("GET", "/x")
    assert waits == [5.0]


def test_retries_exhausted_raises_vendor_error(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/x", status_code=503, json={"detail": "maintenance"})
    transport, waits = make(RetryPolicy(total=2, jitter=0.0))
    with pytest.raises(VendorAPIError, match="maintenance") as info:
        transport.json("GET", "/x")
    assert info.value.status == 503
    assert len(waits) == 2
    assert requests_mock.call_count == 3


def test_connection_error_on_post_not_retried(requests_mock: rm.Mocker) -> None:
    requests_mock.post(f"{BASE}/jobs", exc=requests.ConnectionError("reset by peer"))
    transport, _ = make()
    with pytest.raises(VendorConnectionError, match="no answer"):
        transport.json("POST", "/jobs", json={})
    assert requests_mock.call_count == 1


def test_connect_timeout_on_post_is_retried(requests_mock: rm.Mocker) -> None:
    requests_mock.post(f"{BASE}/jobs", [{"exc": requests.ConnectTimeout("x")}, {"json": {"id": 1}}])
    transport, _ = make(RetryPolicy(jitter=0.0))
    assert transport.json("POST", "/jobs", json={}) == {"id": 1}


def test_401_becomes_authentication_error_without_token_in_message(
    requests_mock: rm.Mocker,
) -> None:
    requests_mock.get(f"{BASE}/me", status_code=401, json={"message": "bad token"})
    transport, _ = make()
    with pytest.raises(AuthenticationError) as info:
        transport.json("GET", "/me")
    assert "bad token" in str(info.value)
    assert TOKEN not in str(info.value)


def test_refresh_once_and_replay(requests_mock: rm.Mocker) -> None:
    class Refreshing(Auth):
        def __init__(self) -> None:
            self.token = "old"
            self.refreshes = 0

        def headers(self) -> dict[str, str]:
            return {"Authorization": f"Bearer {self.token}"}

        def refresh(self, transport: Transport) -> bool:
            self.refreshes += 1
            self.token = "new"
            return True

    auth = Refreshing()
    requests_mock.post(f"{BASE}/jobs", [{"status_code": 401}, {"status_code": 401}, {"json": {}}])
    transport, _ = make(auth=auth)
    with pytest.raises(AuthenticationError):
        transport.json("POST", "/jobs", json={})
    assert auth.refreshes == 1
    assert [r.headers["Authorization"] for r in requests_mock.request_history] == [
        "Bearer old",
        "Bearer new",
    ]


def test_credentials_never_sent_to_untrusted_origin(requests_mock: rm.Mocker) -> None:
    requests_mock.get("https://storage.example/obj", content=b"zip")
    requests_mock.get("https://tasks.vendor.example/t", json={})
    transport, _ = make()
    transport.request("GET", "https://storage.example/obj")
    assert "X-Token" not in requests_mock.request_history[-1].headers
    transport.trust_origin("https://tasks.vendor.example/base")
    transport.request("GET", "https://tasks.vendor.example/t")
    assert requests_mock.request_history[-1].headers["X-Token"] == TOKEN


def test_malformed_json_raises_clear_error(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/x", text='{"half": ')
    transport, _ = make()
    with pytest.raises(MalformedResponseError, match="not JSON"):
        transport.json("GET", "/x")


def test_plain_http_only_for_loopback() -> None:
    with pytest.raises(ConfigurationError, match="https"):
        Transport("acme", "http://api.vendor.example")
    Transport("acme", "http://127.0.0.1:8080")
    transport, _ = make()
    with pytest.raises(ConfigurationError):
        transport.trust_origin("http://evil.example")


def test_logs_carry_no_secret_or_query(
    requests_mock: rm.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.get(f"{BASE}/obj", status_code=503)
    transport, _ = make(RetryPolicy(total=1))
    with caplog.at_level(logging.DEBUG), pytest.raises(VendorAPIError):
        transport.request("GET", f"{BASE}/obj?X-Amz-Signature=abcdef")
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("qiskit_multicloud")]
    assert ours
    assert not any(TOKEN in line or "abcdef" in line for line in ours)
    assert repr(transport.auth) == "HeaderAuth('X-Token', ***)"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"message": "job not found"}', "job not found"),
        ('{"detail": "Unauthorized"}', "Unauthorized"),
        ('{"detail": [{"msg": "field required"}]}', "field required"),
        (
            '{"meta": {"code": 404}, "response": {"errors": ["Task x not found"]}}',
            "Task x not found",
        ),
        ("plain text", "plain text"),
        ("", None),
    ],
)
def test_error_message_extraction(body: str, message: str | None) -> None:
    assert error_message_from_body(body) == message
