"""Measurement circuits of the client-side Estimator.

For each parameter set of a pub, the non-identity Pauli terms its observables need are
grouped into qubit-wise commuting groups. Each group becomes one circuit: the bound ISA
circuit, the group's basis rotations translated into the backend's native gates, and
measurements of the group's qubits into an extra classical register. The circuit's metadata
says which pub, parameter set and terms it measures (see :mod:`._common`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from qiskit import transpile
from qiskit.circuit import CircuitInstruction, ClassicalRegister, QuantumCircuit
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.quantum_info import PauliList

from ..backend import MultiCloudBackend
from ..sweeps import ParameterSweep
from ._common import META_KEY

#: Basis per measured qubit: ((qubit, "X" | "Y" | "Z"), ...).
Basis = tuple[tuple[int, str], ...]


def observable_dicts(pub: EstimatorPub) -> list[dict[str, float]]:
    """The pub's observables, flattened in row-major order, as ``{label: coeff}``."""
    observables = pub.observables
    return [
        {str(k): float(v) for k, v in observables[index].items()}
        for index in np.ndindex(*observables.shape)
    ]


def qwc_groups(labels: Sequence[str], abelian_grouping: bool = True) -> list[list[str]]:
    """Partition Pauli labels into qubit-wise commuting groups (one each if not grouping)."""
    if not labels:
        return []
    if not abelian_grouping:
        return [[label] for label in labels]
    groups = PauliList(list(labels)).group_qubit_wise_commuting()
    return sorted(sorted(group.to_labels()) for group in groups)


def group_basis(group: Sequence[str], num_qubits: int) -> Basis:
    """The measured qubits of a qubit-wise commuting group and the basis of each."""
    basis = []
    for qubit in range(num_qubits):
        letters = {label[num_qubits - 1 - qubit] for label in group} - {"I"}
        if len(letters) > 1:
            raise ValueError(f"terms {list(group)} do not commute qubit-wise on qubit {qubit}")
        if letters:
            basis.append((qubit, letters.pop()))
    return tuple(basis)


class NativeRotations:
    """Basis rotations in the backend's native gates, cached per basis.

    Rotations are transpiled alone (trivial layout, so virtual qubit i stays physical qubit
    i) and appended to the ISA circuit, which is never re-transpiled.
    """

    def __init__(self, backend: MultiCloudBackend, num_qubits: int) -> None:
        self.backend = backend
        self.num_qubits = num_qubits
        self._cache: dict[Basis, list[tuple[Any, list[int]]]] = {}

    def __call__(self, basis: Basis) -> list[tuple[Any, list[int]]]:
        """(operation, qubit indices) of the rotations for ``basis``."""
        key = tuple(item for item in basis if item[1] != "Z")
        if key not in self._cache:
            self._cache[key] = self._build(key)
        return self._cache[key]

    def _build(self, basis: Basis) -> list[tuple[Any, list[int]]]:
        if not basis:
            return []
        rotation = QuantumCircuit(self.num_qubits)
        for qubit, letter in basis:
            if letter == "Y":
                rotation.sdg(qubit)
            rotation.h(qubit)
        native = transpile(
            rotation,
            target=self.backend.target,
            initial_layout=list(range(self.num_qubits)),
            optimization_level=1,
            seed_transpiler=0,
        )
        out: list[tuple[Any, list[int]]] = []
        instruction: CircuitInstruction
        for instruction in native.data:
            if instruction.operation.name == "barrier":
                continue
            qubits = [native.find_bit(q).index for q in instruction.qubits]
            out.append((instruction.operation, qubits))
        return out


def _register_name(circuit: QuantumCircuit) -> str:
    taken = {reg.name for reg in circuit.cregs}
    name, suffix = "obs", 0
    while name in taken:
        suffix += 1
        name = f"obs{suffix}"
    return name


def measured_circuits(
    backend: MultiCloudBackend,
    index: int,
    n_pubs: int,
    pub: EstimatorPub,
    abelian_grouping: bool = True,
) -> list[QuantumCircuit | ParameterSweep]:
    """Every circuit the client-side Estimator runs for one pub.

    The first circuit of the pub also carries the pub's shapes, observables and precision,
    so results can be rebuilt from the job's stored layouts alone. When every parameter set
    measures the same terms, each measured group is one parameter sweep (translated once by
    the backend, see :mod:`qiskit_multicloud.sweeps`) instead of a bound circuit per set.
    """
    observables = observable_dicts(pub)
    param_shape = tuple(pub.parameter_values.shape)
    obs_shape = tuple(pub.observables.shape)
    shape = np.broadcast_shapes(param_shape, obs_shape)
    param_of = np.broadcast_to(np.arange(math.prod(param_shape)).reshape(param_shape), shape)
    obs_of = np.broadcast_to(np.arange(math.prod(obs_shape)).reshape(obs_shape), shape)
    needed: dict[int, set[str]] = {}
    for element in np.ndindex(*shape):
        labels = needed.setdefault(int(param_of[element]), set())
        labels.update(k for k in observables[int(obs_of[element])] if set(k) - {"I"})
    if not any(needed.values()):
        needed = {0: set()}  # identity only: still run one circuit to carry the metadata
    num_qubits = pub.circuit.num_qubits
    rotations = NativeRotations(backend, num_qubits)
    head: dict[str, Any] = {
        "param_shape": list(param_shape),
        "obs_shape": list(obs_shape),
        "observables": observables,
        "precision": pub.precision,
    }
    label_sets = {frozenset(found) for found in needed.values()}
    same_terms = len(label_sets) == 1 and len(needed) == math.prod(param_shape)
    if pub.circuit.num_parameters and same_terms:
        return _measured_sweeps(pub, index, n_pubs, sorted(needed[0]), abelian_grouping,
                                rotations, head)
    bound = np.ravel(pub.parameter_values.bind_all(pub.circuit)).tolist()
    circuits: list[QuantumCircuit | ParameterSweep] = []
    for param in sorted(needed):
        groups = qwc_groups(sorted(needed[param]), abelian_grouping) or [[]]
        for group in groups:
            basis = group_basis(group, num_qubits)
            qubits = [q for q, _ in basis] or [0]
            meta: dict[str, Any] = {
                "kind": "estimator", "pub": index, "n_pubs": n_pubs, "param": param,
                "group": group, "qubits": qubits, "offset": bound[param].num_clbits,
            }
            if not circuits:
                meta.update(head)
            circuits.append(_with_measurements(bound[param], basis, qubits, rotations, meta))
    return circuits


def _measured_sweeps(
    pub: EstimatorPub,
    index: int,
    n_pubs: int,
    labels: list[str],
    abelian_grouping: bool,
    rotations: NativeRotations,
    head: Mapping[str, Any],
) -> list[QuantumCircuit | ParameterSweep]:
    """One :class:`~qiskit_multicloud.sweeps.ParameterSweep` per measured group when every
    parameter set measures the same terms: the parametrized circuit with the group's
    rotations and measurements, over all parameter sets (nothing is bound here)."""
    circuit = pub.circuit
    values = pub.parameter_values.as_array(circuit.parameters).reshape(-1, circuit.num_parameters)
    out: list[QuantumCircuit | ParameterSweep] = []
    for group in qwc_groups(labels, abelian_grouping) or [[]]:
        basis = group_basis(group, circuit.num_qubits)
        qubits = [q for q, _ in basis] or [0]
        template = _with_measurements(circuit, basis, qubits, rotations, {})
        metadata = []
        for param in range(values.shape[0]):
            meta: dict[str, Any] = {
                "kind": "estimator", "pub": index, "n_pubs": n_pubs, "param": param,
                "group": group, "qubits": qubits, "offset": circuit.num_clbits,
            }
            if not out and not param:
                meta.update(head)
            metadata.append({META_KEY: meta})
        out.append(ParameterSweep(template, values, metadata))
    return out


def _with_measurements(
    circuit: QuantumCircuit,
    basis: Basis,
    qubits: Sequence[int],
    rotations: NativeRotations,
    meta: Mapping[str, Any],
) -> QuantumCircuit:
    out = circuit.copy()
    out.metadata = {META_KEY: dict(meta)}
    register = ClassicalRegister(len(qubits), _register_name(out))
    out.add_register(register)
    for operation, indices in rotations(basis):
        out.append(operation, [out.qubits[i] for i in indices], copy=False)
    for position, qubit in enumerate(qubits):
        out.measure(qubit, register[position])
    return out
