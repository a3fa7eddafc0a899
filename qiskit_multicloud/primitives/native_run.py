"""Running Estimator pubs through a vendor's native estimation (see :mod:`.native`).

Each (parameter set, observable) element of each pub becomes one :class:`EstimationTask`;
the bridge submits them, the shared polling engine waits for the vendor jobs (through the
adapter's ``status``), and the bridge collects one value per task.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from qiskit.primitives import PrimitiveResult, PubResult
from qiskit.primitives.containers import DataBin
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.providers import JobStatus
from qiskit.quantum_info import SparsePauliOp

from ..backend import MultiCloudBackend
from ..exceptions import JobFailedError, MalformedResponseError
from ..job import MultiCloudJob
from ..types import CircuitLayout
from ._measure import observable_dicts
from .job import MultiCloudPrimitiveJob
from .native import EstimationTask, NativeEstimation


def _tasks(pub: EstimatorPub) -> tuple[list[EstimationTask], tuple[int, ...]]:
    """One task per element of the pub's broadcast shape, row-major."""
    observables = observable_dicts(pub)
    param_shape = tuple(pub.parameter_values.shape)
    obs_shape = tuple(pub.observables.shape)
    shape = tuple(np.broadcast_shapes(param_shape, obs_shape))
    param_of = np.broadcast_to(np.arange(math.prod(param_shape)).reshape(param_shape), shape)
    obs_of = np.broadcast_to(np.arange(math.prod(obs_shape)).reshape(obs_shape), shape)
    bound = np.ravel(pub.parameter_values.bind_all(pub.circuit)).tolist()
    num_qubits = pub.circuit.num_qubits
    tasks = []
    for element in np.ndindex(*shape):
        terms = observables[int(obs_of[element])]
        operator = (
            SparsePauliOp.from_list(list(terms.items()))
            if terms
            else SparsePauliOp("I" * num_qubits, 0.0)
        )
        tasks.append(EstimationTask(bound[int(param_of[element])], operator))
    return tasks, shape


def run_native(
    backend: MultiCloudBackend,
    bridge: NativeEstimation,
    pubs: Sequence[EstimatorPub],
    shots: int,
    run_options: Mapping[str, Any],
) -> MultiCloudPrimitiveJob:
    """Submit every pub's tasks through ``bridge``; return the primitive job.

    Native estimation jobs bypass ``backend.run`` and are therefore not in the job store:
    they cannot be rebuilt with ``retrieve_primitive_job``.
    """
    tasks: list[EstimationTask] = []
    shapes: list[tuple[int, ...]] = []
    for pub in pubs:
        pub_tasks, shape = _tasks(pub)
        tasks.extend(pub_tasks)
        shapes.append(shape)
    refs = bridge.submit(backend, tasks, shots)
    options = {k: v for k, v in run_options.items() if k != "job_tags"} | {"shots": shots}
    layouts = [CircuitLayout("native-estimation", 0, 0, ())] * len(refs)
    poller = backend.job_from_refs(refs, [1] * len(refs), layouts, options)
    precisions = [pub.precision for pub in pubs]

    def finish(jobs: Sequence[MultiCloudJob]) -> PrimitiveResult[PubResult]:
        job = jobs[0]
        status = job.wait_for_final_state()
        if status is not JobStatus.DONE:
            raise JobFailedError(
                f"native estimation job {job.job_id()} ended {status.name} "
                f"(vendor status {[s.raw for s in job.vendor_status if s]})",
                job_id=job.job_id(),
                vendor_status=status.name,
            )
        values = bridge.collect(backend, job.chunk_refs, tasks)
        if len(values) != len(tasks):
            raise MalformedResponseError(
                f"{backend.vendor}: {len(values)} expectation value(s) for {len(tasks)} task(s)",
                vendor=backend.vendor,
            )
        results = []
        start = 0
        for shape, precision in zip(shapes, precisions, strict=True):
            chunk = values[start : start + math.prod(shape)]
            start += math.prod(shape)
            evs = np.array([v.value for v in chunk], dtype=float).reshape(shape)
            stds = np.array([v.std for v in chunk], dtype=float).reshape(shape)
            metadata = {
                "target_precision": precision,
                "shots": shots,
                "circuit_metadata": {},
                "job_id": job.job_id(),
                "vendor_job_ids": list(job.chunk_refs),
                "native": True,
                "exact": all(v.exact for v in chunk),
            }
            results.append(PubResult(DataBin(evs=evs, stds=stds, shape=shape), metadata=metadata))
        return PrimitiveResult(
            results,
            metadata={"version": 2, "job_id": job.job_id(), "vendor_job_ids": job.chunk_refs,
                      "vendor": backend.vendor, "backend": backend.name, "native": True},
        )

    return MultiCloudPrimitiveJob([poller], finish, "estimator")
