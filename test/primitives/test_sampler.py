"""Sampler against the in-memory fake vendor."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from qiskit import transpile
from qiskit.circuit import ClassicalRegister, Parameter, QuantumCircuit, QuantumRegister
from qiskit.primitives import BaseSamplerV2, PrimitiveResult, SamplerPubResult

from qiskit_multicloud.primitives import MultiCloudPrimitiveJob, Sampler
from qiskit_multicloud.types import CircuitCounts
from test.core.fakes import FakeAdapter, FakeBackend, fake_device
from test.primitives.conftest import RUN


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


def test_is_a_sampler_v2(backend: FakeBackend) -> None:
    assert isinstance(Sampler(backend), BaseSamplerV2)
    with pytest.raises(TypeError, match="qiskit-multicloud backend"):
        Sampler(object())  # type: ignore[arg-type]


def test_bell_counts(backend: FakeBackend) -> None:
    isa = transpile(bell(), backend, seed_transpiler=1)
    job = Sampler(backend, options=RUN).run([isa], shots=2000)
    assert isinstance(job, MultiCloudPrimitiveJob)
    result = job.result()
    assert isinstance(result, PrimitiveResult)
    pub = result[0]
    assert isinstance(pub, SamplerPubResult)
    counts = pub.data.meas.get_counts()
    assert set(counts) == {"00", "11"}
    assert sum(counts.values()) == 2000
    assert 850 < counts["00"] < 1150
    assert len(backend.adapter.submitted) == 1
    assert pub.metadata["shots"] == 2000
    assert pub.metadata["vendor_job_ids"] == job.vendor_job_ids == ["job-0"]
    assert result.metadata["vendor_job_ids"] == ["job-0"]
    assert result.metadata["job_id"] == job.job_id() == "job-0"
    assert pub.metadata["per_shot_memory"] is False
    assert job.done() and job.in_final_state() and not job.running() and not job.cancelled()


def test_multiple_registers_keep_names_and_bit_order(backend: FakeBackend) -> None:
    q = QuantumRegister(3, "q")
    a = ClassicalRegister(1, "alpha")
    b = ClassicalRegister(2, "beta")
    qc = QuantumCircuit(q, a, b)
    qc.x(0)
    qc.x(2)
    qc.measure(0, a[0])      # alpha = 1
    qc.measure(1, b[0])      # beta[0] = 0
    qc.measure(2, b[1])      # beta[1] = 1 -> "10"
    isa = transpile(qc, backend, seed_transpiler=1)
    pub = Sampler(backend, options=RUN).run([isa], shots=100).result()[0]
    assert pub.data.alpha.get_counts() == {"1": 100}
    assert pub.data.beta.get_counts() == {"10": 100}
    assert pub.data.alpha.num_bits == 1 and pub.data.beta.num_bits == 2


def test_parameter_sweep_follows_cos(backend: FakeBackend) -> None:
    theta = Parameter("θ")
    qc = QuantumCircuit(1)
    qc.ry(theta, 0)
    qc.measure_all()
    isa = transpile(qc, backend, seed_transpiler=1)
    angles = np.linspace(0, np.pi, 7)
    shots = 4000
    result = Sampler(backend, options=RUN).run([(isa, angles)], shots=shots).result()
    bits = result[0].data.meas
    assert bits.shape == (7,)
    assert len(backend.adapter.submitted) == 1
    for i, angle in enumerate(angles):
        counts = bits[i].get_counts()
        z = (counts.get("0", 0) - counts.get("1", 0)) / shots
        assert abs(z - np.cos(angle)) < 4 / np.sqrt(shots)


def test_two_dimensional_sweep_and_several_pubs_one_run(backend: FakeBackend) -> None:
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.rx(a, 0)
    qc.rx(b, 1)
    qc.measure_all()
    isa = transpile(qc, backend, seed_transpiler=1)
    values = np.array([[[0, 0], [np.pi, 0]], [[0, np.pi], [np.pi, np.pi]], [[0, 0], [0, 0]]])
    sampler = Sampler(backend, options={**RUN, "default_shots": 50})
    result = sampler.run([(isa, values), transpile(bell(), backend)]).result()
    assert len(backend.adapter.submitted) == 1
    assert len(backend.adapter.submitted[0]["circuits"]) == 7
    grid = result[0].data.meas
    assert grid.shape == (3, 2)
    assert grid[0, 0].get_counts() == {"00": 50}
    assert grid[0, 1].get_counts() == {"01": 50}
    assert grid[1, 0].get_counts() == {"10": 50}
    assert grid[1, 1].get_counts() == {"11": 50}
    assert result[1].data.meas.shape == ()


def test_max_circuits_chunks_but_one_run() -> None:
    adapter = FakeAdapter([fake_device(max_circuits=2)], polls_until_done=1)
    backend = FakeBackend(adapter, adapter.devices[0], sleep=lambda s: None)
    theta = Parameter("t")
    qc = QuantumCircuit(1)
    qc.ry(theta, 0)
    qc.measure_all()
    isa = transpile(qc, backend, seed_transpiler=1)
    job = Sampler(backend, options=RUN).run([(isa, [0.0, np.pi, 0.0, np.pi, 0.0])], shots=10)
    result = job.result()
    assert len(adapter.submitted) == 3            # chunks of one backend.run
    assert job.job_id() == "job-0;job-1;job-2"
    assert result[0].metadata["vendor_job_ids"] == ["job-0", "job-1", "job-2"]
    counts = [result[0].data.meas[i].get_counts() for i in range(5)]
    assert counts == [{"0": 10}, {"1": 10}, {"0": 10}, {"1": 10}, {"0": 10}]


def test_pubs_with_different_shots_run_per_shot_count(backend: FakeBackend) -> None:
    isa = transpile(bell(), backend, seed_transpiler=1)
    job = Sampler(backend, options=RUN).run([(isa, None, 10), (isa, None, 20), (isa, None, 10)])
    result = job.result()
    assert len(backend.adapter.submitted) == 2
    assert job.job_id() == "job-0+job-1"
    assert [r.data.meas.num_shots for r in result] == [10, 20, 10]


class MemoryAdapter(FakeAdapter):
    """A fake vendor that returns real per-shot outcomes."""

    def results(self, job_ref: str, layouts: Any, options: Any) -> list[CircuitCounts]:
        payload = self.jobs[job_ref]["payload"]
        outcomes = self.sim.run(payload["circuits"], payload["shots"])
        return [CircuitCounts(counts=o.counts, memory=o.memory) for o in outcomes]


def test_real_memory_is_used_in_shot_order() -> None:
    adapter = MemoryAdapter([fake_device(supports_memory=True)], polls_until_done=1)
    backend = FakeBackend(adapter, adapter.devices[0], sleep=lambda s: None)
    isa = transpile(bell(), backend, seed_transpiler=1)
    pub = Sampler(backend, options=RUN).run([isa], shots=64).result()[0]
    assert pub.metadata["per_shot_memory"] is True
    expected = adapter.sim.run([isa], 64)[0].memory  # same seed -> same shots
    assert pub.data.meas.get_bitstrings() == expected


def test_synthesised_memory_is_not_used(backend: FakeBackend) -> None:
    isa = transpile(bell(), backend, seed_transpiler=1)
    pub = Sampler(backend, options={**RUN, "memory": True}).run([isa], shots=64).result()[0]
    assert pub.metadata["per_shot_memory"] is False
    assert sum(pub.data.meas.get_counts().values()) == 64


def test_user_circuit_is_not_modified(backend: FakeBackend) -> None:
    isa = transpile(bell(), backend, seed_transpiler=1)
    isa.metadata = {"mine": 1}
    result = Sampler(backend, options=RUN).run([isa], shots=10).result()
    assert isa.metadata == {"mine": 1}
    assert result[0].metadata["circuit_metadata"] == {"mine": 1}


def test_job_tags_and_cancel(backend: FakeBackend) -> None:
    backend.adapter.polls_until_done = 100
    isa = transpile(bell(), backend, seed_transpiler=1)
    job = Sampler(backend, options={"run_options": {**RUN["run_options"], "job_tags": ["x"]}})
    primitive = job.run([isa], shots=10)
    assert primitive.jobs[0].run_options["job_tags"] == ["x", "qiskit-multicloud-primitive:sampler"]
    assert primitive.cancel() is True
    assert primitive.cancelled()


def test_empty_run_is_rejected(backend: FakeBackend) -> None:
    with pytest.raises(ValueError, match="at least one pub"):
        Sampler(backend).run([])
