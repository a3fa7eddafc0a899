"""``MultiCloudPrimitiveJob``: the job returned by the Sampler and the Estimator.

It wraps the backend job(s) of one primitive run. Its :meth:`~MultiCloudPrimitiveJob.job_id`
is the backend job id (vendor job references joined by ``;``), or several of them joined by
``+`` when one run needed several ``backend.run`` calls (Sampler pubs with different shots).
That id is all :func:`retrieve_primitive_job` needs, with the provider's job store, to rebuild
the primitive result in a later process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from qiskit.primitives import BasePrimitiveJob, PrimitiveResult
from qiskit.providers import JobStatus

from ..exceptions import MultiCloudError
from ..job import FINAL, MultiCloudJob, aggregate_status
from ._common import META_KEY, RUN_SEPARATOR

if TYPE_CHECKING:
    from ..provider import MultiCloudProvider

#: Turns the finished backend jobs into the primitive's result.
Finisher = Callable[[Sequence[MultiCloudJob]], PrimitiveResult[Any]]


class MultiCloudPrimitiveJob(BasePrimitiveJob[PrimitiveResult[Any], JobStatus]):
    """A Sampler or Estimator run on a qiskit-multicloud backend.

    Args:
        jobs: the backend jobs of this run (usually exactly one).
        finish: builds the ``PrimitiveResult`` from the finished jobs.
        kind: ``"sampler"`` or ``"estimator"``.
    """

    def __init__(self, jobs: Sequence[MultiCloudJob], finish: Finisher, kind: str) -> None:
        if not jobs:
            raise MultiCloudError(f"a {kind} job needs at least one backend job")
        super().__init__(RUN_SEPARATOR.join(job.job_id() for job in jobs))
        self.jobs = list(jobs)
        self.kind = kind
        self._finish = finish
        self._result: PrimitiveResult[Any] | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}({self.kind}) job_id={self.job_id()!r}>"

    @property
    def vendor_job_ids(self) -> list[str]:
        """Every vendor job reference behind this primitive job."""
        return [ref for job in self.jobs for ref in job.chunk_refs]

    def result(self) -> PrimitiveResult[Any]:
        """Wait for every backend job and build the ``PrimitiveResult`` (cached).

        Raises:
            JobTimeoutError: a backend job did not finish within its ``timeout`` run option.
            JobFailedError: a backend job failed or was cancelled.
        """
        if self._result is None:
            self._result = self._finish(self.jobs)
        return self._result

    def status(self) -> JobStatus:
        """The combined status of the backend jobs (asks the vendor)."""
        return aggregate_status([job.status() for job in self.jobs])

    def done(self) -> bool:
        """True once every backend job is DONE."""
        return self.status() is JobStatus.DONE

    def running(self) -> bool:
        """True while some backend job is running."""
        return self.status() is JobStatus.RUNNING

    def cancelled(self) -> bool:
        """True if a backend job was cancelled."""
        return self.status() is JobStatus.CANCELLED

    def in_final_state(self) -> bool:
        """True once the combined status is DONE, ERROR or CANCELLED."""
        return self.status() in FINAL

    def cancel(self) -> bool:
        """Cancel every backend job; True if a cancel request was sent."""
        sent = [job.cancel() for job in self.jobs]
        return any(sent)


def retrieve_primitive_job(
    provider: MultiCloudProvider, job_id: str, kind: str | None = None
) -> MultiCloudPrimitiveJob:
    """Rebuild a Sampler or Estimator job from its id, in this or a later process.

    The backend job(s) come from ``provider.retrieve_job`` (the local job store); the pub
    shapes, registers and observables come from the metadata the primitive stored on each
    submitted circuit.

    Args:
        provider: a provider with the job store the job was recorded in.
        job_id: :meth:`MultiCloudPrimitiveJob.job_id` of the original run.
        kind: ``"sampler"`` or ``"estimator"`` to insist on one; ``None`` accepts either.

    Raises:
        MultiCloudError: unknown id, or the job was not submitted by a primitive (of ``kind``).
    """
    from .estimator import finish_estimator
    from .sampler import finish_sampler

    jobs = [provider.retrieve_job(part) for part in job_id.split(RUN_SEPARATOR)]
    kinds = {
        str(layout.metadata.get(META_KEY, {}).get("kind"))
        for job in jobs
        for layout in job.layouts
    }
    if len(kinds) != 1 or next(iter(kinds)) not in ("sampler", "estimator"):
        raise MultiCloudError(
            f"job {job_id!r} was not submitted by a qiskit-multicloud primitive "
            f"(circuit kinds found: {sorted(kinds)})"
        )
    found = next(iter(kinds))
    if kind is not None and found != kind:
        raise MultiCloudError(f"job {job_id!r} is a {found} job, not a {kind} job")
    finish = finish_sampler if found == "sampler" else finish_estimator
    return MultiCloudPrimitiveJob(jobs, finish, found)
