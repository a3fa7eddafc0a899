"""Build Qiskit ``Result`` objects from vendor-neutral per-circuit outcomes.

Adapters hand over :class:`~qiskit_multicloud.types.CircuitCounts` whose keys are already in
Qiskit's bit order over all clbits. Here they become hex keys plus a header with
``creg_sizes``/``memory_slots``, so ``Result.get_counts()`` prints registers the Qiskit way
(last register leftmost, separated by spaces).
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from qiskit.result import Result
from qiskit.result.models import ExperimentResult, ExperimentResultData

from .exceptions import MalformedResponseError
from .types import CircuitCounts, CircuitLayout


def _hex(bits: str) -> str:
    return hex(int(bits, 2)) if bits else "0x0"


def reverse_keys(counts: Mapping[str, int]) -> dict[str, int]:
    """Reverse every bitstring key (for vendors that put bit 0 leftmost), merging duplicates."""
    out: dict[str, int] = {}
    for key, value in counts.items():
        rev = key[::-1]
        out[rev] = out.get(rev, 0) + int(value)
    return out


def check_counts(vendor: str, layout: CircuitLayout, outcome: CircuitCounts) -> None:
    """Raise if keys are not bitstrings as wide as the circuit's classical bits."""
    width = layout.num_clbits
    keys: Iterable[str] = list(outcome.counts) + list(outcome.memory or ())
    for key in keys:
        if len(key) != width or (key and key.strip("01")):
            raise MalformedResponseError(
                f"{vendor}: result key {key!r} for circuit {layout.name!r} is not a "
                f"{width}-bit string",
                vendor=vendor,
            )


def experiment_result(
    vendor: str, layout: CircuitLayout, outcome: CircuitCounts, shots: int
) -> ExperimentResult:
    """One ``ExperimentResult`` for one circuit."""
    check_counts(vendor, layout, outcome)
    data: dict[str, Any] = {"counts": {_hex(k): int(v) for k, v in outcome.counts.items() if v}}
    if outcome.memory is not None:
        data["memory"] = [_hex(k) for k in outcome.memory]
    header = {
        "name": layout.name,
        "creg_sizes": [list(item) for item in layout.creg_sizes],
        "memory_slots": layout.num_clbits,
        "n_qubits": layout.num_qubits,
        "metadata": dict(layout.metadata),
    }
    metadata = dict(outcome.metadata)
    if outcome.memory_synthesised:
        metadata["memory_synthesised"] = True
    return ExperimentResult(
        shots=outcome.shots or shots,
        success=True,
        data=ExperimentResultData(**data),
        header=header,
        status="DONE",
        metadata=metadata,
    )


def build_result(
    *,
    vendor: str,
    backend_name: str,
    job_id: str,
    layouts: Sequence[CircuitLayout],
    outcomes: Sequence[CircuitCounts],
    shots: int,
    metadata: Mapping[str, Any] | None = None,
) -> Result:
    """Assemble the ``Result`` for a whole job, one experiment per circuit, in run() order.

    Raises:
        MalformedResponseError: the vendor returned a different number of results than
            circuits, or malformed keys.
    """
    if len(outcomes) != len(layouts):
        raise MalformedResponseError(
            f"{vendor}: job {job_id} returned {len(outcomes)} result(s) for "
            f"{len(layouts)} circuit(s)",
            vendor=vendor,
        )
    experiments = [
        experiment_result(vendor, layout, outcome, shots)
        for layout, outcome in zip(layouts, outcomes, strict=True)
    ]
    return Result(
        backend_name=backend_name,
        backend_version="1",
        job_id=job_id,
        success=True,
        results=experiments,
        date=datetime.datetime.now(datetime.UTC).isoformat(),
        status="COMPLETED",
        header={"vendor": vendor, **(metadata or {})},
    )


def counts_from_memory(memory: Iterable[str]) -> dict[str, int]:
    """Histogram of per-shot outcomes (the inverse of :func:`counts_to_memory`)."""
    return dict(Counter(memory))


def counts_to_memory(counts: Mapping[str, int]) -> list[str]:
    """Per-shot list synthesised from counts (grouped, NOT the measured shot order)."""
    memory: list[str] = []
    for key in sorted(counts):
        memory.extend([key] * int(counts[key]))
    return memory
