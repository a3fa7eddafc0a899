"""Qilimanjaro adapter against requests-mock: exact requests, realistic payloads, errors."""

from __future__ import annotations

import base64
import gzip
import json
import random
import re
import tracemalloc
import zlib
from typing import Any

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ClassicalRegister, QuantumRegister
from qiskit.providers import JobStatus

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.exceptions import (
    AuthenticationError,
    CircuitValidationError,
    ConfigurationError,
    MalformedResponseError,
    VendorAPIError,
)
from qiskit_multicloud.sweeps import STATS, SweepCircuits
from qiskit_multicloud.types import CircuitLayout
from qiskit_multicloud.vendors.qilimanjaro import QilimanjaroAdapter, QilimanjaroSettings
from qiskit_multicloud.vendors.qilimanjaro.adapter import STATUS_MAP
from qiskit_multicloud.vendors.qilimanjaro.auth import GRANT_TYPE, SCOPE
from qiskit_multicloud.vendors.qilimanjaro.translate import circuit_to_qasm, compress, decompress
from test.vendors.sweep_helpers import bound_points, parametrized_sweep

from .conftest import ACCESS, ACCESS2, API, API_KEY, REFRESH, URL, jwt, tokens

RADAGAST = {
    "id": 9, "name": "radagast", "status": "online", "type": "quantum_device",
    "number_pending_jobs": 3, "slurm_partition": "radagast",
    "static_features": {"number_qubits": 5, "native_gates": ["rz", "sx", "x", "cz", "measure"],
                        "connectivity": [[0, 2], [1, 2], [2, 3], [2, 4]]},
    "dynamic_features": {"qubits": [{"id": 0, "t1": 5e-5, "t2": 3e-5, "gate_error": 1e-3,
                                     "readout_error": 0.02}],
                         "couplers": [{"qubits": [0, 2], "cz_error": 0.01}],
                         "gate_duration": 3e-8, "cz_duration": 2e-7,
                         "last_calibration_time": "2026-01-01T00:00:00Z"},
}
SOPRANO = {"id": 12, "name": "Soprano", "status": "maintenance", "type": "quantum_device",
           "number_pending_jobs": None, "static_features": None, "dynamic_features": None}
SIM = {"id": 1, "device_name": "sim", "status": "online", "device_type": "simulator"}
ANALOG = {"id": 5, "name": "annealer", "status": "online", "type": "quantum_analog_device"}


def page(items: list[Any], next_page: int | None) -> dict[str, Any]:
    return {"items": items, "total": 4, "per_page": 2,
            "self": f"{URL}/api/v1/devices?page=1&per_page=2",
            "links": {"next": f"{URL}/api/v1/devices?page={next_page}&per_page=2"}}


def device(adapter: QilimanjaroAdapter, record: dict[str, Any] = RADAGAST) -> Any:
    from qiskit_multicloud.vendors.qilimanjaro.devices import device_spec

    return device_spec(record, adapter.qsettings)


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def gz(payload: Any, urlsafe: bool = False) -> str:
    raw = gzip.compress(json.dumps(payload).encode())
    encoder = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return json.dumps({"data": encoder(raw).decode(), "encoding": "utf-8",
                       "compression": "gzip"})


def job_record(status: str = "completed", result: Any = None, programs: Any = None,
               **extra: Any) -> dict[str, Any]:
    return {"job_id": 1187, "user_id": 42, "device_id": 9, "status": status,
            "job_type": "circuit", "number_shots": 4, "queue_position": 0,
            "description": gz(programs if programs is not None else ["OPENQASM 2.0;"]),
            "result": result, "name": "bell", "summary": "-", **extra}


# -- login, tokens, refresh ----------------------------------------------------------------


def test_login_request_shape_and_bearer_header(adapter, logged_in, requests_mock) -> None:
    jobs = requests_mock.get(f"{API}/jobs/1187", json=job_record("queued"))
    assert adapter.status("1187").status is JobStatus.QUEUED
    login = logged_in.last_request
    assert login.method == "POST" and login.url == f"{API}/authorisation-tokens"
    assert "Authorization" not in login.headers
    # the service reads X-Client-Version as a qiboconnection release (numeric), so we send
    # the release whose protocol we speak; our own identity is in User-Agent
    assert login.headers["X-Client-Version"] == "0.23.2"
    assert login.headers["User-Agent"].startswith("qiskit-multicloud/")
    assert requests_mock.last_request.headers["X-Client-Version"] == "0.23.2"
    body = login.json()
    assert set(body) == {"grantType", "assertion", "scope"}
    assert body["grantType"] == GRANT_TYPE and body["scope"] == SCOPE
    assert body["assertion"].endswith("=") or len(body["assertion"]) % 4 == 0
    assertion = json.loads(base64.urlsafe_b64decode(body["assertion"]))
    assert assertion["username"] == "ada" and assertion["api_key"] == API_KEY
    assert assertion["user_id"] is None and isinstance(assertion["iat"], int)
    assert assertion["audience"] == f"{URL}/api/v1"
    assert jobs.last_request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert adapter.auth.logins == 1


def test_login_is_lazy_and_happens_once(adapter, logged_in, requests_mock) -> None:
    assert logged_in.call_count == 0
    requests_mock.get(f"{API}/jobs/1", json=job_record("running"))
    adapter.status("1")
    adapter.status("1")
    assert logged_in.call_count == 1


def test_401_refreshes_once_and_replays(adapter, logged_in, requests_mock) -> None:
    refresh = requests_mock.post(f"{API}/authorisation-tokens/refresh", status_code=201,
                                 json=tokens(ACCESS2, None))
    jobs = requests_mock.get(f"{API}/jobs/7", [
        {"status_code": 401, "json": {"title": "Unauthorized", "status": 401,
                                      "detail": "Token has expired"}},
        {"status_code": 200, "json": job_record("running")},
    ])
    assert adapter.status("7").status is JobStatus.RUNNING
    assert refresh.call_count == 1
    assert refresh.last_request.headers["Authorization"] == f"Bearer {REFRESH}"
    assert refresh.last_request.json() == {}
    assert jobs.call_count == 2
    assert jobs.request_history[0].headers["Authorization"] == f"Bearer {ACCESS}"
    assert jobs.request_history[1].headers["Authorization"] == f"Bearer {ACCESS2}"
    assert logged_in.call_count == 1


def test_second_401_is_an_authentication_error(adapter, logged_in, requests_mock) -> None:
    refresh = requests_mock.post(f"{API}/authorisation-tokens/refresh", status_code=201,
                                 json=tokens(ACCESS2, None))
    jobs = requests_mock.get(f"{API}/jobs/7", status_code=401,
                             json={"title": "Unauthorized", "status": 401, "detail": "nope"})
    with pytest.raises(AuthenticationError) as info:
        adapter.status("7")
    assert refresh.call_count == 1 and jobs.call_count == 2
    assert ACCESS2 not in str(info.value) and API_KEY not in str(info.value)


def test_failed_refresh_logs_in_again(adapter, logged_in, requests_mock) -> None:
    requests_mock.post(f"{API}/authorisation-tokens/refresh", status_code=401,
                       json={"detail": "refresh token expired"})
    requests_mock.get(f"{API}/jobs/7", [{"status_code": 401, "json": {"detail": "expired"}},
                                        {"status_code": 200, "json": job_record("queued")}])
    assert adapter.status("7").raw == "queued"
    assert logged_in.call_count == 2


def test_bad_api_key_is_authentication_error(adapter, requests_mock) -> None:
    requests_mock.post(f"{API}/authorisation-tokens", status_code=401,
                       json={"title": "Unauthorized", "status": 401,
                             "detail": "Invalid username or API key"})
    with pytest.raises(AuthenticationError) as info:
        adapter.status("1")
    assert API_KEY not in str(info.value)


@pytest.mark.parametrize("status", [400, 403, 422])
def test_refused_login_other_codes(adapter, requests_mock, status: int) -> None:
    requests_mock.post(f"{API}/authorisation-tokens", status_code=status,
                       json={"detail": "bad credentials"})
    with pytest.raises(AuthenticationError, match="refused"):
        adapter.status("1")


@pytest.mark.parametrize("answer", [
    {"accessToken": "not-a-jwt", "refreshToken": None},
    {"accessToken": jwt(user_id=None)},
    {"refreshToken": "x"},
])
def test_malformed_login_answer(adapter, requests_mock, answer: dict[str, Any]) -> None:
    requests_mock.post(f"{API}/authorisation-tokens", status_code=201, json=answer)
    with pytest.raises(MalformedResponseError):
        adapter.status("1")


# -- devices ---------------------------------------------------------------------------------


def test_list_devices_walks_pages_and_builds_specs(adapter, logged_in, requests_mock) -> None:
    listing = requests_mock.get(f"{API}/devices", [
        {"json": page([RADAGAST, SOPRANO], 2)},
        {"json": page([SIM, ANALOG], None)},
    ])
    specs = {s.device_id: s for s in adapter.list_devices()}
    assert listing.call_count == 2
    assert listing.request_history[0].qs == {}
    assert listing.request_history[1].qs == {"page": ["2"], "per_page": ["2"]}
    assert listing.last_request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert set(specs) == {"radagast", "Soprano", "sim"}  # analog device skipped
    rad = specs["radagast"]
    assert rad.n_qubits == 5 and rad.online and not rad.simulator and rad.queue_length == 3
    assert set(rad.gates) == {"rz", "sx", "x", "cz", "measure"}
    assert set(rad.gates["cz"]) == {(0, 2), (2, 0), (1, 2), (2, 1), (2, 3), (3, 2), (2, 4),
                                    (4, 2)}
    assert rad.gates["cz"][(2, 0)].error == 0.01 and rad.gates["cz"][(0, 2)].duration == 2e-7
    assert rad.gates["sx"][(0,)].error == 1e-3 and rad.gates["rz"][(0,)].error == 0.0
    assert rad.gates["measure"][(0,)].error == 0.02
    assert rad.t1 == {0: 5e-5} and rad.t2 == {0: 3e-5}
    assert rad.extra["id"] == 9 and rad.target_source == "static_features"
    assert rad.supports_memory
    soprano = specs["Soprano"]
    assert not soprano.online and soprano.n_qubits == 5 and "catalogue" in soprano.target_source
    assert set(soprano.gates["cz"]) >= {(2, 0), (0, 2), (4, 2)}
    sim = specs["sim"]
    assert sim.simulator and sim.n_qubits == 25 and sim.gates["cx"] == {None: sim.gates["cx"][None]}
    assert "ccx" not in sim.gates and "u3" in sim.gates


def test_list_devices_malformed(adapter, logged_in, requests_mock) -> None:
    requests_mock.get(f"{API}/devices", json={"devices": []})
    with pytest.raises(MalformedResponseError, match="items"):
        adapter.list_devices()
    requests_mock.get(f"{API}/devices", json=page([{"id": 3}], None))
    with pytest.raises(MalformedResponseError, match="name"):
        adapter.list_devices()
    requests_mock.get(f"{API}/devices", text="<html>oops</html>")
    with pytest.raises(MalformedResponseError, match="not JSON"):
        adapter.list_devices()


def test_list_devices_bad_connectivity(adapter, logged_in, requests_mock) -> None:
    bad = {**RADAGAST, "static_features": {"number_qubits": 2, "connectivity": [[0, 5]]}}
    requests_mock.get(f"{API}/devices", json=page([bad], None))
    with pytest.raises(MalformedResponseError, match="connectivity"):
        adapter.list_devices()


# -- payload, submit -------------------------------------------------------------------------


def test_build_payload_and_submit(adapter, logged_in, requests_mock) -> None:
    spec = device(adapter)
    payload = adapter.build_payload(spec, [bell(), bell()], {"shots": 1000, "summary": "-"})
    assert set(payload) == {"user_id", "device_id", "number_shots", "job_type", "description",
                            "name", "summary"}
    assert payload["device_id"] == 9 and payload["job_type"] == "circuit"
    assert payload["number_shots"] == 1000 and isinstance(payload["description"], str)
    envelope = json.loads(payload["description"])
    assert envelope["encoding"] == "utf-8" and envelope["compression"] == "gzip"
    programs = decompress(payload["description"], "test")
    assert len(programs) == 2
    assert programs[0].startswith("OPENQASM 2.0;\n// qiskit-multicloud clbits: 0,1\n")
    assert "creg c[2];" in programs[0] and "measure q[1] -> c[1];" in programs[0]
    created = requests_mock.post(f"{API}/circuits", status_code=201, json={"job_id": 1187})
    assert adapter.submit(spec, payload, {"submission_tag": "qmc-x-0"}) == "1187"
    sent = created.last_request.json()
    assert sent["user_id"] == 42 and sent["summary"] == "qmc-x-0"
    assert sent["description"] == payload["description"]
    assert created.last_request.headers["Authorization"] == f"Bearer {ACCESS}"


def test_submit_is_not_retried_and_malformed_answer(adapter, logged_in, requests_mock) -> None:
    spec = device(adapter)
    payload = adapter.build_payload(spec, [bell()], {"shots": 10})
    created = requests_mock.post(f"{API}/circuits", status_code=502, json={"detail": "gw"})
    with pytest.raises(VendorAPIError):
        adapter.submit(spec, payload, {})
    assert created.call_count == 1
    requests_mock.post(f"{API}/circuits", status_code=201, json={"id": 3})
    with pytest.raises(MalformedResponseError, match="job_id"):
        adapter.submit(spec, payload, {})


def test_reconcile_finds_job_by_tag(adapter, logged_in, requests_mock) -> None:
    spec = device(adapter)
    items = [{"id": 5, "device_id": 9, "summary": "qmc-other-0"},
             {"id": 6, "device_id": 9, "summary": "qmc-abc-0"}]
    listing = requests_mock.get(f"{API}/jobs", json={"items": items,
                                                     "links": {"next": "x?page=None"}})
    assert adapter.reconcile(spec, {}, {"submission_tag": "qmc-abc-0"}) == "6"
    assert listing.last_request.qs == {"favourites": ["false"]}
    assert adapter.reconcile(spec, {}, {"submission_tag": "qmc-zzz-0"}) is None


# -- translation -----------------------------------------------------------------------------


def test_barrier_dropped_and_rejections() -> None:
    qc = bell()
    qc.data.insert(2, qc.data[0].replace(operation=__import__("qiskit").circuit.Barrier(2),
                                         qubits=qc.qubits))
    assert "barrier" not in circuit_to_qasm(qc)
    reset = QuantumCircuit(1, 1)
    reset.reset(0)
    reset.measure(0, 0)
    with pytest.raises(CircuitValidationError, match="reset"):
        circuit_to_qasm(reset)
    twice = QuantumCircuit(1, 2)
    twice.measure(0, 0)
    twice.measure(0, 1)
    with pytest.raises(CircuitValidationError, match="measured twice"):
        circuit_to_qasm(twice)
    late = QuantumCircuit(1, 1)
    late.measure(0, 0)
    late.x(0)
    with pytest.raises(CircuitValidationError, match="after it was measured"):
        circuit_to_qasm(late)
    overwrite = QuantumCircuit(2, 1)
    overwrite.measure(0, 0)
    overwrite.measure(1, 0)
    with pytest.raises(CircuitValidationError, match="more than one"):
        circuit_to_qasm(overwrite)


def test_partial_measurement_is_flattened() -> None:
    qc = QuantumCircuit(3, 4)
    qc.measure(2, 3)
    qc.measure(0, 1)
    text = circuit_to_qasm(qc)
    assert "// qiskit-multicloud clbits: 1,3" in text and "creg c[2];" in text
    assert "measure q[2] -> c[1];" in text and "measure q[0] -> c[0];" in text


# -- status, results, cancel ------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [*STATUS_MAP.items(), ("COMPLETED", JobStatus.DONE),
                                               ("exploded", JobStatus.INITIALIZING)])
def test_status_table(adapter, logged_in, requests_mock, raw: str, expected: JobStatus) -> None:
    requests_mock.get(f"{API}/jobs/1187", json=job_record(raw, queue_position=2))
    status = adapter.status("1187")
    assert status.status is expected and status.raw == raw
    assert status.queue_position == 2


def test_status_table_is_exhaustive() -> None:
    assert set(STATUS_MAP) == {"pending", "queued", "running", "completed", "error", "cancelled",
                               "canceled", "not sent"}


def test_error_status_carries_message(adapter, logged_in, requests_mock) -> None:
    requests_mock.get(f"{API}/jobs/3", json=job_record("error", error_message="qubit 3 dead"))
    assert adapter.status("3").message == "qubit 3 dead"
    assert adapter.failure_message("3") == "qubit 3 dead"


def test_results_qibo_order_to_qiskit(adapter, logged_in, requests_mock) -> None:
    # Circuit 0: Bell-like, 2 clbits. Circuit 1: a[1], b[2], only a[0] and b[1] measured.
    qc = QuantumCircuit(QuantumRegister(3, "q"), ClassicalRegister(1, "a"),
                        ClassicalRegister(2, "b"))
    qc.x(0)
    qc.measure(0, 0)
    qc.measure(2, 2)
    programs = [circuit_to_qasm(bell()), circuit_to_qasm(qc)]
    result = [
        {"counts": {"10": 3, "00": 1}, "probabilities": {"10": 0.75, "00": 0.25},
         "samples": [[1, 0], [0, 0], [1, 0], [1, 0]]},
        {"counts": {"10": 4}, "samples": [[1, 0]] * 4},
    ]
    requests_mock.get(f"{API}/jobs/1187",
                      json=job_record(result=gz(result, urlsafe=True), programs=programs))
    layouts = [CircuitLayout.from_circuit(bell()), CircuitLayout.from_circuit(qc)]
    out = adapter.results("1187", layouts, {"memory": True})
    assert out[0].counts == {"01": 3, "00": 1}  # Qibo "10" = clbit 0 set
    assert out[0].memory == ["01", "00", "01", "01"]
    assert out[1].counts == {"001": 4} and out[1].memory == ["001"] * 4
    assert out[0].shots == 4
    no_memory = adapter.results("1187", layouts, {"memory": False})
    assert no_memory[0].memory is None


def test_results_from_samples_or_probabilities(adapter, logged_in, requests_mock) -> None:
    programs = [circuit_to_qasm(bell()), circuit_to_qasm(bell())]
    result = [{"samples": [[1, 1], [0, 0], [1, 1], [1, 1]]},
              {"probabilities": {"01": 0.5, "11": 0.5}}]
    requests_mock.get(f"{API}/jobs/2", json=job_record(result=gz(result), programs=programs))
    layouts = [CircuitLayout.from_circuit(bell())] * 2
    out = adapter.results("2", layouts, {})
    assert out[0].counts == {"11": 3, "00": 1}
    assert out[1].counts == {"10": 2, "11": 2}


@pytest.mark.parametrize("result", [
    "definitely not json",
    json.dumps({"data": "!!!not-base64!!!", "encoding": "utf-8", "compression": "gzip"}),
    json.dumps({"data": base64.b64encode(b"not gzip").decode(), "compression": "gzip"}),
    json.dumps({"encoding": "utf-8"}),
    gz({"state": "legacy"}),
    gz([{"counts": {"1": 4}}]),
    gz([{"counts": {"10": "many"}}]),
    gz([{"samples": [[1, 2]], "counts": {"10": 1}}]),
    gz([{"nothing": True}]),
    gz([{"counts": {"10": 1}}, {"counts": {"10": 1}}]),
    None,
])
def test_malformed_results(adapter, logged_in, requests_mock, result: Any) -> None:
    requests_mock.get(f"{API}/jobs/9", json=job_record(result=result,
                                                       programs=[circuit_to_qasm(bell())]))
    with pytest.raises(MalformedResponseError):
        adapter.results("9", [CircuitLayout.from_circuit(bell())], {"memory": True})


def test_malformed_job_record(adapter, logged_in, requests_mock) -> None:
    requests_mock.get(f"{API}/jobs/9", json={"job_id": 9})
    with pytest.raises(MalformedResponseError, match="status"):
        adapter.status("9")


def test_unknown_job_is_vendor_error(adapter, logged_in, requests_mock) -> None:
    requests_mock.get(f"{API}/jobs/8310", status_code=404, json={
        "title": "Bad Request", "status": 404,
        "detail": "Requested job with 'job_id': 8310, does not exist."})
    with pytest.raises(VendorAPIError, match="does not exist") as info:
        adapter.status("8310")
    assert info.value.status == 404


def test_cancel(adapter, logged_in, requests_mock) -> None:
    cancel = requests_mock.put(f"{API}/jobs/cancel/1187", status_code=204)
    adapter.cancel("1187")
    assert cancel.last_request.json() == {"job_id": 1187}
    assert cancel.last_request.headers["Authorization"] == f"Bearer {ACCESS}"
    requests_mock.put(f"{API}/jobs/cancel/1187", status_code=409, json={"detail": "final"})
    adapter.cancel("1187")  # already final: no error
    requests_mock.put(f"{API}/jobs/cancel/1187", status_code=403, json={"detail": "not yours"})
    with pytest.raises(VendorAPIError, match="not yours"):
        adapter.cancel("1187")


def test_envelope_roundtrip() -> None:
    assert decompress(compress(["a", 1]), "x") == ["a", 1]
    assert decompress(json.loads(gz({"k": 1}, urlsafe=True)), "x") == {"k": 1}


@pytest.mark.parametrize("count", [0, 1, 300])
def test_envelope_holds_the_json_text_in_one_gzip_member(count: int) -> None:
    """The programs' JSON in one gzip member (mtime 0) that the vendor SDK's own decoder
    reads whole."""
    programs = [f"OPENQASM 2.0;\nrz({i / 7!r}) q[0];\n\"\u00e9" for i in range(count)]
    text = compress(programs)
    envelope = json.loads(text)
    assert text == json.dumps(envelope)  # the shape qiboconnection writes
    assert list(envelope) == ["data", "encoding", "compression"]
    assert envelope["encoding"] == "utf-8" and envelope["compression"] == "gzip"
    raw = base64.urlsafe_b64decode(envelope["data"])  # what qiboconnection does
    assert json.loads(gzip.decompress(raw).decode("utf-8")) == programs
    reader = zlib.decompressobj(31)
    assert json.loads(reader.decompress(raw)) == programs
    assert reader.eof and reader.unused_data == b""
    assert raw[4:8] == b"\0\0\0\0"  # mtime 0
    assert compress(programs) == compress(list(programs))


# -- settings --------------------------------------------------------------------------------


def test_settings_resolution_order(monkeypatch) -> None:
    assert QilimanjaroSettings.resolve() is None
    monkeypatch.setenv("QILIMANJARO_USERNAME", "env-user")
    monkeypatch.setenv("QILIMANJARO_API_KEY", "env-key")
    from_env = QilimanjaroSettings.resolve()
    assert from_env is not None and from_env.source == "environment"
    assert from_env.username == "env-user" and from_env.api_key.reveal() == "env-key"
    assert from_env.url == "https://pro-api.qaas.qilimanjaro.tech"
    monkeypatch.setenv("QUANTUM_SERVICE_URL", "https://qaas.example:8080/")
    monkeypatch.setenv("AUDIENCE_URL", "https://aud.example")
    from_env = QilimanjaroSettings.resolve()
    assert from_env.url == "https://qaas.example:8080"
    assert from_env.audience_root == "https://aud.example/api/v1"
    explicit = QilimanjaroSettings.resolve(username="arg", api_key="arg-key",
                                           url="https://other.example")
    assert explicit.username == "arg" and explicit.api_key.reveal() == "arg-key"
    assert explicit.url == "https://other.example" and explicit.source == "arguments"


def test_settings_named_environment(monkeypatch) -> None:
    monkeypatch.setenv("QILIMANJARO_USERNAME", "u")
    monkeypatch.setenv("QILIMANJARO_API_KEY", "k")
    monkeypatch.setenv("QIBOCONNECTION_ENVIRONMENT", "development")
    assert QilimanjaroSettings.resolve().url == "https://qilimanjarodev.ddns.net:8080"
    monkeypatch.setenv("QIBOCONNECTION_ENVIRONMENT", "mars")
    with pytest.raises(ConfigurationError, match="QIBOCONNECTION_ENVIRONMENT"):
        QilimanjaroSettings.resolve()


def test_settings_half_configured(monkeypatch) -> None:
    with pytest.raises(ConfigurationError, match="api_key"):
        QilimanjaroSettings.resolve(username="only-user")
    monkeypatch.setenv("QILIMANJARO_API_KEY", "k")
    with pytest.raises(ConfigurationError, match="username"):
        QilimanjaroSettings.resolve()
    with pytest.raises(ConfigurationError, match="unknown setting"):
        QilimanjaroSettings.resolve(username="u", token="t")
    with pytest.raises(ConfigurationError, match="http"):
        QilimanjaroSettings.resolve(username="u", url="ftp://x")


def test_nothing_leaks_secrets(adapter, logged_in, requests_mock, settings) -> None:
    requests_mock.get(f"{API}/jobs/1", json=job_record("queued"))
    adapter.status("1")
    provider = MultiCloudProvider(credentials={"qilimanjaro": settings}, vendors=["qilimanjaro"])
    texts = [repr(settings), str(settings), repr(adapter), repr(adapter.auth),
             repr(adapter.transport), repr(provider), str(provider)]
    for text in texts:
        for secret in (API_KEY, ACCESS, REFRESH):
            assert secret not in text


def test_done_status_record_is_reused_for_results(adapter, logged_in, requests_mock) -> None:
    result = [{"counts": {"11": 4}, "samples": [[1, 1]] * 4}]
    jobs = requests_mock.get(f"{API}/jobs/5", json=job_record(
        result=gz(result), programs=[circuit_to_qasm(bell())]))
    assert adapter.status("5").status is JobStatus.DONE
    out = adapter.results("5", [CircuitLayout.from_circuit(bell())], {})
    assert out[0].counts == {"11": 4} and jobs.call_count == 1
    # Handed out once: a second read (e.g. a retry after a bad answer) asks the service.
    adapter.results("5", [CircuitLayout.from_circuit(bell())], {})
    assert jobs.call_count == 2


def test_running_status_record_is_not_reused(adapter, logged_in, requests_mock) -> None:
    jobs = requests_mock.get(f"{API}/jobs/6", [
        {"json": job_record("running")},
        {"json": job_record(result=gz([{"counts": {"00": 4}}]),
                            programs=[circuit_to_qasm(bell())])},
    ])
    assert adapter.status("6").status is JobStatus.RUNNING
    adapter.results("6", [CircuitLayout.from_circuit(bell())], {})
    assert jobs.call_count == 2


def test_samples_are_skipped_unless_memory_is_asked(adapter, logged_in, requests_mock) -> None:
    # Invalid per-shot samples next to valid counts: never parsed without memory=True.
    result = [{"counts": {"11": 4}, "samples": [[1, 7]] * 4}]
    requests_mock.get(f"{API}/jobs/8", json=job_record(
        result=gz(result), programs=[circuit_to_qasm(bell())]))
    layouts = [CircuitLayout.from_circuit(bell())]
    out = adapter.results("8", layouts, {"memory": False})
    assert out[0].counts == {"11": 4} and out[0].memory is None
    with pytest.raises(MalformedResponseError):
        adapter.results("8", layouts, {"memory": True})


def test_decompress_skip_samples_leaves_a_marker() -> None:
    from qiskit_multicloud.vendors.qilimanjaro.translate import SKIPPED_SAMPLES

    envelope = gz([{"samples": [[0, 1], [1, 1]], "counts": {"10": 1}}, {"samples": []}])
    decoded = decompress(envelope, "test", skip_samples=True)
    assert decoded == [{"samples": SKIPPED_SAMPLES, "counts": {"10": 1}},
                       {"samples": SKIPPED_SAMPLES}]
    assert decompress(envelope, "test")[0]["samples"] == [[0, 1], [1, 1]]


#: The one-shot cut the streaming cutter must reproduce (what decompress did on whole text).
_WHOLE_TEXT_CUT = re.compile(rb'"samples"\s*:\s*\[[\d\s,\[\]]*\]')


@pytest.mark.parametrize("text", [
    b'[{"counts": {"10": 1}, "samples": [[0, 1], [1, 1]]}, {"samples": []}]',
    b'[{"samples"  :\n [ [0,1] ,[1 ,1] ] , "counts": {"11": 2}}]',
    b'{"a": "samples", "samples": [[1]], "b": {"samples": [[0], [1]]}, "c": [1, 2]}',
    b'[{"samples": [[0, 1]]   ,  "counts": {}}, {"samples": [[1, 0]]}]',
    b'{"x": "\\"samples\\": [[1]]", "samples": [[1, 0]]}',  # inside a string: kept
])
@pytest.mark.parametrize("piece", [1, 2, 3, 7, 64, 10_000])
def test_streamed_cut_equals_the_whole_text_cut(text: bytes, piece: int) -> None:
    """Fed in pieces of any size, the cutter keeps exactly what the whole-text cut keeps."""
    from qiskit_multicloud.vendors.qilimanjaro.translate import SKIPPED_SAMPLES, _SamplesCutter

    cutter = _SamplesCutter()
    for start in range(0, len(text), piece):
        cutter.feed(text[start : start + piece])
    expected = _WHOLE_TEXT_CUT.sub(f'"samples": "{SKIPPED_SAMPLES}"'.encode(), text)
    assert cutter.finish() == expected


@pytest.mark.parametrize("samples", ['"not shots"', '[["0", "1"]]', '{"0": 1}', '[[0, 1], "x"]'])
def test_samples_that_are_not_integer_arrays_are_decoded_as_sent(samples: str) -> None:
    """A ``samples`` value the cut does not recognise is left alone (the text is decoded
    whole), whatever follows it."""
    text = f'[{{"samples": {samples}, "counts": {{"10": 1}}}}]'
    envelope = gz(json.loads(text))
    assert decompress(envelope, "t", skip_samples=True) == json.loads(text)


def test_skipping_samples_never_holds_the_inflated_shots() -> None:
    """1000 circuits x 1000 shots of samples (~8 MB of text) decode with the samples cut
    while inflating: the peak stays a small fraction of the text."""
    rng = random.Random(7)
    shots = [[[b, b] for b in (rng.getrandbits(1) for _ in range(1000))] for _ in range(1000)]
    result = [{"counts": {"00": 500, "11": 500}, "samples": s} for s in shots]
    text_size = len(json.dumps(result))
    envelope = compress(result)
    del shots, result
    tracemalloc.start()
    try:
        decoded = decompress(envelope, "t", skip_samples=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(decoded) == 1000 and decoded[0]["counts"] == {"00": 500, "11": 500}
    assert text_size > 5_000_000
    assert peak < text_size / 4, (peak, text_size)


def test_sweep_payload_equals_the_bound_one_and_is_sent(adapter, logged_in, requests_mock) -> None:
    spec = device(adapter)
    sweep = parametrized_sweep(["rz", "rx", "ry", "cz"])
    options = {"shots": 10, "summary": "-"}
    STATS.clear()
    payload = adapter.build_payload(spec, SweepCircuits([sweep]), options)
    assert STATS["rendered"] == len(sweep) and STATS["bound"] == 0
    bound = bound_points(sweep)
    assert payload == adapter.build_payload(spec, bound, options)
    assert decompress(payload["description"], "test") == [circuit_to_qasm(c) for c in bound]
    created = requests_mock.post(f"{API}/circuits", status_code=201, json={"job_id": 7})
    assert adapter.submit(spec, payload, {}) == "7"
    assert created.last_request.json()["description"] == payload["description"]


@pytest.mark.parametrize("used, width", [((0, 1), 2), ((3,), 4), ((), 5)])
def test_qreg_ends_at_the_last_used_qubit(used: tuple[int, ...], width: int) -> None:
    """Trailing qubits nothing acts on are not declared (barriers do not count); the fast
    emitter and Qiskit's exporter agree byte for byte."""
    from qiskit_multicloud.vendors.qilimanjaro.translate import circuit_to_qasm_exported

    qc = QuantumCircuit(5, len(used), name="w")
    for q in used:
        qc.h(q)
    qc.barrier()
    for c, q in enumerate(used):
        qc.measure(q, c)
    text = circuit_to_qasm(qc)
    assert f"qreg q[{width}];" in text
    assert text == circuit_to_qasm_exported(qc)
