"""``Estimator``: a ``BaseEstimatorV2`` on any qiskit-multicloud backend.

Client-side path (every vendor): the Pauli terms a parameter set needs are split into
qubit-wise commuting groups; for each group the bound circuit gets basis rotations (``H`` for
X, ``S† H`` for Y, translated into the device's native gates) and measurements of the group's
qubits into an extra register. All circuits of all pubs go to ONE ``backend.run`` call, with
``shots = ceil(1 / precision**2)`` for the most demanding pub (capped at the device's maximum).

Contract (as for Qiskit's ``BackendEstimatorV2``): circuits are already transpiled for the
backend (ISA) and observables already laid out on the physical qubits, e.g.
``observable.apply_layout(isa_circuit.layout)``.

Native path: where the vendor computes expectation values itself (see
:mod:`~qiskit_multicloud.primitives.native`), ``native="auto"`` (default) or ``True`` sends
the tasks there instead.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import BaseEstimatorV2, EstimatorPubLike, PrimitiveResult, PubResult
from qiskit.primitives.containers import DataBin
from qiskit.primitives.containers.estimator_pub import EstimatorPub

from ..backend import MultiCloudBackend
from ..exceptions import MultiCloudError
from ..job import MultiCloudJob
from ..sweeps import ParameterSweep, as_run_input
from ._common import (
    RUN_SEPARATOR,
    TAG_PREFIX,
    Outcome,
    outcomes_of,
    precision_to_shots,
    slice_counts,
)
from ._measure import measured_circuits
from .job import MultiCloudPrimitiveJob, retrieve_primitive_job
from .native import native_for
from .native_run import run_native
from .sampler import _require_backend


@dataclasses.dataclass
class EstimatorOptions:
    """Options of :class:`Estimator`.

    Attributes:
        default_precision: precision of pubs that name none when ``run`` is given none;
            0.015625 = 1/sqrt(4096) means 4096 shots.
        abelian_grouping: measure qubit-wise commuting terms together (else one circuit per
            Pauli term).
        native: ``"auto"`` uses the vendor's server-side estimation where available,
            ``True`` insists on it (error if unavailable), ``False`` always measures.
        run_options: extra keyword arguments for ``backend.run`` (``timeout``, vendor
            options, ``job_tags``, ...); also used for polling native jobs.
    """

    default_precision: float = 0.015625
    abelian_grouping: bool = True
    native: bool | Literal["auto"] = "auto"
    run_options: dict[str, Any] = dataclasses.field(default_factory=dict)


class Estimator(BaseEstimatorV2):
    """Estimator V2 on a qiskit-multicloud backend.

    Args:
        backend: the backend to run on; circuits must already be transpiled for it and
            observables laid out accordingly.
        options: an :class:`EstimatorOptions` or a mapping of its fields.

    Example:
        >>> isa = transpile(bell, backend)                              # doctest: +SKIP
        >>> zz = SparsePauliOp("ZZ").apply_layout(isa.layout)          # doctest: +SKIP
        >>> Estimator(backend).run([(isa, zz)]).result()[0].data.evs   # doctest: +SKIP
        array(1.)
    """

    def __init__(
        self,
        backend: MultiCloudBackend,
        *,
        options: EstimatorOptions | Mapping[str, Any] | None = None,
    ) -> None:
        self._backend = _require_backend(backend)
        self._options = (
            options
            if isinstance(options, EstimatorOptions)
            else EstimatorOptions(**dict(options or {}))
        )
        if self._options.native not in (True, False, "auto"):
            raise ValueError(f"native={self._options.native!r} must be True, False or 'auto'")

    @property
    def backend(self) -> MultiCloudBackend:
        """The backend this estimator runs on."""
        return self._backend

    @property
    def options(self) -> EstimatorOptions:
        """The estimator's options (mutable)."""
        return self._options

    def run(
        self, pubs: Iterable[EstimatorPubLike], *, precision: float | None = None
    ) -> MultiCloudPrimitiveJob:
        """Submit the pubs and return without waiting.

        Args:
            pubs: ``(circuit, observables[, parameter_values[, precision]])`` tuples.
            precision: precision of pubs that name none (default
                ``options.default_precision``).

        Raises:
            CircuitValidationError: a circuit cannot run on the backend (nothing was sent).
            MultiCloudError: ``native=True`` but the backend has no native estimation.
            ValueError: a pub is malformed or a precision is not positive.
        """
        default = self._options.default_precision if precision is None else precision
        coerced = [EstimatorPub.coerce(pub, default) for pub in pubs]
        if not coerced:
            raise ValueError("Estimator.run needs at least one pub")
        for index, pub in enumerate(coerced):
            if pub.precision is None or not pub.precision > 0:
                raise ValueError(f"pub {index}: precision must be > 0, got {pub.precision!r}")
        max_shots = self._backend.device.max_shots
        shots = max(precision_to_shots(float(p.precision or 0), max_shots) for p in coerced)
        bridge = native_for(self._backend) if self._options.native is not False else None
        if self._options.native is True and bridge is None:
            raise MultiCloudError(
                f"{self._backend.vendor}: {self._backend.name} has no native estimation; "
                "use native='auto' or False to measure Pauli groups instead"
            )
        if bridge is not None:
            return run_native(self._backend, bridge, coerced, shots, self._options.run_options)
        circuits: list[QuantumCircuit | ParameterSweep] = []
        for index, pub in enumerate(coerced):
            circuits.extend(
                measured_circuits(
                    self._backend, index, len(coerced), pub, self._options.abelian_grouping
                )
            )
        options = dict(self._options.run_options)
        tags = [*(options.pop("job_tags", None) or ()), f"{TAG_PREFIX}estimator"]
        job = self._backend.run(as_run_input(circuits), shots=shots, job_tags=tags, **options)
        return MultiCloudPrimitiveJob([job], finish_estimator, "estimator")

    def retrieve(self, job_id: str) -> MultiCloudPrimitiveJob:
        """Rebuild an Estimator job (client-side path) from its id.

        Raises:
            MultiCloudError: the backend has no provider, or the id is not an Estimator job.
        """
        provider = self._backend.provider
        if provider is None:
            raise MultiCloudError(
                "this backend was not obtained from a MultiCloudProvider, so there is no job "
                "store to retrieve from; use retrieve_primitive_job(provider, job_id)"
            )
        return retrieve_primitive_job(provider, job_id, kind="estimator")


def _term_mask(label: str, qubits: Sequence[int]) -> int:
    """Bits of the measurement register where ``label`` (Qiskit order) is not identity."""
    n = len(label)
    mask = 0
    for position, qubit in enumerate(qubits):
        if label[n - 1 - qubit] != "I":
            mask |= 1 << position
    return mask


def _group_stats(
    counts: Mapping[int, int], terms: Sequence[tuple[int, float]]
) -> tuple[float, float]:
    """Mean and single-shot variance of ``sum(coeff * (-1)**parity(outcome & mask))``."""
    total = sum(counts.values())
    if total == 0:
        raise MultiCloudError("a measurement circuit returned no shots")
    mean = 0.0
    square = 0.0
    for outcome, freq in counts.items():
        value = sum(
            coeff * (-1.0 if (outcome & mask).bit_count() & 1 else 1.0) for mask, coeff in terms
        )
        mean += freq * value
        square += freq * value * value
    mean /= total
    return mean, max(square / total - mean * mean, 0.0)


def finish_estimator(jobs: Sequence[MultiCloudJob]) -> PrimitiveResult[PubResult]:
    """Build the Estimator's ``PrimitiveResult`` from its finished backend job(s).

    Raises:
        JobFailedError: the backend job failed or was cancelled.
        MultiCloudError: the circuits' bookkeeping metadata is missing or inconsistent.
    """
    per_pub: dict[int, list[Outcome]] = {}
    n_pubs = 0
    for job in jobs:
        for outcome in outcomes_of(job, job.result()):
            per_pub.setdefault(int(outcome.meta["pub"]), []).append(outcome)
            n_pubs = max(n_pubs, int(outcome.meta["n_pubs"]))
    vendor_ids = [ref for job in jobs for ref in job.chunk_refs]
    job_id = RUN_SEPARATOR.join(job.job_id() for job in jobs)
    results = []
    for pub in range(n_pubs):
        outcomes = per_pub.get(pub)
        heads = [o.meta for o in outcomes or () if "observables" in o.meta]
        if not outcomes or not heads:
            raise MultiCloudError(f"no circuits of estimator pub {pub} found in job {job_id}")
        evs, stds, shots = _pub_values(pub, heads[0], outcomes)
        metadata = {
            "target_precision": heads[0]["precision"],
            "shots": shots,
            "circuit_metadata": {},
            "job_id": job_id,
            "vendor_job_ids": vendor_ids,
            "native": False,
        }
        results.append(PubResult(DataBin(evs=evs, stds=stds, shape=evs.shape), metadata=metadata))
    backend: MultiCloudBackend = jobs[0].backend()
    run_meta = {"version": 2, "job_id": job_id, "vendor_job_ids": vendor_ids,
                "vendor": backend.vendor, "backend": backend.name}
    return PrimitiveResult(results, metadata=run_meta)


def _pub_values(
    pub: int, head: Mapping[str, Any], outcomes: Sequence[Outcome]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Expectation values and standard errors of one pub, in the pub's shape."""
    param_shape = tuple(int(n) for n in head["param_shape"])
    obs_shape = tuple(int(n) for n in head["obs_shape"])
    observables: list[dict[str, float]] = head["observables"]
    shape = np.broadcast_shapes(param_shape, obs_shape)
    param_of = np.broadcast_to(np.arange(math.prod(param_shape)).reshape(param_shape), shape)
    obs_of = np.broadcast_to(np.arange(math.prod(obs_shape)).reshape(obs_shape), shape)
    # (parameter set, Pauli label) -> (circuit position, parity mask within its register)
    where: dict[tuple[int, str], tuple[int, int]] = {}
    registers: list[dict[int, int]] = []
    for position, outcome in enumerate(outcomes):
        meta = outcome.meta
        qubits = [int(q) for q in meta["qubits"]]
        registers.append(slice_counts(outcome.counts, int(meta["offset"]), len(qubits)))
        for label in meta["group"]:
            where[int(meta["param"]), str(label)] = (position, _term_mask(label, qubits))
    evs = np.zeros(shape, dtype=float)
    variances = np.zeros(shape, dtype=float)
    for index in np.ndindex(*shape):
        param = int(param_of[index])
        by_circuit: dict[int, list[tuple[int, float]]] = {}
        for label, coeff in observables[int(obs_of[index])].items():
            if set(label) <= {"I"}:
                evs[index] += float(coeff)
                continue
            if (param, label) not in where:
                raise MultiCloudError(f"pub {pub}: term {label!r} was not measured")
            position, mask = where[param, label]
            by_circuit.setdefault(position, []).append((mask, float(coeff)))
        for position, terms in by_circuit.items():
            mean, variance = _group_stats(registers[position], terms)
            evs[index] += mean
            variances[index] += variance / outcomes[position].shots
    shots = outcomes[0].shots
    return evs, np.sqrt(variances), shots
