"""End to end over real HTTP: provider -> backend -> Qilimanjaro emulator -> Result."""

from __future__ import annotations

from typing import Any

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ClassicalRegister, QuantumRegister
from qiskit.primitives import BackendSamplerV2
from qiskit.providers import JobStatus

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.config import Secret
from qiskit_multicloud.emulators.jobs import ManualClock
from qiskit_multicloud.exceptions import (
    AuthenticationError,
    CircuitValidationError,
    JobFailedError,
    VendorAPIError,
)
from qiskit_multicloud.vendors.qilimanjaro.emulator_qasm import check_program
from test.conftest import FAST

pytestmark = pytest.mark.emulator
SHOTS = 200


def provider_for(handle: Any, **changes: Any) -> MultiCloudProvider:
    settings = handle.settings().replace(**changes) if changes else handle.settings()
    return MultiCloudProvider(credentials={"qilimanjaro": settings}, vendors=["qilimanjaro"])


@pytest.fixture
def emu(emulator_factory: Any) -> Any:
    return emulator_factory("qilimanjaro", seed=5)


@pytest.fixture
def provider(emu: Any) -> MultiCloudProvider:
    return provider_for(emu)


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def run(backend: Any, circuits: Any, **options: Any) -> Any:
    return backend.run(transpile(circuits, backend, seed_transpiler=1), shots=SHOTS,
                       **FAST, **options).result()


def test_backends_and_names(provider: MultiCloudProvider) -> None:
    names = {b.name for b in provider.backends()}
    assert names == {"qibo_simulator", "radagast", "galadriel"}
    rad = provider.get_backend("rada")
    assert rad.name == "radagast" and rad.target.num_qubits == 5
    assert provider.get_backend("qilimanjaro_radagast") is rad
    assert rad.target.instruction_supported("cz", (2, 0))
    assert not rad.target.instruction_supported("cz", (0, 1))
    assert rad.target.qubit_properties[0].t1 is not None
    assert rad.device_status()["status"] == "online"
    gal = provider.get_backend("galadriel")
    assert not gal.online and gal.device_status()["status"] == "maintenance"
    sim = provider.get_backend("qibo")
    assert sim.target.num_qubits == 20 and "u3" in sim.target.operation_names


@pytest.mark.parametrize("name", ["qibo_simulator", "radagast"])
def test_bell(provider: MultiCloudProvider, name: str) -> None:
    counts = run(provider.get_backend(name), bell()).get_counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == SHOTS


def test_client_version_header_is_qiboconnections(emu: Any, provider: MultiCloudProvider) -> None:
    run(provider.get_backend("qibo_simulator"), bell())
    assert emu.app.client_versions == {"0.23.2"}


@pytest.mark.parametrize("name", ["qibo_simulator", "radagast"])
def test_x_on_qubit_zero_only(provider: MultiCloudProvider, name: str) -> None:
    qc = QuantumCircuit(3, 3)
    qc.x(0)
    qc.measure([0, 1, 2], [0, 1, 2])
    assert run(provider.get_backend(name), qc).get_counts() == {"001": SHOTS}


def test_two_registers_of_different_sizes(provider: MultiCloudProvider) -> None:
    qc = QuantumCircuit(QuantumRegister(3, "q"), ClassicalRegister(1, "a"),
                        ClassicalRegister(2, "b"))
    qc.x(0)
    qc.x(2)
    qc.measure(0, 0)  # a[0] = 1
    qc.measure(1, 1)  # b[0] = 0
    qc.measure(2, 2)  # b[1] = 1
    assert run(provider.get_backend("qibo_simulator"), qc).get_counts() == {"10 1": SHOTS}


def test_permuted_and_partial_measurement(provider: MultiCloudProvider) -> None:
    qc = QuantumCircuit(3, 4)
    qc.x(1)
    qc.measure(1, 3)  # clbit 3 = 1
    qc.measure(0, 0)  # clbit 0 = 0; clbits 1, 2 never written
    assert run(provider.get_backend("qibo_simulator"), qc).get_counts() == {"1000": SHOTS}


def test_multiple_circuits_in_one_job(emu: Any, provider: MultiCloudProvider) -> None:
    circuits = []
    for bits in ("01", "10", "11"):
        qc = QuantumCircuit(2, 2, name=f"c{bits}")
        for q, bit in enumerate(reversed(bits)):
            if bit == "1":
                qc.x(q)
        qc.measure([0, 1], [0, 1])
        circuits.append(qc)
    before = emu.jobs.created_count
    result = run(provider.get_backend("radagast"), circuits)
    assert emu.jobs.created_count == before + 1
    assert [result.get_counts(i) for i in range(3)] == [{"01": SHOTS}, {"10": SHOTS},
                                                      {"11": SHOTS}]


def test_memory_is_per_shot(provider: MultiCloudProvider) -> None:
    result = run(provider.get_backend("qibo_simulator"), bell(), memory=True)
    memory = result.get_memory()
    assert len(memory) == SHOTS and set(memory) == {"00", "11"}
    assert not result.results[0].metadata.get("memory_synthesised")
    assert memory != sorted(memory)  # real shot order, not grouped


def test_cancel_queued_job(emulator_factory: Any) -> None:
    clock = ManualClock()
    emu = emulator_factory("qilimanjaro", queue_delay=30, clock=clock)
    backend = provider_for(emu).get_backend("qibo_simulator")
    job = backend.run(transpile(bell(), backend), shots=10, **FAST)
    assert job.status() is JobStatus.QUEUED
    assert job.cancel()
    assert job.status() is JobStatus.CANCELLED
    assert job.vendor_status[0].raw == "cancelled"
    with pytest.raises(JobFailedError, match="cancelled"):
        job.result()


def test_maintenance_device_holds_jobs_until_online(emu: Any, provider: MultiCloudProvider) -> None:
    backend = provider.get_backend("galadriel")
    job = backend.run(transpile(bell(), backend), shots=10, allow_offline=True, **FAST)
    assert job.status() is JobStatus.QUEUED and job.vendor_status[0].raw == "queued"
    emu.app.set_device_status("galadriel", "online")
    assert set(job.result().get_counts()) <= {"00", "11"}


def test_failed_job(provider: MultiCloudProvider) -> None:
    backend = provider.get_backend("qibo_simulator")
    job = backend.run(transpile(bell(), backend), shots=10, job_name="emulator:fail", **FAST)
    with pytest.raises(JobFailedError, match="emulated failure"):
        job.result()


def test_unknown_job_id(provider: MultiCloudProvider) -> None:
    adapter = provider.adapters["qilimanjaro"]
    with pytest.raises(VendorAPIError, match="does not exist") as info:
        adapter.status("999999")
    assert info.value.status == 404


def test_bad_api_key(emu: Any) -> None:
    provider = provider_for(emu, api_key=Secret("wrong-key"))
    with pytest.raises(AuthenticationError) as info:
        provider.backends()
    assert "wrong-key" not in str(info.value)


def test_expired_access_token_is_refreshed_once(emulator_factory: Any) -> None:
    clock = ManualClock()
    emu = emulator_factory("qilimanjaro", clock=clock, options={"access_token_ttl": 60})
    provider = provider_for(emu)
    backend = provider.get_backend("qibo_simulator")
    adapter = provider.adapters["qilimanjaro"]
    clock.advance(120)
    emu.stats.reset()
    counts = backend.run(transpile(bell(), backend), shots=10, **FAST).result().get_counts()
    assert set(counts) <= {"00", "11"}
    routes = emu.stats.snapshot()["by_route"]
    assert routes.get("POST refresh_token") == 1
    assert "POST login" not in routes
    assert adapter.auth.refreshes == 1 and adapter.auth.logins == 1


def test_expired_refresh_token_logs_in_again(emulator_factory: Any) -> None:
    clock = ManualClock()
    emu = emulator_factory("qilimanjaro", clock=clock,
                           options={"access_token_ttl": 60, "refresh_token_ttl": 100})
    provider = provider_for(emu)
    provider.backends()
    clock.advance(500)
    provider.refresh()
    assert len(provider.backends()) == 3
    adapter = provider.adapters["qilimanjaro"]
    assert adapter.auth.logins == 2 and adapter.auth.refreshes == 1


def test_injected_expired_token_fault(emu: Any, provider: MultiCloudProvider) -> None:
    backend = provider.get_backend("qibo_simulator")
    emu.faults.force("expired_token", method="GET", path="/jobs/")
    counts = run(backend, bell()).get_counts()
    assert sum(counts.values()) == SHOTS


def _tiny(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n, n)
    qc.measure(range(n), range(n))
    return qc


@pytest.mark.parametrize(("make", "options", "match"), [
    (lambda: _tiny(6), {}, "qubits"),
    (lambda: QuantumCircuit(1, 1).compose(QuantumCircuit(1)).copy(), {}, "no measurements"),
    (lambda: bell(), {}, "'h'"),
    (lambda: _tiny(1), {"shots": 0}, "shots"),
    (lambda: _tiny(1), {"shots": 100_001}, "shots"),
])
def test_validation_before_any_request(emu: Any, provider: MultiCloudProvider, make: Any,
                                       options: dict[str, Any], match: str) -> None:
    backend = provider.get_backend("radagast")
    before = emu.stats.total
    with pytest.raises(CircuitValidationError, match=match):
        backend.run(make(), **options)
    assert emu.stats.total == before


def test_reset_rejected_before_any_request(emu: Any, provider: MultiCloudProvider) -> None:
    backend = provider.get_backend("qibo_simulator")
    qc = QuantumCircuit(1, 1)
    qc.x(0)
    qc.measure(0, 0)
    qc.x(0)
    before = emu.stats.total
    with pytest.raises(CircuitValidationError, match="after it was measured"):
        backend.run(qc)
    assert emu.stats.total == before


def test_sampler_v2(provider: MultiCloudProvider) -> None:
    backend = provider.get_backend("radagast")
    qc = bell()
    qc.remove_final_measurements()
    qc.measure_all()
    sampler = BackendSamplerV2(backend=backend, options={"run_options": dict(FAST)})
    result = sampler.run([transpile(qc, backend)], shots=100).result()
    counts = result[0].data.meas.get_counts()
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 100


# -- the emulator's Qibo-dialect reader -------------------------------------------------------

QIBO = """// Generated by QIBO 0.2.8
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg register0[1];
creg register1[2];
x q[2];
measure q[2] -> register1[1];
measure q[1] -> register1[0];
measure q[0] -> register0[0];
"""


def test_check_program_orders_registers_by_first_measurement() -> None:
    circuit, order = check_program(QIBO)
    assert circuit.num_qubits == 3
    assert order == [1, 2, 0]  # register1 first (global clbits 1, 2), then register0


@pytest.mark.parametrize(("edit", "match"), [
    (lambda t: t.replace("x q[2];", "barrier q;"), "barrier"),
    (lambda t: t.replace("x q[2];", "reset q[0];"), "reset"),
    (lambda t: t.replace("x q[2];", "p(0.1) q[0];"), "undefined"),
    (lambda t: t.replace("measure q[0] -> register0[0];", ""), "exactly once"),
    (lambda t: t.replace("measure q[0] -> register0[0];", "measure q -> register0;"), "one"),
    (lambda t: t + "measure q[0] -> register0[0];", "twice"),
])
def test_check_program_rejects_what_qibo_rejects(edit: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_program(edit(QIBO))


def test_retrieve_job_in_new_provider_keeps_bit_order(emu: Any,
                                                      provider: MultiCloudProvider) -> None:
    qc = QuantumCircuit(3, 4)
    qc.x(1)
    qc.measure(1, 3)
    qc.measure(0, 0)
    backend = provider.get_backend("qibo_simulator")
    job = backend.run(transpile(qc, backend), shots=20, **FAST)
    fresh = provider_for(emu)
    again = fresh.retrieve_job(job.job_id())
    assert again.result().get_counts() == {"1000": 20}


def test_split_into_several_jobs(emu: Any) -> None:
    provider = provider_for(emu, max_circuits=2)
    backend = provider.get_backend("radagast")
    circuits = [bell(), bell(), bell()]
    before = emu.jobs.created_count
    result = run(backend, circuits)
    assert emu.jobs.created_count == before + 2
    assert len(result.results) == 3


def test_idle_trailing_qubits_are_not_declared(emu: Any, provider: MultiCloudProvider) -> None:
    """A Bell pair transpiled onto the 20-qubit simulator is sent as ``qreg q[k]`` with k one
    past the last qubit it uses (device indices unchanged), and its counts are right."""
    backend = provider.get_backend("qibo_simulator")
    low = transpile(bell(), backend, initial_layout=[0, 1], seed_transpiler=1)
    high = transpile(bell(), backend, initial_layout=[7, 12], seed_transpiler=1)
    assert low.num_qubits == high.num_qubits == 20
    job = backend.run([low, high], shots=SHOTS, **FAST)
    for counts in job.result().get_counts():
        assert set(counts) <= {"00", "11"} and sum(counts.values()) == SHOTS
    programs = _programs(emu)
    assert "qreg q[2];" in programs[0] and "qreg q[13];" in programs[1]
    assert "q[12]" in programs[1] and "q[7]" in programs[1]


def _programs(emu: Any) -> list[str]:
    """The QASM programs of the emulator's last job, as the service received them."""
    from qiskit_multicloud.vendors.qilimanjaro.translate import decompress

    job = emu.jobs.all()[-1]
    return list(decompress(job.meta["description"], "test"))


def test_envelopes_of_many_pieces_round_trip(
    emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Description and result gzipped in many pieces (one member each) are read whole by the
    emulator and by the client: counts equal those of one-piece envelopes, same seed."""
    from qiskit_multicloud import compression

    circuits = []
    for i in range(12):
        qc = QuantumCircuit(3, 3, name=f"c{i}")
        qc.ry(0.1 * (i + 1), 0)
        qc.cx(0, 1)
        qc.rx(0.37 * i, 2)
        qc.measure([0, 1, 2], [0, 1, 2])
        circuits.append(qc)

    def counts_and_programs() -> tuple[list[dict[str, int]], list[str]]:
        handle = emulator_factory("qilimanjaro", seed=9)
        backend = provider_for(handle).get_backend("qibo_simulator")
        result = backend.run(circuits, shots=SHOTS, **FAST).result()  # gates it reads as is
        return result.get_counts(), _programs(handle)

    whole = counts_and_programs()
    deflated: list[int] = []
    deflate = compression._deflate

    def counting(*args: Any) -> Any:
        deflated.append(len(args[1]))
        return deflate(*args)

    monkeypatch.setattr(compression, "_deflate", counting)
    monkeypatch.setattr(compression, "PIECE_BYTES", 256)  # ~10 pieces per envelope
    pieces = counts_and_programs()
    assert pieces == whole
    assert len(deflated) > 20  # description and result were cut into pieces
    assert len(whole[1]) == 12 and all(text.startswith("OPENQASM 2.0;") for text in whole[1])
