"""Estimator (client-side path and native dispatch) against the in-memory fake vendor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from qiskit import transpile
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.circuit.library import real_amplitudes
from qiskit.primitives import BaseEstimatorV2
from qiskit.quantum_info import SparsePauliOp, Statevector

from qiskit_multicloud.exceptions import MultiCloudError
from qiskit_multicloud.primitives import (
    EstimationTask,
    EstimationValue,
    Estimator,
    native_for,
    register_native_estimation,
)
from qiskit_multicloud.primitives import native as native_module
from qiskit_multicloud.primitives._measure import group_basis, qwc_groups
from test.core.fakes import FakeAdapter, FakeBackend
from test.primitives.conftest import RUN, make_backend

NATIVE_GATES = {"rz", "sx", "x", "cz", "measure", "barrier"}


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    return qc


def test_is_an_estimator_v2(backend: FakeBackend) -> None:
    assert isinstance(Estimator(backend), BaseEstimatorV2)
    with pytest.raises(ValueError, match="native"):
        Estimator(backend, options={"native": "maybe"})


def test_bell_zz_xx_yy(backend: FakeBackend) -> None:
    isa = transpile(bell(), backend, seed_transpiler=3)
    observables = [SparsePauliOp(p).apply_layout(isa.layout) for p in ("ZZ", "XX", "YY")]
    job = Estimator(backend, options=RUN).run([(isa, observables)], precision=0.02)
    result = job.result()
    evs = result[0].data.evs
    stds = result[0].data.stds
    np.testing.assert_allclose(evs, [1.0, 1.0, -1.0], atol=1e-9)  # eigenstate: exact
    np.testing.assert_allclose(stds, [0.0, 0.0, 0.0], atol=1e-9)
    assert len(backend.adapter.submitted) == 1
    circuits = backend.adapter.submitted[0]["circuits"]
    assert len(circuits) == 3          # ZZ, XX, YY do not commute qubit-wise
    assert backend.adapter.submitted[0]["shots"] == 2500   # ceil(1/0.02**2)
    for circuit in circuits:           # appended rotations are native gates
        assert {inst.operation.name for inst in circuit.data} <= NATIVE_GATES
    meta = result[0].metadata
    assert meta["shots"] == 2500 and meta["target_precision"] == 0.02
    assert meta["vendor_job_ids"] == ["job-0"] == result.metadata["vendor_job_ids"]
    assert meta["native"] is False


def test_four_qubit_observable_matches_statevector(backend: FakeBackend) -> None:
    ansatz = real_amplitudes(4, reps=1)
    values = np.linspace(0.1, 1.5, ansatz.num_parameters)
    state = ansatz.assign_parameters(values)
    observable = SparsePauliOp.from_list(
        [("ZZII", 0.5), ("IXXI", -0.7), ("YIIY", 0.3), ("XZYI", 0.4), ("IIIZ", 1.1), ("IIII", 0.2)]
    )
    exact = Statevector(state).expectation_value(observable).real
    isa = transpile(ansatz, backend, seed_transpiler=5)
    isa_obs = observable.apply_layout(isa.layout)
    precision = 0.005
    result = Estimator(backend, options=RUN).run([(isa, isa_obs, values)], precision=precision)
    pub = result.result()[0]
    assert pub.data.evs.shape == ()
    assert abs(float(pub.data.evs) - exact) < 5 * float(pub.data.stds) + 1e-9
    assert 0 < float(pub.data.stds) < 0.05
    assert len(backend.adapter.submitted) == 1


def test_ry_sweep_follows_cos(backend: FakeBackend) -> None:
    theta = Parameter("θ")
    qc = QuantumCircuit(1)
    qc.ry(theta, 0)
    isa = transpile(qc, backend, seed_transpiler=1)
    z = SparsePauliOp("Z").apply_layout(isa.layout)
    x = SparsePauliOp("X").apply_layout(isa.layout)
    angles = np.linspace(0, 2 * np.pi, 9).reshape(9, 1, 1)  # shape (9, 1), one parameter
    pub = Estimator(backend, options=RUN).run([(isa, [z, x], angles)], precision=0.02)
    data = pub.result()[0].data
    assert data.evs.shape == (9, 2)
    flat = angles.ravel()
    assert np.all(np.abs(data.evs[:, 0] - np.cos(flat)) < 4 * data.stds[:, 0] + 0.01)
    assert np.all(np.abs(data.evs[:, 1] - np.sin(flat)) < 4 * data.stds[:, 1] + 0.01)
    assert len(backend.adapter.submitted) == 1
    assert len(backend.adapter.submitted[0]["circuits"]) == 18


def test_several_pubs_one_run_and_max_shots(backend: FakeBackend) -> None:
    isa = transpile(bell(), backend, seed_transpiler=3)
    zz = SparsePauliOp("ZZ").apply_layout(isa.layout)
    ident = SparsePauliOp("II", 2.5).apply_layout(isa.layout)
    job = Estimator(backend, options=RUN).run([(isa, zz, None, 0.1), (isa, ident, None, 0.05)])
    result = job.result()
    assert len(backend.adapter.submitted) == 1
    assert backend.adapter.submitted[0]["shots"] == 400
    assert float(result[0].data.evs) == pytest.approx(1.0)
    assert float(result[1].data.evs) == pytest.approx(2.5)
    assert float(result[1].data.stds) == 0.0


def test_shots_capped_by_device() -> None:
    backend = make_backend(max_shots=1000)
    isa = transpile(bell(), backend, seed_transpiler=3)
    zz = SparsePauliOp("ZZ").apply_layout(isa.layout)
    Estimator(backend, options=RUN).run([(isa, zz)], precision=0.001).result()
    assert backend.adapter.submitted[0]["shots"] == 1000


def test_grouping_helpers() -> None:
    groups = qwc_groups(["ZZ", "ZI", "IZ", "XX", "XI"])
    assert groups == [["IZ", "ZI", "ZZ"], ["XI", "XX"]]
    assert qwc_groups(["ZZ", "ZI"], abelian_grouping=False) == [["ZZ"], ["ZI"]]
    assert group_basis(["XIY"], 3) == ((0, "Y"), (2, "X"))


def test_without_grouping_one_circuit_per_term(backend: FakeBackend) -> None:
    isa = transpile(bell(), backend, seed_transpiler=3)
    obs = SparsePauliOp(["ZZ", "ZI", "IZ"]).apply_layout(isa.layout)
    options = {**RUN, "abelian_grouping": False}
    result = Estimator(backend, options=options).run([(isa, obs)]).result()
    assert len(backend.adapter.submitted[0]["circuits"]) == 3
    assert abs(float(result[0].data.evs) - 1.0) < 0.1


def test_native_true_without_support_raises(backend: FakeBackend) -> None:
    isa = transpile(bell(), backend, seed_transpiler=3)
    zz = SparsePauliOp("ZZ").apply_layout(isa.layout)
    with pytest.raises(MultiCloudError, match="no native estimation"):
        Estimator(backend, options={"native": True}).run([(isa, zz)])


class ExactBridge:
    """A native estimation for the fake vendor: exact Statevector values, one job."""

    def available(self, backend: Any) -> bool:
        return True

    def submit(self, backend: Any, tasks: Sequence[EstimationTask], shots: int) -> list[str]:
        adapter: FakeAdapter = backend.adapter
        adapter.jobs["native-0"] = {"payload": None, "polls": 0, "status": "Q"}
        self.shots = shots
        return ["native-0"]

    def collect(
        self, backend: Any, refs: Sequence[str], tasks: Sequence[EstimationTask]
    ) -> list[EstimationValue]:
        return [
            EstimationValue(float(Statevector(t.circuit).expectation_value(t.observable).real),
                            0.0, exact=True)
            for t in tasks
        ]


def test_native_dispatch_through_registry(
    backend: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(native_module, "NATIVE_ESTIMATORS", dict(native_module.NATIVE_ESTIMATORS))
    register_native_estimation("fake", ExactBridge)
    assert native_for(backend) is not None
    theta = Parameter("t")
    qc = QuantumCircuit(1)
    qc.ry(theta, 0)
    isa = transpile(qc, backend, seed_transpiler=1)
    z = SparsePauliOp("Z").apply_layout(isa.layout)
    job = Estimator(backend, options=RUN).run([(isa, z, [[0.0], [np.pi / 3]])])
    result = job.result()
    np.testing.assert_allclose(result[0].data.evs, [1.0, 0.5], atol=1e-9)
    assert result[0].metadata["native"] is True and result[0].metadata["exact"] is True
    assert result.metadata["vendor_job_ids"] == ["native-0"]
    assert backend.adapter.submitted == []          # backend.run was not used
    off = Estimator(backend, options={**RUN, "native": False}).run([(isa, z, [0.0])]).result()
    assert off[0].metadata["native"] is False
