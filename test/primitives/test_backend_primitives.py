"""Qiskit's generic BackendSamplerV2/BackendEstimatorV2 on our backend, and job retrieval."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from qiskit import transpile
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.primitives import BackendEstimatorV2, BackendSamplerV2
from qiskit.quantum_info import SparsePauliOp

from qiskit_multicloud.exceptions import MultiCloudError
from qiskit_multicloud.job import MultiCloudJob
from qiskit_multicloud.jobstore import JobStore
from qiskit_multicloud.primitives import Estimator, Sampler, retrieve_primitive_job
from test.core.fakes import FakeAdapter, FakeBackend, fake_device
from test.primitives.conftest import RUN


def bell(measure: bool = True) -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    if measure:
        qc.measure_all()
    return qc


def test_backend_sampler_v2_gets_synthesised_memory(backend: FakeBackend) -> None:
    isa = transpile(bell(), backend, seed_transpiler=1)
    result = BackendSamplerV2(backend=backend).run([isa], shots=500).result()
    counts = result[0].data.meas.get_counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 500
    raw = backend.run(isa, shots=10, memory=True).result()
    assert raw.results[0].metadata["memory_synthesised"] is True


def test_backend_estimator_v2(backend: FakeBackend) -> None:
    isa = transpile(bell(measure=False), backend, seed_transpiler=1)
    observables = [SparsePauliOp(p).apply_layout(isa.layout) for p in ("ZZ", "XX", "YY")]
    estimator = BackendEstimatorV2(backend=backend, options={"default_precision": 0.02})
    evs = estimator.run([(isa, observables)]).result()[0].data.evs
    np.testing.assert_allclose(evs, [1.0, 1.0, -1.0], atol=1e-9)


class StoreProvider:
    """Just enough of MultiCloudProvider.retrieve_job for the fake vendor."""

    def __init__(self, backend: FakeBackend, store: JobStore) -> None:
        self.backend = backend
        self.store = store

    def retrieve_job(self, job_id: str) -> MultiCloudJob:
        record = self.store.get(job_id)
        if record is None:
            raise MultiCloudError(f"job {job_id!r} is not in the job store")
        return self.backend.job_from_refs(
            record.chunk_refs, record.chunk_sizes, record.layouts, record.options,
            record.record_id,
        )


def stored_backend(tmp_path: Path) -> tuple[FakeBackend, StoreProvider]:
    adapter = FakeAdapter([fake_device(max_circuits=2)], polls_until_done=1)
    store = JobStore(tmp_path / "jobs.sqlite")
    backend = FakeBackend(adapter, adapter.devices[0], job_store=store, sleep=lambda s: None)
    return backend, StoreProvider(backend, store)


def test_sampler_job_is_rebuilt_from_its_id(tmp_path: Path) -> None:
    backend, provider = stored_backend(tmp_path)
    theta = Parameter("t")
    qc = QuantumCircuit(1)
    qc.ry(theta, 0)
    qc.measure_all()
    isa = transpile(qc, backend, seed_transpiler=1)
    job = Sampler(backend, options=RUN).run(
        [(isa, [0.0, np.pi, 0.0]), (transpile(bell(), backend), None, 30)], shots=20
    )
    job_id = job.job_id()
    assert job_id == "job-0;job-1+job-2"
    again = retrieve_primitive_job(provider, job_id)  # type: ignore[arg-type]
    assert again.kind == "sampler" and again.job_id() == job_id
    result = again.result()
    assert result[0].data.meas.shape == (3,)
    assert [result[0].data.meas[i].get_counts() for i in range(3)] == [
        {"0": 20}, {"1": 20}, {"0": 20}
    ]
    assert set(result[1].data.meas.get_counts()) <= {"00", "11"}
    assert result[1].data.meas.num_shots == 30
    assert result.metadata["vendor_job_ids"] == ["job-0", "job-1", "job-2"]
    with pytest.raises(MultiCloudError, match="not a estimator job"):
        retrieve_primitive_job(provider, job_id, kind="estimator")  # type: ignore[arg-type]


def test_estimator_job_is_rebuilt_from_its_id(tmp_path: Path) -> None:
    backend, provider = stored_backend(tmp_path)
    isa = transpile(bell(measure=False), backend, seed_transpiler=1)
    observables = [[SparsePauliOp(p).apply_layout(isa.layout)] for p in ("ZZ", "XX", "YY")]
    job = Estimator(backend, options=RUN).run([(isa, observables)], precision=0.05)
    first = job.result()
    again = retrieve_primitive_job(provider, job.job_id(), kind="estimator")  # type: ignore[arg-type]
    second = again.result()
    assert second[0].data.evs.shape == (3, 1)
    np.testing.assert_allclose(second[0].data.evs, first[0].data.evs)
    np.testing.assert_allclose(second[0].data.evs.ravel(), [1.0, 1.0, -1.0], atol=1e-9)
    assert second[0].metadata["target_precision"] == 0.05


def test_plain_job_is_not_a_primitive_job(tmp_path: Path) -> None:
    backend, provider = stored_backend(tmp_path)
    job = backend.run(transpile(bell(), backend), shots=5)
    with pytest.raises(MultiCloudError, match="not submitted by a qiskit-multicloud primitive"):
        retrieve_primitive_job(provider, job.job_id())  # type: ignore[arg-type]


def test_retrieve_method_needs_a_provider(backend: FakeBackend) -> None:
    with pytest.raises(MultiCloudError, match="not obtained from a MultiCloudProvider"):
        Sampler(backend).retrieve("job-0")
    with pytest.raises(MultiCloudError, match="not obtained from a MultiCloudProvider"):
        Estimator(backend).retrieve("job-0")
