"""Sampler sweeps against every vendor's emulator: the translate-once path is taken and gives
the same counts, result layout and job store record as binding every point.

Two emulators started with the same seed run the same pub, one with the default
(``translate_once=True``), one with ``translate_once=False``; seeded emulators give
identical counts when they receive identical programs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qiskit import transpile
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.jobstore import JobStore
from qiskit_multicloud.primitives import Estimator, Sampler, retrieve_primitive_job
from qiskit_multicloud.sweeps import STATS
from test.conftest import FAST

pytestmark = pytest.mark.emulator

VENDORS = ["oqc", "oqtopus", "iqm", "qoro", "qilimanjaro"]


def _run(
    vendor: str, emulator_factory: Callable[..., Any], store: Path, fast: bool
) -> tuple[Any, Any, Any]:
    importlib.import_module(f"qiskit_multicloud.vendors.{vendor}")
    handle = emulator_factory(vendor, seed=11)
    provider = MultiCloudProvider({vendor: handle.settings()}, vendors=[vendor], job_store=store)
    backend = min(
        (b for b in provider.backends(vendor=vendor) if b.online and b.num_qubits >= 3),
        key=lambda b: b.num_qubits,
    )
    # One vendor job per circuit (OQTOPUS) arrives in order, so the seeded emulator draws the
    # same shots for the same job in both runs.
    backend.submit_concurrency = 1
    theta, phi = Parameter("theta"), Parameter("phi")
    circuit = QuantumCircuit(3, name="sweep")
    circuit.ry(theta, 0)
    circuit.cx(0, 1)
    circuit.rx(2 * phi, 1)
    circuit.rz(-theta, 2)
    circuit.ry(phi, 2)
    circuit.measure_all()
    isa = transpile(circuit, backend, seed_transpiler=3)
    values = np.array([[0.0, 0.0], [np.pi, -0.0], [0.3, 1.1], [-1.2, np.pi / 2], [2.5, -0.7],
                       [np.pi / 2, np.pi]])
    run_options = {**FAST, "translate_once": fast}
    STATS.clear()
    job = Sampler(backend, options={"run_options": run_options}).run(
        [(isa, values.reshape(3, 2, 2))], shots=200
    )
    stats = dict(STATS)
    return provider, job, stats


@pytest.mark.parametrize("vendor", VENDORS)
def test_sweep_counts_equal_the_bound_path(
    vendor: str, emulator_factory: Callable[..., Any], tmp_path: Path
) -> None:
    fast_provider, fast_job, fast_stats = _run(
        vendor, emulator_factory, tmp_path / "fast.sqlite", True
    )
    slow_provider, slow_job, slow_stats = _run(
        vendor, emulator_factory, tmp_path / "slow.sqlite", False
    )
    try:
        # the fast path really ran (templates rendered, no point bound by the adapter)
        assert (fast_stats.get("templates", 0) >= 1 and fast_stats.get("rendered", 0) >= 6) or (
            vendor == "qoro" and fast_stats.get("bound", 0) <= 5
        )
        assert slow_stats.get("rendered", 0) == 0 and slow_stats.get("bound", 0) >= 6
        fast, slow = fast_job.result(), slow_job.result()
        assert fast[0].data.meas.array.shape == (3, 2, 200, 1)
        for index in np.ndindex(3, 2):
            assert fast[0].data.meas[index].get_counts() == slow[0].data.meas[index].get_counts()
        # job store: layouts in order, circuits rebuilt bound with their metadata
        store = JobStore(tmp_path / "fast.sqlite")
        records = [store.get(job_id) for job_id in fast_job.job_id().split("+")]
        record = records[0]
        assert record is not None
        stored = store.circuits(record.record_id)
        assert stored is not None and len(stored) == 6 == len(record.layouts)
        assert [c.metadata["qmc_primitive"]["index"] for c in stored] == list(range(6))
        assert [layout.name for layout in record.layouts] == [c.name for c in stored]
        assert not stored[0].parameters and not stored[5].parameters
        # and the job comes back from its id
        again = retrieve_primitive_job(fast_provider, fast_job.job_id(), kind="sampler")
        assert again.result()[0].data.meas[2, 1].get_counts() == fast[0].data.meas[
            2, 1
        ].get_counts()
    finally:
        fast_provider.close()
        slow_provider.close()


def _estimate(
    vendor: str, emulator_factory: Callable[..., Any], fast: bool
) -> tuple[np.ndarray, dict[str, int]]:
    importlib.import_module(f"qiskit_multicloud.vendors.{vendor}")
    handle = emulator_factory(vendor, seed=5)
    provider = MultiCloudProvider({vendor: handle.settings()}, vendors=[vendor], job_store=False)
    try:
        backend = min(
            (b for b in provider.backends(vendor=vendor) if b.online and b.num_qubits >= 2),
            key=lambda b: b.num_qubits,
        )
        backend.submit_concurrency = 1
        theta = Parameter("theta")
        circuit = QuantumCircuit(2)
        circuit.ry(theta, 0)
        circuit.cx(0, 1)
        circuit.rz(2 * theta, 1)
        isa = transpile(circuit, backend, seed_transpiler=3)
        observables = [
            SparsePauliOp(label).apply_layout(isa.layout) for label in ("ZZ", "XX", "ZI")
        ]
        angles = np.linspace(-np.pi, np.pi, 5).reshape(5, 1)
        options = {"native": False, "run_options": {**FAST, "translate_once": fast}}
        STATS.clear()
        job = Estimator(backend, options=options).run(
            [(isa, [[o] for o in observables], angles.T.reshape(1, 5, 1))], precision=0.1
        )
        stats = dict(STATS)
        return job.result()[0].data.evs, stats
    finally:
        provider.close()


@pytest.mark.parametrize("vendor", VENDORS)
def test_estimator_sweep_values_equal_the_bound_path(
    vendor: str, emulator_factory: Callable[..., Any]
) -> None:
    fast, fast_stats = _estimate(vendor, emulator_factory, True)
    slow, slow_stats = _estimate(vendor, emulator_factory, False)
    assert fast.shape == (3, 5)
    assert (fast_stats.get("rendered", 0) >= 5) or (vendor == "qoro")
    assert slow_stats.get("rendered", 0) == 0
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_allclose(fast[0], 1.0, atol=0.01)  # <ZZ> of cos|00> + sin|11>
    np.testing.assert_allclose(fast[2], np.cos(np.linspace(-np.pi, np.pi, 5)), atol=0.35)
