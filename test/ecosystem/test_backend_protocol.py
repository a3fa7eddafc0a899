"""Backend behaviour ecosystem tools rely on, on every vendor's emulated QPU over HTTP."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.primitives import BackendEstimatorV2, BackendSamplerV2
from qiskit.quantum_info import SparsePauliOp

from qiskit_multicloud import MultiCloudBackend
from qiskit_multicloud.exceptions import CircuitValidationError, DeviceDataMissingError
from qiskit_multicloud.primitives import Estimator, Sampler

from .conftest import VENDORS

pytestmark = pytest.mark.emulator


def bell(backend: MultiCloudBackend) -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return transpile(qc, backend, seed_transpiler=3)


def mostly_bell(counts: dict[str, int], shots: int) -> bool:
    return sum(counts.values()) == shots and counts.get("00", 0) + counts.get("11", 0) > 0.8 * shots


@pytest.mark.parametrize("vendor", VENDORS)
def test_deep_copy_runs_and_pickle_refuses(qpus: dict[str, MultiCloudBackend], vendor: str) -> None:
    backend = qpus[vendor]
    clone = copy.deepcopy(backend)
    assert clone.adapter is backend.adapter and clone.options is not backend.options
    counts = clone.run(bell(clone), shots=200).result().get_counts()
    assert mostly_bell(counts, 200)
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(backend)


@pytest.mark.parametrize("vendor", VENDORS)
def test_numpy_shots_everywhere(qpus: dict[str, MultiCloudBackend], vendor: str) -> None:
    backend = qpus[vendor]
    isa = bell(backend)
    shots = np.int64(120)
    assert mostly_bell(backend.run(isa, shots=shots).result().get_counts(), 120)
    pub = BackendSamplerV2(backend=backend).run([isa], shots=shots).result()[0]
    assert mostly_bell(pub.data.meas.get_counts(), 120)
    pub = Sampler(backend).run([isa], shots=shots).result()[0]
    assert mostly_bell(pub.data.meas.get_counts(), 120)


@pytest.mark.parametrize("vendor", VENDORS)
def test_run_options_from_ecosystem_tools(qpus: dict[str, MultiCloudBackend], vendor: str) -> None:
    backend = qpus[vendor]
    isa = bell(backend)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        job = backend.run(
            isa, shots=50, memory=True, meas_level=2, meas_return="avg", seed_simulator=None
        )
        assert len(job.result().get_memory(0)) == 50
    with pytest.raises(CircuitValidationError, match="meas_level"):
        backend.run(isa, meas_level=1)
    if vendor == "oqc":  # sent as passive_reset_time
        assert sum(backend.run(isa, shots=20, rep_delay=1e-4).result().get_counts().values()) == 20
    else:
        with pytest.raises(CircuitValidationError, match="rep_delay"):
            backend.run(isa, rep_delay=1e-4)


@pytest.mark.parametrize("vendor", VENDORS)
def test_estimators_on_every_vendor(qpus: dict[str, MultiCloudBackend], vendor: str) -> None:
    backend = qpus[vendor]
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    isa = transpile(qc, backend, seed_transpiler=3)
    zz = SparsePauliOp("ZZ").apply_layout(isa.layout)
    for estimator in (
        BackendEstimatorV2(backend=backend),
        Estimator(backend, options={"native": False}),
    ):
        evs = estimator.run([(isa, zz)], precision=0.05).result()[0].data.evs
        assert float(evs) > 0.7


@pytest.mark.parametrize("vendor", VENDORS)
def test_scheduling_works_or_names_the_missing_data(
    qpus: dict[str, MultiCloudBackend], vendor: str
) -> None:
    backend = qpus[vendor]
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    published = all(
        props is not None and props.duration is not None
        for props in backend.target["measure"].values()
    )
    if not published:  # OQTOPUS publishes no readout duration
        with pytest.raises(DeviceDataMissingError, match=f"{vendor} does not publish.*'measure'"):
            transpile(qc, backend, scheduling_method="alap", seed_transpiler=3)
        return
    scheduled = transpile(qc, backend, scheduling_method="alap", seed_transpiler=3)
    assert scheduled.estimate_duration(backend.target, unit="s") > 0
    counts = backend.run(scheduled, shots=100).result().get_counts()
    assert sum(counts.values()) == 100


@pytest.mark.parametrize("vendor", VENDORS)
def test_aer_from_backend(qpus: dict[str, MultiCloudBackend], vendor: str) -> None:
    aer = pytest.importorskip("qiskit_aer")
    backend = qpus[vendor]
    simulator = aer.AerSimulator.from_backend(backend)
    counts = simulator.run(bell(backend), shots=300, seed_simulator=5).result().get_counts()
    assert mostly_bell(counts, 300)
