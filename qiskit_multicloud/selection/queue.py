"""Queue information across clouds and ``least_busy``.

Each vendor publishes a different kind of queue information (see
:meth:`~qiskit_multicloud.vendors.base.VendorAdapter.queue_info`); this module reads it for
many backends at once and orders them: devices with queue information first, by pending
jobs then estimated wait; devices whose vendor publishes nothing after them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..exceptions import BackendNotFoundError
from ..job import concurrently
from ..types import QueueInfo

if TYPE_CHECKING:
    from ..backend import MultiCloudBackend

#: Optional extra filter on backends, as in ``QiskitRuntimeService.least_busy``.
BackendFilter = Callable[["MultiCloudBackend"], bool]


def queue_snapshot(backends: Sequence[MultiCloudBackend]) -> list[QueueInfo]:
    """Fresh queue information of every backend, read concurrently, in the same order."""
    return concurrently(lambda backend: backend.queue_info(), list(backends))


def queue_key(info: QueueInfo) -> tuple[int, float, float]:
    """Sort key: known before unknown, then fewer pending jobs, then shorter wait."""
    pending = float(info.pending_jobs) if info.pending_jobs is not None else float("inf")
    wait = info.estimated_wait if info.estimated_wait is not None else float("inf")
    return (0 if info.known else 1, pending, wait)


def order_by_queue(
    backends: Sequence[MultiCloudBackend],
) -> list[tuple[MultiCloudBackend, QueueInfo]]:
    """Backends with their queue information, least busy first (stable for ties)."""
    pairs = list(zip(backends, queue_snapshot(backends), strict=True))
    return sorted(pairs, key=lambda pair: queue_key(pair[1]))


def least_busy(
    backends: Sequence[MultiCloudBackend], filters: BackendFilter | None = None
) -> MultiCloudBackend:
    """The online backend with the shortest queue among ``backends``.

    Raises:
        BackendNotFoundError: no online backend passes the filters.
    """
    candidates = [b for b in backends if b.online and (filters is None or filters(b))]
    if not candidates:
        raise BackendNotFoundError(
            "no online backend matches the given filters; relax min_qubits, vendor, "
            "simulator or filters, or check provider.backends() for what is available"
        )
    return order_by_queue(candidates)[0][0]
