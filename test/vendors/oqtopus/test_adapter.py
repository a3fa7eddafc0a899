"""OQTOPUS adapter against pinned HTTP exchanges (requests-mock), settings resolution."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests_mock
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.providers import JobStatus
from qiskit.quantum_info import SparsePauliOp

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.config import Secret
from qiskit_multicloud.exceptions import (
    AuthenticationError,
    CircuitValidationError,
    ConfigurationError,
    MalformedResponseError,
    VendorAPIError,
)
from qiskit_multicloud.sweeps import STATS, SweepCircuits
from qiskit_multicloud.target import build_target
from qiskit_multicloud.types import CircuitLayout
from qiskit_multicloud.vendors.oqtopus.adapter import STATUS_MAP, OqtopusAdapter
from qiskit_multicloud.vendors.oqtopus.settings import OqtopusSettings
from qiskit_multicloud.vendors.oqtopus.translate import pauli_terms, to_program
from test.vendors.sweep_helpers import bound_points, parametrized_sweep

URL = "https://oqtopus.example.org/stage"
S3 = "https://oqtopus-bucket.s3.amazonaws.com/"
TOKEN = "0123abcd.s3cr3tpart"
JOB = "0196a8f2-3c41-7d0e-9b7a-5f2e8c1d4a90"

TOPOLOGY = {
    "name": "anemone",
    "device_id": "anemone",
    "qubits": [
        {
            "id": 0,
            "physical_id": 0,
            "fidelity": 0.99940,
            "meas_error": {
                "prob_meas1_prep0": 0.0217,
                "prob_meas0_prep1": 0.0242,
                "readout_assignment_error": 0.0230,
            },
            "qubit_lifetime": {"t1": 26.46, "t2": 35.89},
            "gate_duration": {"rz": 0, "sx": 16, "x": 24},
        },
        {
            "id": 1,
            "physical_id": 2,
            "fidelity": 0.99954,
            "meas_error": {"prob_meas1_prep0": 0.0297, "prob_meas0_prep1": 0.0286},
            "qubit_lifetime": {"t1": 40.58, "t2_echo": 27.80},
            "gate_duration": {"rz": 0, "sx": 16, "x": 24},
        },
        {"id": 2, "physical_id": 5},
    ],
    "couplings": [
        {"control": 0, "target": 1, "fidelity": 0.9618, "gate_duration": {"rzx90": 272}},
        {"control": 2, "target": 1},
    ],
    "calibrated_at": "2025-04-20T10:03:16.755183Z",
}


def zipped(entry: str, data: Any) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(entry, data if isinstance(data, str) else json.dumps(data))
    return buffer.getvalue()


def device(**changes: Any) -> dict[str, Any]:
    base = {
        "device_id": "anemone",
        "device_type": "QPU",
        "status": "available",
        "available_at": None,
        "n_pending_jobs": 3,
        "n_qubits": 64,
        "basis_gates": ["sx", "rz", "rzx90", "id"],
        "supported_instructions": ["measure", "barrier"],
        "device_info": f"{S3}devices/anemone/device_info.zip?X-Amz-Signature=ab12",
        "calibrated_at": "2025-04-20T10:03:16.755183Z",
        "description": "Superconducting quantum computer",
    }
    return {**base, **changes}


SIMULATOR = {
    "device_id": "qulacs",
    "device_type": "simulator",
    "status": "unavailable",
    "available_at": "2025-05-01T00:00:00Z",
    "n_pending_jobs": 0,
    "n_qubits": 16,
    "basis_gates": ["x", "sx", "rz", "cx", "h"],
    "supported_instructions": ["measure", "barrier", "reset"],
    "device_info": None,
    "calibrated_at": None,
    "description": "State vector simulator",
}


@pytest.fixture
def adapter() -> OqtopusAdapter:
    settings = OqtopusSettings.resolve(url=URL + "/", api_token=TOKEN)
    assert settings is not None
    return OqtopusAdapter.from_settings(settings)


@pytest.fixture
def mock() -> Any:
    with requests_mock.Mocker() as m:
        yield m


def mock_devices(mock: Any, devices: list[dict[str, Any]]) -> None:
    mock.get(f"{URL}/devices", json=devices)
    mock.get(f"{S3}devices/anemone/device_info.zip", content=zipped("device_info.json", TOPOLOGY))


# -- settings ------------------------------------------------------------------------------


def write_config(text: str) -> Path:
    path = Path.home() / ".oqtopus"
    path.write_text(text)
    return path


def test_settings_none_when_nothing_configured() -> None:
    assert OqtopusSettings.resolve() is None


def test_settings_explicit_beats_env_and_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OQTOPUS_URL", "https://env.example")
    monkeypatch.setenv("OQTOPUS_API_TOKEN", "env-token")
    write_config("[default]\nurl=https://file.example\napi_token=file-token\n")
    settings = OqtopusSettings.resolve(url="https://arg.example/", api_token="arg-token")
    assert settings is not None and settings.url == "https://arg.example"
    assert settings.api_token == Secret("arg-token") and settings.source == "arguments"


def test_settings_env_needs_both_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    write_config("[default]\nurl=https://file.example/\napi_token=file-token\n")
    monkeypatch.setenv("OQTOPUS_URL", "https://env.example")
    settings = OqtopusSettings.resolve()
    assert settings is not None and settings.url == "https://file.example"  # env ignored
    monkeypatch.setenv("OQTOPUS_API_TOKEN", "env-token")
    monkeypatch.setenv("OQTOPUS_PROXY", "http://proxy.example:3128")
    settings = OqtopusSettings.resolve()
    assert settings is not None and settings.source == "environment"
    assert (
        settings.api_token == Secret("env-token") and settings.proxy == "http://proxy.example:3128"
    )


def test_settings_half_env_without_file_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OQTOPUS_API_TOKEN", "env-token")
    with pytest.raises(ConfigurationError, match="OQTOPUS_URL"):
        OqtopusSettings.resolve()
    with pytest.raises(ConfigurationError, match="api_token"):
        OqtopusSettings.resolve(url="https://arg.example")


def test_settings_file_profiles_and_proxy_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(
        "[default]\nurl=https://file.example\napi_token=file-token\n\n"
        "[lab-sim]\nurl=http://127.0.0.1:8765\napi_token=anything\nproxy=http://p.example:1\n"
        "[broken]\nurl=https://x.example\n"
    )
    monkeypatch.setenv("OQTOPUS_PROXY", "http://fallback.example:8080")
    default = OqtopusSettings.resolve()
    assert default is not None and default.source == str(path) and default.profile == "default"
    assert default.proxy == "http://fallback.example:8080"
    lab = OqtopusSettings.resolve(profile="lab-sim")
    assert (
        lab is not None and lab.url == "http://127.0.0.1:8765" and lab.proxy == "http://p.example:1"
    )
    with pytest.raises(ConfigurationError, match="not found"):
        OqtopusSettings.resolve(profile="missing")
    with pytest.raises(ConfigurationError, match="api_token"):
        OqtopusSettings.resolve(profile="broken")
    with pytest.raises(ConfigurationError, match="unknown setting"):
        OqtopusSettings.resolve(password="x")


def test_secrets_never_shown(adapter: OqtopusAdapter) -> None:
    provider = MultiCloudProvider(
        credentials={"oqtopus": adapter.settings}, vendors=["oqtopus"], job_store=False
    )
    for text in (
        repr(adapter.settings),
        str(adapter.settings),
        repr(adapter),
        str(adapter),
        repr(provider),
        repr(adapter.transport),
        repr(adapter.transport.auth),
    ):
        assert TOKEN not in text


def test_proxy_goes_to_the_session() -> None:
    settings = OqtopusSettings.resolve(url=URL, api_token=TOKEN, proxy="http://p.example:3128")
    assert settings is not None
    session = OqtopusAdapter.from_settings(settings).transport._session
    assert session.proxies == {"http": "http://p.example:3128", "https": "http://p.example:3128"}
    plain = OqtopusSettings.resolve(url=URL, api_token=TOKEN)
    assert plain is not None and not OqtopusAdapter.from_settings(plain).transport._session.proxies


# -- devices -------------------------------------------------------------------------------


def test_list_devices_downloads_device_info_without_token(
    adapter: OqtopusAdapter, mock: Any
) -> None:
    mock_devices(mock, [device(), SIMULATOR])
    anemone, qulacs = adapter.list_devices()
    api, storage = mock.request_history
    assert api.headers["q-api-token"] == TOKEN and "Authorization" not in api.headers
    assert "q-api-token" not in storage.headers and "X-Amz-Signature=ab12" in storage.url
    assert anemone.n_qubits == 3 and anemone.queue_length == 3 and anemone.online
    assert anemone.calibrated_at == "2025-04-20T10:03:16.755183Z"
    assert anemone.extra["needs_server_transpile"] is True
    target = build_target(anemone)
    assert set(target.operation_names) == {"sx", "rz", "id", "cx", "measure"}
    assert set(target["cx"]) == {(0, 1), (2, 1)}  # directed, as listed
    assert target["cx"][(0, 1)].error == pytest.approx(0.0382)
    assert target["cx"][(0, 1)].duration == pytest.approx(272e-9)
    assert target["sx"][(0,)].error == pytest.approx(0.0006)
    assert target["sx"][(0,)].duration == pytest.approx(16e-9)
    assert target["rz"][(1,)].error == 0.0
    assert target["measure"][(0,)].error == pytest.approx(0.0230)
    assert target["measure"][(1,)].error == pytest.approx((0.0297 + 0.0286) / 2)
    assert target.qubit_properties[0].t1 == pytest.approx(26.46e-6)
    assert target.qubit_properties[1].t2 == pytest.approx(27.80e-6)
    assert target.qubit_properties[2].t1 is None
    assert not qulacs.online and qulacs.simulator and qulacs.n_qubits == 16
    sim_target = build_target(qulacs)
    assert sim_target.instruction_supported("cx", (4, 9)) and "reset" in sim_target.operation_names


def test_inline_and_legacy_device_info(adapter: OqtopusAdapter, mock: Any) -> None:
    legacy = {
        "n_nodes": 512,
        "calibration_data": {
            "qubit_connectivity": ["(0,1)", "(1,2)"],
            "t1": {"0": 55.51},
            "t2": {"1": 20.0},
            "ro_error": {"2": 0.03},
            "gate_error": {"sx": {"0": 0.0069}},
            "gate_duration": {"sx": {"0": 29.3}},
        },
    }
    inline = device(
        device_id="inline", device_info=json.dumps(TOPOLOGY), basis_gates=["sx", "rz", "cz"]
    )
    old = device(
        device_id="old", n_qubits=3, device_info=json.dumps(legacy), basis_gates=["sx", "cx"]
    )
    mock.get(
        f"{URL}/devices",
        json=[inline, old, device(device_id="nothing", n_qubits=None, device_info=None)],
    )
    specs = adapter.list_devices()
    assert [s.device_id for s in specs] == ["inline", "old"]  # no qubit count -> skipped
    assert set(build_target(specs[0])["cz"]) == {(0, 1), (2, 1)}
    assert specs[0].extra["needs_server_transpile"] is False
    target = build_target(specs[1])
    assert set(target["cx"]) == {(0, 1), (1, 2)}
    assert target["sx"][(0,)].error == pytest.approx(0.0069)
    assert target["sx"][(0,)].duration == pytest.approx(29.3e-9)
    assert target["measure"][(2,)].error == pytest.approx(0.03)
    assert target.qubit_properties[0].t1 == pytest.approx(55.51e-6)


def test_published_qubit_positions_are_kept_for_drawing(
    adapter: OqtopusAdapter, mock: Any
) -> None:
    qubits: list[Any] = list(TOPOLOGY["qubits"])  # type: ignore[call-overload]
    located = [{**q, "position": {"x": float(i), "y": 0.5 * i}} for i, q in enumerate(qubits)]
    placed = {**TOPOLOGY, "qubits": located}
    partly = {**TOPOLOGY, "qubits": [*located[:2], qubits[2]]}
    mock.get(
        f"{URL}/devices",
        json=[
            device(device_id="placed", device_info=json.dumps(placed)),
            device(device_id="partly", device_info=json.dumps(partly)),
            device(device_id="unplaced", device_info=json.dumps(TOPOLOGY)),
        ],
    )
    with_positions, partial, without = adapter.list_devices()
    expected = {0: (0.0, 0.0), 1: (1.0, 0.5), 2: (2.0, 1.0)}
    assert with_positions.extra["qubit_coordinates"] == expected
    assert partial.extra["qubit_coordinates"] is None  # all or nothing
    assert without.extra["qubit_coordinates"] is None


@pytest.mark.parametrize(
    ("devices", "match"),
    [
        ({"not": "a list"}, "did not answer a list"),
        ([{"device_id": "x", "status": "available", "basis_gates": []}], "device_type"),
        ([device(basis_gates="sx")], "basis_gates"),
        ([device(device_info=7)], "device_info"),
        ([device(device_info="{not json")], "device_info"),
    ],
)
def test_malformed_devices(adapter: OqtopusAdapter, mock: Any, devices: Any, match: str) -> None:
    mock.get(f"{URL}/devices", json=devices)
    with pytest.raises(MalformedResponseError, match=match):
        adapter.list_devices()


def test_device_info_download_that_is_not_a_zip(adapter: OqtopusAdapter, mock: Any) -> None:
    mock.get(f"{URL}/devices", json=[device()])
    mock.get(f"{S3}devices/anemone/device_info.zip", content=b"<html>")
    with pytest.raises(MalformedResponseError, match="not a zip"):
        adapter.list_devices()


def test_unauthorized(adapter: OqtopusAdapter, mock: Any) -> None:
    mock.get(f"{URL}/devices", status_code=401, json={"message": "Unauthorized"})
    with pytest.raises(AuthenticationError) as info:
        adapter.list_devices()
    assert TOKEN not in str(info.value)


# -- submission ----------------------------------------------------------------------------


def two_register_circuit() -> QuantumCircuit:
    qc = QuantumCircuit(
        QuantumRegister(2, "r"), ClassicalRegister(1, "a"), ClassicalRegister(2, "b")
    )
    qc.x(0)
    qc.measure(0, 0)
    qc.measure([0, 1], [1, 2])
    return qc


def test_build_payload_and_submit_sequence(adapter: OqtopusAdapter, mock: Any) -> None:
    mock_devices(mock, [device(), SIMULATOR])
    anemone, qulacs = adapter.list_devices()
    options = {
        "shots": 100,
        "job_name": "bell",
        "mitigation_info": {"ro_error_mitigation": "pseudo_inverse"},
    }
    payload = adapter.build_payload(qulacs, [two_register_circuit()], options)
    program = payload["input"]["program"][0]
    assert "qubit[2] q;" in program and "bit[3] c;" in program
    assert "c[0] = measure q[0];" in program and "c[2] = measure q[1];" in program
    assert payload["submit"] == {
        "device_id": "qulacs",
        "job_type": "sampling",
        "transpiler_info": {"transpiler_lib": None},
        "simulator_info": {},
        "mitigation_info": {"ro_error_mitigation": "pseudo_inverse"},
        "shots": 100,
        "name": "bell",
    }
    # A device whose entangler is rzx90 lets the server translate cx by default.
    assert (
        adapter.build_payload(anemone, [two_register_circuit()], {"shots": 1})["submit"][
            "transpiler_info"
        ]
        == {}
    )

    fields = {
        "key": f"{JOB}/input.zip",
        "AWSAccessKeyId": "ASIA",
        "policy": "cG9s",
        "signature": "c2ln",
    }
    mock.post(f"{URL}/jobs", json={"job_id": JOB, "presigned_url": {"url": S3, "fields": fields}})
    mock.post(S3, status_code=204)
    mock.post(f"{URL}/jobs/{JOB}/submit", json={"message": "job submitted"})
    mock.reset_mock()
    assert adapter.submit(qulacs, payload, options) == JOB
    register, upload, submit = mock.request_history
    assert (register.method, register.path) == ("POST", "/stage/jobs")
    assert register.headers["q-api-token"] == TOKEN and not register.body
    assert "q-api-token" not in upload.headers
    assert upload.headers["Content-Type"].startswith("multipart/form-data")
    body = upload.body
    for name, value in fields.items():
        assert f'name="{name}"\r\n\r\n{value}\r\n'.encode() in body
    assert b'name="file"; filename="input.zip"' in body and b"Content-Type: application/zip" in body
    archive_bytes = body[body.index(b"PK\x03\x04") : body.rindex(b"\r\n--")]
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as archive:
        assert archive.namelist() == ["input.json"]
        assert json.loads(archive.read("input.json")) == payload["input"]
    assert submit.headers["q-api-token"] == TOKEN and submit.json() == payload["submit"]


def test_submit_refused_cancels_the_registered_job(adapter: OqtopusAdapter, mock: Any) -> None:
    mock_devices(mock, [SIMULATOR])
    (qulacs,) = adapter.list_devices()
    payload = adapter.build_payload(qulacs, [two_register_circuit()], {"shots": 1})
    mock.post(
        f"{URL}/jobs", json={"job_id": JOB, "presigned_url": {"url": S3, "fields": {"key": "k"}}}
    )
    mock.post(S3, status_code=204)
    mock.post(
        f"{URL}/jobs/{JOB}/submit",
        status_code=400,
        json={"message": "device qulacs is not available"},
    )
    cancel = mock.post(f"{URL}/jobs/{JOB}/cancel", json={"message": "cancel request accepted"})
    with pytest.raises(VendorAPIError, match="not available") as info:
        adapter.submit(qulacs, payload, {"shots": 1})
    assert info.value.status == 400 and cancel.called_once


@pytest.mark.parametrize(
    "answer", [{}, {"job_id": JOB}, {"job_id": JOB, "presigned_url": {"url": S3, "fields": {}}}]
)
def test_submit_malformed_registration(adapter: OqtopusAdapter, mock: Any, answer: Any) -> None:
    mock_devices(mock, [SIMULATOR])
    (qulacs,) = adapter.list_devices()
    mock.post(f"{URL}/jobs", json=answer)
    with pytest.raises(MalformedResponseError):
        adapter.submit(
            qulacs, adapter.build_payload(qulacs, [two_register_circuit()], {"shots": 1}), {}
        )


# -- lifecycle -----------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), sorted(STATUS_MAP.items()))
def test_status_table(adapter: OqtopusAdapter, mock: Any, raw: str, expected: JobStatus) -> None:
    job = mock.get(f"{URL}/jobs/{JOB}", json={"job_id": JOB, "status": raw})
    status = adapter.status(JOB)
    assert status.status is expected and status.raw == raw
    assert job.call_count == 1  # the full job is polled (it names the result archive)


def test_status_table_is_complete() -> None:
    assert set(STATUS_MAP) == {
        "registered",
        "submitted",
        "ready",
        "running",
        "cancelling",
        "succeeded",
        "failed",
        "cancelled",
    }
    assert STATUS_MAP["registered"] is JobStatus.INITIALIZING
    assert STATUS_MAP["cancelling"] is JobStatus.RUNNING


def test_status_malformed_and_unknown(adapter: OqtopusAdapter, mock: Any) -> None:
    mock.get(f"{URL}/jobs/{JOB}", json={"job_id": JOB})
    with pytest.raises(MalformedResponseError, match="status"):
        adapter.status(JOB)
    mock.get(f"{URL}/jobs/{JOB}", text="<html>")
    with pytest.raises(MalformedResponseError):
        adapter.status(JOB)
    mock.get(
        f"{URL}/jobs/nope",
        status_code=404,
        json={"message": "job not found with the given id"},
    )
    with pytest.raises(VendorAPIError, match="job not found") as info:
        adapter.status("nope")
    assert info.value.status == 404


def finished_job(**info: Any) -> dict[str, Any]:
    return {
        "job_id": JOB,
        "name": "bell",
        "description": "",
        "job_type": "sampling",
        "status": "succeeded",
        "device_id": "anemone",
        "shots": 1000,
        "job_info": {
            "input": f"{S3}{JOB}/input.zip?Sig=1",
            "result": f"{S3}{JOB}/result.zip?Sig=2",
            **info,
        },
        "transpiler_info": {
            "transpiler_lib": "qiskit",
            "transpiler_options": {"optimization_level": 1},
        },
        "execution_time": 1.532,
    }


def test_results_from_result_zip(adapter: OqtopusAdapter, mock: Any) -> None:
    mapping = {"qubit_mapping": {"0": 12, "1": 16}, "bit_mapping": {"0": 0, "1": 1}}
    mock.get(
        f"{URL}/jobs/{JOB}",
        json=finished_job(transpile_result=f"{S3}{JOB}/transpile_result.zip?S=3"),
    )
    result = {
        "sampling": {"counts": {"101": 498, "001": 502, "000": 0}, "divided_counts": None},
        "estimation": None,
    }
    mock.get(f"{S3}{JOB}/result.zip", content=zipped("result.json", result))
    transpiled = {
        "transpiled_program": "",
        "stats": "{}",
        "virtual_physical_mapping": json.dumps(mapping),
    }
    mock.get(f"{S3}{JOB}/transpile_result.zip", content=zipped("transpile_result.json", transpiled))
    layout = CircuitLayout.from_circuit(two_register_circuit())
    (outcome,) = adapter.results(JOB, [layout], {"shots": 1000})
    assert outcome.counts == {"101": 498, "001": 502}  # keys untouched: already Qiskit order
    assert outcome.metadata["virtual_physical_mapping"] == mapping
    assert outcome.metadata["execution_time"] == 1.532
    downloads = [r for r in mock.request_history if r.url.startswith(S3)]
    assert downloads and all("q-api-token" not in r.headers for r in downloads)


def test_results_multi_program_and_string_counts(adapter: OqtopusAdapter, mock: Any) -> None:
    mock.get(f"{URL}/jobs/{JOB}", json=finished_job())
    result = {
        "sampling": {
            "counts": json.dumps({"00001": 500, "11110": 500}),
            "divided_counts": {"0": {"01": 500, "10": 500}, "1": {"000": 500, "111": 500}},
        }
    }
    mock.get(f"{S3}{JOB}/result.zip", content=zipped("result.json", result))
    layouts = [CircuitLayout("a", 2, 2, (("c", 2),)), CircuitLayout("b", 3, 3, (("c", 3),))]
    first, second = adapter.results(JOB, layouts, {"shots": 1000})
    assert first.counts == {"01": 500, "10": 500} and second.counts == {"000": 500, "111": 500}
    (single,) = adapter.results(JOB, layouts[:1], {})
    assert single.counts == {"00001": 500, "11110": 500}


def test_succeeded_status_answer_is_reused_for_results(
    adapter: OqtopusAdapter, mock: Any
) -> None:
    job = mock.get(f"{URL}/jobs/{JOB}", json=finished_job())
    result = {"sampling": {"counts": {"01": 3, "10": 1}}}
    archive = mock.get(f"{S3}{JOB}/result.zip", content=zipped("result.json", result))
    assert adapter.status(JOB).status is JobStatus.DONE
    (outcome,) = adapter.results(JOB, [CircuitLayout("a", 2, 2, (("c", 2),))], {})
    assert outcome.counts == {"01": 3, "10": 1}
    assert job.call_count == 1 and archive.call_count == 1


def test_failed_status_carries_the_reason(adapter: OqtopusAdapter, mock: Any) -> None:
    mock.get(f"{URL}/jobs/{JOB}", json={"job_id": JOB, "status": "failed",
                                        "job_info": {"message": "invalid qubit size"}})
    status = adapter.status(JOB)
    assert status.status is JobStatus.ERROR and status.message == "invalid qubit size"


@pytest.mark.parametrize(
    "result",
    [
        {"sampling": None, "estimation": None},
        {"sampling": {"counts": {"01": "many"}}},
        {"sampling": {"divided_counts": None}},
        "not json",
    ],
)
def test_results_malformed(adapter: OqtopusAdapter, mock: Any, result: Any) -> None:
    mock.get(f"{URL}/jobs/{JOB}", json=finished_job())
    mock.get(f"{S3}{JOB}/result.zip", content=zipped("result.json", result))
    with pytest.raises(MalformedResponseError):
        adapter.results(JOB, [CircuitLayout("a", 2, 2, (("c", 2),))], {})


def test_results_without_result_url(adapter: OqtopusAdapter, mock: Any) -> None:
    job = finished_job()
    del job["job_info"]["result"]
    mock.get(f"{URL}/jobs/{JOB}", json=job)
    with pytest.raises(MalformedResponseError, match=r"job_info\.result"):
        adapter.results(JOB, [CircuitLayout("a", 2, 2, (("c", 2),))], {})


def test_cancel_and_failure_message(adapter: OqtopusAdapter, mock: Any) -> None:
    cancel = mock.post(f"{URL}/jobs/{JOB}/cancel", json={"message": "cancel request accepted"})
    adapter.cancel(JOB)
    assert cancel.last_request.headers["q-api-token"] == TOKEN
    mock.post(f"{URL}/jobs/{JOB}/cancel", status_code=400, json={"message": "not in valid status"})
    adapter.cancel(JOB)  # too late: not an error
    mock.post(
        f"{URL}/jobs/{JOB}/cancel",
        status_code=404,
        json={"message": "job not found with the given id"},
    )
    with pytest.raises(VendorAPIError):
        adapter.cancel(JOB)
    failed = {
        "job_id": JOB,
        "status": "failed",
        "job_info": {"input": "x", "message": "failed to combine programs"},
    }
    mock.get(f"{URL}/jobs/{JOB}", json=failed)
    assert adapter.failure_message(JOB) == "failed to combine programs"


# -- estimation ----------------------------------------------------------------------------


def test_pauli_terms() -> None:
    op = SparsePauliOp(["ZIX", "III", "IYY"], [1.0, -0.5, 2 + 0j])
    assert pauli_terms(op) == [
        {"pauli": "X0 Z2", "coeff": 1.0},
        {"pauli": "I", "coeff": -0.5},
        {"pauli": "Y0 Y1", "coeff": 2.0},
    ]
    with pytest.raises(CircuitValidationError, match="not real"):
        pauli_terms(SparsePauliOp(["Z"], [1j]))
    with pytest.raises(CircuitValidationError, match="pauli"):
        pauli_terms([{"coeff": 1.0}])


def test_estimate_payload_and_result(adapter: OqtopusAdapter, mock: Any) -> None:
    mock_devices(mock, [SIMULATOR])
    (qulacs,) = adapter.list_devices()
    mock.post(
        f"{URL}/jobs", json={"job_id": JOB, "presigned_url": {"url": S3, "fields": {"key": "k"}}}
    )
    upload = mock.post(S3, status_code=204)
    submit = mock.post(f"{URL}/jobs/{JOB}/submit", json={"message": "job submitted"})
    bell = QuantumCircuit(2, 2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    assert adapter.estimate(qulacs, bell, SparsePauliOp("ZZ"), 500) == JOB
    assert submit.last_request.json()["job_type"] == "estimation"
    assert submit.last_request.json()["transpiler_info"] == {}
    body = upload.last_request.body
    archive = zipfile.ZipFile(io.BytesIO(body[body.index(b"PK\x03\x04") : body.rindex(b"\r\n--")]))
    sent = json.loads(archive.read("input.json"))
    assert (
        sent["operator"] == [{"pauli": "Z0 Z1", "coeff": 1.0}]
        and "measure" not in sent["program"][0]
    )
    with pytest.raises(CircuitValidationError):
        adapter.estimate(qulacs, bell, SparsePauliOp("ZZ"), 0)
    job = finished_job()
    job["job_type"] = "estimation"
    mock.get(f"{URL}/jobs/{JOB}", json=job)
    result = {"sampling": None, "estimation": {"exp_value": 0.998, "stds": 0.0021}}
    mock.get(f"{S3}{JOB}/result.zip", content=zipped("result.json", result))
    assert adapter.estimation_result(JOB) == (0.998, 0.0021)
    mock.get(
        f"{S3}{JOB}/result.zip", content=zipped("result.json", {"estimation": {"exp_value": 1}})
    )
    with pytest.raises(MalformedResponseError, match="stds"):
        adapter.estimation_result(JOB)


def test_sweep_payload_equals_the_bound_one_and_is_sent(
    adapter: OqtopusAdapter, mock: Any
) -> None:
    mock_devices(mock, [device(), SIMULATOR])
    _, qulacs = adapter.list_devices()
    sweep = parametrized_sweep(["rz", "sx", "x", "cx"], points=3)
    STATS.clear()
    payload = adapter.build_payload(qulacs, SweepCircuits([sweep]), {"shots": 10})
    assert STATS["rendered"] == len(sweep) and STATS["bound"] == 0
    bound = bound_points(sweep)
    assert payload == adapter.build_payload(qulacs, bound, {"shots": 10})
    assert payload["input"]["program"] == [to_program(c) for c in bound]
    fields = {"key": f"{JOB}/input.zip"}
    mock.post(f"{URL}/jobs", json={"job_id": JOB, "presigned_url": {"url": S3, "fields": fields}})
    mock.post(S3, status_code=204)
    mock.post(f"{URL}/jobs/{JOB}/submit", json={"message": "job submitted"})
    mock.reset_mock()
    assert adapter.submit(qulacs, payload, {"shots": 10}) == JOB
    upload = mock.request_history[1].body
    archive_bytes = upload[upload.index(b"PK\x03\x04") : upload.rindex(b"\r\n--")]
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as archive:
        assert json.loads(archive.read("input.json"))["program"] == [to_program(c) for c in bound]
