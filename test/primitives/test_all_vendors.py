"""The same primitive user code against every vendor's emulator, over real HTTP."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qiskit import transpile
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp, Statevector

from qiskit_multicloud import MultiCloudBackend, MultiCloudProvider
from qiskit_multicloud.primitives import Estimator, Sampler, native_for, retrieve_primitive_job
from test.conftest import FAST

pytestmark = pytest.mark.emulator

VENDORS = ["oqc", "oqtopus", "iqm", "qoro", "qilimanjaro"]
RUN = {"run_options": dict(FAST)}


def _provider(vendor: str, emulator_factory: Callable[..., Any], tmp_path: Path) -> Any:
    try:
        importlib.import_module(f"qiskit_multicloud.vendors.{vendor}")
    except ImportError as exc:
        pytest.skip(f"vendor {vendor} is not available yet: {exc}")
    handle = emulator_factory(vendor, seed=7)
    return MultiCloudProvider(
        {vendor: handle.settings()}, vendors=[vendor], job_store=tmp_path / "jobs.sqlite"
    )


def _backend(provider: Any, vendor: str, prefer_native: bool = False) -> MultiCloudBackend:
    candidates = [b for b in provider.backends(vendor=vendor) if b.online and b.num_qubits >= 4]
    assert candidates, f"{vendor}: no online backend with 4+ qubits"
    if prefer_native:
        native = [b for b in candidates if native_for(b) is not None]
        candidates = native or candidates
    return min(candidates, key=lambda b: b.num_qubits)


@pytest.mark.parametrize("vendor", VENDORS)
def test_same_user_code_everywhere(
    vendor: str, emulator_factory: Callable[..., Any], tmp_path: Path
) -> None:
    provider = _provider(vendor, emulator_factory, tmp_path)
    try:
        backend = _backend(provider, vendor)

        # Sampler: Bell counts
        bell = QuantumCircuit(2)
        bell.h(0)
        bell.cx(0, 1)
        measured = bell.copy()
        measured.measure_all()
        isa = transpile(measured, backend, seed_transpiler=1)
        sampler = Sampler(backend, options=RUN)
        job = sampler.run([isa], shots=400)
        result = job.result()
        counts = result[0].data.meas.get_counts()
        assert set(counts) <= {"00", "11"} and sum(counts.values()) == 400
        assert min(counts.get("00", 0), counts.get("11", 0)) > 100
        assert result.metadata["vendor_job_ids"] and result[0].metadata["vendor_job_ids"]

        # ...and the job can be rebuilt from its id through the job store
        again = retrieve_primitive_job(provider, job.job_id(), kind="sampler")
        assert again.result()[0].data.meas.get_counts() == counts

        # Estimator: ZZ, XX, YY on the Bell state
        isa_state = transpile(bell, backend, seed_transpiler=1)
        observables = [SparsePauliOp(p).apply_layout(isa_state.layout) for p in ("ZZ", "XX", "YY")]
        estimator = Estimator(backend, options=RUN)
        evs = estimator.run([(isa_state, observables)], precision=0.05).result()[0].data.evs
        np.testing.assert_allclose(evs, [1.0, 1.0, -1.0], atol=0.1)

        # RY sweep: <Z> = cos(theta)
        theta = Parameter("θ")
        ry = QuantumCircuit(1)
        ry.ry(theta, 0)
        isa_ry = transpile(ry, backend, seed_transpiler=1)
        z = SparsePauliOp("Z").apply_layout(isa_ry.layout)
        angles = np.linspace(0, np.pi, 5)
        sweep = estimator.run([(isa_ry, z, angles)], precision=0.05).result()[0].data
        assert sweep.evs.shape == (5,)
        assert np.all(np.abs(sweep.evs - np.cos(angles)) < 0.2)

        # A 4-qubit observable with a known exact value
        four = QuantumCircuit(4)
        four.h(0)
        four.cx(0, 1)
        four.ry(0.8, 2)
        four.cx(2, 3)
        observable = SparsePauliOp.from_list(
            [("ZZII", 0.7), ("IIXX", -0.4), ("ZIZI", 0.3), ("XYYX", 0.2), ("IIII", 0.1)]
        )
        exact = Statevector(four).expectation_value(observable).real
        isa_four = transpile(four, backend, seed_transpiler=1)
        value = estimator.run(
            [(isa_four, observable.apply_layout(isa_four.layout))], precision=0.02
        ).result()[0]
        assert abs(float(value.data.evs) - exact) < max(0.08, 4 * float(value.data.stds))
    finally:
        provider.close()


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("native", [False, "auto"])
def test_estimator_paths(
    vendor: str, native: Any, emulator_factory: Callable[..., Any], tmp_path: Path
) -> None:
    provider = _provider(vendor, emulator_factory, tmp_path)
    try:
        backend = _backend(provider, vendor, prefer_native=native == "auto")
        state = QuantumCircuit(2)
        state.ry(0.7, 0)
        state.cx(0, 1)
        isa = transpile(state, backend, seed_transpiler=1)
        observable = SparsePauliOp.from_list([("ZZ", 0.5), ("XI", 1.0), ("II", 0.25)])
        exact = 0.5 + 0.25  # <ZZ> = 1 and <XI> = 0 for this state
        estimator = Estimator(backend, options={**RUN, "native": native})
        job = estimator.run([(isa, observable.apply_layout(isa.layout))], precision=0.03)
        pub = job.result()[0]
        expect_native = native == "auto" and vendor in ("oqtopus", "qoro")
        assert pub.metadata["native"] is expect_native
        assert abs(float(pub.data.evs) - exact) < 0.1
        assert pub.metadata["vendor_job_ids"]
    finally:
        provider.close()
