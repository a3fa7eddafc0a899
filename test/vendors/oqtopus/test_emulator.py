"""End to end over real HTTP: our OQTOPUS adapter and backend against the OQTOPUS emulator."""

from __future__ import annotations

import gc
import io
import sys
import warnings
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.exceptions import QiskitError
from qiskit.primitives import BackendSamplerV2
from qiskit.providers import JobStatus
from qiskit.quantum_info import SparsePauliOp

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.config import Secret
from qiskit_multicloud.emulators.jobs import ManualClock
from qiskit_multicloud.exceptions import (
    AuthenticationError,
    CircuitValidationError,
    JobFailedError,
    MultiCloudError,
    VendorAPIError,
)
from qiskit_multicloud.vendors.oqtopus.adapter import OqtopusAdapter
from test.conftest import FAST

pytestmark = pytest.mark.emulator


def provider_for(handle: Any) -> MultiCloudProvider:
    return MultiCloudProvider(
        credentials={"oqtopus": handle.settings()}, vendors=["oqtopus"], job_store=False
    )


@pytest.fixture(scope="module")
def emu() -> Any:
    from qiskit_multicloud.emulators import start

    handle = start("oqtopus", seed=5, noise=False)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def provider(emu: Any) -> MultiCloudProvider:
    return provider_for(emu)


@pytest.fixture(scope="module")
def anemone(provider: MultiCloudProvider) -> Any:
    return provider.get_backend("anem")  # unique prefix


@pytest.fixture(scope="module")
def qulacs(provider: MultiCloudProvider) -> Any:
    return provider.get_backend("qulacs")


def run(backend: Any, circuits: Any, **options: Any) -> Any:
    return backend.run(transpile(circuits, backend, seed_transpiler=3), **FAST, **options)


def test_discovery_and_target(provider: MultiCloudProvider) -> None:
    names = [b.name for b in provider.backends()]
    assert names == ["qulacs", "anemone", "kawasaki150"]
    anemone = provider.get_backend("anemone")
    target = anemone.target
    assert target.num_qubits == 16
    assert set(target.operation_names) == {
        "sx", "rz", "x", "id", "cx", "measure", "reset", "delay"
    }
    cx_pairs = set(target["cx"])
    assert len(cx_pairs) == 24  # one calibrated direction per 4x4 grid edge
    assert not any((b, a) in cx_pairs for a, b in cx_pairs)
    props = target["cx"][next(iter(cx_pairs))]
    assert props is not None and 0 < props.error < 0.05 and props.duration == pytest.approx(250e-9)
    assert target["sx"][(0,)].duration == pytest.approx(32e-9)
    assert target["rz"][(0,)].error == 0.0
    assert 0.01 <= target["measure"][(3,)].error <= 0.04
    t1 = target.qubit_properties[0].t1
    assert 40e-6 <= t1 <= 120e-6
    assert anemone.online and anemone.queue_length == 0 and not anemone.device.simulator
    qulacs = provider.get_backend("qulacs")
    assert qulacs.device.simulator and qulacs.num_qubits == 16
    assert qulacs.target.instruction_supported("cx", (3, 11))
    big = provider.get_backend("kawasaki150")
    assert big.num_qubits == 150 and len(big.target["cx"]) == 9 * 15 + 10 * 14


@pytest.fixture
def resource_warnings_are_errors() -> Iterator[list[Any]]:
    """ResourceWarning raised as an error; errors in finalizers are collected, not lost."""
    gc.collect()  # what earlier tests left behind is not this test's business
    unraisable: list[Any] = []
    previous = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            yield unraisable
            gc.collect()
    finally:
        sys.unraisablehook = previous


def spooled_file_leaks(unraisable: list[Any]) -> list[str]:
    """Messages of unclosed upload files among collected finalizer errors."""
    messages = [str(u.exc_value) for u in unraisable]
    return [m for m in messages if "SpooledTemporaryFile" in m]


def test_uploads_close_their_temporary_files(resource_warnings_are_errors: list[Any]) -> None:
    """Form parsing spools each uploaded file; the emulator closes it after the request."""
    from werkzeug.test import Client

    from qiskit_multicloud.vendors.oqtopus.emulator import OqtopusEmulator

    client = Client(OqtopusEmulator())
    for index in range(3):
        upload = (io.BytesIO(b"PK" * 100), "input.zip")
        answer = client.post("/_storage/", data={"key": f"k{index}", "file": upload})
        assert answer.status_code == 204
    gc.collect()
    assert spooled_file_leaks(resource_warnings_are_errors) == []


def test_runs_leak_no_temporary_files(
    anemone: Any, resource_warnings_are_errors: list[Any]
) -> None:
    qc = QuantumCircuit(1, 1)
    qc.x(0)
    qc.measure(0, 0)
    assert run(anemone, [qc, qc], shots=10).result().get_counts(1) == {"1": 10}
    gc.collect()
    assert spooled_file_leaks(resource_warnings_are_errors) == []


def test_bell_counts(anemone: Any) -> None:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    counts = run(anemone, qc, shots=400).result().get_counts()
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 400 and len(counts) == 2


@pytest.mark.parametrize("name", ["anemone", "qulacs"])
def test_x_on_qubit_zero_only(provider: MultiCloudProvider, name: str) -> None:
    qc = QuantumCircuit(3, 3)
    qc.x(0)
    qc.measure([0, 1, 2], [0, 1, 2])
    counts = run(provider.get_backend(name), qc, shots=64).result().get_counts()
    assert counts == {"001": 64}


def test_two_registers_of_different_sizes(anemone: Any) -> None:
    a, b = ClassicalRegister(1, "a"), ClassicalRegister(2, "b")
    qc = QuantumCircuit(QuantumRegister(3, "q"), a, b)
    qc.x(0)
    qc.x(2)
    qc.measure(0, a[0])
    qc.measure(1, b[0])
    qc.measure(2, b[1])
    counts = run(anemone, qc, shots=50).result().get_counts()
    assert counts == {"10 1": 50}


def test_multiple_circuits_one_oqtopus_job_each_in_order(emu: Any, anemone: Any) -> None:
    circuits = []
    for k in range(3):
        qc = QuantumCircuit(2, 2, name=f"c{k}")
        if k & 1:
            qc.x(0)
        if k & 2:
            qc.x(1)
        qc.measure([0, 1], [0, 1])
        circuits.append(qc)
    job = run(anemone, circuits, shots=20)
    assert len(job.chunk_refs) == 3 and job.job_id() == ";".join(job.chunk_refs)
    result = job.result()
    assert [result.get_counts(i) for i in range(3)] == [{"00": 20}, {"01": 20}, {"10": 20}]
    assert [r.header["name"] for r in result.results] == ["c0", "c1", "c2"]
    assert all(emu.app.records[ref]["job_type"] == "sampling" for ref in job.chunk_refs)


def test_memory_is_synthesised_from_counts(anemone: Any) -> None:
    qc = QuantumCircuit(2, 2)
    qc.x(1)
    qc.measure([0, 1], [0, 1])
    result = run(anemone, qc, shots=10, memory=True).result()
    assert result.get_memory() == ["10"] * 10
    assert result.results[0].metadata.get("memory_synthesised") is True
    with pytest.raises(QiskitError):
        run(anemone, qc, shots=5).result().get_memory()


def test_submission_payload_keeps_the_layout(emu: Any, anemone: Any) -> None:
    qc = QuantumCircuit(1, 1)
    qc.x(0)
    qc.measure(0, 0)
    job = anemone.run(transpile(qc, anemone, initial_layout=[7]), **FAST, shots=5)
    record = emu.app.records[job.job_id()]
    assert record["transpiler_info"] == {"transpiler_lib": None}
    program = record["input"]["program"][0]
    assert "qubit[16] q;" in program and "x q[7];" in program and "c[0] = measure q[7];" in program
    assert job.result().get_counts() == {"1": 5}
    assert "virtual_physical_mapping" not in job.result().results[0].metadata


def test_server_transpile_option_and_metadata(anemone: Any) -> None:
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    options = {"transpiler_info": {}, "job_name": "named", "description": "about"}
    result = run(anemone, qc, shots=5, **options).result()
    meta = result.results[0].metadata
    assert meta["transpiler_info"]["transpiler_lib"] == "qiskit"
    assert meta["virtual_physical_mapping"]["qubit_mapping"]["0"] == 0


def test_cancel_queued_job(emulator_factory: Any) -> None:
    clock = ManualClock()
    handle = emulator_factory("oqtopus", queue_delay=30.0, clock=clock)
    backend = provider_for(handle).get_backend("qulacs")
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    job = backend.run(qc, shots=10, **FAST)
    assert job.status() is JobStatus.QUEUED
    assert backend.queue_length == 0  # the listing was taken before the submit
    job.cancel()
    assert job.status() is JobStatus.CANCELLED
    assert job.vendor_status[0] is not None and job.vendor_status[0].raw == "cancelled"
    with pytest.raises(JobFailedError, match="cancelled"):
        job.result(timeout=1)
    clock.advance(60)
    assert job.status() is JobStatus.CANCELLED


def test_cancel_finished_job_is_noop(qulacs: Any) -> None:
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    job = run(qulacs, qc, shots=3)
    job.result()
    assert job.cancel() is False
    job.backend().adapter.cancel(job.job_id())  # 400 from the server is swallowed


def test_failed_job_reports_reason(emu: Any, qulacs: Any) -> None:
    adapter: OqtopusAdapter = qulacs.adapter
    bad = {
        "input": {"program": ["OPENQASM 3; this is not qasm"]},
        "submit": {
            "device_id": "qulacs",
            "job_type": "sampling",
            "shots": 5,
            "transpiler_info": {},
        },
    }
    ref = adapter.submit(qulacs.device, bad, {"shots": 5})
    assert adapter.status(ref).status is JobStatus.ERROR
    message = adapter.failure_message(ref)
    assert message is not None and "parse" in message


def test_unknown_job_is_404(qulacs: Any) -> None:
    with pytest.raises(VendorAPIError) as info:
        qulacs.adapter.status("0196a8f2-3c41-7d0e-9b7a-000000000000")
    assert info.value.status == 404 and "job not found" in str(info.value)


def test_error_body_shapes(emu: Any) -> None:
    headers = {"q-api-token": emu.token}
    r = requests.get(f"{emu.url}/jobs/nope", headers=headers, timeout=5)
    assert r.status_code == 404 and r.json() == {"message": "job not found with the given id"}
    r = requests.get(f"{emu.url}/no/such/route", headers=headers, timeout=5)
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = requests.get(f"{emu.url}/devices/ghost", headers=headers, timeout=5)
    assert r.json() == {"message": "device_id=ghost is not found."}
    r = requests.get(f"{emu.url}/devices", timeout=5)
    assert r.status_code == 401 and r.json() == {"message": "Unauthorized"}
    r = requests.get(
        f"{emu.url}/devices", headers={"Authorization": f"Bearer {emu.token}"}, timeout=5
    )
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")


def test_registered_job_submit_rules(emu: Any) -> None:
    headers = {"q-api-token": emu.token}
    reg = requests.post(f"{emu.url}/jobs", headers=headers, timeout=5).json()
    job_id = reg["job_id"]
    assert reg["presigned_url"]["fields"]["key"] == f"{job_id}/input.zip"
    assert reg["presigned_url"]["url"].startswith(emu.url)
    r = requests.get(f"{emu.url}/jobs/{job_id}", headers=headers, timeout=5)
    assert r.json() == {"job_id": job_id, "status": "registered"}
    body = {"device_id": "qulacs", "job_type": "sampling", "shots": 10}
    r = requests.post(
        f"{emu.url}/jobs/{job_id}/submit", json={**body, "shots": 0}, headers=headers, timeout=5
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "shots"]
    r = requests.post(f"{emu.url}/jobs/{job_id}/submit", json=body, headers=headers, timeout=5)
    assert r.status_code == 400 and "input for" in r.json()["message"]
    r = requests.post(
        f"{emu.url}/jobs/{job_id}/submit",
        json={**body, "device_id": "x"},
        headers=headers,
        timeout=5,
    )
    assert r.status_code == 400 and r.json() == {"message": "device not found"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "input.json",
            '{"program": ["OPENQASM 3;\\nqubit[1] q;\\nbit[1] c;\\nc[0] = measure q[0];"]}',
        )
    upload = requests.post(
        reg["presigned_url"]["url"],
        data=reg["presigned_url"]["fields"],
        files={"file": ("input.zip", buffer.getvalue(), "application/zip")},
        timeout=5,
    )
    assert upload.status_code == 204
    r = requests.post(f"{emu.url}/jobs/{job_id}/submit", json=body, headers=headers, timeout=5)
    assert r.json() == {"message": "job submitted"}
    r = requests.post(f"{emu.url}/jobs/{job_id}/submit", json=body, headers=headers, timeout=5)
    assert r.status_code == 400 and "not in valid status for submission" in r.json()["message"]
    job = requests.get(f"{emu.url}/jobs/{job_id}", headers=headers, timeout=5).json()
    assert job["name"] == "" and job["transpiler_info"]["transpiler_lib"] == "qiskit"
    assert None not in job.values()
    listed = requests.get(
        f"{emu.url}/jobs",
        params={"fields": "job_id,status", "size": 1000},
        headers=headers,
        timeout=5,
    ).json()
    assert {"job_id": job_id, "status": "succeeded"} in listed
    r = requests.delete(f"{emu.url}/jobs/{job_id}", headers=headers, timeout=5)
    assert r.json() == {"message": "job deleted"}
    assert requests.get(f"{emu.url}/jobs/{job_id}", headers=headers, timeout=5).status_code == 404


def test_unavailable_device_refuses_submission(emulator_factory: Any) -> None:
    handle = emulator_factory("oqtopus", options={"unavailable": ["anemone"]})
    backend = provider_for(handle).get_backend("anemone")
    assert backend.online is False
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    with pytest.raises(VendorAPIError, match="not available"):
        backend.run(qc, shots=5, allow_offline=True, **FAST)
    statuses = {r["status"] for r in handle.app.records.values()}
    assert statuses == {"cancelled"}  # the refused registration was tidied up


def test_bad_token(emu: Any) -> None:
    settings = emu.settings().replace(api_token=Secret("wrong-token"))
    provider = MultiCloudProvider(
        credentials={"oqtopus": settings}, vendors=["oqtopus"], job_store=False
    )
    with pytest.raises(AuthenticationError):
        provider.get_backend("qulacs")


@pytest.mark.parametrize("case", ["too_wide", "bad_gate", "uncoupled", "no_measure", "shots"])
def test_validation_before_http(emu: Any, anemone: Any, case: str) -> None:
    qc = QuantumCircuit(2, 2)
    qc.measure([0, 1], [0, 1])
    options: dict[str, Any] = {"shots": 10}
    if case == "too_wide":
        qc = QuantumCircuit(17, 1)
        qc.measure(0, 0)
    elif case == "bad_gate":
        qc = QuantumCircuit(1, 1)
        qc.h(0)
        qc.measure(0, 0)
    elif case == "uncoupled":
        qc = QuantumCircuit(16, 1)
        qc.cx(0, 15)
        qc.measure(0, 0)
    elif case == "no_measure":
        qc = QuantumCircuit(1)
        qc.x(0)
    else:
        options["shots"] = 10_000_001
    before = emu.stats.total
    with pytest.raises(CircuitValidationError):
        anemone.run(qc, **options, **FAST)
    assert emu.stats.total == before


def test_sampler_v2(qulacs: Any) -> None:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    sampler = BackendSamplerV2(backend=qulacs, options={"run_options": FAST})
    result = sampler.run([transpile(qc, qulacs)], shots=200).result()
    counts = result[0].data.meas.get_counts()
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 200


def test_native_estimation(emu: Any, qulacs: Any) -> None:
    adapter: OqtopusAdapter = qulacs.adapter
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    ref = adapter.estimate(
        qulacs.device, bell, SparsePauliOp(["ZZ", "XX", "IZ"], [1.0, 0.5, 2.0]), 1000
    )
    assert emu.app.records[ref]["job_type"] == "estimation"
    assert adapter.status(ref).status is JobStatus.DONE
    value, stds = adapter.estimation_result(ref)
    assert value == pytest.approx(1.5, abs=0.2)  # <ZZ>=1, <XX>=1, <IZ>=0 (noise ~ stds)
    assert stds == pytest.approx(2.0 / 1000**0.5)
    plus = QuantumCircuit(1)
    plus.h(0)
    ref = adapter.estimate(qulacs.device, plus, [{"pauli": "Z0", "coeff": 1.0}], 400)
    _, stds = adapter.estimation_result(ref)
    assert stds == pytest.approx(1 / 20)


def test_estimation_result_of_unfinished_and_failed_jobs(emulator_factory: Any) -> None:
    clock = ManualClock()
    handle = emulator_factory("oqtopus", queue_delay=10.0, clock=clock)
    backend = provider_for(handle).get_backend("qulacs")
    qc = QuantumCircuit(1)
    ref = backend.adapter.estimate(backend.device, qc, [{"pauli": "Z0", "coeff": 1.0}], 10)
    with pytest.raises(MultiCloudError, match="still submitted"):
        backend.adapter.estimation_result(ref)
    bad = backend.adapter.estimate(backend.device, qc, [{"pauli": "Z3", "coeff": 1.0}], 10)
    clock.advance(20)
    assert backend.adapter.estimation_result(ref) == (1.0, 0.0)
    with pytest.raises(JobFailedError, match="invalid operator"):
        backend.adapter.estimation_result(bad)


def test_timestamps_are_monotone(qulacs: Any) -> None:
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    job = run(qulacs, qc, shots=2)
    job.result()
    data = qulacs.adapter.job(job.job_id())
    assert data["submitted_at"] <= data["running_at"] <= data["ended_at"]
    assert data["submitted_at"].endswith("Z") and data["execution_time"] >= 0


def test_native_estimation_of_an_isa_circuit_on_150_qubits(
    emu: Any, provider: MultiCloudProvider
) -> None:
    big = provider.get_backend("kawasaki150")
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    isa = transpile(bell, big, initial_layout=[40, 41], seed_transpiler=1)
    observable = SparsePauliOp("ZZ").apply_layout(isa.layout)
    ref = big.adapter.estimate(big.device, isa, observable, 100)
    record = emu.app.records[ref]
    assert record["transpiler_info"] == {"transpiler_lib": None}
    assert big.adapter.estimation_result(ref) == (pytest.approx(1.0), 0.0)
