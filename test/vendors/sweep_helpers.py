"""A small parameter sweep in a vendor's basis, for the adapters' requests-mock tests."""

from __future__ import annotations

import math

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter

from qiskit_multicloud.sweeps import ParameterSweep


def parametrized_sweep(basis: list[str], points: int = 5) -> ParameterSweep:
    """A 2-qubit circuit with ``theta``, ``2*phi`` and ``-theta`` angles, transpiled to
    ``basis``, over ``points`` parameter sets (special angles first)."""
    theta, phi = Parameter("theta"), Parameter("phi")
    circuit = QuantumCircuit(2, 2, name="swept")
    circuit.ry(theta, 0)
    circuit.cx(0, 1)
    circuit.rx(2 * phi, 1)
    circuit.rz(-theta, 0)
    circuit.measure([0, 1], [0, 1])
    native = transpile(circuit, basis_gates=basis, optimization_level=0)
    values = np.random.default_rng(1).uniform(-3, 3, (points, 2))
    values[0] = [0.0, -0.0]
    values[1] = [math.pi, math.pi / 2]
    return ParameterSweep(native, values, [{"point": i} for i in range(points)])


def bound_points(sweep: ParameterSweep) -> list[QuantumCircuit]:
    """Every point bound the normal way (the reference payload's circuits)."""
    return [sweep.bound(point) for point in range(len(sweep))]
