"""``Sampler``: a ``BaseSamplerV2`` on any qiskit-multicloud backend.

Every parameter set of every pub is bound and all circuits go to ONE ``backend.run`` call
(the backend splits it into vendor jobs of at most ``max_circuits`` itself). Pubs asking for
different shot counts need one ``backend.run`` per distinct count, since a vendor job has one
shot count. Outcomes become one ``BitArray`` per classical register, built from the
histogram, or from the per-shot memory when the vendor really returns it (never from memory
synthesised out of counts, which carries no shot order).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import BaseSamplerV2, PrimitiveResult, SamplerPubLike, SamplerPubResult
from qiskit.primitives.containers import BitArray, DataBin
from qiskit.primitives.containers.sampler_pub import SamplerPub

from ..backend import MultiCloudBackend
from ..exceptions import MultiCloudError
from ..job import MultiCloudJob
from ..sweeps import ParameterSweep, as_run_input
from ._common import META_KEY, RUN_SEPARATOR, TAG_PREFIX, Outcome, outcomes_of, register_offsets
from .job import MultiCloudPrimitiveJob, retrieve_primitive_job


@dataclasses.dataclass
class SamplerOptions:
    """Options of :class:`Sampler`.

    Attributes:
        default_shots: shots of a pub that names none, when ``run`` is given none either.
        memory: ask the vendor for per-shot outcomes; ``None`` does so exactly where the device
            returns real per-shot data (``DeviceSpec.supports_memory``).
        run_options: extra keyword arguments for every ``backend.run`` call (``timeout``,
            ``poll_interval``, vendor options, ``job_tags``, ...).
    """

    default_shots: int = 1024
    memory: bool | None = None
    run_options: dict[str, Any] = dataclasses.field(default_factory=dict)


def _as_options(options: SamplerOptions | Mapping[str, Any] | None) -> SamplerOptions:
    if isinstance(options, SamplerOptions):
        return options
    return SamplerOptions(**dict(options or {}))


def _require_backend(backend: Any) -> MultiCloudBackend:
    if not isinstance(backend, MultiCloudBackend):
        raise TypeError(
            f"expected a qiskit-multicloud backend, got {type(backend).__name__}; for other "
            "backends use qiskit.primitives.BackendSamplerV2 / BackendEstimatorV2"
        )
    return backend


class Sampler(BaseSamplerV2):
    """Sampler V2 on a qiskit-multicloud backend.

    Args:
        backend: the backend to run on; circuits must already be transpiled for it.
        options: a :class:`SamplerOptions` or a mapping of its fields.

    Example:
        >>> sampler = Sampler(backend)                      # doctest: +SKIP
        >>> job = sampler.run([isa_bell], shots=1000)        # doctest: +SKIP
        >>> job.result()[0].data.meas.get_counts()           # doctest: +SKIP
        {'00': 507, '11': 493}
    """

    def __init__(
        self,
        backend: MultiCloudBackend,
        *,
        options: SamplerOptions | Mapping[str, Any] | None = None,
    ) -> None:
        self._backend = _require_backend(backend)
        self._options = _as_options(options)

    @property
    def backend(self) -> MultiCloudBackend:
        """The backend this sampler runs on."""
        return self._backend

    @property
    def options(self) -> SamplerOptions:
        """The sampler's options (mutable)."""
        return self._options

    def run(
        self, pubs: Iterable[SamplerPubLike], *, shots: int | None = None
    ) -> MultiCloudPrimitiveJob:
        """Submit the pubs and return without waiting.

        Args:
            pubs: circuits (transpiled for the backend), optionally with parameter values and
                shots: ``circuit``, ``(circuit, values)`` or ``(circuit, values, shots)``.
            shots: shots of pubs that name none (default ``options.default_shots``).

        Returns:
            A job whose ``result()`` is a ``PrimitiveResult`` of ``SamplerPubResult``.

        Raises:
            CircuitValidationError: a circuit cannot run on the backend (nothing was sent).
            ValueError: a pub is malformed.
        """
        default = self._options.default_shots if shots is None else shots
        coerced = [SamplerPub.coerce(pub, default) for pub in pubs]
        if not coerced:
            raise ValueError("Sampler.run needs at least one pub")
        by_shots: dict[int, list[QuantumCircuit | ParameterSweep]] = {}
        for index, pub in enumerate(coerced):
            assert pub.shots is not None
            by_shots.setdefault(pub.shots, []).extend(_pub_circuits(index, pub, len(coerced)))
        memory = self._options.memory
        if memory is None:
            memory = self._backend.device.supports_memory
        jobs = [
            self._submit(circuits, shots=count, memory=memory)
            for count, circuits in by_shots.items()
        ]
        user_metadata = [pub.circuit.metadata for pub in coerced]
        finish = functools.partial(finish_sampler, circuit_metadata=user_metadata)
        return MultiCloudPrimitiveJob(jobs, finish, "sampler")

    def _submit(
        self, parts: list[QuantumCircuit | ParameterSweep], *, shots: int, memory: bool
    ) -> MultiCloudJob:
        options = dict(self._options.run_options)
        tags = [*(options.pop("job_tags", None) or ()), f"{TAG_PREFIX}sampler"]
        return self._backend.run(
            as_run_input(parts), shots=shots, memory=memory, job_tags=tags, **options
        )

    def retrieve(self, job_id: str) -> MultiCloudPrimitiveJob:
        """Rebuild a Sampler job from its id through the backend's provider and job store.

        Raises:
            MultiCloudError: the backend has no provider, or the id is not a Sampler job.
        """
        provider = self._backend.provider
        if provider is None:
            raise MultiCloudError(
                "this backend was not obtained from a MultiCloudProvider, so there is no job "
                "store to retrieve from; use retrieve_primitive_job(provider, job_id)"
            )
        return retrieve_primitive_job(provider, job_id, kind="sampler")


def _pub_circuits(
    index: int, pub: SamplerPub, n_pubs: int
) -> list[QuantumCircuit | ParameterSweep]:
    """The pub's circuit per parameter set, tagged with their place.

    A parametrized circuit becomes one :class:`~qiskit_multicloud.sweeps.ParameterSweep`
    (nothing is bound here: the backend translates the structure once and writes each
    set's values, unless the run option ``translate_once=False`` asks it to bind them).
    """
    circuit = pub.circuit
    shape = list(pub.parameter_values.shape)
    if circuit.num_parameters:
        values = pub.parameter_values.as_array(circuit.parameters)
        values = values.reshape(-1, circuit.num_parameters)
        metadata = [
            {META_KEY: {"kind": "sampler", "pub": index, "n_pubs": n_pubs, "index": flat,
                        "shape": shape}}
            for flat in range(values.shape[0])
        ]
        return [ParameterSweep(circuit, values, metadata)]
    bound = pub.parameter_values.bind_all(pub.circuit)
    shape = list(bound.shape)
    circuits: list[QuantumCircuit | ParameterSweep] = []
    for flat, one in enumerate(np.ravel(bound).tolist()):
        copy = one.copy() if one is pub.circuit else one
        copy.metadata = {
            META_KEY: {"kind": "sampler", "pub": index, "n_pubs": n_pubs, "index": flat,
                       "shape": shape},
        }
        circuits.append(copy)
    return circuits


def finish_sampler(
    jobs: Sequence[MultiCloudJob], circuit_metadata: Sequence[Any] | None = None
) -> PrimitiveResult[SamplerPubResult]:
    """Build the Sampler's ``PrimitiveResult`` from finished backend jobs.

    Args:
        jobs: the backend jobs of one Sampler run (circuits tagged by :func:`_pub_circuits`).
        circuit_metadata: each pub circuit's own metadata (not stored for retrieved jobs).

    Raises:
        JobFailedError: a backend job failed or was cancelled.
        MultiCloudError: a pub's circuits returned different numbers of shots.
    """
    per_pub: dict[int, list[tuple[MultiCloudJob, Outcome]]] = {}
    n_pubs = 0
    for job in jobs:
        for outcome in outcomes_of(job, job.result()):
            meta = outcome.meta
            per_pub.setdefault(int(meta["pub"]), []).append((job, outcome))
            n_pubs = max(n_pubs, int(meta["n_pubs"]))
    results = []
    for pub in range(n_pubs):
        entries = sorted(per_pub.get(pub, []), key=lambda item: int(item[1].meta["index"]))
        if not entries:
            raise MultiCloudError(f"no circuits of pub {pub} found in job(s) of this run")
        pub_jobs = list(dict.fromkeys(job for job, _ in entries))
        outcomes = [outcome for _, outcome in entries]
        shape = tuple(int(n) for n in outcomes[0].meta["shape"])
        fields = _register_arrays(pub, outcomes, shape)
        metadata = {
            "shots": outcomes[0].shots,
            "circuit_metadata": (circuit_metadata[pub] if circuit_metadata else {}),
            "job_id": RUN_SEPARATOR.join(job.job_id() for job in pub_jobs),
            "vendor_job_ids": [ref for job in pub_jobs for ref in job.chunk_refs],
            "per_shot_memory": all(o.memory is not None for o in outcomes),
        }
        results.append(SamplerPubResult(DataBin(**fields, shape=shape), metadata=metadata))
    return PrimitiveResult(results, metadata=_run_metadata(jobs))


def _register_arrays(
    pub: int, outcomes: Sequence[Outcome], shape: tuple[int, ...]
) -> dict[str, BitArray]:
    """One ``BitArray`` of ``shape`` per classical register."""
    shots = {o.shots for o in outcomes}
    if len(shots) != 1:
        raise MultiCloudError(
            f"pub {pub}: the vendor returned different shot totals {sorted(shots)} for the "
            "circuits of one pub; they cannot form one BitArray"
        )
    fields: dict[str, BitArray] = {}
    for name, offset, size in register_offsets(outcomes[0].layout):
        mask = (1 << size) - 1
        arrays = []
        for outcome in outcomes:
            if outcome.memory is not None:
                samples = [(m >> offset) & mask for m in outcome.memory]
                bits = BitArray.from_samples(samples, num_bits=size)
            else:
                counts: dict[int, int] = {}
                for key, value in outcome.counts.items():
                    part = (key >> offset) & mask
                    counts[part] = counts.get(part, 0) + value
                bits = BitArray.from_counts(counts, num_bits=size)
            arrays.append(bits.array)
        stacked = np.stack(arrays).reshape(shape + arrays[0].shape)
        fields[name] = BitArray(stacked, size)
    return fields


def _run_metadata(jobs: Sequence[MultiCloudJob]) -> dict[str, Any]:
    first: MultiCloudBackend = jobs[0].backend()
    return {
        "version": 2,
        "job_id": RUN_SEPARATOR.join(job.job_id() for job in jobs),
        "vendor_job_ids": [ref for job in jobs for ref in job.chunk_refs],
        "vendor": first.vendor,
        "backend": first.name,
    }
