"""OQC's v4 gateway (issue #15.1): exact requests (requests-mock) and end to end against the
emulator serving ``api="v4"`` (run, results, cancel, crash recovery)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import requests_mock as rm
from qiskit import QuantumCircuit, transpile
from qiskit.providers import JobStatus

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.config import Secret
from qiskit_multicloud.exceptions import (
    ConfigurationError,
    JobFailedError,
    MalformedResponseError,
    MultiCloudError,
)
from qiskit_multicloud.jobstore import SUBMIT_FAILED, JobStore
from qiskit_multicloud.vendors.oqc import OQCAdapter, OQCSettings
from test.conftest import FAST

BASE = "https://gateway.oqc.example"
LUCY = "qpu:uk:2:d865b5a184"
TOSHIKO = "qpu:uk:3:9829a5504f"
TOKEN = "tok-SECRET-123"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln"
TASK = "7b1c9f0e-6a43-4e55-8f0a-2d7d6f1c3b21"
TASK2 = "0d4f5e8a-9b2c-4c71-a6e3-5f8e9d0c1b42"
OPTIONS = {"shots": 100, "optimizations": "default", "repetition_period": None,
           "passive_reset_time": None, "tag": "t1", "metrics": 6}
FEATURES = {"qubit_count": 3, "simulator": False, "Maximum Shots": 5000,
            "coupling_map": [[0, 1], [1, 2]]}
BENCHMARKS = {"gate_errors": {"ecr": {"0-1": 0.02}, "sx": {"1": 0.001}},
              "gate_durations": {"ecr": {"0-1": 3e-7}}, "t1": {"0": 8e-5},
              "calibrated_at": "2026-01-05T06:00:00Z"}


def v4_adapter(token: str = TOKEN) -> OQCAdapter:
    return OQCAdapter.from_settings(OQCSettings(url=BASE, token=Secret(token), api="v4"))


@pytest.fixture
def gateway(requests_mock: rm.Mocker) -> rm.Mocker:
    requests_mock.get(f"{BASE}/healthz", json={"version": "4.0.1"})
    requests_mock.get(f"{BASE}/qpus", json=[
        {"id": TOSHIKO, "name": "Toshiko", "status": "ACTIVE"},
        {"id": LUCY, "name": "Lucy", "status": "INACTIVE"},
    ])
    requests_mock.get(f"{BASE}/qpus/{TOSHIKO}/features",
                      json={"qpu_id": TOSHIKO, "data": FEATURES})
    requests_mock.get(f"{BASE}/qpus/{TOSHIKO}/benchmarks", json={"data": BENCHMARKS})
    requests_mock.get(f"{BASE}/qpus/{LUCY}/features",
                      json={"qpu_id": LUCY, "data": {"qubit_count": 8, "simulator": True}})
    requests_mock.get(f"{BASE}/qpus/{LUCY}/benchmarks", status_code=501,
                      json={"detail": "Not implemented"})
    return requests_mock


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["OQC_QCAAS_V4", "OQC_ENTRA_ENABLED"])
@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_sdk_environment_switches_select_v4(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    monkeypatch.setenv("OQC_AUTH_TOKEN", TOKEN)
    settings = OQCSettings.resolve()
    assert settings is not None and settings.api == "v4"


def test_explicit_api_wins_and_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert OQCSettings(url=BASE, token=Secret(TOKEN)).api == "v3"
    monkeypatch.setenv("OQC_QCAAS_V4", "0")
    assert OQCSettings(url=BASE, token=Secret(TOKEN)).api == "v3"
    monkeypatch.setenv("OQC_QCAAS_V4", "1")
    assert OQCSettings.resolve(url=BASE, token=TOKEN, api="v3").api == "v3"  # type: ignore[union-attr]
    assert OQCSettings.resolve(url=BASE, token=TOKEN).api == "v4"  # type: ignore[union-attr]
    with pytest.raises(ConfigurationError, match="api must be one of v3, v4"):
        OQCSettings(url=BASE, token=Secret(TOKEN), api="v5")
    with pytest.raises(ConfigurationError, match="v4 gateway takes a token"):
        OQCSettings(url=BASE, email="a@b.c", password=Secret("pw"), api="v4")


def test_provider_config_mapping_selects_v4(gateway: rm.Mocker) -> None:
    config = {"oqc": {"url": BASE, "token": TOKEN, "api": "v4"}}
    with MultiCloudProvider(config, vendors=["oqc"], job_store=False) as provider:
        assert {b.name for b in provider.backends()} >= {TOSHIKO}
    assert gateway.request_history[0].url == f"{BASE}/healthz"


# -- requests-mock: exact requests -------------------------------------------------------------


def test_list_devices_requests_and_benchmark_errors(gateway: rm.Mocker) -> None:
    adapter = v4_adapter()
    devices = {d.device_id: d for d in adapter.list_devices()}
    assert [(r.method, r.path) for r in gateway.request_history] == [
        ("GET", "/healthz"), ("GET", "/qpus"),
        ("GET", f"/qpus/{TOSHIKO}/features"), ("GET", f"/qpus/{TOSHIKO}/benchmarks"),
        ("GET", f"/qpus/{LUCY}/features"), ("GET", f"/qpus/{LUCY}/benchmarks"),
    ]
    assert "Authentication-Token" not in gateway.request_history[0].headers  # health is public
    assert gateway.request_history[1].headers["Authentication-Token"] == TOKEN
    assert adapter.server_version == "4.0.1"
    toshiko, lucy = devices[TOSHIKO], devices[LUCY]
    assert toshiko.online and not lucy.online  # from "status"
    assert toshiko.extra["url"] == BASE
    assert toshiko.gates["cx"][(0, 1)].error == 0.02
    assert toshiko.gates["cx"][(1, 0)].duration == 3e-7
    assert toshiko.gates["sx"][(1,)].error == 0.001
    assert toshiko.t1 == {0: 8e-5} and toshiko.calibrated_at == "2026-01-05T06:00:00Z"
    assert set(toshiko.gates["cx"]) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert lucy.gates["sx"][(0,)].error is None  # 501 benchmarks: no errors, no failure
    assert lucy.max_shots > 0 and lucy.simulator


def test_features_without_data_is_malformed(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/healthz", json={"version": "4"})
    requests_mock.get(f"{BASE}/qpus", json=[{"id": LUCY, "name": "Lucy", "status": "ACTIVE"}])
    requests_mock.get(f"{BASE}/qpus/{LUCY}/features", json={"qpu_id": LUCY})
    with pytest.raises(MalformedResponseError, match="lacks 'data'"):
        v4_adapter().list_devices()


def test_jwt_goes_as_bearer(gateway: rm.Mocker) -> None:
    v4_adapter(JWT).list_devices()
    sent = gateway.request_history[1].headers
    assert sent["Authorization"] == f"Bearer {JWT}"
    assert "Authentication-Token" not in sent


def test_submit_single_and_batch_are_rooted_at_the_base(gateway: rm.Mocker) -> None:
    adapter = v4_adapter()
    device = next(d for d in adapter.list_devices() if d.device_id == TOSHIKO)
    qc = transpile(bell(), basis_gates=["rz", "sx", "x", "cx"], coupling_map=[[0, 1], [1, 0]])
    payload = adapter.build_payload(device, [qc], OPTIONS)
    gateway.post(f"{BASE}/tasks/submit", json=[{"task_id": TASK}])
    assert adapter.submit(device, payload, OPTIONS) == TASK
    assert gateway.last_request.json() == {"tasks": payload["tasks"]}

    payload = adapter.build_payload(device, [qc, qc], OPTIONS)
    gateway.post(f"{BASE}/tasks", json={"tasks": [TASK, TASK2]})
    gateway.post(f"{BASE}/tasks/submit", json=[{"task_id": TASK}, {"task_id": TASK2}])
    assert adapter.submit(device, payload, OPTIONS) == f"{TASK},{TASK2}"
    reserve, submit = gateway.request_history[-2:]
    assert reserve.url == f"{BASE}/tasks"
    assert reserve.json() == {"tasks": [{"qpu_id": TOSHIKO, "tag": "t1"}] * 2}
    assert [t["task_id"] for t in submit.json()["tasks"]] == [TASK, TASK2]


def test_reservation_reply_must_be_wrapped(gateway: rm.Mocker) -> None:
    adapter = v4_adapter()
    device = next(d for d in adapter.list_devices() if d.device_id == TOSHIKO)
    qc = transpile(bell(), basis_gates=["rz", "sx", "x", "cx"], coupling_map=[[0, 1], [1, 0]])
    payload = adapter.build_payload(device, [qc, qc], OPTIONS)
    gateway.post(f"{BASE}/tasks", json=[TASK, TASK2])  # the v3 shape
    with pytest.raises(MalformedResponseError, match="expected 2 task ids"):
        adapter.submit(device, payload, OPTIONS)


@pytest.mark.parametrize(("raw", "status"), [
    ("QUEUED", JobStatus.QUEUED), ("IN_PROGRESS", JobStatus.RUNNING),
    ("SUCCEEDED", JobStatus.DONE), ("DONE", JobStatus.DONE), ("ERROR", JobStatus.ERROR),
    ("CANCELED", JobStatus.CANCELLED),
])
def test_status_aliases(requests_mock: rm.Mocker, raw: str, status: JobStatus) -> None:
    requests_mock.get(f"{BASE}/tasks/{TASK}/all_info", json={"status": raw, "results": None})
    adapter = v4_adapter()
    adapter._task_urls[TASK] = BASE
    assert adapter.status(TASK).status is status
    assert requests_mock.last_request.url == f"{BASE}/tasks/{TASK}/all_info"


def test_cancel_and_queue(gateway: rm.Mocker) -> None:
    adapter = v4_adapter()
    device = next(d for d in adapter.list_devices() if d.device_id == TOSHIKO)
    adapter._task_urls[TASK] = BASE
    gateway.get(f"{BASE}/tasks/{TASK}/all_info", json={"status": "QUEUED"})
    gateway.post(f"{BASE}/tasks/cancel_many", text='"OK"')
    assert adapter.cancel(TASK) is True
    assert gateway.last_request.json() == {"tasks": [TASK]}
    before = len(gateway.request_history)
    info = adapter.queue_info(device)
    assert info.pending_jobs is None and "no queue" in info.source
    assert len(gateway.request_history) == before  # nothing to ask


# -- end to end against the v4 emulator ---------------------------------------------------------


def test_run_batch_and_single_end_to_end(emulator_factory: Any) -> None:
    emu = emulator_factory("oqc", api="v4", seed=3)
    assert emu.settings().api == "v4"
    with MultiCloudProvider({"oqc": emu.settings()}, vendors=["oqc"], job_store=False) as prov:
        backend = prov.get_backend(TOSHIKO)
        assert backend.target["cx"][(0, 1)].error is not None  # from /benchmarks
        assert backend.target["sx"][(0,)].duration is not None
        circuits = transpile([bell(), bell()], backend, seed_transpiler=1)
        counts = backend.run(circuits, shots=50, **FAST).result().get_counts()
        assert all(set(c) <= {"00", "11"} and sum(c.values()) == 50 for c in counts)
        single = backend.run(circuits[0], shots=20, **FAST).result()
        assert sum(single.get_counts().values()) == 20
        assert single.results[0].metadata["qpu_id"] == TOSHIKO  # from all_info, not the URL
    routes = set(emu.app.stats.snapshot()["by_route"])
    assert "GET benchmarks_v4" in routes and "POST tasks_reserve" in routes
    assert not any(r.endswith(("qpu_list", "qpu_wait_time")) for r in routes)


# Cancel end to end on v4: test_emulator.py::test_cancel_queued_job[v4].


def test_failed_task_reason_end_to_end(emulator_factory: Any) -> None:
    emu = emulator_factory("oqc", api="v4")
    with MultiCloudProvider({"oqc": emu.settings()}, vendors=["oqc"], job_store=False) as prov:
        backend = prov.get_backend(LUCY)
        job = backend.run(transpile(bell(), backend), shots=10, tag="__fail__", **FAST)
        with pytest.raises(JobFailedError, match="fail_tag"):
            job.result()


def _crash_around_submit(emu: Any, *, after: bool) -> str:
    """Run with the job store; the process 'dies' just before (or just after) the submit."""

    class Killed(BaseException):
        pass

    with MultiCloudProvider({"oqc": emu.settings()}, vendors=["oqc"]) as provider:
        backend = provider.get_backend(LUCY)
        original = backend.adapter.transport.json

        def json_or_die(method: str, path: str, **kwargs: Any) -> Any:
            if path.endswith("/tasks/submit"):
                if not after:
                    raise Killed
                original(method, path, **kwargs)
                raise Killed
            return original(method, path, **kwargs)

        backend.adapter.transport.json = json_or_die  # type: ignore[method-assign]
        with pytest.raises(Killed):
            backend.run(transpile(bell(), backend), shots=16, **FAST)
    records = JobStore().list()
    assert len(records) == 1
    return records[0].record_id


def test_recover_after_a_crash_once_submitted(emulator_factory: Any) -> None:
    emu = emulator_factory("oqc", api="v4", seed=2)
    record_id = _crash_around_submit(emu, after=True)
    with MultiCloudProvider({"oqc": emu.settings()}, vendors=["oqc"]) as provider:
        job = provider.retrieve_job(record_id)
        counts = job.result().get_counts()
    assert sum(counts.values()) == 16 and set(counts) <= {"00", "11"}
    assert len(emu.jobs.all()) == 1


def test_recover_after_a_crash_before_submit_cancels_reserved(emulator_factory: Any) -> None:
    emu = emulator_factory("oqc", api="v4")
    record_id = _crash_around_submit(emu, after=False)
    ids = JobStore().get(record_id).reserved["0"]["task_ids"]  # type: ignore[union-attr]
    with (
        MultiCloudProvider({"oqc": emu.settings()}, vendors=["oqc"]) as provider,
        pytest.raises(MultiCloudError, match="safe to run the circuits again"),
    ):
        provider.retrieve_job(record_id)
    assert JobStore().get(record_id).status == SUBMIT_FAILED  # type: ignore[union-attr]
    assert emu.jobs.all() == []
    assert all(emu.app.reserved[i].get("cancelled") for i in ids)


# -- the v4 emulator on the wire ---------------------------------------------------------------


def test_emulator_v4_wire(emulator_factory: Any) -> None:
    emu = emulator_factory("oqc", api="v4")
    url, token = emu.url, emu.token
    assert requests.get(f"{url}/healthz", timeout=10).json()["version"]
    assert requests.get(f"{url}/admin/version", timeout=10).status_code == 404  # v3 is gone
    denied = requests.get(f"{url}/qpus", timeout=10)
    assert denied.status_code == 401 and "detail" in denied.json()
    bearer = {"Authorization": f"Bearer {token}"}
    qpus = requests.get(f"{url}/qpus", headers=bearer, timeout=10).json()
    assert {q["id"] for q in qpus} >= {LUCY, TOSHIKO} and all("status" in q for q in qpus)
    features = requests.get(f"{url}/qpus/{TOSHIKO}/features", headers=bearer, timeout=10).json()
    assert features["qpu_id"] == TOSHIKO and "gate_errors" not in features["data"]
    bench = requests.get(f"{url}/qpus/{TOSHIKO}/benchmarks", headers=bearer, timeout=10).json()
    assert "gate_errors" in bench["data"]
    search = requests.get(f"{url}/qpus/{TOSHIKO}/benchmarks/search", headers=bearer, timeout=10)
    assert search.status_code == 501
    ids = requests.post(f"{url}/tasks", headers=bearer, timeout=10, json={
        "tasks": [{"qpu_id": LUCY, "tag": None}]}).json()["tasks"]
    status = requests.get(f"{url}/tasks/{ids[0]}/status", headers=bearer, timeout=10).json()
    assert status == {"status": "CREATED"}
    bad = requests.post(f"{url}/tasks", headers=bearer, timeout=10,
                        json={"tasks": [{"qpu_id": "nope"}]})
    assert bad.status_code == 400 and "nope" in bad.json()["detail"]


def test_emulator_default_follows_the_sdk_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    from qiskit_multicloud.emulators.app import EmulatorConfig
    from qiskit_multicloud.vendors.oqc.emulator import OQCEmulator

    assert OQCEmulator(EmulatorConfig()).api == "v3"
    monkeypatch.setenv("OQC_QCAAS_V4", "true")
    app = OQCEmulator(EmulatorConfig())
    assert app.api == "v4" and app.client_settings().api == "v4"
    assert OQCEmulator(EmulatorConfig(api="v3")).client_settings().api == "v3"


def test_emulator_api_is_checked() -> None:
    from qiskit_multicloud.emulators import start

    with pytest.raises(ConfigurationError, match="cannot serve api='v5'"):
        start("oqc", api="v5")
    with pytest.raises(ConfigurationError, match="qoro emulator cannot serve"):
        start("qoro", api="v4")
