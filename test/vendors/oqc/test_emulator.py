"""End to end over real HTTP: MultiCloudProvider -> OQC adapter -> OQC emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.primitives import BackendSamplerV2
from qiskit.providers import JobStatus

from qiskit_multicloud.emulators.jobs import ManualClock
from qiskit_multicloud.exceptions import (
    AuthenticationError,
    CircuitValidationError,
    JobFailedError,
    VendorAPIError,
)
from qiskit_multicloud.provider import MultiCloudProvider
from qiskit_multicloud.types import CircuitLayout
from qiskit_multicloud.vendors.oqc import OQCSettings
from test.conftest import FAST

pytestmark = pytest.mark.emulator

LUCY = "qpu:uk:2:d865b5a184"
TOSHIKO = "qpu:uk:3:9829a5504f"


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    """One emulator shared by the module's tests (stopping one costs ~0.5 s)."""
    from qiskit_multicloud.emulators import start

    handle = start("oqc", seed=5, noise=False)
    yield handle
    handle.stop()


@pytest.fixture
def provider(emu: Any) -> MultiCloudProvider:
    return MultiCloudProvider({"oqc": emu.settings()}, vendors=["oqc"], job_store=False)


def x_on_zero() -> QuantumCircuit:
    qc = QuantumCircuit(3, 3, name="x0")
    qc.x(0)
    qc.measure(range(3), range(3))
    return qc


def two_registers() -> QuantumCircuit:
    q = QuantumRegister(3, "q")
    a = ClassicalRegister(1, "a")
    b = ClassicalRegister(2, "b")
    qc = QuantumCircuit(q, a, b, name="two_regs")
    qc.x(0)
    qc.x(2)
    qc.measure(q[0], a[0])
    qc.measure(q[1], b[0])
    qc.measure(q[2], b[1])
    return qc


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


def test_discovery_names_aliases_and_prefix(provider: MultiCloudProvider) -> None:
    names = {b.name for b in provider.backends()}
    assert {LUCY, TOSHIKO, "qpu:jp:3:673b1ad43c"} <= names
    assert provider.get_backend("qpu:uk:2").name == LUCY
    assert provider.get_backend("Lucy Simulator").name == LUCY
    assert provider.get_backend("toshiko").name == TOSHIKO
    offline = provider.get_backend("qpu:jp:3")
    assert offline.online is False
    assert {b.name for b in provider.backends(online=True)} == {LUCY, TOSHIKO}


def test_targets(provider: MultiCloudProvider) -> None:
    lucy = provider.get_backend(LUCY)
    assert lucy.num_qubits == 8
    assert {"rz", "sx", "x", "cx", "measure"} <= set(lucy.target.operation_names)
    assert lucy.target.instruction_supported("cx", (7, 2))  # all-to-all
    assert lucy.max_circuits == 200
    tosh = provider.get_backend(TOSHIKO)
    assert tosh.num_qubits == 32
    cx = tosh.target["cx"]
    assert (0, 1) in cx and (1, 0) in cx and (0, 8) in cx
    assert (0, 2) not in cx
    props = cx[(0, 1)]
    assert props is not None and props.error is not None and props.duration == 250e-9
    sx = tosh.target["sx"][(3,)]
    assert sx is not None and sx.error is not None
    qprops = tosh.target.qubit_properties
    assert qprops is not None and qprops[0].t1 is not None and qprops[0].t2 is not None
    assert "feature_set" in tosh.device.target_source


@pytest.mark.parametrize("name", [LUCY, TOSHIKO])
def test_x_on_qubit_zero_bit_order(provider: MultiCloudProvider, name: str) -> None:
    backend = provider.get_backend(name)
    counts = backend.run(
        transpile(x_on_zero(), backend), shots=200, optimizations="none", **FAST
    ).result().get_counts()
    assert counts == {"001": 200}


def test_two_registers_of_different_sizes(provider: MultiCloudProvider) -> None:
    backend = provider.get_backend(LUCY)
    result = backend.run(transpile(two_registers(), backend), shots=128, **FAST).result()
    assert result.get_counts() == {"10 1": 128}


def test_merged_register_keeps_correlations(provider: MultiCloudProvider) -> None:
    q = QuantumRegister(2, "q")
    a, b = ClassicalRegister(1, "a"), ClassicalRegister(1, "b")
    qc = QuantumCircuit(q, a, b)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure(q[0], a[0])
    qc.measure(q[1], b[0])
    backend = provider.get_backend(LUCY)
    counts = backend.run(transpile(qc, backend), shots=400, **FAST).result().get_counts()
    assert set(counts) <= {"0 0", "1 1"} and sum(counts.values()) == 400


def test_multiple_circuits_one_experiment_each(provider: MultiCloudProvider, emu: Any) -> None:
    backend = provider.get_backend(TOSHIKO)
    circuits = transpile([x_on_zero(), two_registers(), bell()], backend)
    emu.stats.reset()
    job = backend.run(circuits, shots=64, **FAST)
    assert emu.stats.by_route["POST tasks_reserve"] == 1
    assert emu.stats.by_route["POST tasks_submit"] == 1
    assert len(job.job_id().split(",")) == 3
    result = job.result()
    assert len(result.results) == 3
    assert result.get_counts(0) == {"001": 64}
    assert result.get_counts(1) == {"10 1": 64}
    assert set(result.get_counts(2)) <= {"00", "11"}
    assert [r.header["name"] for r in result.results] == ["x0", "two_regs", "bell"]
    ids = job.job_id().split(",")
    assert [r.metadata["oqc_task_id"] for r in result.results] == ids


def test_single_circuit_reserves_its_id_before_submitting(
    provider: MultiCloudProvider, emu: Any
) -> None:
    # The id is known before the billable submit, so a lost answer can be reconciled.
    backend = provider.get_backend(LUCY)
    circuit = transpile(bell(), backend)
    emu.stats.reset()
    job = backend.run(circuit, shots=10, **FAST)
    assert emu.stats.by_route["POST tasks_reserve"] == 1
    assert emu.stats.by_route["POST tasks_submit"] == 1
    assert "," not in job.job_id()
    job.result()


def test_memory_is_synthesised(provider: MultiCloudProvider) -> None:
    backend = provider.get_backend(LUCY)
    assert backend.device.supports_memory is False
    result = backend.run(transpile(x_on_zero(), backend), shots=20, memory=True, **FAST).result()
    assert result.get_memory() == ["001"] * 20
    assert result.results[0].metadata["memory_synthesised"] is True


@pytest.mark.parametrize("api", ["v3", "v4"])
def test_cancel_queued_job(emulator_factory: Any, api: str) -> None:
    clock = ManualClock()
    emu = emulator_factory("oqc", clock=clock, queue_delay=30.0, run_time=5.0, api=api)
    provider = MultiCloudProvider({"oqc": emu.settings()}, vendors=["oqc"], job_store=False)
    backend = provider.get_backend(LUCY)
    job = backend.run(transpile([bell(), bell()], backend), shots=10, **FAST)
    assert job.status() is JobStatus.QUEUED
    assert job.cancel() is True
    assert job.status() is JobStatus.CANCELLED
    with pytest.raises(JobFailedError, match="cancelled"):
        job.result()
    clock.advance(100)
    assert job.status() is JobStatus.CANCELLED


def test_lifecycle_with_manual_clock(emulator_factory: Any) -> None:
    clock = ManualClock()
    emu = emulator_factory("oqc", clock=clock, queue_delay=10.0, run_time=5.0)
    provider = MultiCloudProvider({"oqc": emu.settings()}, vendors=["oqc"], job_store=False)
    backend = provider.get_backend(LUCY)
    job = backend.run(transpile(bell(), backend), shots=10, **FAST)
    assert job.status() is JobStatus.QUEUED
    clock.advance(11)
    assert job.status() is JobStatus.RUNNING
    clock.advance(5)
    assert job.status() is JobStatus.DONE
    assert sum(job.result().get_counts().values()) == 10


def test_failed_and_expired_tasks(provider: MultiCloudProvider, emulator_factory: Any) -> None:
    backend = provider.get_backend(LUCY)
    job = backend.run(transpile(bell(), backend), shots=10, tag="__fail__", **FAST)
    with pytest.raises(JobFailedError, match="fail_tag"):
        job.result()
    assert job.status() is JobStatus.ERROR

    clock = ManualClock()
    emu = emulator_factory("oqc", clock=clock, queue_delay=30.0)
    prov = MultiCloudProvider({"oqc": emu.settings()}, vendors=["oqc"], job_store=False)
    lucy = prov.get_backend(LUCY)
    job = lucy.run(transpile(bell(), lucy), shots=10, **FAST)
    assert emu.app.expire(job.job_id())
    with pytest.raises(JobFailedError, match="expired"):
        job.result()


def test_unknown_job_id_is_404(provider: MultiCloudProvider) -> None:
    backend = provider.get_backend(LUCY)
    layout = CircuitLayout("c", 2, 2, (("c", 2),))
    job = backend.job_from_refs(
        ["5b0f0e5e-5d0c-4d83-9a43-2f4c7b6f1a10"], [1], [layout], {"shots": 10, **FAST}
    )
    with pytest.raises(VendorAPIError) as info:
        job.status()
    assert info.value.status == 404
    assert "not found" in str(info.value)


def test_retrieve_from_a_new_adapter_finds_the_qpu(emu: Any) -> None:
    first = MultiCloudProvider({"oqc": emu.settings()}, vendors=["oqc"], job_store=False)
    backend = first.get_backend(TOSHIKO)
    job = backend.run(transpile(x_on_zero(), backend), shots=10, **FAST)
    job.result()
    second = MultiCloudProvider({"oqc": emu.settings()}, vendors=["oqc"], job_store=False)
    b2 = second.get_backend(TOSHIKO)
    again = b2.job_from_refs([job.job_id()], [1], job.layouts, job.run_options)
    assert again.result().get_counts() == {"001": 10}


def test_bad_token(emu: Any) -> None:
    settings = OQCSettings(url=emu.url, token="wrong-token")  # type: ignore[arg-type]
    assert "wrong-token" not in repr(settings)
    provider = MultiCloudProvider({"oqc": settings}, vendors=["oqc"], job_store=False)
    with pytest.raises(AuthenticationError) as info:
        provider.get_backend(LUCY)
    assert "wrong-token" not in str(info.value)


def test_login_flow(emulator_factory: Any) -> None:
    emu = emulator_factory("oqc", options={"users": {"ada@example.com": "s3cret-pw"}})
    creds = {"url": emu.url, "email": "ada@example.com", "password": "s3cret-pw"}
    provider = MultiCloudProvider({"oqc": creds}, vendors=["oqc"], job_store=False)
    backend = provider.get_backend(LUCY)
    assert emu.stats.by_route["POST logout"] == 1 and emu.stats.by_route["POST login"] == 1
    backend.run(transpile(bell(), backend), shots=5, **FAST).result()
    assert emu.stats.by_route["POST login"] == 1  # token kept

    bad = {"url": emu.url, "email": "ada@example.com", "password": "nope"}
    provider = MultiCloudProvider({"oqc": bad}, vendors=["oqc"], job_store=False)
    with pytest.raises(AuthenticationError) as info:
        provider.get_backend(LUCY)
    assert "nope" not in str(info.value)


def _assert_rejected(emu: Any, backend: Any, circuit: QuantumCircuit, **options: Any) -> None:
    before = emu.stats.total
    with pytest.raises(CircuitValidationError):
        backend.run(circuit, **options)
    assert emu.stats.total == before


def test_validation_before_any_request(provider: MultiCloudProvider, emu: Any) -> None:
    lucy = provider.get_backend(LUCY)
    lucy.target  # noqa: B018 - build the Target now
    wide = QuantumCircuit(9, 9)
    wide.measure(range(9), range(9))
    _assert_rejected(emu, lucy, wide)
    gate = QuantumCircuit(1, 1)
    gate.h(0)
    gate.measure(0, 0)
    _assert_rejected(emu, lucy, gate)
    nomeas = QuantumCircuit(1)
    nomeas.x(0)
    _assert_rejected(emu, lucy, nomeas)
    ok = transpile(bell(), lucy)
    _assert_rejected(emu, lucy, ok, shots=100_001)
    _assert_rejected(emu, lucy, ok, shots=0)
    reset = QuantumCircuit(1, 1)
    reset.reset(0)
    reset.measure(0, 0)
    _assert_rejected(emu, lucy, reset)
    _assert_rejected(emu, lucy, ok, optimizations="aggressive")
    toshiko = provider.get_backend(TOSHIKO)
    toshiko.target  # noqa: B018
    uncoupled = QuantumCircuit(32, 2)
    uncoupled.cx(0, 2)
    uncoupled.measure([0, 2], [0, 1])
    _assert_rejected(emu, toshiko, uncoupled)


def test_oversized_circuit_rejected_before_any_request(
    provider: MultiCloudProvider, emu: Any
) -> None:
    lucy = provider.get_backend(LUCY)
    lucy.target  # noqa: B018
    big = QuantumCircuit(1, 1)
    for i in range(8000):
        big.rz(0.123456789 + i, 0)
    big.measure(0, 0)
    _assert_rejected(emu, lucy, big)


def test_sampler_v2_bell(provider: MultiCloudProvider) -> None:
    backend = provider.get_backend(LUCY)
    backend.set_options(**FAST)
    sampler = BackendSamplerV2(backend=backend)
    circuit = transpile(bell(), backend)
    result = sampler.run([circuit], shots=300).result()
    counts = result[0].data.meas.get_counts()
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 300


# -- raw wire checks against the emulator (what the vendor SDKs rely on) -------------------


def _get(emu: Any, path: str, token: bool = True) -> requests.Response:
    headers = {"Authentication-Token": emu.token} if token else {}
    return requests.get(emu.url + path, headers=headers, timeout=5)


def _post(emu: Any, path: str, body: Any) -> requests.Response:
    return requests.post(emu.url + path, json=body,
                         headers={"Authentication-Token": emu.token}, timeout=5)


def test_wire_qpu_list_and_errors(emu: Any) -> None:
    assert _get(emu, "/admin/version", token=False).json()["version"]
    unauth = _get(emu, "/admin/qpu?per_page=1000", token=False)
    assert unauth.status_code == 401 and unauth.json()["response"]["errors"]
    body = _get(emu, "/admin/qpu?per_page=1000").json()
    assert body["page"] == 1 and body["total"] == len(body["items"])
    lucy = next(i for i in body["items"] if i["id"] == LUCY)
    assert isinstance(lucy["feature_set"], str)
    features = json.loads(lucy["feature_set"])
    assert features["qubit_count"] == 8 and features["simulator"] is True
    assert lucy["url"] == f"{emu.url}/d865b5a184"
    assert _get(emu, f"/admin/qpu/{LUCY}").json()["id"] == LUCY
    assert _get(emu, "/admin/qpu/qpu:uk:9:0000000000").status_code == 404
    missing = _get(emu, "/d865b5a184/tasks/5b0f0e5e-5d0c-4d83-9a43-2f4c7b6f1a10/status")
    assert missing.status_code == 404
    assert missing.json() == {"meta": {"code": 404}, "response": {
        "errors": ["Task 5b0f0e5e-5d0c-4d83-9a43-2f4c7b6f1a10 not found"]}}
    assert requests.post(emu.url + "/admin/logout", json={}, timeout=5).status_code == 200


def test_wire_reserve_submit_and_views(emu: Any) -> None:
    ids = _post(emu, "/d865b5a184/tasks", {"qpu_id": LUCY, "task_count": 2, "tag": "t"}).json()
    assert len(ids) == 2
    assert _get(emu, f"/d865b5a184/tasks/{ids[0]}/status").json() == {"status": "CREATED"}
    config = json.dumps({"$type": "<class 'scc.compiler.config.CompilerConfig'>",
                         "$data": {"repeats": 10}})
    program = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg a[2];\ncreg b[1];\n'
               "x q[0];\nmeasure q[0] -> a[0];\n")
    bad = _post(emu, "/d865b5a184/tasks/submit",
                {"tasks": [{"program": program, "config": {"repeats": 1}}]})
    assert bad.status_code == 400
    reply = _post(emu, "/d865b5a184/tasks/submit", {"tasks": [
        {"program": program, "config": config, "qpu_id": LUCY, "task_id": ids[0]},
        {"program": "not qasm", "config": config, "qpu_id": LUCY, "task_id": ids[1]},
    ]})
    assert reply.status_code == 200
    assert reply.json() == [{"task_id": ids[0]}, {"task_id": ids[1]}]
    info = _get(emu, f"/d865b5a184/tasks/{ids[0]}/all_info").json()
    assert set(info) >= {"status", "results", "task_error", "execution_metadata", "metadata",
                         "timings", "id", "qpu_id", "config", "created_at", "tag"}
    assert info["status"] == "COMPLETED"
    assert info["results"] == {"a": {"10": 10}, "b": {"0": 10}}  # bit 0 leftmost
    assert info["tag"] == "t"
    failed = _get(emu, f"/d865b5a184/tasks/{ids[1]}/all_info").json()
    assert failed["status"] == "FAILED" and failed["results"] is None
    assert "parse" in failed["task_error"]["error_message"]
    assert _get(emu, f"/d865b5a184/tasks/{ids[1]}/error").json()["task_error"]["error_code"]
    assert _post(emu, "/d865b5a184/tasks/cancel_many", {"tasks": ids}).json() == "OK"
    assert _post(emu, "/d865b5a184/tasks/cancel_many", {"tasks": ["nope"]}).status_code == 404
    too_big = _post(emu, "/d865b5a184/tasks/submit", {"tasks": [{"program": "x" * 140_000}]})
    assert too_big.status_code == 413


def test_wire_flat_results(emulator_factory: Any) -> None:
    emu = emulator_factory("oqc", options={"flat_results": True})
    config = json.dumps({"$type": "<class 'compiler_config.config.CompilerConfig'>",
                         "$data": {"repeats": 7}})
    program = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nx q[1];\n' \
              "measure q -> c;\n"
    task = _post(emu, "/d865b5a184/tasks/submit",
                 {"tasks": [{"program": program, "config": config}]}).json()[0]["task_id"]
    assert _get(emu, f"/d865b5a184/tasks/{task}/results").json() == {"results": {"01": 7}}
    provider = MultiCloudProvider({"oqc": emu.settings()}, vendors=["oqc"], job_store=False)
    backend = provider.get_backend(LUCY)
    qc = QuantumCircuit(2, 2)
    qc.x(1)
    qc.measure([0, 1], [0, 1])
    assert backend.run(qc, shots=9, **FAST).result().get_counts() == {"10": 9}


def test_transient_faults_are_retried(provider: MultiCloudProvider, emu: Any) -> None:
    backend = provider.get_backend(LUCY)
    circuit = transpile(x_on_zero(), backend)
    emu.faults.force("rate_limit", method="POST", path="/tasks/submit")
    emu.faults.force("error", method="GET", path="/status")
    created = emu.jobs.created_count
    counts = backend.run(circuit, shots=16, **FAST).result().get_counts()
    assert counts == {"001": 16}
    assert emu.jobs.created_count == created + 1  # the 429 was not a second task
    emu.faults.clear()
