"""Helpers shared by the Sampler and the Estimator.

Every circuit a primitive submits carries, in its ``metadata`` under :data:`META_KEY`, what
is needed to put its outcome back into the pub it came from. The backend keeps circuit
metadata in each :class:`~qiskit_multicloud.types.CircuitLayout`, and the job store persists
layouts, so the same post-processing code serves a live job and a job retrieved in a later
process (:func:`~qiskit_multicloud.primitives.retrieve_primitive_job`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qiskit.result import Result

from ..job import MultiCloudJob
from ..types import CircuitLayout

#: Key of the circuit-metadata entry written by the primitives.
META_KEY = "qmc_primitive"
#: Separator between backend job ids when one primitive run needed several ``backend.run``.
RUN_SEPARATOR = "+"
#: Tag added to ``job_tags`` so primitive jobs stand out in ``provider.jobs()``.
TAG_PREFIX = "qiskit-multicloud-primitive:"


@dataclass(frozen=True)
class Outcome:
    """One circuit's outcome, integers over all clbits (clbit 0 = least significant bit).

    Attributes:
        counts: outcome -> frequency.
        memory: per-shot outcomes in measured order, or ``None`` when the vendor returned no
            real per-shot data (memory synthesised from counts is NOT used).
        shots: number of shots the counts add up to.
        layout: the circuit's classical layout (registers and primitive metadata).
    """

    counts: dict[int, int]
    memory: list[int] | None
    shots: int
    layout: CircuitLayout

    @property
    def meta(self) -> dict[str, Any]:
        """The primitive's bookkeeping for this circuit."""
        found = self.layout.metadata.get(META_KEY)
        return dict(found) if isinstance(found, Mapping) else {}


def outcomes_of(job: MultiCloudJob, result: Result) -> list[Outcome]:
    """Decode every experiment of ``result`` into an :class:`Outcome`."""
    outcomes = []
    for layout, exp in zip(job.layouts, result.results, strict=True):
        data = exp.data
        raw_counts: Mapping[str, int] = getattr(data, "counts", None) or {}
        counts = {int(key, 16): int(value) for key, value in raw_counts.items()}
        memory: list[int] | None = None
        synthesised = bool((getattr(exp, "metadata", None) or {}).get("memory_synthesised"))
        raw_memory = getattr(data, "memory", None)
        if raw_memory and not synthesised:
            memory = [int(key, 16) for key in raw_memory]
        shots = sum(counts.values()) if counts else int(exp.shots or 0)
        outcomes.append(Outcome(counts, memory, shots, layout))
    return outcomes


def register_offsets(layout: CircuitLayout) -> list[tuple[str, int, int]]:
    """``(name, offset, size)`` of each classical register, in declaration order."""
    found = []
    offset = 0
    for name, size in layout.creg_sizes:
        found.append((name, offset, size))
        offset += size
    return found


def slice_counts(counts: Mapping[int, int], offset: int, size: int) -> dict[int, int]:
    """Marginal counts of ``size`` bits starting at clbit ``offset``."""
    mask = (1 << size) - 1
    out: dict[int, int] = {}
    for key, value in counts.items():
        part = (key >> offset) & mask
        out[part] = out.get(part, 0) + value
    return out


def precision_to_shots(precision: float, max_shots: int | None) -> int:
    """``ceil(1 / precision**2)``, capped at ``max_shots``.

    Raises:
        ValueError: ``precision`` is not positive.
    """
    if not precision > 0:
        raise ValueError(f"precision must be > 0, got {precision!r}")
    shots = math.ceil(1.0 / precision**2)
    return min(shots, max_shots) if max_shots else shots
