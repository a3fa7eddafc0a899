"""OQC adapter against requests-mock: exact requests, realistic replies, error paths."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests_mock as rm
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.providers import JobStatus

from qiskit_multicloud.config import Secret
from qiskit_multicloud.exceptions import (
    AuthenticationError,
    CircuitValidationError,
    ConfigurationError,
    MalformedResponseError,
    VendorAPIError,
)
from qiskit_multicloud.provider import MultiCloudProvider
from qiskit_multicloud.sweeps import STATS, SweepCircuits
from qiskit_multicloud.types import CircuitLayout
from qiskit_multicloud.vendors.oqc import STATUS_MAP, OQCAdapter, OQCSettings
from qiskit_multicloud.vendors.oqc import translate as tr
from qiskit_multicloud.vendors.oqc.device import device_spec
from test.vendors.sweep_helpers import bound_points, parametrized_sweep

ENTRY = "https://cloud.oqc.app"
QPU_URL = "https://uk.cloud.oqc.app/d865b5a184"
LUCY = "qpu:uk:2:d865b5a184"
TOKEN = "tok-SECRET-123"
TASK = "7b1c9f0e-6a43-4e55-8f0a-2d7d6f1c3b21"
TASK2 = "0d4f5e8a-9b2c-4c71-a6e3-5f8e9d0c1b42"

LUCY_ITEM = {
    "id": LUCY,
    "name": "Lucy Simulator",
    "url": QPU_URL,
    "active": True,
    "status": "ACTIVE",
    "region": "uk",
    "generation": 2,
    "feature_set": "{\"always_on\": true, \"qubit_count\": 8, \"simulator\": true}",
    "price_per_shot": "0",
    "price_per_task": "0",
    "created_at": "2024-04-09T14:24:50.918020+00:00",
}
TOSHIKO_ITEM = {
    "id": "qpu:jp:3:673b1ad43c",
    "name": "Toshiko",
    "url": "/673b1ad43c",
    "active": False,
    "status": "INACTIVE",
    "generation": 3,
    "feature_set": {
        "qubit_count": 4, "simulator": False, "Maximum Shots": 10000,
        "coupling_map": [[0, 1], [1, 2], [2, 3]],
        "gate_errors": {"ecr": {"0-1": 0.02}, "sx": {"0": 0.001}, "measure": {"2": 0.03}},
        "gate_durations": {"ecr": {"1-2": 3e-7}},
        "t1": {"0": 8e-5}, "t2": {"0": 4e-5},
    },
}


@pytest.fixture
def adapter() -> OQCAdapter:
    return OQCAdapter.from_settings(OQCSettings(url=ENTRY, token=Secret(TOKEN)))


@pytest.fixture
def mocked(requests_mock: rm.Mocker) -> rm.Mocker:
    requests_mock.get(f"{ENTRY}/admin/version", json={"version": "3.14.2"})
    requests_mock.get(f"{ENTRY}/admin/qpu", json={
        "items": [LUCY_ITEM, TOSHIKO_ITEM], "page": 1, "per_page": 1000, "total": 2})
    return requests_mock


def lucy(adapter: OQCAdapter) -> Any:
    return next(d for d in adapter.list_devices() if d.device_id == LUCY)


OPTIONS = {"shots": 500, "optimizations": "default", "repetition_period": None,
           "passive_reset_time": None, "tag": None, "metrics": 6}


# -- settings ----------------------------------------------------------------------------------


def test_settings_explicit_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OQC_URL", "https://env.example")
    monkeypatch.setenv("OQC_AUTH_TOKEN", "env-token")
    settings = OQCSettings.resolve(url="https://arg.example/", token="arg-token")
    assert settings is not None and settings.url == "https://arg.example"
    assert settings.token is not None and settings.token.reveal() == "arg-token"
    assert settings.source == "arguments"
    from_env = OQCSettings.resolve()
    assert from_env is not None and from_env.url == "https://env.example"
    assert from_env.token is not None and from_env.token.reveal() == "env-token"
    assert from_env.source == "environment"


def test_settings_environment_variants(monkeypatch: pytest.MonkeyPatch) -> None:
    assert OQCSettings.resolve() is None
    monkeypatch.setenv("OQC_TOKEN", "alias-token")
    settings = OQCSettings.resolve()
    assert settings is not None and settings.url == "https://cloud.oqc.app"
    assert settings.token is not None and settings.token.reveal() == "alias-token"
    monkeypatch.delenv("OQC_TOKEN")
    monkeypatch.setenv("OQC_EMAIL", "ada@example.com")
    with pytest.raises(ConfigurationError, match="OQC_PASSWORD"):
        OQCSettings.resolve()
    monkeypatch.setenv("OQC_PASSWORD", "pw-SECRET")
    login = OQCSettings.resolve()
    assert login is not None and login.uses_login and login.email == "ada@example.com"
    assert "pw-SECRET" not in repr(login) and "pw-SECRET" not in str(login)


def test_settings_rejects_bad_combinations() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        OQCSettings.resolve(token="t", email="a@b.c", password="p")
    with pytest.raises(ConfigurationError, match="no credentials"):
        OQCSettings.resolve(url="https://x.example")
    with pytest.raises(ConfigurationError, match="http"):
        OQCSettings.resolve(url="ftp://x", token="t")
    with pytest.raises(ConfigurationError, match="unknown setting"):
        OQCSettings.resolve(api_key="t")


def test_no_secret_in_reprs(mocked: rm.Mocker) -> None:
    settings = OQCSettings.resolve(url=ENTRY, token=TOKEN)
    assert settings is not None
    adapter = OQCAdapter.from_settings(settings)
    provider = MultiCloudProvider({"oqc": settings}, vendors=["oqc"], job_store=False)
    provider.backends()
    for obj in (settings, adapter, adapter.transport, adapter.transport.auth, provider,
                provider.get_backend(LUCY)):
        assert TOKEN not in repr(obj) and TOKEN not in str(obj)


# -- discovery ---------------------------------------------------------------------------------


def test_list_devices_requests_and_parsing(mocked: rm.Mocker, adapter: OQCAdapter) -> None:
    specs = {d.device_id: d for d in adapter.list_devices()}
    version, listing = mocked.request_history
    assert version.path == "/admin/version" and "Authentication-Token" not in version.headers
    assert listing.headers["Authentication-Token"] == TOKEN
    assert listing.qs == {"per_page": ["1000"]}
    lucy_spec = specs[LUCY]
    assert lucy_spec.n_qubits == 8 and lucy_spec.simulator and lucy_spec.online
    assert lucy_spec.aliases == ("Lucy Simulator",)
    assert lucy_spec.gates["cx"] == {None: lucy_spec.gates["cx"][None]}  # all-to-all
    assert set(lucy_spec.gates) == {"rz", "sx", "x", "id", "cx", "measure"}
    assert lucy_spec.max_circuits == 200 and lucy_spec.supports_memory is False
    assert lucy_spec.extra["url"] == QPU_URL
    tosh = specs["qpu:jp:3:673b1ad43c"]
    assert tosh.online is False and tosh.max_shots == 10000
    assert tosh.extra["url"] == f"{ENTRY}/673b1ad43c"  # relative url prefixed
    cx = tosh.gates["cx"]
    assert set(cx) == {(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)}
    assert cx[(1, 0)].error == 0.02 and cx[(2, 1)].duration == 3e-7
    assert tosh.gates["sx"][(0,)].error == 0.001 and tosh.gates["x"][(0,)].error == 0.001
    assert tosh.gates["measure"][(2,)].error == 0.03
    assert tosh.t1 == {0: 8e-5} and tosh.t2 == {0: 4e-5}
    assert adapter.server_version == "3.14.2"


def test_feature_set_problems(adapter: OQCAdapter) -> None:
    with pytest.raises(MalformedResponseError, match="qubit_count"):
        device_spec({**LUCY_ITEM, "feature_set": "{}"}, ENTRY)
    with pytest.raises(MalformedResponseError, match="not JSON"):
        device_spec({**LUCY_ITEM, "feature_set": "{oops"}, ENTRY)
    with pytest.raises(MalformedResponseError, match="'url'"):
        device_spec({k: v for k, v in LUCY_ITEM.items() if k != "url"}, ENTRY)
    with pytest.raises(MalformedResponseError, match="coupling_map"):
        device_spec({**LUCY_ITEM, "feature_set": {"qubit_count": 2, "coupling_map": [[0, 5]]}},
                    ENTRY)


def test_list_devices_errors(requests_mock: rm.Mocker, adapter: OQCAdapter) -> None:
    requests_mock.get(f"{ENTRY}/admin/version", json={"version": "1"})
    requests_mock.get(f"{ENTRY}/admin/qpu", status_code=401,
                      json={"meta": {"code": 401}, "response": {"errors": ["bad token"]}})
    with pytest.raises(AuthenticationError, match="bad token") as info:
        adapter.list_devices()
    assert TOKEN not in str(info.value)
    requests_mock.get(f"{ENTRY}/admin/qpu", json={"page": 1})
    with pytest.raises(MalformedResponseError, match="items"):
        adapter.list_devices()
    requests_mock.get(f"{ENTRY}/admin/qpu", text="<html>oops</html>")
    with pytest.raises(MalformedResponseError, match="not JSON"):
        adapter.list_devices()
    requests_mock.get(f"{ENTRY}/admin/version", json={})
    with pytest.raises(MalformedResponseError, match="version"):
        adapter.list_devices()


def test_login_flow(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{ENTRY}/admin/version", json={"version": "1"})
    requests_mock.post(f"{ENTRY}/admin/logout", json={})
    requests_mock.post(f"{ENTRY}/admin/login", json={
        "meta": {"code": 200}, "response": {"user": {"authentication_token": "LOGIN-TOKEN"}}})
    requests_mock.get(f"{ENTRY}/admin/qpu", json={"items": [LUCY_ITEM]})
    settings = OQCSettings.resolve(url=ENTRY, email="ada@example.com", password="pw")
    assert settings is not None
    adapter = OQCAdapter.from_settings(settings)
    adapter.list_devices()
    adapter.list_devices()
    paths = [(r.method, r.path) for r in requests_mock.request_history]
    assert paths[:4] == [("GET", "/admin/version"), ("POST", "/admin/logout"),
                         ("POST", "/admin/login"), ("GET", "/admin/qpu")]
    assert paths.count(("POST", "/admin/login")) == 1
    logout, login = requests_mock.request_history[1:3]
    assert logout.json() == {} and "Authentication-Token" not in logout.headers
    assert login.qs == {"include_auth_token": ["true"]}
    assert login.json() == {"email": "ada@example.com", "password": "pw"}
    assert requests_mock.request_history[3].headers["Authentication-Token"] == "LOGIN-TOKEN"


def test_login_refused(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{ENTRY}/admin/version", json={"version": "1"})
    requests_mock.post(f"{ENTRY}/admin/logout", json={})
    requests_mock.post(f"{ENTRY}/admin/login", status_code=400,
                       json={"meta": {"code": 400}, "response": {"errors": ["Invalid password"]}})
    adapter = OQCAdapter.from_settings(OQCSettings(url=ENTRY, email="a@b.c", password="pw"))  # type: ignore[arg-type]
    with pytest.raises(AuthenticationError, match="Invalid password"):
        adapter.list_devices()
    requests_mock.post(f"{ENTRY}/admin/login", json={"response": {}})
    with pytest.raises(MalformedResponseError, match="authentication_token"):
        adapter.list_devices()


# -- payloads and submission ---------------------------------------------------------------------


def two_register_circuit() -> QuantumCircuit:
    q = QuantumRegister(3, "q")
    a, b = ClassicalRegister(1, "a"), ClassicalRegister(2, "b")
    qc = QuantumCircuit(q, a, b, name="two")
    qc.x(0)
    qc.measure(q[0], a[0])
    qc.measure(q[1], b[0])
    qc.measure(q[2], b[1])
    return qc


def test_build_payload_shape(mocked: rm.Mocker, adapter: OQCAdapter) -> None:
    device = lucy(adapter)
    payload = adapter.build_payload(device, [two_register_circuit()], {**OPTIONS, "tag": "exp"})
    (task,) = payload["tasks"]
    assert set(task) == {"program", "config", "qpu_id", "tag"}
    assert task["qpu_id"] == LUCY and task["tag"] == "exp"
    assert "creg c[3];" in task["program"] and "creg a" not in task["program"]
    assert "measure q[2] -> c[2];" in task["program"]
    assert isinstance(task["config"], str)
    config = json.loads(task["config"])
    assert config["$type"] == "<class 'compiler_config.config.CompilerConfig'>"
    data = config["$data"]
    assert data["repeats"] == 500 and data["optimizations"] is None
    assert data["results_format"]["$data"]["format"]["$value"] == 1
    assert data["results_format"]["$data"]["transforms"]["$value"] == 3
    assert data["metrics"] == {"$type": "<enum 'compiler_config.config.MetricsType'>",
                               "$value": 6}
    none = adapter.build_payload(device, [two_register_circuit()],
                                 {**OPTIONS, "optimizations": "none", "passive_reset_time": 1e-4})
    data = json.loads(none["tasks"][0]["config"])["$data"]
    assert data["optimizations"]["$type"] == "<class 'compiler_config.config.Tket'>"
    assert data["optimizations"]["$data"]["tket_optimizations"]["$value"] == 1
    assert data["passive_reset_time"] == 1e-4
    # Qiskit's rep_delay (passed by IBM-minded tools) is OQC's passive_reset_time
    both = {"rep_delay": 2e-4, "passive_reset_time": 5e-5}
    for given, sent in (({"rep_delay": 2e-4}, 2e-4), (both, 5e-5)):
        payload = adapter.build_payload(device, [two_register_circuit()], {**OPTIONS, **given})
        assert json.loads(payload["tasks"][0]["config"])["$data"]["passive_reset_time"] == sent


def test_merged_register_avoids_qreg_clash() -> None:
    qc = QuantumCircuit(QuantumRegister(1, "c"), ClassicalRegister(1, "m"))
    qc.measure(0, 0)
    assert tr.merged_register_name(qc) == "meas"
    assert "creg meas[1];" in tr.program(qc)


def test_submit_single(mocked: rm.Mocker, adapter: OQCAdapter) -> None:
    device = lucy(adapter)
    payload = adapter.build_payload(device, [two_register_circuit()], OPTIONS)
    mocked.post(f"{QPU_URL}/tasks/submit", json=[{"task_id": TASK}])
    assert adapter.submit(device, payload, OPTIONS) == TASK
    sent = mocked.last_request
    assert sent.headers["Authentication-Token"] == TOKEN
    assert sent.json() == {"tasks": payload["tasks"]}
    assert "task_id" not in sent.json()["tasks"][0]


def test_submit_batch_reserves_then_submits(mocked: rm.Mocker, adapter: OQCAdapter) -> None:
    device = lucy(adapter)
    payload = adapter.build_payload(device, [two_register_circuit()] * 2, OPTIONS)
    mocked.post(f"{QPU_URL}/tasks", json=[TASK, TASK2])
    mocked.post(f"{QPU_URL}/tasks/submit", json=[{"task_id": TASK}, {"task_id": TASK2}])
    assert adapter.submit(device, payload, OPTIONS) == f"{TASK},{TASK2}"
    reserve, submit = mocked.request_history[-2:]
    assert reserve.json() == {"qpu_id": LUCY, "task_count": 2, "tag": None}
    assert [t["task_id"] for t in submit.json()["tasks"]] == [TASK, TASK2]


def test_submit_batch_chunks_large_bodies(mocked: rm.Mocker, adapter: OQCAdapter) -> None:
    device = lucy(adapter)
    qc = QuantumCircuit(1, 1)
    for i in range(1200):
        qc.rz(0.1 + i, 0)
    qc.measure(0, 0)
    payload = adapter.build_payload(device, [qc] * 6, OPTIONS)
    ids = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(6)]
    mocked.post(f"{QPU_URL}/tasks", json=ids)
    mocked.post(f"{QPU_URL}/tasks/submit", json=[])
    adapter.submit(device, payload, OPTIONS)
    submits = [r for r in mocked.request_history if r.path.endswith("/tasks/submit")]
    assert len(submits) > 1
    assert all(len(r.body) <= tr.CHUNK_BYTES for r in submits)
    assert [t["task_id"] for r in submits for t in r.json()["tasks"]] == ids


def test_submit_batch_failure_cancels_reserved(mocked: rm.Mocker, adapter: OQCAdapter) -> None:
    device = lucy(adapter)
    payload = adapter.build_payload(device, [two_register_circuit()] * 2, OPTIONS)
    mocked.post(f"{QPU_URL}/tasks", json=[TASK, TASK2])
    mocked.post(f"{QPU_URL}/tasks/submit", status_code=400,
                json={"meta": {"code": 400}, "response": {"errors": ["bad program"]}})
    cancel = mocked.post(f"{QPU_URL}/tasks/cancel_many", text="OK")
    with pytest.raises(VendorAPIError, match="bad program"):
        adapter.submit(device, payload, OPTIONS)
    assert cancel.last_request.json() == {"tasks": [TASK, TASK2]}


def test_submit_malformed_replies(mocked: rm.Mocker, adapter: OQCAdapter) -> None:
    device = lucy(adapter)
    one = adapter.build_payload(device, [two_register_circuit()], OPTIONS)
    mocked.post(f"{QPU_URL}/tasks/submit", json={"task_id": TASK})
    with pytest.raises(MalformedResponseError):
        adapter.submit(device, one, OPTIONS)
    mocked.post(f"{QPU_URL}/tasks/submit", json=[{"id": TASK}])
    with pytest.raises(MalformedResponseError, match="task_id"):
        adapter.submit(device, one, OPTIONS)
    two = adapter.build_payload(device, [two_register_circuit()] * 2, OPTIONS)
    mocked.post(f"{QPU_URL}/tasks", json=[TASK])
    with pytest.raises(MalformedResponseError, match="2 task ids"):
        adapter.submit(device, two, OPTIONS)


def test_oversized_task_is_a_validation_error(mocked: rm.Mocker, adapter: OQCAdapter) -> None:
    device = lucy(adapter)
    qc = QuantumCircuit(1, 1)
    for i in range(8000):
        qc.rz(0.123456789 + i, 0)
    qc.measure(0, 0)
    before = len(mocked.request_history)
    with pytest.raises(CircuitValidationError, match="128 KiB"):
        adapter.validate(device, [qc], OPTIONS)
    assert len(mocked.request_history) == before


# -- status, results, cancel, errors -----------------------------------------------------------


def _known(adapter: OQCAdapter, *ids: str) -> None:
    adapter.transport.trust_origin(QPU_URL)  # list_devices() does this for listed QPUs
    for task_id in ids:
        adapter._task_urls[task_id] = QPU_URL


@pytest.mark.parametrize("raw", sorted(STATUS_MAP))
def test_status_table(requests_mock: rm.Mocker, adapter: OQCAdapter, raw: str) -> None:
    _known(adapter, TASK)
    requests_mock.get(f"{QPU_URL}/tasks/{TASK}/all_info", json={"status": raw})
    status = adapter.status(TASK)
    assert status.status is STATUS_MAP[raw] and status.raw == raw
    assert requests_mock.last_request.headers["Authentication-Token"] == TOKEN


def test_status_table_is_complete() -> None:
    assert STATUS_MAP["CREATED"] is JobStatus.INITIALIZING
    assert STATUS_MAP["SUBMITTED"] is JobStatus.QUEUED
    assert STATUS_MAP["RUNNING"] is JobStatus.RUNNING
    assert STATUS_MAP["COMPLETED"] is JobStatus.DONE
    assert STATUS_MAP["FAILED"] is JobStatus.ERROR
    assert STATUS_MAP["EXPIRED"] is JobStatus.ERROR
    assert STATUS_MAP["CANCELLED"] is JobStatus.CANCELLED
    assert "UNKNOWN" not in STATUS_MAP


def test_status_aggregation_and_caching(requests_mock: rm.Mocker, adapter: OQCAdapter) -> None:
    _known(adapter, TASK, TASK2)
    first = requests_mock.get(f"{QPU_URL}/tasks/{TASK}/all_info", json={"status": "COMPLETED"})
    second = requests_mock.get(f"{QPU_URL}/tasks/{TASK2}/all_info", json={"status": "RUNNING"})
    ref = f"{TASK},{TASK2}"
    assert adapter.status(ref).status is JobStatus.RUNNING
    requests_mock.get(f"{QPU_URL}/tasks/{TASK2}/all_info", json={"status": "EXPIRED"})
    status = adapter.status(ref)
    assert status.status is JobStatus.ERROR and "expired" in (status.message or "")
    assert first.call_count == 1  # a finished task is not read again
    assert second.call_count == 1


def test_status_unknown_and_malformed(requests_mock: rm.Mocker, adapter: OQCAdapter) -> None:
    _known(adapter, TASK)
    requests_mock.get(f"{QPU_URL}/tasks/{TASK}/all_info", json={"status": "RUNNING"})
    adapter.status(TASK)
    requests_mock.get(f"{QPU_URL}/tasks/{TASK}/all_info", json={"status": "UNKNOWN"})
    assert adapter.status(TASK).status is JobStatus.RUNNING  # keeps last known
    requests_mock.get(f"{QPU_URL}/tasks/{TASK}/all_info", json={})
    with pytest.raises(MalformedResponseError, match="status"):
        adapter.status(TASK)
    envelope = {"meta": {"code": 404}, "response": {"errors": [f"Task {TASK} not found"]}}
    requests_mock.get(f"{QPU_URL}/tasks/{TASK}/all_info", status_code=404, json=envelope)
    with pytest.raises(VendorAPIError, match="not found") as info:
        adapter.status(TASK)
    assert info.value.status == 404


def test_status_of_foreign_task_probes_qpus(mocked: rm.Mocker, adapter: OQCAdapter) -> None:
    mocked.get(f"{ENTRY}/673b1ad43c/tasks/{TASK}/status", status_code=404, json={})
    mocked.get(f"{QPU_URL}/tasks/{TASK}/status", json={"status": "SUBMITTED"})
    mocked.get(f"{QPU_URL}/tasks/{TASK}/all_info", json={"status": "SUBMITTED"})
    assert adapter.status(TASK).status is JobStatus.QUEUED


def test_results_come_with_the_final_status(requests_mock: rm.Mocker, adapter: OQCAdapter) -> None:
    _known(adapter, TASK, TASK2)
    infos = [
        requests_mock.get(f"{QPU_URL}/tasks/{task}/all_info", json={
            "status": "COMPLETED", "results": {"c": {"100": 3, "011": 1}}, "task_error": None})
        for task in (TASK, TASK2)
    ]
    results = requests_mock.get(f"{QPU_URL}/tasks/{TASK}/results", json={})
    ref = f"{TASK},{TASK2}"
    assert adapter.status(ref).status is JobStatus.DONE
    outcomes = adapter.results(ref, [LAYOUT, LAYOUT], OPTIONS)
    assert [o.counts for o in outcomes] == [{"001": 3, "110": 1}] * 2
    assert [i.call_count for i in infos] == [1, 1] and results.call_count == 0
    assert adapter.status(ref).status is JobStatus.DONE  # final tasks are not read again
    assert [i.call_count for i in infos] == [1, 1]


def test_status_stops_at_first_unfinished_task(
    requests_mock: rm.Mocker, adapter: OQCAdapter
) -> None:
    tasks = [f"{TASK[:-2]}{i:02d}" for i in range(12)]
    _known(adapter, *tasks)
    mocks = [
        requests_mock.get(f"{QPU_URL}/tasks/{task}/all_info",
                          json={"status": "COMPLETED" if i < 2 else "QUEUED"})
        for i, task in enumerate(tasks)
    ]
    assert adapter.status(",".join(tasks)).status is JobStatus.QUEUED
    # reads 1, then 2 at once (the second batch finds task 2 queued): 3 reads, not 12
    assert sum(m.call_count for m in mocks) <= 4


LAYOUT = CircuitLayout("two", 3, 3, (("a", 1), ("b", 2)))


def test_results_reverse_register_bits(requests_mock: rm.Mocker, adapter: OQCAdapter) -> None:
    _known(adapter, TASK)
    requests_mock.get(f"{QPU_URL}/tasks/{TASK}/results", json={"results": {
        "c": {"100": 600, "011": 400},
        "linear_readout_mitigation": {"100": 0.6, "011": 0.4}}})
    (outcome,) = adapter.results(TASK, [LAYOUT], OPTIONS)
    assert outcome.counts == {"001": 600, "110": 400}
    assert outcome.metadata["oqc_task_id"] == TASK
    assert "linear_readout_mitigation" in outcome.metadata["readout_mitigation"]


def test_results_flat_and_malformed(requests_mock: rm.Mocker, adapter: OQCAdapter) -> None:
    _known(adapter, TASK)
    requests_mock.get(f"{QPU_URL}/tasks/{TASK}/results", json={"results": {"001": 3, "100": 1}})
    assert adapter.results(TASK, [LAYOUT], OPTIONS)[0].counts == {"100": 3, "001": 1}
    for bad in ({"results": None}, {}, {"results": [1, 2]},
                {"results": {"a": {"1": 1}, "b": {"00": 1}}}, {"results": {"c": {"0x1": 2}}},
                {"results": {"c": {"001": "many"}}}):
        requests_mock.get(f"{QPU_URL}/tasks/{TASK}/results", json=bad)
        with pytest.raises(MalformedResponseError):
            adapter.results(TASK, [LAYOUT], OPTIONS)
    with pytest.raises(MalformedResponseError, match="2 circuit"):
        adapter.results(TASK, [LAYOUT, LAYOUT], OPTIONS)


def test_cancel_and_failure_message(requests_mock: rm.Mocker, adapter: OQCAdapter) -> None:
    _known(adapter, TASK, TASK2)
    requests_mock.get(f"{QPU_URL}/tasks/{TASK}/all_info", json={"status": "RUNNING"})
    requests_mock.get(f"{QPU_URL}/tasks/{TASK2}/all_info", json={"status": "QUEUED"})
    cancel = requests_mock.post(f"{QPU_URL}/tasks/cancel_many", text="OK")
    assert adapter.cancel(f"{TASK},{TASK2}") is True
    assert cancel.last_request.json() == {"tasks": [TASK, TASK2]}
    assert cancel.last_request.headers["Authentication-Token"] == TOKEN
    adapter._task_status.clear()  # statuses read by cancel(); failure_message reads anew
    requests_mock.get(f"{QPU_URL}/tasks/{TASK}/error", json={
        "task_error": {"error_code": 400, "error_message": "QASM parse error at line 4"}})
    requests_mock.get(f"{QPU_URL}/tasks/{TASK2}/error", json={"task_error": None})
    message = adapter.failure_message(f"{TASK},{TASK2}")
    assert message == f"task {TASK}: QASM parse error at line 4 (code 400)"


def test_cancel_of_finished_tasks_sends_nothing_and_returns_false(
    requests_mock: rm.Mocker, adapter: OQCAdapter
) -> None:
    _known(adapter, TASK)
    requests_mock.get(f"{QPU_URL}/tasks/{TASK}/all_info", json={"status": "COMPLETED"})
    cancel = requests_mock.post(f"{QPU_URL}/tasks/cancel_many", text="OK")
    assert adapter.cancel(TASK) is False
    assert not cancel.called


def test_refresh_device_reads_one_qpu(mocked: rm.Mocker, adapter: OQCAdapter) -> None:
    device = lucy(adapter)
    item = {**LUCY_ITEM, "feature_set": {"qubit_count": 6, "simulator": True}}
    one = mocked.get(f"{ENTRY}/admin/qpu/{LUCY}", json=item)
    fresh = adapter.refresh_device(device)
    assert fresh.n_qubits == 6 and one.last_request.headers["Authentication-Token"] == TOKEN
    assert one.last_request.path == f"/admin/qpu/{LUCY}"


def test_sweep_payload_equals_the_bound_one_and_is_sent(
    mocked: rm.Mocker, adapter: OQCAdapter
) -> None:
    device = lucy(adapter)
    sweep = parametrized_sweep(["rz", "sx", "x", "ecr"])
    STATS.clear()
    payload = adapter.build_payload(device, SweepCircuits([sweep]), OPTIONS)
    assert STATS["rendered"] == len(sweep) and STATS["bound"] == 0
    bound = bound_points(sweep)
    assert payload == adapter.build_payload(device, bound, OPTIONS)
    ids = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(len(sweep))]
    mocked.post(f"{QPU_URL}/tasks", json=ids)
    mocked.post(f"{QPU_URL}/tasks/submit", json=[{"task_id": i} for i in ids])
    adapter.submit(device, payload, {**OPTIONS, "submission_tag": "qmc-s-0"})
    sent = mocked.last_request.json()["tasks"]
    assert [t["program"] for t in sent] == [tr.program(c) for c in bound]
    assert [t["task_id"] for t in sent] == ids
