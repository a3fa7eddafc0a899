"""Shared backend, job engine, Target/Result builders and job store, on an in-memory vendor."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Parameter
from qiskit.primitives import BackendSamplerV2
from qiskit.providers import JobStatus

from qiskit_multicloud.exceptions import (
    CircuitValidationError,
    JobFailedError,
    JobTimeoutError,
    MultiCloudWarning,
    SubmissionUncertainError,
    VendorAPIError,
    VendorConnectionError,
)
from qiskit_multicloud.job import PollSchedule, aggregate_status
from qiskit_multicloud.jobstore import JobStore
from qiskit_multicloud.results import build_result, reverse_keys
from qiskit_multicloud.target import build_target
from qiskit_multicloud.types import CircuitCounts, CircuitLayout, DeviceSpec, uniform_gates

from .fakes import FakeAdapter, FakeBackend, fake_device


def make_backend(tmp_path: Path, **adapter_kw: object) -> FakeBackend:
    adapter = FakeAdapter(**adapter_kw)  # type: ignore[arg-type]
    store = JobStore(tmp_path / "jobs.sqlite")
    return FakeBackend(adapter, adapter.devices[0], job_store=store, sleep=lambda s: None)


def asymmetric() -> QuantumCircuit:
    """X on qubit 0 -> a[0]; qubit 1 (|0>) -> b[0]; X on qubit 2 -> b[1]."""
    a, b = ClassicalRegister(1, "a"), ClassicalRegister(2, "b")
    qc = QuantumCircuit(QuantumRegister(3, "q"), a, b, name="asym")
    qc.x(0)
    qc.x(2)
    qc.measure(0, a[0])
    qc.measure(1, b[0])
    qc.measure(2, b[1])
    return qc


# -- Target -------------------------------------------------------------------------------


def test_target_has_gates_edges_errors_durations_and_t1() -> None:
    target = build_target(fake_device())
    assert target.num_qubits == 5
    assert {"rz", "sx", "x", "cz", "measure"} <= set(target.operation_names)
    assert target.instruction_supported("cz", (1, 0))
    assert not target.instruction_supported("cz", (0, 2))
    assert target["cz"][(0, 1)].error == pytest.approx(1e-2)
    assert target["sx"][(3,)].duration == pytest.approx(3e-8)
    assert target.qubit_properties[0].t1 == pytest.approx(1e-4)


def test_all_to_all_device_has_no_coupling_limits() -> None:
    spec = DeviceSpec("v", "sim", 4, uniform_gates(4, ["rz", "sx"], ["cx"], edges=None))
    target = build_target(spec)
    assert target.instruction_supported("cx", (3, 0))
    assert target.build_coupling_map() is None


def test_unknown_gate_is_skipped_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    gates = uniform_gates(2, ["rz", "mystery"], [])
    target = build_target(DeviceSpec("v", "d", 2, gates))
    assert "mystery" not in target.operation_names
    assert "mystery" in caplog.text


# -- Result building ------------------------------------------------------------------------


def test_result_splits_registers_in_qiskit_order() -> None:
    layout = CircuitLayout.from_circuit(asymmetric())
    result = build_result(
        vendor="v",
        backend_name="b",
        job_id="j",
        layouts=[layout],
        outcomes=[CircuitCounts(counts={"101": 7}, memory=["101"] * 7)],
        shots=7,
    )
    assert result.get_counts() == {"10 1": 7}
    assert result.get_memory(0) == ["10 1"] * 7
    assert result.results[0].header["name"] == "asym"


def test_reverse_keys_for_bit0_leftmost_vendors() -> None:
    assert reverse_keys({"100": 3, "001": 2}) == {"001": 3, "100": 2}


def test_wrong_key_width_is_malformed() -> None:
    layout = CircuitLayout.from_circuit(asymmetric())
    with pytest.raises(VendorAPIError, match="3-bit"):
        build_result(
            vendor="v",
            backend_name="b",
            job_id="j",
            layouts=[layout],
            outcomes=[CircuitCounts(counts={"10": 1})],
            shots=1,
        )


# -- run() end to end on the fake vendor ------------------------------------------------------


def test_asymmetric_circuit_counts(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    job = backend.run(transpile(asymmetric(), backend), shots=64)
    assert job.result().get_counts() == {"10 1": 64}
    assert job.status() is JobStatus.DONE


def test_memory_synthesised_from_counts_is_flagged(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    result = backend.run(transpile(asymmetric(), backend), shots=5, memory=True).result()
    assert result.get_memory(0) == ["10 1"] * 5
    assert result.results[0].metadata["memory_synthesised"] is True


def test_sampler_v2_on_backend(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure_all()
    pub = BackendSamplerV2(backend=backend).run([transpile(bell, backend)], shots=200).result()[0]
    assert set(pub.data.meas.get_counts()) <= {"00", "11"}


def test_many_circuits_are_chunked_by_max_circuits(tmp_path: Path) -> None:
    adapter = FakeAdapter(devices=[fake_device(max_circuits=2)])
    backend = FakeBackend(adapter, adapter.devices[0], sleep=lambda s: None)
    circuits = []
    for i in range(5):
        qc = QuantumCircuit(1, 1, name=f"c{i}")
        if i % 2:
            qc.x(0)
        qc.measure(0, 0)
        circuits.append(qc)
    job = backend.run(transpile(circuits, backend), shots=10)
    assert len(adapter.submitted) == 3
    assert sorted(job.job_id().split(";")) == ["job-0", "job-1", "job-2"]
    assert [len(adapter.jobs[ref]["payload"]["circuits"]) for ref in job.chunk_refs] == [2, 2, 1]
    counts = job.result().get_counts()
    assert counts == [{"0": 10}, {"1": 10}, {"0": 10}, {"1": 10}, {"0": 10}]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda qc: qc.h(0), "'h'"),
        (lambda qc: qc.cz(0, 2), "not coupled"),
    ],
)
def test_validation_rejects_before_submit(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    backend = make_backend(tmp_path)
    qc = QuantumCircuit(5, 1)
    mutate(qc)
    qc.measure(0, 0)
    with pytest.raises(CircuitValidationError, match=message):
        backend.run(qc)
    assert backend.adapter.submitted == []  # type: ignore[attr-defined]


def test_validation_width_measurement_and_shots(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    with pytest.raises(CircuitValidationError, match="6 qubits"):
        wide = QuantumCircuit(6, 1)
        wide.measure(5, 0)
        backend.run(wide)
    with pytest.raises(CircuitValidationError, match="no measurements"):
        backend.run(QuantumCircuit(1, 1))
    ok = QuantumCircuit(1, 1)
    ok.measure(0, 0)
    for bad in (0, -3, 10**9, 2.5, True):
        with pytest.raises(CircuitValidationError, match="shots"):
            backend.run(ok, shots=bad)
    with pytest.raises(CircuitValidationError, match="fancy"):
        backend.run(ok, fancy="z")
    assert backend.adapter.submitted == []  # type: ignore[attr-defined]


def test_unknown_option_warns_by_name(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    ok = QuantumCircuit(1, 1)
    ok.measure(0, 0)
    with pytest.warns(MultiCloudWarning, match="'shot'.*did you mean 'shots'"):
        backend.run(ok, shot=10)


def test_unbound_parameters_rejected(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    qc = QuantumCircuit(1, 1)
    qc.rz(Parameter("t"), 0)
    qc.measure(0, 0)
    with pytest.raises(CircuitValidationError, match="unbound parameter"):
        backend.run(qc)


# -- polling, timeout, cancel, failures -------------------------------------------------------


def test_poll_schedule_grows_and_caps() -> None:
    schedule = PollSchedule(0.5, 2.0)
    assert [schedule.next() for _ in range(5)] == [0.5, 0.75, 1.125, 1.6875, 2.0]


def test_aggregate_status() -> None:
    D, Q, R, E, C = (
        JobStatus.DONE,
        JobStatus.QUEUED,
        JobStatus.RUNNING,
        JobStatus.ERROR,
        JobStatus.CANCELLED,
    )
    assert aggregate_status([D, D]) is D
    assert aggregate_status([D, R, Q]) is Q
    assert aggregate_status([D, C]) is C
    assert aggregate_status([C, E]) is E


def test_result_timeout_raises_with_retrieval_hint(tmp_path: Path) -> None:
    backend = make_backend(tmp_path, polls_until_done=10**6)
    now = [0.0]

    def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    ok = QuantumCircuit(1, 1)
    ok.measure(0, 0)
    job = backend.run(ok)
    job._sleep = fake_sleep
    job._clock = lambda: now[0]
    with pytest.raises(JobTimeoutError, match="retrieve_job"):
        job.result(timeout=30)
    assert now[0] == pytest.approx(30)
    assert job.poll_count < 20


def test_cancelled_job_result_raises(tmp_path: Path) -> None:
    backend = make_backend(tmp_path, polls_until_done=10**6)
    ok = QuantumCircuit(1, 1)
    ok.measure(0, 0)
    job = backend.run(ok)
    assert job.cancel() is True
    assert job.status() is JobStatus.CANCELLED
    with pytest.raises(JobFailedError, match="cancelled"):
        job.result()


# -- job store ------------------------------------------------------------------------------


def test_job_store_records_and_retrieves_across_instances(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    job = backend.run(transpile(asymmetric(), backend), shots=16)
    path = tmp_path / "jobs.sqlite"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    store = JobStore(path)
    record = store.get(job.job_id())
    assert record is not None
    assert record.status == "SUBMITTED"
    assert record.layouts[0].creg_sizes == (("a", 1), ("b", 2))
    circuits = store.circuits(record.record_id)
    assert circuits is not None and circuits[0].name == "asym"
    rebuilt = backend.job_from_refs(
        record.chunk_refs, record.chunk_sizes, record.layouts, record.options
    )
    assert rebuilt.result().get_counts() == {"10 1": 16}
    assert "fake-secret-token" not in path.read_bytes().decode("latin-1")


@pytest.mark.parametrize(
    ("error", "expected", "status"),
    [
        (
            VendorConnectionError("dropped", vendor="fake"),
            SubmissionUncertainError,
            "SUBMISSION_UNCERTAIN",
        ),
        (
            VendorAPIError("boom", vendor="fake", status=502),
            SubmissionUncertainError,
            "SUBMISSION_UNCERTAIN",
        ),
        (VendorAPIError("bad", vendor="fake", status=400), VendorAPIError, "SUBMIT_FAILED"),
    ],
)
def test_failed_submit_is_recorded_not_retried(
    tmp_path: Path, error: VendorAPIError, expected: type[Exception], status: str
) -> None:
    backend = make_backend(tmp_path)
    calls = []

    def failing_submit(*args: object) -> str:
        calls.append(args)
        raise error

    backend.adapter.submit = failing_submit  # type: ignore[method-assign]
    ok = QuantumCircuit(1, 1)
    ok.measure(0, 0)
    with pytest.raises(expected):
        backend.run(ok)
    assert len(calls) == 1
    records = JobStore(tmp_path / "jobs.sqlite").list()
    assert [r.status for r in records] == [status]


def test_polling_survives_transient_errors(tmp_path: Path) -> None:
    backend = make_backend(tmp_path, polls_until_done=3)
    real_status = backend.adapter.status
    failures = iter(
        [
            VendorConnectionError("dropped", vendor="fake"),
            VendorAPIError("busy", vendor="fake", status=503),
        ]
    )

    def flaky(ref: str):  # type: ignore[no-untyped-def]
        error = next(failures, None)
        if error is not None:
            raise error
        return real_status(ref)

    backend.adapter.status = flaky  # type: ignore[method-assign]
    ok = QuantumCircuit(1, 1)
    ok.measure(0, 0)
    assert backend.run(ok, shots=4).result().get_counts() == {"0": 4}


def test_polling_gives_up_on_auth_errors(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)

    def denied(ref: str):  # type: ignore[no-untyped-def]
        raise VendorAPIError("forbidden", vendor="fake", status=403)

    backend.adapter.status = denied  # type: ignore[method-assign]
    ok = QuantumCircuit(1, 1)
    ok.measure(0, 0)
    with pytest.raises(VendorAPIError, match="forbidden"):
        backend.run(ok).result()


def test_uncertain_submit_is_reconciled_without_resubmitting(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    adapter = backend.adapter
    real_submit = adapter.submit
    tags: list[str] = []

    def submit_then_drop(device, payload, options):  # type: ignore[no-untyped-def]
        tags.append(options["submission_tag"])
        real_submit(device, payload, options)
        raise VendorConnectionError("connection dropped after send", vendor="fake")

    adapter.submit = submit_then_drop  # type: ignore[method-assign]
    adapter.reconcile = lambda device, payload, options: (  # type: ignore[method-assign]
        "job-0" if options["submission_tag"] == tags[0] else None
    )
    ok = QuantumCircuit(1, 1)
    ok.measure(0, 0)
    job = backend.run(ok, shots=3)
    assert job.job_id() == "job-0"
    assert len(adapter.submitted) == 1  # type: ignore[attr-defined]
    assert job.result().get_counts() == {"0": 3}
    record = JobStore(tmp_path / "jobs.sqlite").get("job-0")
    assert record is not None and record.status == "DONE"


def test_each_experiment_names_its_vendor_job_and_raw_status(tmp_path: Path) -> None:
    adapter = FakeAdapter(devices=[fake_device(max_circuits=1)])
    backend = FakeBackend(adapter, adapter.devices[0], sleep=lambda s: None)
    ok = QuantumCircuit(1, 1, name="first")
    ok.measure(0, 0)
    job = backend.run([ok, ok.copy("second")], shots=2)
    result = job.result()
    assert [e.metadata["vendor_job_id"] for e in result.results] == job.chunk_refs
    assert [e.metadata["vendor_status"] for e in result.results] == ["D", "D"]
    assert [e.header["name"] for e in result.results] == ["first", "second"]
    assert result.header["vendor_job_ids"] == job.chunk_refs


def test_per_shot_memory_only_kept_when_asked(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    real_results = backend.adapter.results

    def with_memory(ref, layouts, options):  # type: ignore[no-untyped-def]
        outcomes = real_results(ref, layouts, options)
        for outcome in outcomes:
            outcome.memory = [key for key, n in outcome.counts.items() for _ in range(n)]
        return outcomes

    backend.adapter.results = with_memory  # type: ignore[method-assign]
    ok = QuantumCircuit(1, 1)
    ok.x(0)
    ok.measure(0, 0)
    plain = backend.run(ok, shots=3).result()
    assert "memory" not in plain.results[0].data.to_dict()
    kept = backend.run(ok, shots=3, memory=True).result()
    assert kept.get_memory(0) == ["1", "1", "1"]
    assert "memory_synthesised" not in kept.results[0].metadata
