"""Each vendor's queue information, read with requests-mock (exact requests and fields)."""

from __future__ import annotations

from typing import Any

import pytest
import requests_mock as rm

from qiskit_multicloud.config import Secret
from qiskit_multicloud.exceptions import VendorAPIError
from qiskit_multicloud.types import DeviceSpec, QueueInfo
from qiskit_multicloud.vendors.iqm.adapter import IQMAdapter
from qiskit_multicloud.vendors.iqm.settings import IQMSettings
from qiskit_multicloud.vendors.oqc import OQCAdapter, OQCSettings
from qiskit_multicloud.vendors.oqtopus.adapter import OqtopusAdapter
from qiskit_multicloud.vendors.oqtopus.settings import OqtopusSettings
from qiskit_multicloud.vendors.qilimanjaro import QilimanjaroAdapter, QilimanjaroSettings
from qiskit_multicloud.vendors.qilimanjaro.devices import device_spec as qili_spec
from qiskit_multicloud.vendors.qoro.adapter import QoroAdapter
from qiskit_multicloud.vendors.qoro.settings import QoroSettings
from test.vendors.oqc.test_adapter import ENTRY, LUCY, LUCY_ITEM, QPU_URL, TOKEN
from test.vendors.oqtopus.test_adapter import device as oqtopus_device
from test.vendors.qilimanjaro.conftest import API, API_KEY, tokens
from test.vendors.qilimanjaro.conftest import URL as QILI_URL
from test.vendors.qilimanjaro.test_adapter import RADAGAST


def spec(vendor: str, device_id: str, **extra: Any) -> DeviceSpec:
    return DeviceSpec(vendor=vendor, device_id=device_id, n_qubits=2, gates={}, extra=extra)


def test_queue_info_known_and_describe() -> None:
    assert not QueueInfo(source="none").known
    assert QueueInfo(pending_jobs=0).known
    assert QueueInfo(pending_jobs=3, estimated_wait=120.4).describe() == "3 jobs, ~120 s"
    assert QueueInfo(pending_jobs=1).describe() == "1 job"
    assert QueueInfo().describe() == "unknown"


# -- OQC: POST {qpu}/monitoring/qpu_wait_time ----------------------------------------------


def oqc_device(requests_mock: rm.Mocker) -> tuple[OQCAdapter, DeviceSpec]:
    """Lucy as listed by ``GET /admin/qpu`` (which makes its task host a trusted origin)."""
    requests_mock.get(f"{ENTRY}/admin/version", json={"version": "3.14.2"})
    requests_mock.get(f"{ENTRY}/admin/qpu", json={"items": [LUCY_ITEM], "total": 1})
    adapter = OQCAdapter.from_settings(OQCSettings(url=ENTRY, token=Secret(TOKEN)))
    return adapter, adapter.list_devices()[0]


def test_oqc_reads_tasks_in_queue_and_wait_estimate(requests_mock: rm.Mocker) -> None:
    adapter, device = oqc_device(requests_mock)
    route = requests_mock.post(f"{QPU_URL}/monitoring/qpu_wait_time", json={"qpu_wait_times": [
        {"qpu_id": "qpu:other", "tasks_in_queue": 99},
        {"qpu_id": LUCY, "tasks_in_queue": 21, "average_processing_seconds": 0.0,
         "estimated_availability_time": "2026-11-13 16:50:43.229464",
         "timestamp": "2026-11-13 16:20:43.229464", "windows": []},
    ]})
    info = adapter.queue_info(device)
    assert route.call_count == 1
    assert route.last_request.json() == {"targets": [LUCY]}
    assert route.last_request.headers["Authentication-Token"] == TOKEN
    assert info.pending_jobs == 21
    assert info.estimated_wait == pytest.approx(1800.0)
    assert "tasks_in_queue" in info.source


def test_oqc_past_availability_is_zero_wait_and_missing_entry_is_unknown(
    requests_mock: rm.Mocker,
) -> None:
    adapter, device = oqc_device(requests_mock)
    url = f"{QPU_URL}/monitoring/qpu_wait_time"
    requests_mock.post(url, json={"qpu_wait_times": [
        {"qpu_id": LUCY, "tasks_in_queue": 0, "estimated_availability_time": "2026-01-01",
         "timestamp": "2026-01-02 00:00:00"}]})
    info = adapter.queue_info(device)
    assert (info.pending_jobs, info.estimated_wait) == (0, 0.0)
    requests_mock.post(url, json={"qpu_wait_times": None})
    assert not adapter.queue_info(device).known


# -- OQTOPUS: GET /devices/{id} n_pending_jobs -----------------------------------------------


OQTOPUS_URL = "https://oqtopus.example.org/stage"


def test_oqtopus_reads_n_pending_jobs(requests_mock: rm.Mocker) -> None:
    settings = OqtopusSettings.resolve(url=OQTOPUS_URL, api_token="abc.def")
    assert settings is not None
    route = requests_mock.get(
        f"{OQTOPUS_URL}/devices/anemone", json=oqtopus_device(n_pending_jobs=7, device_info=None)
    )
    info = OqtopusAdapter.from_settings(settings).queue_info(spec("oqtopus", "anemone"))
    assert route.call_count == 1
    assert info.pending_jobs == 7 and info.estimated_wait is None
    assert "n_pending_jobs" in info.source


# -- IQM: GET /api/v1/quantum-computers/{qc}/queue-availability ------------------------------


IQM_URL = "https://iqm.example"


def iqm() -> IQMAdapter:
    return IQMAdapter.from_settings(IQMSettings(url=IQM_URL, token=Secret("tok")))


def test_iqm_reads_queue_length(requests_mock: rm.Mocker) -> None:
    route = requests_mock.get(
        f"{IQM_URL}/api/v1/quantum-computers/garnet/queue-availability",
        json={"queue_length": 4, "available": [{"start": "2026-01-01T00:00:00Z",
                                                "end": "2026-01-01T01:00:00Z"}]},
    )
    info = iqm().queue_info(spec("iqm", "garnet", alias="garnet"))
    assert route.call_count == 1
    assert route.last_request.headers["Authorization"] == "Bearer tok"
    assert info.pending_jobs == 4


def test_iqm_without_the_endpoint_has_no_queue_information(requests_mock: rm.Mocker) -> None:
    path = f"{IQM_URL}/api/v1/quantum-computers/garnet/queue-availability"
    requests_mock.get(path, status_code=404, json={"detail": "Not Found"})
    info = iqm().queue_info(spec("iqm", "garnet", alias="garnet"))
    assert not info.known and info.error is None
    requests_mock.get(path, json={"queue_length": "many"})
    garbled = iqm().queue_info(spec("iqm", "garnet", alias="garnet"))
    assert not garbled.known and "many" in str(garbled.error)
    requests_mock.get(path, status_code=403, json={"detail": "forbidden"})
    with pytest.raises(VendorAPIError):
        iqm().queue_info(spec("iqm", "garnet", alias="garnet"))


# -- Qoro: nothing published ------------------------------------------------------------------


def test_qoro_publishes_no_queue_information(requests_mock: rm.Mocker) -> None:
    settings = QoroSettings.resolve(url="https://qoro.example/api", api_key="k")
    assert settings is not None
    info = QoroAdapter.from_settings(settings).queue_info(spec("qoro", "qoro_maestro"))
    assert not info.known and "no queue information" in info.source
    assert requests_mock.call_count == 0


# -- Qilimanjaro: GET devices/{id} number_pending_jobs -----------------------------------------


def test_qilimanjaro_reads_number_pending_jobs(requests_mock: rm.Mocker) -> None:
    requests_mock.post(f"{API}/authorisation-tokens", status_code=201, json=tokens())
    route = requests_mock.get(f"{API}/devices/9", json={**RADAGAST, "number_pending_jobs": 5})
    adapter = QilimanjaroAdapter.from_settings(
        QilimanjaroSettings(url=QILI_URL, username="ada", api_key=Secret(API_KEY))
    )
    device = qili_spec(RADAGAST, adapter.qsettings)
    assert device is not None
    info = adapter.queue_info(device)
    assert route.call_count == 1
    assert info.pending_jobs == 5
    assert "number_pending_jobs" in info.source


# -- the backend never lets a queue failure escape ---------------------------------------------


def test_backend_queue_info_reports_failures_instead_of_raising(requests_mock: rm.Mocker) -> None:
    from qiskit_multicloud.vendors.iqm.adapter import IQMBackend

    requests_mock.get(
        f"{IQM_URL}/api/v1/quantum-computers/garnet/queue-availability", status_code=500,
        json={"detail": "boom"},
    )
    adapter = iqm()
    adapter.transport.sleep = lambda seconds: None
    backend = IQMBackend(adapter, spec("iqm", "garnet", alias="garnet"))
    info = backend.queue_info()
    assert not info.known and info.error is not None and "500" in info.error
    requests_mock.get(
        f"{IQM_URL}/api/v1/quantum-computers/garnet/queue-availability", json={"queue_length": 2}
    )
    assert backend.queue_info().pending_jobs == 2
    assert backend.queue_length == 2
