"""Native (server-side) expectation values, where a vendor computes them itself.

The Estimator asks :func:`native_for` whether the backend's vendor has a registered
:class:`NativeEstimation`; if it does and the device supports it, the pubs are sent as
estimation tasks instead of measured Pauli groups. Vendors register a bridge by key in
:data:`NATIVE_ESTIMATORS` (see :func:`register_native_estimation`); two are built in:

* ``oqtopus``: one ``estimation`` job per (circuit, parameter set, observable); the server
  groups commuting terms and returns the value and its standard error.
* ``qoro``: one ``EXPECTATION`` job for all tasks on devices with ``supports_expval``; the
  service returns exact per-term values (standard error 0, ``exact`` in metadata).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from ..backend import MultiCloudBackend


@dataclasses.dataclass(frozen=True)
class EstimationTask:
    """One expectation value to compute.

    Attributes:
        circuit: the bound circuit as given to the Estimator (ISA, no added measurements).
        observable: the observable on the circuit's qubits (layout already applied).
    """

    circuit: QuantumCircuit
    observable: SparsePauliOp


@dataclasses.dataclass(frozen=True)
class EstimationValue:
    """A vendor's answer for one task.

    Attributes:
        value: the expectation value.
        std: its standard error (0 for exact values).
        exact: True when the vendor computed it exactly (no sampling).
    """

    value: float
    std: float
    exact: bool = False


@runtime_checkable
class NativeEstimation(Protocol):
    """A vendor's server-side estimation, as the Estimator uses it.

    Status polling goes through the adapter's ordinary ``status(job_ref)``, so the refs
    returned by :meth:`submit` must be job references the adapter can poll.
    """

    def available(self, backend: MultiCloudBackend) -> bool:
        """True if this backend's device accepts native estimation jobs."""

    def submit(
        self, backend: MultiCloudBackend, tasks: Sequence[EstimationTask], shots: int
    ) -> list[str]:
        """Submit every task; return the vendor job references to poll."""

    def collect(
        self, backend: MultiCloudBackend, refs: Sequence[str], tasks: Sequence[EstimationTask]
    ) -> list[EstimationValue]:
        """The values of finished jobs, one per task, in task order."""


class OqtopusEstimation:
    """OQTOPUS ``estimation`` jobs: ``adapter.estimate`` + ``adapter.estimation_result``."""

    def available(self, backend: MultiCloudBackend) -> bool:
        """Every OQTOPUS device runs estimation jobs."""
        adapter = backend.adapter
        return hasattr(adapter, "estimate") and hasattr(adapter, "estimation_result")

    def submit(
        self, backend: MultiCloudBackend, tasks: Sequence[EstimationTask], shots: int
    ) -> list[str]:
        """One estimation job per task."""
        adapter: Any = backend.adapter
        return [
            str(adapter.estimate(backend.device, task.circuit, task.observable, shots))
            for task in tasks
        ]

    def collect(
        self, backend: MultiCloudBackend, refs: Sequence[str], tasks: Sequence[EstimationTask]
    ) -> list[EstimationValue]:
        """``(exp_value, stds)`` of each job."""
        adapter: Any = backend.adapter
        values = []
        for ref in refs:
            value, std = adapter.estimation_result(ref)
            values.append(EstimationValue(float(value), float(std)))
        return values


class QoroEstimation:
    """Qoro ``EXPECTATION`` jobs: ``adapter.estimate`` + ``adapter.expectation_results``."""

    def available(self, backend: MultiCloudBackend) -> bool:
        """Only devices (simulator clusters) with ``supports_expval``."""
        adapter = backend.adapter
        return (
            hasattr(adapter, "estimate")
            and hasattr(adapter, "expectation_results")
            and bool(backend.device.extra.get("supports_expval"))
        )

    def submit(
        self, backend: MultiCloudBackend, tasks: Sequence[EstimationTask], shots: int
    ) -> list[str]:
        """One job for all tasks (one circuit and observable each)."""
        adapter: Any = backend.adapter
        circuits = [task.circuit for task in tasks]
        observables = [task.observable for task in tasks]
        return [str(adapter.estimate(backend.device, circuits, observables, shots))]

    def collect(
        self, backend: MultiCloudBackend, refs: Sequence[str], tasks: Sequence[EstimationTask]
    ) -> list[EstimationValue]:
        """Exact values, recombined with the coefficients by the adapter."""
        adapter: Any = backend.adapter
        observables = [
            ([label[::-1] for label in task.observable.paulis.to_labels()],
             [complex(c) for c in task.observable.coeffs])
            for task in tasks
        ]
        values: list[float] = adapter.expectation_results(refs[0], observables)
        return [EstimationValue(float(v), 0.0, exact=True) for v in values]


#: Vendor key -> factory of its native estimation bridge.
NATIVE_ESTIMATORS: dict[str, Callable[[], NativeEstimation]] = {
    "oqtopus": OqtopusEstimation,
    "qoro": QoroEstimation,
}


def register_native_estimation(vendor: str, factory: Callable[[], NativeEstimation]) -> None:
    """Register (or replace) the native estimation bridge of ``vendor``."""
    NATIVE_ESTIMATORS[vendor.lower()] = factory


def native_for(backend: MultiCloudBackend) -> NativeEstimation | None:
    """The bridge for this backend, or ``None`` if its vendor/device has none."""
    factory = NATIVE_ESTIMATORS.get(backend.vendor)
    if factory is None:
        return None
    bridge = factory()
    return bridge if bridge.available(backend) else None
