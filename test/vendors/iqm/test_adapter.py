"""IQM adapter against requests-mock: exact requests, payload parsing, statuses, settings."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests_mock as rm
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.providers import JobStatus

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.config import Secret
from qiskit_multicloud.exceptions import (
    AuthenticationError,
    ConfigurationError,
    MalformedResponseError,
    VendorAPIError,
)
from qiskit_multicloud.sweeps import STATS, SweepCircuits
from qiskit_multicloud.transport import DeferredJSON
from qiskit_multicloud.types import CircuitLayout
from qiskit_multicloud.vendors.iqm.adapter import STATUS_MAP, IQMAdapter, IQMBackend
from qiskit_multicloud.vendors.iqm.settings import IQMSettings, TokensFileAuth
from test.vendors.sweep_helpers import bound_points, parametrized_sweep

URL = "https://iqm.example"
TOKEN = "s3cr3t-iqm-token"
CS = "26c5e70f-bea0-43af-bd37-6212ec7d04cb"
JOB = "7d8e1c1a-3f4b-4c55-9a3e-0c2b9d6f1e21"

QCS = {"quantum_computers": [
    {"id": "01966208-f3ec-73b7-890d-100000000000", "alias": "garnet",
     "display_name": "IQM Garnet", "proxy_path": None},
]}
DQA = {
    "calibration_set_id": CS,
    "qubits": ["QB1", "QB2", "QB3", "QB4"],
    "computational_resonators": [],
    "gates": {
        "prx": {
            "implementations": {"drag_gaussian": {"loci": [["QB1"], ["QB2"], ["QB3"]]},
                                "drag_crf": {"loci": [["QB3"]]}},
            "default_implementation": "drag_gaussian",
            "override_default_implementation": {"QB3": "drag_crf"},
        },
        "cz": {"implementations": {"tgss": {"loci": [["QB1", "QB2"], ["QB2", "QB3"],
                                                     ["QB3", "QB4"]]}},
               "default_implementation": "tgss", "override_default_implementation": {}},
        "measure": {"implementations": {"constant": {"loci": [["QB1"], ["QB2"], ["QB3"],
                                                              ["QB4"]]}},
                    "default_implementation": "constant", "override_default_implementation": {}},
        "measure_fidelity": {"implementations": {"constant": {"loci": [["QB1"]]}},
                             "default_implementation": "constant",
                             "override_default_implementation": {}},
    },
}


def obs(field: str, value: float, unit: str = "") -> dict[str, Any]:
    return {"observation_id": 1, "dut_field": field, "value": value, "unit": unit,
            "uncertainty": None, "invalid": False, "created_timestamp": "2026-01-05T09:00:01Z",
            "modified_timestamp": "2026-01-05T09:00:01Z"}


CALSET = {"observation_set_id": CS, "observation_set_type": "calibration-set",
          "created_timestamp": "2026-01-05T09:00:00Z", "observations": [
              obs("gates.prx.drag_gaussian.QB1.duration", 4.0e-8, "s"),
              obs("gates.prx.drag_crf.QB3.duration", 5.0e-8, "s"),
              obs("gates.cz.tgss.QB1__QB2.duration", 1.2e-7, "s"),
              obs("controllers.QB1.drive.frequency", 4.4e9, "Hz")]}
METRICS = {"observation_set_id": "11111111-bea0-43af-bd37-6212ec7d04cb",
           "observation_set_type": "quality-metric-set", "describes_id": CS, "observations": [
               obs("metrics.rb.prx.drag_gaussian.QB1.fidelity", 0.999),
               obs("metrics.rb.prx.drag_crf.QB3.fidelity", 0.998),
               obs("metrics.ssro.measure.constant.QB1.fidelity", 0.96),
               obs("metrics.irb.cz.tgss.QB1__QB2.fidelity:par=d2", 0.99),
               obs("characterization.model.QB1.t1_time", 5e-5, "s"),
               obs("characterization.model.QB1.t2_time", 3e-5, "s")]}


def record(status: str, **extra: Any) -> dict[str, Any]:
    return {"id": JOB, "type": "circuit", "status": status, "queue_position": None,
            "messages": [], "errors": [], "timeline": [], "artifacts": [], **extra}


@pytest.fixture
def adapter() -> IQMAdapter:
    return IQMAdapter.from_settings(IQMSettings(url=URL, token=Secret(TOKEN)))


def mock_discovery(m: rm.Mocker) -> None:
    m.get(f"{URL}/api/v1/quantum-computers", json=QCS)
    for cs in ("default", CS):
        m.get(f"{URL}/api/v1/calibration-sets/garnet/{cs}/dynamic-quantum-architecture",
              json=DQA)
        m.get(f"{URL}/api/v1/calibration-sets/garnet/{cs}", json=CALSET)
        m.get(f"{URL}/api/v1/calibration-sets/garnet/{cs}/metrics", json=METRICS)


def test_list_devices_requests_and_target(adapter: IQMAdapter) -> None:
    with rm.Mocker() as m:
        mock_discovery(m)
        devices = adapter.list_devices()
        assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in m.request_history)
        paths = [r.path for r in m.request_history]
    # The QC list, then DQA, calibration set and metrics of the default set (concurrent, so
    # in any order); the answers name the same set, so nothing is read again by id.
    assert paths[0] == "/api/v1/quantum-computers"
    assert sorted(paths[1:]) == [
        "/api/v1/calibration-sets/garnet/default",
        "/api/v1/calibration-sets/garnet/default/dynamic-quantum-architecture",
        "/api/v1/calibration-sets/garnet/default/metrics",
    ]
    (device,) = devices
    assert device.device_id == "garnet" and device.calibration_id == CS
    # QB4 has no prx -> dropped, with the cz touching it.
    assert device.n_qubits == 3
    assert device.extra["qubit_names"] == ["QB1", "QB2", "QB3"]
    gates = device.gates
    assert set(gates) == {"r", "measure", "cz", "id", "delay"}
    assert gates["r"][(0,)].error == pytest.approx(0.001)
    assert gates["r"][(0,)].duration == pytest.approx(4e-8)
    # QB3 uses its override implementation drag_crf.
    assert gates["r"][(2,)].error == pytest.approx(0.002)
    assert gates["r"][(2,)].duration == pytest.approx(5e-8)
    assert gates["measure"][(0,)].error == pytest.approx(0.04)
    assert set(gates["cz"]) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert gates["cz"][(1, 0)].error == pytest.approx(0.01)
    assert gates["cz"][(0, 1)].duration == pytest.approx(1.2e-7)
    assert device.t1 == {0: 5e-5} and device.t2 == {0: 3e-5}
    target = IQMBackend(adapter, device).target
    assert target.num_qubits == 3 and "r" in target.operation_names


def test_calibration_reads_are_concurrent(adapter: IQMAdapter) -> None:
    """DQA, calibration set and metrics go out from worker threads, not one after the other
    on the caller's (requests-mock serializes sends; the emulator test shows the overlap)."""
    threads: list[str] = []

    def answer(body: dict[str, Any]) -> Any:
        def reply(request: Any, context: Any) -> dict[str, Any]:
            threads.append(threading.current_thread().name)
            return body
        return reply

    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/quantum-computers", json=QCS)
        base = f"{URL}/api/v1/calibration-sets/garnet/default"
        m.get(f"{base}/dynamic-quantum-architecture", json=answer(DQA))
        m.get(base, json=answer(CALSET))
        m.get(f"{base}/metrics", json=answer(METRICS))
        (device,) = adapter.list_devices()
        assert m.call_count == 4
    assert len(threads) == 3 and threading.current_thread().name not in threads
    assert device.calibration_id == CS
    assert device.gates["r"][(0,)].error == pytest.approx(0.001)


def test_configured_qc_is_discovered_complete_in_one_round() -> None:
    """quantum_computer set: discover_devices reads the QC list and that QC's DQA,
    calibration set and metrics (by ``default``) together and returns a complete device;
    without it, only the QC list (the documents wait until the backend is used)."""
    configured = IQMAdapter.from_settings(
        IQMSettings(url=URL, token=Secret(TOKEN), quantum_computer="garnet")
    )
    with rm.Mocker() as m:
        mock_discovery(m)
        (device,) = configured.discover_devices()
        paths = sorted(r.path for r in m.request_history)
    assert paths == [
        "/api/v1/calibration-sets/garnet/default",
        "/api/v1/calibration-sets/garnet/default/dynamic-quantum-architecture",
        "/api/v1/calibration-sets/garnet/default/metrics",
        "/api/v1/quantum-computers",
    ]
    assert not device.extra.get("partial") and device.calibration_id == CS
    assert configured.complete_device(device) is device
    with rm.Mocker() as m:
        mock_discovery(m)
        (partial,) = IQMAdapter.from_settings(
            IQMSettings(url=URL, token=Secret(TOKEN))
        ).discover_devices()
        assert [r.path for r in m.request_history] == ["/api/v1/quantum-computers"]
    assert partial.extra.get("partial")


def test_default_set_moved_between_reads_is_read_again_by_id(adapter: IQMAdapter) -> None:
    """A calibration set / metrics answer about another set than the DQA's is re-read by id."""
    other = "0f0f0f0f-bea0-43af-bd37-6212ec7d04cb"
    newer_calset = {**CALSET, "observation_set_id": other, "observations": [
        obs("gates.prx.drag_gaussian.QB1.duration", 9.0e-8, "s")]}
    newer_metrics = {**METRICS, "describes_id": other}
    with rm.Mocker() as m:
        mock_discovery(m)
        base = f"{URL}/api/v1/calibration-sets/garnet"
        m.get(f"{base}/default", json=newer_calset)
        m.get(f"{base}/default/metrics", json=newer_metrics)
        (device,) = adapter.list_devices()
        paths = [r.path for r in m.request_history]
    assert paths[-2:] == [f"/api/v1/calibration-sets/garnet/{CS}",
                          f"/api/v1/calibration-sets/garnet/{CS}/metrics"]
    assert len(paths) == 6
    assert device.calibration_id == CS
    assert device.gates["r"][(0,)].duration == pytest.approx(4e-8)  # from the DQA's set


def test_metrics_unavailable_is_tolerated(adapter: IQMAdapter) -> None:
    with rm.Mocker() as m:
        mock_discovery(m)
        m.get(f"{URL}/api/v1/calibration-sets/garnet/default/metrics", status_code=403,
              json={"message": "metrics not exposed", "error_code": "forbidden"})
        (device,) = adapter.list_devices()
    assert device.gates["r"][(0,)].error is None
    assert device.gates["r"][(0,)].duration == pytest.approx(4e-8)


def test_quantum_computer_selection() -> None:
    settings = IQMSettings(url=URL, token=Secret(TOKEN), quantum_computer="emerald")
    adapter = IQMAdapter.from_settings(settings)
    with rm.Mocker() as m:
        mock_discovery(m)
        with pytest.raises(ConfigurationError, match="garnet"):
            adapter.list_devices()


def test_star_architecture_routes() -> None:
    dqa = {
        "calibration_set_id": CS, "qubits": ["QB1", "QB2", "QB3"],
        "computational_resonators": ["CR1"],
        "gates": {
            "prx": {"implementations": {"d": {"loci": [["QB1"], ["QB2"], ["QB3"]]}},
                    "default_implementation": "d"},
            "measure": {"implementations": {"c": {"loci": [["QB1"], ["QB2"], ["QB3"]]}},
                        "default_implementation": "c"},
            "cz": {"implementations": {"t": {"loci": [["QB1", "CR1"], ["QB2", "CR1"]]}},
                   "default_implementation": "t"},
            "move": {"implementations": {"m": {"loci": [["QB3", "CR1"]]}},
                     "default_implementation": "m"},
        },
    }
    from qiskit_multicloud.vendors.iqm.device import device_from_dqa

    device = device_from_dqa(QCS["quantum_computers"][0], dqa)
    assert device.n_qubits == 3
    assert set(device.gates["cz"]) == {(0, 2), (2, 0), (1, 2), (2, 1)}
    adapter = IQMAdapter.from_settings(IQMSettings(url=URL, token=Secret(TOKEN)))
    qc = QuantumCircuit(3, 1)
    qc.cz(2, 0)
    qc.measure(0, 0)
    payload = adapter.build_payload(device, [qc], {"shots": 5})
    instructions = payload["circuits"][0]["instructions"]
    assert [(i["name"], i["locus"]) for i in instructions] == [
        ("move", ["QB3", "CR1"]), ("cz", ["QB1", "CR1"]), ("move", ["QB3", "CR1"]),
        ("measure", ["QB1"]),
    ]


def _device(adapter: IQMAdapter) -> Any:
    with rm.Mocker() as m:
        mock_discovery(m)
        return adapter.list_devices()[0]


def test_build_payload_and_submit(adapter: IQMAdapter) -> None:
    device = _device(adapter)
    q = QuantumRegister(2, "q")
    a = ClassicalRegister(1, "a")
    b_reg = ClassicalRegister(2, "my_b")
    qc = QuantumCircuit(q, a, b_reg, name="demo", metadata={"k": 1})
    qc.r(1.5, 0.25, 0)
    qc.cz(1, 0)
    qc.barrier()
    qc.id(0)
    qc.measure(0, a[0])
    qc.measure(1, b_reg[1])
    options = {"shots": 123, "heralding_mode": "zeros", "max_circuit_duration_over_t2": 0,
               "calibration_set_id": None, "use_timeslot": True}
    payload = adapter.build_payload(device, [qc], options)
    assert payload["calibration_set_id"] == CS
    assert payload["shots"] == 123 and payload["heralding_mode"] == "zeros"
    assert payload["max_circuit_duration_over_t2"] == 0.0
    assert payload["qubit_mapping"] is None
    assert payload["move_gate_validation"] == payload["move_validation_mode"] == "strict"
    circuit = payload["circuits"][0]
    assert circuit["name"] == "demo" and circuit["metadata"] == {"k": 1}
    assert circuit["instructions"] == [
        {"name": "prx", "locus": ["QB1"], "args": {"angle": 1.5, "phase": 0.25},
         "implementation": None},
        {"name": "cz", "locus": ["QB2", "QB1"], "args": {}, "implementation": None},
        {"name": "barrier", "locus": ["QB1", "QB2"], "args": {}, "implementation": None},
        {"name": "measure", "locus": ["QB1"], "args": {"key": "a_1_0_0"}, "implementation": None},
        {"name": "measure", "locus": ["QB2"], "args": {"key": "my_b_2_1_1"},
         "implementation": None},
    ]
    assert all(isinstance(i["args"].get("angle", 0.0), float) for i in circuit["instructions"])
    with rm.Mocker() as m:
        m.post(f"{URL}/api/v1/jobs/garnet/circuit", json=record("waiting", queue_position=3))
        job_id = adapter.submit(device, payload, options)
        request = m.request_history[0]
    assert job_id == JOB
    assert request.qs == {"use_timeslot": ["true"]}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.json() == payload


@pytest.mark.parametrize("at_submit", ["completed", "failed", "waiting", "processing"])
def test_final_submit_answer_needs_no_status_poll(adapter: IQMAdapter, at_submit: str) -> None:
    """The submit answer is the job record: final there -> the first status() sends no
    request (and only the first: later polls read the server again)."""
    device = _device(adapter)
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    payload = adapter.build_payload(device, [qc], {"shots": 10})
    errors = [{"message": "compilation failed"}] if at_submit == "failed" else []
    with rm.Mocker() as m:
        m.post(f"{URL}/api/v1/jobs/garnet/circuit", json=record(at_submit, errors=errors))
        m.get(f"{URL}/api/v1/jobs/{JOB}", json=record("processing"))
        job_id = adapter.submit(device, payload, {"shots": 10})
        first = adapter.status(job_id)
        polled_first = [r.method for r in m.request_history[1:]]
        second = adapter.status(job_id)
        assert [r.method for r in m.request_history[1:]] == [*polled_first, "GET"]
    if at_submit in ("completed", "failed"):
        assert polled_first == []
        assert first.raw == at_submit
        assert first.message == ("compilation failed" if at_submit == "failed" else None)
    else:
        assert polled_first == ["GET"] and first.raw == "processing"
    assert second.status is JobStatus.RUNNING


def test_pinned_calibration_option(adapter: IQMAdapter) -> None:
    device = _device(adapter)
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    other = "0f0f0f0f-bea0-43af-bd37-6212ec7d04cb"
    payload = adapter.build_payload(device, [qc], {"shots": 1, "calibration_set_id": other})
    assert payload["calibration_set_id"] == other


def test_submit_without_id_is_malformed(adapter: IQMAdapter) -> None:
    device = _device(adapter)
    with rm.Mocker() as m:
        m.post(f"{URL}/api/v1/jobs/garnet/circuit", json={"status": "waiting"})
        with pytest.raises(MalformedResponseError, match="'id'"):
            adapter.submit(device, {}, {})


@pytest.mark.parametrize("raw, expected", sorted(STATUS_MAP.items()))
def test_status_table(adapter: IQMAdapter, raw: str, expected: JobStatus) -> None:
    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/jobs/{JOB}", json=record(raw, queue_position=2))
        status = adapter.status(JOB)
    assert status.status is expected and status.raw == raw
    assert status.queue_position == 2


def test_status_table_is_exhaustive() -> None:
    assert STATUS_MAP == {
        "waiting": JobStatus.QUEUED, "processing": JobStatus.RUNNING,
        "completed": JobStatus.DONE, "failed": JobStatus.ERROR,
        "cancelled": JobStatus.CANCELLED,
    }


def test_failed_job_message(adapter: IQMAdapter) -> None:
    errors = [{"message": "Circuit too long", "error_code": "duration", "source": "iqm-server"}]
    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/jobs/{JOB}", json=record("failed", errors=errors))
        assert adapter.status(JOB).message == "Circuit too long"
        assert adapter.failure_message(JOB) == "Circuit too long"


def test_status_malformed(adapter: IQMAdapter) -> None:
    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/jobs/{JOB}", json={"id": JOB})
        with pytest.raises(MalformedResponseError, match="status"):
            adapter.status(JOB)
        m.get(f"{URL}/api/v1/jobs/{JOB}", text="<html>oops</html>")
        with pytest.raises(MalformedResponseError):
            adapter.status(JOB)


def test_results_bit_order_and_memory(adapter: IQMAdapter) -> None:
    layouts = [
        CircuitLayout("two_regs", 3, 3, (("a", 1), ("b", 2))),
        CircuitLayout("hand_built", 2, 2, (("c", 2),)),
    ]
    data = [
        {"a_1_0_0": [[1], [0]], "b_2_1_1": [[1], [1]], "b_2_1_0": [[0], [1]]},
        {"m": [[1, 0], [0, 1]]},
    ]
    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/jobs/{JOB}/artifacts/measurements", json=data)
        first, second = adapter.results(JOB, layouts, {"shots": 2, "memory": True})
        assert m.request_history[0].headers["Authorization"] == f"Bearer {TOKEN}"
    # clbit0 = a[0], clbit1 = b[0], clbit2 = b[1]; clbit 0 rightmost.
    assert first.memory == ["101", "110"]
    assert first.counts == {"101": 1, "110": 1}
    assert second.memory == ["01", "10"]


def test_results_repeated_measure_last_wins(adapter: IQMAdapter) -> None:
    layouts = [CircuitLayout("c", 1, 1, (("c", 1),))]
    data = [{"r1__c_1_0_0": [[1], [1]], "c_1_0_0": [[0], [0]]}]
    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/jobs/{JOB}/artifacts/measurements", json=data)
        (outcome,) = adapter.results(JOB, layouts, {"shots": 2, "memory": True})
    assert outcome.counts == {"1": 2}


@pytest.mark.parametrize("data", [
    {"not": "a list"},
    [],
    [{"c_1_0_0": "nope"}],
    [{"c_1_0_0": [[1], ["x"]]}],
    [{"c_1_0_0": [[1]], "c_1_0_1": [[1], [0]]}],
])
def test_results_malformed(adapter: IQMAdapter, data: Any) -> None:
    layouts = [CircuitLayout("c", 1, 1, (("c", 1),))]
    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/jobs/{JOB}/artifacts/measurements", json=data)
        with pytest.raises(MalformedResponseError):
            adapter.results(JOB, layouts, {"shots": 1, "memory": True})


def test_counts_path_reads_the_histogram_in_qiskit_order(adapter: IQMAdapter) -> None:
    layouts = [CircuitLayout("two_regs", 3, 3, (("a", 1), ("b", 2)))]
    # Key order a[0], b[1], b[0]: "110" is a[0]=1, b[1]=1, b[0]=0. Clbits are a0, b0, b1,
    # so Qiskit's string (clbit 2 leftmost) is "101".
    data = [{"measurement_keys": ["a_1_0_0", "b_2_1_1", "b_2_1_0"],
             "counts": {"110": 3, "011": 1}}]
    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/jobs/{JOB}/artifacts/measurement_counts", json=data)
        (outcome,) = adapter.results(JOB, layouts, {"shots": 4})
        assert [r.path for r in m.request_history] == [
            f"/api/v1/jobs/{JOB}/artifacts/measurement_counts"
        ]
    assert outcome.counts == {"101": 3, "110": 1}
    assert outcome.memory is None and outcome.shots == 4


def test_counts_path_repeated_measure_last_wins(adapter: IQMAdapter) -> None:
    layouts = [CircuitLayout("c", 1, 1, (("c", 1),))]
    data = [{"measurement_keys": ["c_1_0_0", "r1__c_1_0_0"], "counts": {"01": 2}}]
    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/jobs/{JOB}/artifacts/measurement_counts", json=data)
        (outcome,) = adapter.results(JOB, layouts, {"shots": 2})
    assert outcome.counts == {"1": 2}


def test_counts_path_falls_back_to_measurements_for_foreign_keys(adapter: IQMAdapter) -> None:
    layouts = [CircuitLayout("hand_built", 2, 2, (("c", 2),))]
    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/jobs/{JOB}/artifacts/measurement_counts",
              json=[{"measurement_keys": ["m"], "counts": {"10": 1, "01": 1}}])
        m.get(f"{URL}/api/v1/jobs/{JOB}/artifacts/measurements",
              json=[{"m": [[1, 0], [0, 1]]}])
        (outcome,) = adapter.results(JOB, layouts, {"shots": 2})
    assert outcome.counts == {"01": 1, "10": 1}


@pytest.mark.parametrize("data", [{"x": 1}, [], [{"counts": {}}], [{"measurement_keys": "a"}]])
def test_counts_path_malformed(adapter: IQMAdapter, data: Any) -> None:
    layouts = [CircuitLayout("c", 1, 1, (("c", 1),))]
    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/jobs/{JOB}/artifacts/measurement_counts", json=data)
        with pytest.raises(MalformedResponseError):
            adapter.results(JOB, layouts, {"shots": 1})


def test_cancel(adapter: IQMAdapter) -> None:
    with rm.Mocker() as m:
        m.post(f"{URL}/api/v1/jobs/{JOB}/cancel", status_code=204)
        adapter.cancel(JOB)
        assert m.request_history[0].method == "POST"
        assert m.request_history[0].body is None
    with rm.Mocker() as m:
        m.post(f"{URL}/api/v1/jobs/{JOB}/cancel", status_code=403,
               json={"message": "already completed", "error_code": "illegal_job_status"})
        m.get(f"{URL}/api/v1/jobs/{JOB}", json=record("completed"))
        adapter.cancel(JOB)  # final already: not an error
        m.get(f"{URL}/api/v1/jobs/{JOB}", json=record("processing"))
        with pytest.raises(VendorAPIError) as info:
            adapter.cancel(JOB)
        assert info.value.status == 403


def test_401_is_authentication_error(adapter: IQMAdapter) -> None:
    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/quantum-computers", status_code=401,
              json={"message": "Invalid token", "error_code": "unauthorized"})
        with pytest.raises(AuthenticationError) as info:
            adapter.list_devices()
    assert TOKEN not in str(info.value)


def test_404_message(adapter: IQMAdapter) -> None:
    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/jobs/{JOB}", status_code=404,
              json={"message": f"Job {JOB} not found.", "error_code": "job_not_found"})
        with pytest.raises(VendorAPIError, match="not found") as info:
            adapter.status(JOB)
    assert info.value.status == 404


# -- settings -------------------------------------------------------------------------------


def test_settings_nothing_configured() -> None:
    assert IQMSettings.resolve() is None


def test_settings_explicit_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IQM_SERVER_URL", "https://env.example")
    monkeypatch.setenv("IQM_TOKEN", "env-token")
    monkeypatch.setenv("IQM_QUANTUM_COMPUTER", "garnet")
    settings = IQMSettings.resolve(url=URL, token="arg-token")
    assert settings is not None
    assert settings.url == URL and settings.token == Secret("arg-token")
    assert settings.quantum_computer == "garnet"
    env_only = IQMSettings.resolve()
    assert env_only is not None and env_only.url == "https://env.example"
    assert env_only.token == Secret("env-token") and env_only.source == "environment"


def test_settings_tokens_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    exp = int(time.time()) + 3600
    claims = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
    jwt = f"eyJhbGciOiJub25lIn0.{claims}.sig"
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"pid": 1, "access_token": jwt, "refresh_token": "r"}))
    monkeypatch.setenv("IQM_SERVER_URL", URL)
    monkeypatch.setenv("IQM_TOKENS_FILE", str(path))
    settings = IQMSettings.resolve()
    assert settings is not None and settings.tokens_file == str(path) and settings.token is None
    auth = settings.auth()
    assert isinstance(auth, TokensFileAuth)
    assert auth.headers() == {"Authorization": f"Bearer {jwt}"}
    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/quantum-computers", json={"quantum_computers": []})
        IQMAdapter.from_settings(settings).list_devices()
        assert m.request_history[0].headers["Authorization"] == f"Bearer {jwt}"


def test_tokens_file_expired(tmp_path: Path) -> None:
    claims = base64.urlsafe_b64encode(json.dumps({"exp": 10}).encode()).decode().rstrip("=")
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"access_token": f"a.{claims}.b"}))
    with pytest.raises(AuthenticationError, match="expired"):
        TokensFileAuth(path).headers()


@pytest.mark.parametrize("kwargs, match", [
    ({"token": "t"}, "no server URL"),
    ({"url": URL, "token": "t", "tokens_file": "/nonexistent"}, "both"),
    ({"url": URL, "tokens_file": "/nonexistent/tokens.json"}, "does not exist"),
    ({"url": "https://cocos.resonance.meetiqm.com/garnet", "token": "t"}, "path"),
    ({"url": "https://cocos.example", "token": "t"}, "CoCoS"),
    ({"url": "ftp://x", "token": "t"}, "http"),
    ({"url": URL, "password": "p"}, "unknown setting"),
])
def test_settings_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        IQMSettings.resolve(**kwargs)


def test_no_token_leaks() -> None:
    settings = IQMSettings.resolve(url=URL, token=TOKEN)
    assert settings is not None
    adapter = IQMAdapter.from_settings(settings)
    provider = MultiCloudProvider(credentials={"iqm": settings}, vendors=["iqm"],
                                  job_store=False)
    for text in (repr(settings), str(settings), repr(adapter), str(adapter), repr(provider),
                 repr(adapter.transport), repr(adapter.transport.auth)):
        assert TOKEN not in text


def test_sweep_payload_equals_the_bound_one_and_is_sent(adapter: IQMAdapter) -> None:
    device = _device(adapter)
    sweep = parametrized_sweep(["r", "cz"])
    options = {"shots": 10, "calibration_set_id": None, "use_timeslot": False}
    STATS.clear()
    payload = adapter.build_payload(device, SweepCircuits([sweep]), options)
    assert STATS["rendered"] == len(sweep) and STATS["bound"] == 0
    expected = adapter.build_payload(device, bound_points(sweep), options)
    # each point's instructions are JSON text, embedded verbatim in the request body
    assert all(isinstance(c["instructions"], DeferredJSON) for c in payload["circuits"])
    assert [c["name"] for c in payload["circuits"]] == [c["name"] for c in expected["circuits"]]
    with rm.Mocker() as m:
        m.post(f"{URL}/api/v1/jobs/garnet/circuit", json=record("waiting"))
        adapter.submit(device, payload, options)
        adapter.submit(device, expected, options)
        sent, reference = (request.body for request in m.request_history)
        assert sent == reference  # byte for byte (so -0.0 stays -0.0, every digit the same)
        assert m.request_history[0].json() == expected
