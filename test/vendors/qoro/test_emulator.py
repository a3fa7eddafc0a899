"""End-to-end tests: MultiCloudProvider -> Qoro adapter -> real HTTP -> Qoro emulator."""

from __future__ import annotations

from typing import Any

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Parameter
from qiskit.providers import JobStatus
from qiskit.quantum_info import SparsePauliOp

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.config import Secret
from qiskit_multicloud.emulators.jobs import ManualClock
from qiskit_multicloud.exceptions import (
    AuthenticationError,
    CircuitValidationError,
    JobFailedError,
    VendorAPIError,
)
from qiskit_multicloud.vendors.qoro.adapter import QoroAdapter, QoroBackend
from test.conftest import FAST

pytestmark = pytest.mark.emulator

SIM = "qoro_maestro"
QPU = "qoro_emulated_qpu"


def provider_for(handle: Any) -> MultiCloudProvider:
    return MultiCloudProvider(
        credentials={"qoro": handle.settings()}, vendors=["qoro"], job_store=False
    )


@pytest.fixture
def emu(emulator_factory: Any) -> Any:
    return emulator_factory("qoro", seed=5)


@pytest.fixture
def provider(emu: Any) -> MultiCloudProvider:
    return provider_for(emu)


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def adapter_of(backend: Any) -> QoroAdapter:
    assert isinstance(backend.adapter, QoroAdapter)
    return backend.adapter


def test_backends_listed_with_targets(provider: MultiCloudProvider) -> None:
    sim = provider.get_backend(SIM)
    qpu = provider.get_backend("emu_line5")  # alias: the QPU nickname
    assert isinstance(sim, QoroBackend) and isinstance(qpu, QoroBackend)
    assert qpu.name == QPU
    assert provider.get_backend("qoro_emu").name == QPU  # unique prefix
    assert sim.target.num_qubits == 32
    assert {"cx", "ccx", "u3", "measure", "reset"} <= set(sim.target.operation_names)
    assert qpu.target.num_qubits == 5
    assert set(qpu.target.operation_names) == {"rz", "sx", "x", "cx", "measure", "reset"}
    assert qpu.target.instruction_supported("cx", (1, 2))
    assert not qpu.target.instruction_supported("cx", (0, 4))
    props = qpu.target["cx"][(0, 1)]
    assert props is not None and props.error is not None and props.duration == 250e-9
    assert qpu.target.qubit_properties[0].t1 is not None
    assert qpu.target["measure"][(3,)].error is not None


@pytest.mark.parametrize("name", [SIM, QPU])
def test_bell_counts(provider: MultiCloudProvider, name: str) -> None:
    backend = provider.get_backend(name)
    counts = backend.run(transpile(bell(), backend), shots=400, **FAST).result().get_counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 400


@pytest.mark.parametrize("name", [SIM, QPU])
def test_x_on_qubit_zero_is_rightmost(provider: MultiCloudProvider, name: str) -> None:
    backend = provider.get_backend(name)
    qc = QuantumCircuit(3, 3)
    qc.x(0)
    qc.measure([0, 1, 2], [0, 1, 2])
    counts = backend.run(transpile(qc, backend), shots=50, **FAST).result().get_counts()
    assert counts == {"001": 50}


def test_two_registers_of_different_sizes(provider: MultiCloudProvider) -> None:
    backend = provider.get_backend(SIM)
    q = QuantumRegister(3, "q")
    a, b = ClassicalRegister(1, "a"), ClassicalRegister(2, "b")
    qc = QuantumCircuit(q, a, b)
    qc.x(0)
    qc.x(2)
    qc.measure(q[0], a[0])  # a = 1
    qc.measure(q[1], b[0])  # b[0] = 0
    qc.measure(q[2], b[1])  # b[1] = 1 -> b = "10"
    counts = backend.run(transpile(qc, backend), shots=30, **FAST).result().get_counts()
    assert counts == {"10 1": 30}


def test_loose_clbits_keep_their_positions(provider: MultiCloudProvider) -> None:
    from qiskit.circuit import Clbit

    backend = provider.get_backend(SIM)
    qc = QuantumCircuit(QuantumRegister(2, "q"), [Clbit(), Clbit()])
    qc.x(1)
    qc.measure([0, 1], [0, 1])
    counts = backend.run(qc, shots=10, **FAST).result().get_counts()
    assert counts == {"10": 10}


def test_many_circuits_keep_run_order(provider: MultiCloudProvider) -> None:
    """64 circuits: base-62 labels "10", "11" (62, 63) sort before "2" on the wire."""
    backend = provider.get_backend(SIM)
    circuits = []
    for value in range(64):
        qc = QuantumCircuit(6, 6, name=f"c{value}")
        for bit in range(6):
            if value >> bit & 1:
                qc.x(bit)
        qc.measure(range(6), range(6))
        circuits.append(qc)
    result = backend.run(circuits, shots=5, **FAST).result()
    for value in range(64):
        assert result.get_counts(value) == {format(value, "06b"): 5}
        assert result.results[value].header["name"] == f"c{value}"


def test_results_paginate_over_100_circuits(provider: MultiCloudProvider, emu: Any) -> None:
    backend = provider.get_backend(SIM)
    circuits = []
    for value in range(103):
        qc = QuantumCircuit(1, 1)
        if value % 2:
            qc.x(0)
        qc.measure(0, 0)
        circuits.append(qc)
    result = backend.run(circuits, shots=3, **FAST).result()
    assert [result.get_counts(i) for i in (0, 1, 101, 102)] == [
        {"0": 3},
        {"1": 3},
        {"1": 3},
        {"0": 3},
    ]
    assert emu.stats.by_route["GET job_results"] == 2


def test_memory_true_is_synthesised_from_counts(provider: MultiCloudProvider) -> None:
    backend = provider.get_backend(SIM)
    result = backend.run(transpile(bell(), backend), shots=20, memory=True, **FAST).result()
    memory = result.get_memory(0)
    assert len(memory) == 20 and set(memory) <= {"00", "11"}
    assert result.results[0].metadata["memory_synthesised"] is True


def test_cancel_queued_job(emulator_factory: Any) -> None:
    clock = ManualClock()
    emu = emulator_factory("qoro", queue_delay=10.0, clock=clock)
    backend = provider_for(emu).get_backend(SIM)
    job = backend.run(transpile(bell(), backend), shots=10, **FAST)
    assert job.status() is JobStatus.QUEUED
    assert job.vendor_status[0] is not None and job.vendor_status[0].raw == "PENDING"
    clock.advance(6)
    assert job.status() is JobStatus.QUEUED and job.vendor_status[0].raw == "SCHEDULED"
    assert job.cancel()
    assert job.status() is JobStatus.CANCELLED
    with pytest.raises(JobFailedError, match="cancelled"):
        job.result()


def test_every_target_gate_runs_on_the_emulator(provider: MultiCloudProvider) -> None:
    """The Target lists what the service accepts (qelib1.inc); the emulator runs all of it."""
    backend = provider.get_backend(SIM)
    circuits = []
    for name in sorted(set(backend.target.operation_names) - {"measure", "reset", "barrier"}):
        gate = backend.target.operation_from_name(name)
        qc = QuantumCircuit(gate.num_qubits, gate.num_qubits, name=name)
        qc.h(range(gate.num_qubits))
        params = [0.3] * len(gate.params)
        qc.append(type(gate)(*params) if params else gate, range(gate.num_qubits))
        qc.measure(range(gate.num_qubits), range(gate.num_qubits))
        circuits.append(qc)
    assert "ch" in {c.name for c in circuits}
    result = backend.run(circuits, shots=20, **FAST).result()
    assert all(sum(result.get_counts(i).values()) == 20 for i in range(len(circuits)))


def test_ch_gives_controlled_hadamard_statistics(provider: MultiCloudProvider) -> None:
    backend = provider.get_backend(SIM)
    qc = QuantumCircuit(2, 2)
    qc.x(0)
    qc.ch(0, 1)
    qc.measure([0, 1], [0, 1])
    counts = backend.run(qc, shots=400, **FAST).result().get_counts()
    assert set(counts) == {"01", "11"} and min(counts.values()) > 120


def test_failed_job_names_the_services_reason(provider: MultiCloudProvider) -> None:
    backend = provider.get_backend(SIM)  # the Target has 32 qubits, the emulator simulates 28
    qc = QuantumCircuit(30, 30)
    qc.h(range(30))
    qc.measure(range(30), range(30))
    job = backend.run(qc, shots=10, **FAST)
    with pytest.raises(JobFailedError, match=r"FAILED: simulation failed: .*at most 28"):
        job.result()


def test_cancel_finished_job_is_a_no_op(provider: MultiCloudProvider) -> None:
    backend = provider.get_backend(SIM)
    job = backend.run(transpile(bell(), backend), shots=10, **FAST)
    job.result()
    assert adapter_of(backend).cancel(job.job_id()) is False


def test_cancel_other_users_job_is_403(emulator_factory: Any) -> None:
    emu = emulator_factory("qoro", options={"extra_tokens": ["second-key"]})
    backend = provider_for(emu).get_backend(SIM)
    job = backend.run(transpile(bell(), backend), shots=10, **FAST)
    other = MultiCloudProvider(
        credentials={"qoro": emu.settings().replace(api_key=Secret("second-key"))},
        vendors=["qoro"],
        job_store=False,
    ).get_backend(SIM)
    with pytest.raises(VendorAPIError, match="another account") as info:
        adapter_of(other).cancel(job.job_id())
    assert info.value.status == 403


@pytest.mark.parametrize("status", ["FAILED", "INSUFFICIENT_CREDITS", "TIMED_OUT"])
def test_forced_failures(emulator_factory: Any, status: str) -> None:
    emu = emulator_factory("qoro", options={"fail_with": status})
    backend = provider_for(emu).get_backend(SIM)
    job = backend.run(transpile(bell(), backend), shots=10, **FAST)
    with pytest.raises(JobFailedError) as info:
        job.result()
    assert job.status() is JobStatus.ERROR
    assert status in str(info.value) or "FAILED" in str(info.value)
    if status == "INSUFFICIENT_CREDITS":
        assert "insufficient credits" in str(info.value)


def test_unknown_job_is_404(provider: MultiCloudProvider) -> None:
    adapter = adapter_of(provider.get_backend(SIM))
    with pytest.raises(VendorAPIError) as info:
        adapter.status("no-such-job")
    assert info.value.status == 404


def test_delete_job(provider: MultiCloudProvider) -> None:
    backend = provider.get_backend(SIM)
    job = backend.run(transpile(bell(), backend), shots=10, **FAST)
    job.result()
    adapter = adapter_of(backend)
    adapter.delete(job.job_id())
    with pytest.raises(VendorAPIError) as info:
        adapter.status(job.job_id())
    assert info.value.status == 404


def test_bad_token(emu: Any) -> None:
    settings = emu.settings().replace(api_key=Secret("wrong"))
    provider = MultiCloudProvider(credentials={"qoro": settings}, vendors=["qoro"], job_store=False)
    with pytest.raises(AuthenticationError):
        provider.get_backend(SIM)


def _no_requests(emu: Any, backend: Any, circuit: QuantumCircuit, **options: Any) -> None:
    before = emu.stats.total
    with pytest.raises(CircuitValidationError):
        backend.run(circuit, **options)
    assert emu.stats.total == before


def test_validation_before_any_request(provider: MultiCloudProvider, emu: Any) -> None:
    qpu = provider.get_backend(QPU)
    sim = provider.get_backend(SIM)
    wide = QuantumCircuit(6, 6)
    wide.measure(range(6), range(6))
    _no_requests(emu, qpu, wide)
    not_native = QuantumCircuit(2, 2)
    not_native.h(0)
    not_native.measure([0, 1], [0, 1])
    _no_requests(emu, qpu, not_native)
    uncoupled = QuantumCircuit(5, 5)
    uncoupled.cx(0, 4)
    uncoupled.measure(range(5), range(5))
    _no_requests(emu, qpu, uncoupled)
    no_measure = QuantumCircuit(2)
    no_measure.h(0)
    _no_requests(emu, sim, no_measure)
    _no_requests(emu, sim, bell(), shots=0)
    _no_requests(emu, sim, bell(), shots=10**7)


def test_sampler_v2(provider: MultiCloudProvider) -> None:
    from qiskit.primitives import BackendSamplerV2

    backend = provider.get_backend(SIM)
    sampler = BackendSamplerV2(backend=backend, options={"run_options": dict(FAST)})
    result = sampler.run([transpile(bell(), backend)], shots=64).result()
    counts = result[0].data.c.get_counts()
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 64


def test_expectation_job(provider: MultiCloudProvider, emu: Any) -> None:
    backend = provider.get_backend(SIM)
    adapter = adapter_of(backend)
    prep = QuantumCircuit(2)
    prep.h(0)
    prep.cx(0, 1)
    x1 = QuantumCircuit(3)
    x1.x(0)  # <Z0> = -1, <Z2> = +1
    ops = [SparsePauliOp(["ZZ", "XX", "YY"], [1.0, 0.5, 2.0]), SparsePauliOp(["IIZ", "ZII"])]
    ref = adapter.estimate(backend.device, [prep, x1], ops)
    values = adapter.expectation_results(ref)
    assert values == pytest.approx([1.0 + 0.5 - 2.0, 0.0])
    terms = adapter.expectation_terms(ref)
    assert terms[1] == pytest.approx({"ZII": -1.0, "IIZ": 1.0})  # qubit 0 leftmost
    single = adapter.estimate(backend.device, [x1], "ZI")  # padded to "ZII"
    assert adapter.expectation_results(single) == pytest.approx([-1.0])


def test_expectation_refused_on_qpu_without_request(provider: MultiCloudProvider, emu: Any) -> None:
    backend = provider.get_backend(QPU)
    before = emu.stats.total
    with pytest.raises(CircuitValidationError, match="supports_expval"):
        adapter_of(backend).estimate(backend.device, [bell()], SparsePauliOp("ZZ"))
    assert emu.stats.total == before


def test_template_and_shot_groups_accepted(emu: Any) -> None:
    """The emulator speaks the SDK's parametric template and shot_groups shapes."""
    import requests

    from qiskit_multicloud.vendors.qoro import histogram
    from qiskit_multicloud.vendors.qoro.translate import compress

    theta = Parameter("theta")
    qc = QuantumCircuit(1, 1)
    qc.rx(theta, 0)
    qc.measure(0, 0)
    template = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\n'
        "rx(theta) q[0];\nmeasure q[0] -> c[0];\n"
    )
    head = {"Authorization": f"Bearer {emu.token}"}
    base = f"{emu.url}/api"
    job_id = requests.post(
        f"{base}/job/init/", json={"job_type": "EXECUTE"}, headers=head, timeout=5
    ).json()["job_id"]
    body = {
        "circuit_template": compress(template),
        "parameter_names": ["theta"],
        "parameter_sets": [
            {"label": "p0", "values": [0.0]},
            {"label": "p1", "values": [3.141592653589793]},
        ],
        "mode": "append",
        "finalized": "false",
        "shot_groups": [[0, 1, 7], [1, 2, 9]],
    }
    assert (
        requests.post(
            f"{base}/job/{job_id}/add_circuits/", json=body, headers=head, timeout=5
        ).status_code
        == 200
    )
    bound = {
        "circuits": {"b0": compress(template.replace("theta", "0"))},
        "mode": "append",
        "finalized": "true",
        "shots": 4,
    }
    assert (
        requests.post(
            f"{base}/job/{job_id}/add_circuits/", json=bound, headers=head, timeout=5
        ).status_code
        == 200
    )
    again = requests.post(f"{base}/job/{job_id}/add_circuits/", json=bound, headers=head, timeout=5)
    assert again.status_code == 409
    page = requests.get(f"{base}/job/{job_id}/resultsV2/", headers=head, timeout=5).json()
    got = {e["label"]: histogram.decode_envelope(e["results"]) for e in page["results"]}
    assert got == {"p0": {"0": 7}, "p1": {"1": 9}, "b0": {"0": 4}}
