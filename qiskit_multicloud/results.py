"""Build Qiskit ``Result`` objects from vendor-neutral per-circuit outcomes.

Adapters hand over :class:`~qiskit_multicloud.types.CircuitCounts` whose keys are already in
Qiskit's bit order over all clbits. Here they become hex keys plus a header with
``creg_sizes``/``memory_slots``, so ``Result.get_counts()`` prints registers the Qiskit way
(last register leftmost, separated by spaces).
"""

from __future__ import annotations

import datetime
import math
import numbers
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, SupportsInt, cast

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


def count_value(value: Any, *, vendor: str, where: str) -> int:
    """A vendor's count as an ``int``, refusing anything that is not a whole, finite number
    of shots (bool, negative, NaN, Infinity, 2.5, strings).

    Adapters use it when reading counts; the result builder checks the same again.

    Raises:
        MalformedResponseError: not a non-negative whole number.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise MalformedResponseError(
            f"{vendor}: {where}: count {value!r} is not a number", vendor=vendor
        )
    if isinstance(value, numbers.Integral):
        number = int(cast(SupportsInt, value))
    elif math.isfinite(float(value)) and float(value).is_integer():
        number = int(float(value))
    else:
        raise MalformedResponseError(
            f"{vendor}: {where}: count {value!r} is not a whole number of shots", vendor=vendor
        )
    if number < 0:
        raise MalformedResponseError(
            f"{vendor}: {where}: count {value!r} is negative", vendor=vendor
        )
    return number


def check_counts(
    vendor: str,
    layout: CircuitLayout,
    outcome: CircuitCounts,
    shots: int | None = None,
    *,
    fewer_shots_allowed: bool = False,
    job_id: str | None = None,
) -> None:
    """Raise unless ``outcome`` is a plausible answer for ``layout`` run with ``shots``.

    Keys (counts and memory) must be bitstrings as wide as the circuit's classical bits
    (no hex, no spaces: adapters convert to that form), counts whole non-negative numbers,
    and the total of counts (and the length of memory) must equal ``shots``, or be at most
    ``shots`` when the vendor documents that shots may be dropped (``fewer_shots_allowed``).

    Raises:
        MalformedResponseError: naming the circuit and what is wrong.
    """
    width = layout.num_clbits
    where = f"job {job_id} circuit {layout.name!r}" if job_id else f"circuit {layout.name!r}"

    def check_key(key: Any) -> None:
        if not isinstance(key, str) or len(key) != width or (key and key.strip("01")):
            raise MalformedResponseError(
                f"{vendor}: result key {key!r} for {where} is not a {width}-bit string",
                vendor=vendor,
            )

    total = 0
    for key, value in outcome.counts.items():
        check_key(key)
        total += count_value(value, vendor=vendor, where=f"{where}, key {key!r}")
    if outcome.memory is not None:
        for key in outcome.memory:
            check_key(key)
    if shots is None:
        return
    measured = {"counts": total}
    if outcome.memory is not None and not outcome.memory_synthesised:
        measured["memory"] = len(outcome.memory)
    for what, found in measured.items():
        if found == shots or (fewer_shots_allowed and found < shots):
            continue
        allowed = f"at most {shots}" if fewer_shots_allowed else f"{shots}"
        raise MalformedResponseError(
            f"{vendor}: {where} returned {found} shot(s) in its {what} but {allowed} were "
            "asked; the answer is inconsistent (or not this job's) and was not used",
            vendor=vendor,
        )


def experiment_result(
    vendor: str, layout: CircuitLayout, outcome: CircuitCounts, shots: int
) -> ExperimentResult:
    """One ``ExperimentResult`` for one circuit (``outcome`` already checked)."""
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
    memory: bool | None = None,
    fewer_shots_allowed: bool = False,
) -> Result:
    """Assemble the ``Result`` for a whole job, one experiment per circuit, in run() order.

    Every outcome is checked first (:func:`check_counts`), so a hostile answer never becomes
    a ``Result``.

    Args:
        memory: ``True``: keep per-shot memory, synthesising it from counts where the vendor
            sent none (flagged ``memory_synthesised``); ``False``: drop it; ``None``: keep
            outcomes as they are.
        fewer_shots_allowed: accept totals below ``shots`` (a vendor's documented case).

    Raises:
        MalformedResponseError: the vendor returned a different number of results than
            circuits, malformed keys or counts, or totals that differ from ``shots``.
    """
    if len(outcomes) != len(layouts):
        raise MalformedResponseError(
            f"{vendor}: job {job_id} returned {len(outcomes)} result(s) for "
            f"{len(layouts)} circuit(s)",
            vendor=vendor,
        )
    for layout, outcome in zip(layouts, outcomes, strict=True):
        check_counts(
            vendor, layout, outcome, shots, fewer_shots_allowed=fewer_shots_allowed, job_id=job_id
        )
        if memory is False:
            outcome.memory = None  # per-shot data only when asked: it dominates memory use
        elif memory and outcome.memory is None:
            outcome.memory = counts_to_memory(outcome.counts)
            outcome.memory_synthesised = True
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
