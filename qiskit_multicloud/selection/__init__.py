"""Choosing and comparing devices across clouds: least busy, ranking, side-by-side runs.

A layer above the provider that uses only the public backend, Target and job API, so it
works for every vendor alike. :class:`~qiskit_multicloud.provider.MultiCloudProvider` exposes
it as ``least_busy``, ``rank_backends`` and ``compare``.
"""

from .compare import Comparison, DeviceRun, compare_runs, ideal_distribution, total_variation
from .estimate import ASSUMED_ERRORS, VIRTUAL_GATES, SuccessEstimate, estimate_success
from .queue import least_busy, order_by_queue, queue_snapshot
from .ranking import Ranking, RankingEntry, SkippedBackend, rank, score_backend

__all__ = [
    "ASSUMED_ERRORS",
    "VIRTUAL_GATES",
    "Comparison",
    "DeviceRun",
    "Ranking",
    "RankingEntry",
    "SkippedBackend",
    "SuccessEstimate",
    "compare_runs",
    "estimate_success",
    "ideal_distribution",
    "least_busy",
    "order_by_queue",
    "queue_snapshot",
    "rank",
    "score_backend",
    "total_variation",
]
