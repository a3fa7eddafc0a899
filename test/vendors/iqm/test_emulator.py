"""End-to-end tests of the IQM adapter against the IQM emulator over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.primitives import BackendSamplerV2
from qiskit.providers import JobStatus

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.config import Secret
from qiskit_multicloud.emulators import start
from qiskit_multicloud.emulators.jobs import ManualClock
from qiskit_multicloud.exceptions import (
    AuthenticationError,
    CircuitValidationError,
    JobFailedError,
    VendorAPIError,
)
from test.conftest import FAST

pytestmark = pytest.mark.emulator


def provider_for(handle: Any, **changes: Any) -> MultiCloudProvider:
    settings = handle.settings().replace(**changes) if changes else handle.settings()
    return MultiCloudProvider(credentials={"iqm": settings}, vendors=["iqm"], job_store=False)


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    """One emulator shared by the module (stopping a server costs ~0.5 s)."""
    handle = start("iqm", seed=5, noise=False, options={"devices": ["emerald-20", "sirius-6"]})
    yield handle
    handle.stop()


@pytest.fixture
def backend(emu: Any) -> Any:
    return provider_for(emu).get_backend("emerald")


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


def test_discovery_and_target(emu: Any) -> None:
    provider = provider_for(emu)
    names = sorted(b.name for b in provider.backends())
    assert names == ["emerald-20", "sirius-6"]
    backend = provider.get_backend("emerald")
    target = backend.target
    assert target.num_qubits == 20
    assert {"r", "cz", "measure", "id", "delay", "reset"} <= set(target.operation_names)
    assert target.instruction_supported("cz", (0, 1))
    assert target.instruction_supported("cz", (1, 0))
    assert not target.instruction_supported("cz", (0, 2))
    props = target["r"][(0,)]
    assert props is not None and props.error is not None and 0 < props.error < 0.01
    assert props.duration == pytest.approx(32e-9)
    assert target["cz"][(0, 1)].error is not None
    assert target.qubit_properties[0].t1 is not None
    assert backend.device.calibration_id is not None


def test_calibration_reads_overlap_on_the_server(emulator_factory: Any) -> None:
    """The Target's DQA, calibration set and metrics reads are in flight together: each
    server handler waits until all three have arrived (a sequential client would break
    the barrier and get 500s)."""
    handle = emulator_factory("iqm", options={"devices": ["emerald-20"]})
    barrier = threading.Barrier(3, timeout=10)
    app = handle.app
    for name in ("get_dqa", "get_calibration_set", "get_metrics"):
        original = getattr(app, name)

        def waiting(request: Any, *, _original: Any = original, **args: Any) -> Any:
            barrier.wait()
            return _original(request, **args)

        setattr(app, name, waiting)
    backend = provider_for(handle).get_backend("emerald")
    target = backend.target
    assert target["cz"][(0, 1)].error is not None and target["r"][(0,)].duration
    routes = handle.stats.snapshot()["by_route"]
    assert {k: v for k, v in routes.items() if "calibration" in k or "dqa" in k or "metrics"
            in k} == {"GET get_dqa": 1, "GET get_calibration_set": 1, "GET get_metrics": 1}


def test_configured_quantum_computer_is_read_with_the_qc_list(emulator_factory: Any) -> None:
    """With ``quantum_computer`` set, the QC list and that QC's three calibration documents
    are in flight together (a 4-way barrier on the server), the backend comes back complete,
    and its Target equals the one built the usual way."""
    handle = emulator_factory("iqm", options={"devices": ["emerald-20", "sirius-6"]})
    usual = provider_for(handle).get_backend("emerald").target
    barrier = threading.Barrier(4, timeout=10)
    app = handle.app
    for name in ("list_qcs", "get_dqa", "get_calibration_set", "get_metrics"):
        original = getattr(app, name)

        def waiting(request: Any, *, _original: Any = original, **args: Any) -> Any:
            barrier.wait()
            return _original(request, **args)

        setattr(app, name, waiting)
    before = handle.stats.snapshot()["total"]
    backend = provider_for(handle, quantum_computer="emerald-20").get_backend("emerald")
    assert handle.stats.snapshot()["total"] - before == 4
    target = backend.target
    assert handle.stats.snapshot()["total"] - before == 4  # nothing more for the Target
    assert sorted(target.operation_names) == sorted(usual.operation_names)
    for gate in ("cz", "r", "measure"):
        assert {q: (p.duration, p.error) for q, p in target[gate].items()} == {
            q: (p.duration, p.error) for q, p in usual[gate].items()
        }


def test_bell_counts(backend: Any) -> None:
    counts = backend.run(transpile(bell(), backend, seed_transpiler=3), shots=400, **FAST)
    result = counts.result().get_counts()
    assert set(result) == {"00", "11"}
    assert sum(result.values()) == 400


def test_x_on_qubit_zero_only(backend: Any) -> None:
    qc = QuantumCircuit(3, 3)
    qc.x(0)
    qc.measure([0, 1, 2], [0, 1, 2])
    result = backend.run(transpile(qc, backend, seed_transpiler=1), shots=64, **FAST).result()
    assert result.get_counts() == {"001": 64}


def test_two_registers_of_different_sizes(backend: Any) -> None:
    q = QuantumRegister(3, "q")
    a = ClassicalRegister(1, "a")
    b = ClassicalRegister(2, "b")
    qc = QuantumCircuit(q, a, b)
    qc.x(0)
    qc.x(2)
    qc.measure(q[0], a[0])
    qc.measure(q[1], b[0])
    qc.measure(q[2], b[1])
    result = backend.run(transpile(qc, backend), shots=32, memory=True, **FAST).result()
    assert result.get_counts() == {"10 1": 32}
    assert result.get_memory() == ["10 1"] * 32


def test_multiple_circuits_in_order(backend: Any) -> None:
    circuits = []
    for pattern in ("01", "10", "11"):
        qc = QuantumCircuit(2, 2, name=f"p{pattern}")
        for bit, char in enumerate(reversed(pattern)):
            if char == "1":
                qc.x(bit)
        qc.measure([0, 1], [0, 1])
        circuits.append(transpile(qc, backend))
    result = backend.run(circuits, shots=20, **FAST).result()
    assert [result.get_counts(i) for i in range(3)] == [{"01": 20}, {"10": 20}, {"11": 20}]


def test_memory_is_per_shot(backend: Any) -> None:
    result = backend.run(transpile(bell(), backend), shots=50, memory=True, **FAST).result()
    memory = result.get_memory()
    assert len(memory) == 50 and set(memory) <= {"00", "11"}
    assert not result.results[0].metadata.get("memory_synthesised")


def test_histogram_artifact_matches_per_shot_artifact(emu: Any, backend: Any) -> None:
    """measurement_counts is the histogram of measurements (keys in order, locus bits)."""
    q = QuantumRegister(3, "q")
    a, b = ClassicalRegister(1, "a"), ClassicalRegister(2, "b")
    ghz = QuantumCircuit(q, a, b, name="ghz")
    ghz.h(0)
    ghz.cx(0, 1)
    ghz.cx(1, 2)
    ghz.x(2)
    ghz.measure(q[0], a[0])
    ghz.measure(q[1], b[0])
    ghz.measure(q[2], b[1])
    job = backend.run(transpile([ghz, bell()], backend, seed_transpiler=1), shots=64, **FAST)
    job.result()
    headers = {"Authorization": f"Bearer {emu.token}"}
    base = f"{emu.url}/api/v1/jobs/{job.chunk_refs[0]}/artifacts"
    per_shot = requests.get(f"{base}/measurements", headers=headers, timeout=5).json()
    histograms = requests.get(f"{base}/measurement_counts", headers=headers, timeout=5).json()
    assert len(per_shot) == len(histograms) == 2
    for shots_by_key, histogram in zip(per_shot, histograms, strict=True):
        keys = list(shots_by_key)
        expected: dict[str, int] = {}
        for shot in range(64):
            bits = "".join(str(bit) for key in keys for bit in shots_by_key[key][shot])
            expected[bits] = expected.get(bits, 0) + 1
        assert histogram == {"measurement_keys": keys, "counts": expected}
        assert sum(histogram["counts"].values()) == 64
        assert len(keys) > 1


def test_star_device_cz_through_resonator(emu: Any) -> None:
    backend = provider_for(emu).get_backend("sirius")
    assert backend.target.num_qubits == 6
    assert backend.target.instruction_supported("cz", (0, 5))
    tq = transpile(bell(), backend, seed_transpiler=2)
    payload = backend.build_payload(tq, shots=10)
    names = [i["name"] for i in payload["circuits"][0]["instructions"]]
    assert names.count("move") == 2 and "cz" in names
    result = backend.run(tq, shots=200, **FAST).result().get_counts()
    assert set(result) == {"00", "11"}


def test_mid_circuit_measure_same_clbit_twice(backend: Any) -> None:
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    qc.x(0)
    qc.measure(0, 0)
    result = backend.run(transpile(qc, backend), shots=10, **FAST).result()
    assert result.get_counts() == {"1": 10}


def test_reset(backend: Any) -> None:
    qc = QuantumCircuit(1, 1)
    qc.x(0)
    qc.reset(0)
    qc.measure(0, 0)
    result = backend.run(transpile(qc, backend), shots=10, **FAST).result()
    assert result.get_counts() == {"0": 10}


def test_calibration_set_is_pinned(emu: Any, backend: Any) -> None:
    job = backend.run(transpile(bell(), backend), shots=5, **FAST)
    job.result()
    stored = emu.jobs.get(job.chunk_refs[0]).meta["payload"]
    assert stored["calibration_set_id"] == backend.device.calibration_id
    assert stored["shots"] == 5


def test_cancel_queued_job(emulator_factory: Any) -> None:
    clock = ManualClock()
    emu = emulator_factory("iqm", queue_delay=30, clock=clock, options={"devices": ["emerald-20"]})
    backend = provider_for(emu).get_backend("emerald-20")
    job = backend.run(transpile(bell(), backend), shots=10, **FAST)
    assert job.status() is JobStatus.QUEUED
    assert job.queue_position == 1
    assert job.cancel()
    assert job.status() is JobStatus.CANCELLED
    clock.advance(60)
    assert job.status() is JobStatus.CANCELLED
    with pytest.raises(JobFailedError):
        job.result()


def test_failed_job_reports_reason(emu: Any, backend: Any) -> None:
    job = backend.run(
        transpile(bell(), backend), shots=5, max_circuit_duration_over_t2=1e-6, **FAST
    )
    with pytest.raises(JobFailedError, match="shortest T2"):
        job.result()


def test_unknown_job_is_404(backend: Any) -> None:
    with pytest.raises(VendorAPIError) as info:
        backend.adapter.status("7d8e1c1a-3f4b-4c55-9a3e-0c2b9d6f1e21")
    assert info.value.status == 404
    assert "not found" in str(info.value)


def test_error_body_shape(emu: Any) -> None:
    response = requests.get(
        f"{emu.url}/api/v1/jobs/7d8e1c1a-3f4b-4c55-9a3e-0c2b9d6f1e21",
        headers={"Authorization": f"Bearer {emu.token}"},
        timeout=5,
    )
    assert response.status_code == 404
    body = response.json()
    assert body["message"] and body["error_code"] == "job_not_found"
    assert body["source"] == "iqm-server"


def test_bad_token(emu: Any) -> None:
    provider = provider_for(emu, token=Secret("wrong"))
    with pytest.raises(AuthenticationError):
        provider.get_backend("emerald")


@pytest.mark.parametrize(
    "case",
    ["too_wide", "not_in_target", "no_measure", "shots_high", "shots_zero", "bad_cs"],
)
def test_validation_before_http(emu: Any, backend: Any, case: str) -> None:
    qc = transpile(bell(), backend)
    options: dict[str, Any] = {"shots": 10}
    if case == "too_wide":
        qc = QuantumCircuit(21)
        qc.measure_all()
    elif case == "not_in_target":
        qc = QuantumCircuit(2)
        qc.h(0)
        qc.measure_all()
    elif case == "no_measure":
        qc = QuantumCircuit(2)
        qc.r(1.0, 0.0, 0)
    elif case == "shots_high":
        options["shots"] = 10**9
    elif case == "shots_zero":
        options["shots"] = 0
    elif case == "bad_cs":
        options["calibration_set_id"] = "not-a-uuid"
    before = emu.stats.total
    with pytest.raises(CircuitValidationError):
        backend.run(qc, **options)
    assert emu.stats.total == before


def test_emulator_rejects_bad_circuit_with_422(emu: Any, backend: Any) -> None:
    payload = backend.build_payload(transpile(bell(), backend), shots=10)
    payload["circuits"][0]["instructions"][0]["locus"] = ["QB99"]
    response = requests.post(
        f"{emu.url}/api/v1/jobs/emerald-20/circuit",
        json=payload,
        headers={"Authorization": f"Bearer {emu.token}"},
        timeout=5,
    )
    assert response.status_code == 422
    assert "QB99" in response.json()["message"]


def test_sampler_v2(backend: Any) -> None:
    backend.set_options(**FAST)
    sampler = BackendSamplerV2(backend=backend, options={"default_shots": 100})
    result = sampler.run([transpile(bell(), backend)]).result()
    counts = result[0].data.meas.get_counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 100


def test_get_backend_reads_only_the_used_quantum_computer(emu: Any) -> None:
    before = emu.stats.total
    provider = provider_for(emu)
    backend = provider.get_backend("emerald")
    assert emu.stats.total - before == 1  # the QC list only
    assert backend.names == backend.device.names  # completing keeps the names
    assert emu.stats.total - before == 4  # + DQA, calibration set, metrics of emerald only
    assert backend.num_qubits == 20
    _ = backend.target
    assert emu.stats.total - before == 4
    # Filters that need the qubit count complete the devices they look at.
    assert [b.name for b in provider.backends(min_qubits=10)] == ["emerald-20"]
    assert {b.name for b in provider.backends(min_qubits=1)} == {"emerald-20", "sirius-6"}
