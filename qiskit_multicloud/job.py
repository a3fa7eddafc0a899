"""The one job/polling engine, shared by every vendor.

A :class:`MultiCloudJob` covers the circuits of one ``run()`` call. Large runs may be split
into several vendor jobs ("chunks"); the job id is then the chunk references joined by ``;``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from qiskit.providers import JobStatus, JobV1
from qiskit.result import Result

from . import deadline
from .deadline import bounded, carry_deadline
from .exceptions import (
    DeadlineExceededError,
    JobFailedError,
    JobTimeoutError,
    MalformedResponseError,
    MultiCloudError,
    VendorAPIError,
)
from .results import build_result
from .types import CircuitCounts, CircuitLayout, VendorJobStatus

if TYPE_CHECKING:
    from .backend import MultiCloudBackend

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_R = TypeVar("_R")

FINAL = frozenset({JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED})
_PROGRESS = [
    JobStatus.INITIALIZING,
    JobStatus.QUEUED,
    JobStatus.VALIDATING,
    JobStatus.RUNNING,
    JobStatus.DONE,
]
CHUNK_SEPARATOR = ";"


def is_transient(exc: VendorAPIError) -> bool:
    """True for failures worth another try on an idempotent read.

    No answer, a garbled answer, rate limiting or a server-side error; never an
    authentication failure or a 4xx that will not change.
    """
    if isinstance(exc, MalformedResponseError) or exc.status is None:
        return True
    return exc.status == 429 or exc.status >= 500


#: Most requests in flight at once when a job has many chunks.
MAX_CONCURRENT_REQUESTS = 8


def concurrently(
    function: Callable[[_T], _R],
    items: Sequence[_T],
    max_workers: int = MAX_CONCURRENT_REQUESTS,
) -> list[_R]:
    """``[function(item) for item in items]``, run on a few threads when there are several.

    Results keep the order of ``items``; the first exception is raised. The caller's
    :mod:`~qiskit_multicloud.deadline` applies in the worker threads too.
    """
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(items)))) as pool:
        return list(pool.map(carry_deadline(function), items))


def aggregate_status(statuses: Sequence[JobStatus]) -> JobStatus:
    """Combine chunk statuses: any ERROR > any CANCELLED > all DONE > least advanced."""
    if JobStatus.ERROR in statuses:
        return JobStatus.ERROR
    if JobStatus.CANCELLED in statuses:
        return JobStatus.CANCELLED
    return min(statuses, key=_PROGRESS.index)


class PollSchedule:
    """Adaptive backoff: start at ``first``, grow by ``factor`` per poll, never above ``cap``.

    Short jobs return fast; long jobs cost few requests.
    """

    def __init__(self, first: float, cap: float, factor: float = 1.5) -> None:
        self.interval = max(first, 0.0)
        self.cap = max(cap, self.interval)
        self.factor = factor

    def next(self) -> float:
        """The wait before the next poll."""
        wait = self.interval
        self.interval = min(self.cap, max(self.interval * self.factor, 0.01))
        return wait


class MultiCloudJob(JobV1):
    """A job on a qiskit-multicloud backend.

    Args:
        backend: the backend that ran it.
        chunk_refs: vendor job reference of each chunk, in circuit order.
        chunk_sizes: number of circuits in each chunk.
        layouts: one per circuit, for building the Result.
        options: the resolved run options.
        record_id: the local job-store record, if any.
    """

    def __init__(
        self,
        backend: MultiCloudBackend,
        chunk_refs: Sequence[str],
        chunk_sizes: Sequence[int],
        layouts: Sequence[CircuitLayout],
        options: dict[str, Any],
        *,
        record_id: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(backend, CHUNK_SEPARATOR.join(chunk_refs))
        if len(chunk_refs) != len(chunk_sizes) or sum(chunk_sizes) != len(layouts):
            raise MultiCloudError(
                f"job {self.job_id()}: {len(chunk_refs)} chunk(s) of sizes {list(chunk_sizes)} "
                f"do not cover {len(layouts)} circuit(s)"
            )
        self.chunk_refs = list(chunk_refs)
        self.chunk_sizes = list(chunk_sizes)
        self.layouts = list(layouts)
        self.run_options = dict(options)
        self.record_id = record_id
        self._adapter = backend.adapter
        self._sleep = sleep
        self._clock = clock
        self._chunk_status: list[VendorJobStatus | None] = [None] * len(chunk_refs)
        self._result: Result | None = None
        self._last_status = JobStatus.INITIALIZING
        self.poll_count = 0
        #: Consecutive transient failures tolerated while polling or fetching results.
        self.max_transient_failures = 5

    # -- JobV1 ----------------------------------------------------------------------------

    def submit(self) -> None:
        """Jobs are submitted by ``backend.run()``; calling this again is an error."""
        raise MultiCloudError(f"job {self.job_id()} was already submitted by backend.run()")

    def status(self) -> JobStatus:
        """Ask the vendor for the current status (final chunks are not asked again)."""
        pending = [
            index
            for index, known in enumerate(self._chunk_status)
            if known is None or known.status not in FINAL
        ]
        self.poll_count += len(pending)
        polled = concurrently(self._adapter.status, [self.chunk_refs[i] for i in pending])
        for index, answer in zip(pending, polled, strict=True):
            self._chunk_status[index] = answer
        status = aggregate_status([s.status for s in self._chunk_status if s is not None])
        self._last_status = status
        self._record_status(status)
        return status

    @property
    def vendor_status(self) -> list[VendorJobStatus | None]:
        """The vendor's own status of each chunk, as last polled."""
        return list(self._chunk_status)

    @property
    def queue_position(self) -> int | None:
        """Queue position reported by the vendor, where it reports one."""
        positions = [s.queue_position for s in self._chunk_status if s and s.queue_position]
        return min(positions) if positions else None

    def wait_for_final_state(
        self,
        timeout: float | None = None,
        wait: float | None = None,
        callback: Callable[[str, JobStatus, MultiCloudJob], None] | None = None,
    ) -> JobStatus:
        """Poll with adaptive backoff until DONE, ERROR or CANCELLED.

        ``timeout`` is a total bound: every request (retries, ``Retry-After`` waits and slow
        bodies included) ends by it, so the call returns or raises within ``timeout`` plus
        at most one connect timeout, whatever the server does.

        Args:
            timeout: seconds before :class:`JobTimeoutError`; ``None`` uses the ``timeout``
                run option (itself ``None`` = wait forever).
            wait: first poll interval; defaults to the ``poll_interval`` option.
            callback: called after each poll with (job id, status, job).

        Raises:
            JobTimeoutError: the job was not final within ``timeout`` seconds.
        """
        timeout = self.run_options.get("timeout") if timeout is None else timeout
        with bounded(timeout):
            return self._wait(timeout, wait, callback)

    def _wait(
        self,
        timeout: float | None,
        wait: float | None,
        callback: Callable[[str, JobStatus, MultiCloudJob], None] | None,
    ) -> JobStatus:
        first = self.run_options.get("poll_interval", 0.5) if wait is None else wait
        schedule = PollSchedule(first, self.run_options.get("max_poll_interval", 10.0))
        start = self._clock()
        failures = 0
        while True:
            try:
                status = self.status()
                failures = 0
            except DeadlineExceededError as exc:
                raise self._timed_out(self._last_status, self._clock() - start, timeout) from exc
            except VendorAPIError as exc:
                failures += 1
                if not is_transient(exc) or failures > self.max_transient_failures:
                    raise
                log.info("job %s: status poll failed (%s); polling on", self.job_id(), exc)
                status = self._last_status
            if callback is not None:
                callback(self.job_id(), status, self)
            if status in FINAL:
                return status
            elapsed = self._clock() - start
            if (timeout is not None and elapsed >= timeout) or deadline.expired():
                raise self._timed_out(status, elapsed, timeout)
            pause = deadline.cap(schedule.next())
            if timeout is not None:
                pause = min(pause, max(0.0, timeout - elapsed))
            self._sleep(pause)

    def _timed_out(
        self, status: JobStatus, elapsed: float, timeout: float | None, doing: str = "still"
    ) -> JobTimeoutError:
        return JobTimeoutError(
            f"job {self.job_id()} {doing} {status.name} after {elapsed:.1f}s "
            f"(timeout={timeout}s); call job.result() again later or "
            f"provider.retrieve_job({self.job_id()!r}) from a new session"
        )

    def result(self, timeout: float | None = None, wait: float | None = None) -> Result:
        """Wait for the job and return its ``Result`` (one experiment per circuit).

        ``timeout`` bounds the whole call, the result download included (see
        :meth:`wait_for_final_state`); ``None`` uses the ``timeout`` run option.

        Raises:
            JobTimeoutError: not finished, or results not downloaded, within ``timeout``.
            JobFailedError: the job failed or was cancelled.
            MalformedResponseError: the vendor's results are inconsistent (bad counts,
                totals, keys).
        """
        if self._result is not None:
            return self._result
        timeout = self.run_options.get("timeout") if timeout is None else timeout
        started = self._clock()
        with bounded(timeout):
            status = self.wait_for_final_state(timeout=timeout, wait=wait)
            if status is not JobStatus.DONE:
                raise self._failure(status)
            try:
                return self._build_result()
            except DeadlineExceededError as exc:
                raise self._timed_out(
                    status, self._clock() - started, timeout, "is DONE, but its results were not "
                    "downloaded in time; it is"
                ) from exc

    def _build_result(self) -> Result:
        """Fetch every chunk's outcomes (concurrently) and build the one ``Result``."""
        starts = [sum(self.chunk_sizes[:i]) for i in range(len(self.chunk_sizes))]
        per_chunk = concurrently(
            lambda i: self._fetch_results(
                self.chunk_refs[i],
                self.layouts[starts[i] : starts[i] + self.chunk_sizes[i]],
            ),
            list(range(len(self.chunk_refs))),
        )
        outcomes: list[CircuitCounts] = []
        for ref, chunk, chunk_outcomes in zip(
            self.chunk_refs, self._chunk_status, per_chunk, strict=True
        ):
            for outcome in chunk_outcomes:
                outcome.metadata.setdefault("vendor_job_id", ref)
                outcome.metadata.setdefault("vendor_status", chunk.raw if chunk else None)
                outcomes.append(outcome)
        backend: MultiCloudBackend = self.backend()
        self._result = build_result(
            vendor=self._adapter.vendor,
            backend_name=backend.name,
            job_id=self.job_id(),
            layouts=self.layouts,
            outcomes=outcomes,
            shots=int(self.run_options["shots"]),
            memory=bool(self.run_options.get("memory")),
            fewer_shots_allowed=self._adapter.may_return_fewer_shots(self.run_options),
            metadata={
                "vendor_job_ids": self.chunk_refs,
                "vendor_status": [s.raw for s in self._chunk_status if s is not None],
            },
        )
        return self._result

    def cancel(self) -> bool:
        """Cancel every chunk that is not final.

        Returns:
            True if a chunk was still running or queued and a cancel was sent; False for a
            job that had already finished, failed or been cancelled (not an error).
        """
        sent = False
        for index, ref in enumerate(self.chunk_refs):
            known = self._chunk_status[index]
            if known is None or known.status not in FINAL:
                sent = self._adapter.cancel(ref) or sent
        self.status()
        return sent

    # -- helpers --------------------------------------------------------------------------

    def _fetch_results(self, ref: str, layouts: Sequence[CircuitLayout]) -> list[CircuitCounts]:
        """Results of one chunk; transient failures (incl. garbled bodies) are retried."""
        attempt = 0
        while True:
            try:
                return self._adapter.results(ref, layouts, self.run_options)
            except DeadlineExceededError:
                raise
            except VendorAPIError as exc:
                attempt += 1
                if not is_transient(exc) or attempt > self.max_transient_failures:
                    raise
                pause = min(2.0**attempt * 0.05, 2.0)
                if deadline.cap(pause) < pause:
                    raise DeadlineExceededError(
                        f"{exc} (no time left to read the results again)", vendor=exc.vendor
                    ) from exc
                self._sleep(pause)

    def _failure(self, status: JobStatus) -> JobFailedError:
        raws = [s.raw for s in self._chunk_status if s is not None]
        if status is JobStatus.CANCELLED:
            return JobFailedError(
                f"job {self.job_id()} was cancelled (vendor status {raws}); it has no results",
                job_id=self.job_id(),
                vendor_status=",".join(raws),
            )
        reasons = []
        for ref, chunk in zip(self.chunk_refs, self._chunk_status, strict=True):
            if chunk is not None and chunk.status is JobStatus.ERROR:
                reasons.append(chunk.message or self._adapter.failure_message(ref) or chunk.raw)
        return JobFailedError(
            f"job {self.job_id()} failed on {self._adapter.display_name}: "
            f"{'; '.join(r for r in reasons if r) or 'no reason given'}",
            job_id=self.job_id(),
            vendor_status=",".join(raws),
        )

    def _record_status(self, status: JobStatus) -> None:
        backend: MultiCloudBackend | None = self.backend()
        store = getattr(backend, "job_store", None)
        if store is not None and self.record_id is not None and status in FINAL:
            store.update_status(self.record_id, status.name)
