"""qiskit-algorithms' VQE with Qiskit's BackendEstimatorV2 and with our Estimator.

Hamiltonian X0 + X1 (ground energy -2 at RY(-pi/2) on both qubits); a 2-parameter RY ansatz
started at 0 (energy 0) and a few COBYLA steps: small enough for CI, and the optimiser has
to move to pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.primitives import BackendEstimatorV2
from qiskit.quantum_info import SparsePauliOp

from qiskit_multicloud import MultiCloudBackend
from qiskit_multicloud.primitives import Estimator

from .conftest import VENDORS

algorithms = pytest.importorskip("qiskit_algorithms")
optimizers = pytest.importorskip("qiskit_algorithms.optimizers")

pytestmark = pytest.mark.emulator


def vqe_energy(estimator: object, backend: MultiCloudBackend) -> float:
    a, b = Parameter("a"), Parameter("b")
    ansatz = QuantumCircuit(2)
    ansatz.ry(a, 0)
    ansatz.ry(b, 1)
    isa = transpile(ansatz, backend, seed_transpiler=3)
    hamiltonian = SparsePauliOp(["IX", "XI"])  # VQE applies the ansatz layout itself
    vqe = algorithms.VQE(
        estimator, isa, optimizers.COBYLA(maxiter=12, rhobeg=1.0), initial_point=np.zeros(2)
    )
    return float(vqe.compute_minimum_eigenvalue(hamiltonian).eigenvalue)


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("which", ["BackendEstimatorV2", "Estimator"])
def test_vqe_finds_the_ground_state(
    qpus: dict[str, MultiCloudBackend], vendor: str, which: str
) -> None:
    backend = qpus[vendor]
    estimator = (
        BackendEstimatorV2(backend=backend, options={"default_precision": 0.05})
        if which == "BackendEstimatorV2"
        else Estimator(backend, options={"default_precision": 0.05})
    )
    assert vqe_energy(estimator, backend) < -1.6
