"""IQM Server (IQM Resonance) adapter: the G3 ``/api/v1`` REST API.

Discovery: ``GET /api/v1/quantum-computers``, then per QC the default calibration set's
dynamic quantum architecture, calibration set and quality metrics (read concurrently). Jobs:
``POST /api/v1/jobs/{qc}/circuit`` with ``calibration_set_id`` pinned to the set the Target
was built from; status ``GET /api/v1/jobs/{job}``; results
``GET /api/v1/jobs/{job}/artifacts/measurements``; cancel ``POST /api/v1/jobs/{job}/cancel``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus

from ...backend import MultiCloudBackend
from ...config import VendorSettings
from ...exceptions import (
    CircuitValidationError,
    ConfigurationError,
    MalformedResponseError,
    VendorAPIError,
)
from ...job import concurrently
from ...options import OptionSpec
from ...results import counts_from_memory
from ...transport import Transport
from ...types import (
    CircuitCounts,
    CircuitLayout,
    DeviceSpec,
    QueueInfo,
    VendorJobStatus,
    map_status,
)
from ..base import RunOptions, VendorAdapter
from .device import device_from_dqa, partial_device
from .settings import IQMSettings
from .translate import (
    CircuitTranslator,
    check_one_per_circuit,
    decode_counts,
    decode_measurements,
)

log = logging.getLogger(__name__)

API = "api/v1"

#: IQM Server (G3) job status -> Qiskit status.
STATUS_MAP: dict[str, JobStatus] = {
    "waiting": JobStatus.QUEUED,
    "processing": JobStatus.RUNNING,
    "completed": JobStatus.DONE,
    "failed": JobStatus.ERROR,
    "cancelled": JobStatus.CANCELLED,
}

_FINAL = frozenset({"completed", "failed", "cancelled"})


def _calibration_set_id(dqa: Any, alias: str) -> Any:
    """The ``calibration_set_id`` a DQA answer names.

    Raises:
        MalformedResponseError: the answer is not a DQA.
    """
    if not isinstance(dqa, Mapping) or "calibration_set_id" not in dqa:
        raise MalformedResponseError(
            f"iqm: DQA of {alias} has no field 'calibration_set_id'", vendor="iqm"
        )
    return dqa["calibration_set_id"]


def _uuid_or_none(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise CircuitValidationError(
            f"run option calibration_set_id={value!r} is not a UUID; use the id shown in "
            "backend.device.calibration_id or None for the backend's calibration set"
        ) from exc


class IQMAdapter(VendorAdapter):
    """Protocol translation for one IQM Server account."""

    vendor: ClassVar[str] = "iqm"
    display_name: ClassVar[str] = "IQM Resonance"
    settings_class: ClassVar[type[VendorSettings]] = IQMSettings
    status_map: ClassVar[Mapping[str, JobStatus]] = STATUS_MAP
    run_options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec(
            "calibration_set_id",
            None,
            "calibration set UUID to run with (None = the set the backend's Target was built "
            "from, pinned so Target and execution agree)",
            (str,),
        ),
        OptionSpec(
            "heralding_mode",
            "none",
            "'zeros' measures all used qubits before each shot and keeps only shots where "
            "all read 0 (fewer shots may come back)",
            (str,),
            choices=("none", "zeros"),
        ),
        OptionSpec(
            "max_circuit_duration_over_t2",
            None,
            "reject circuits longer than this multiple of the shortest T2 (0 disables, None "
            "= server default)",
            (int, float),
            (0, None),
        ),
        OptionSpec(
            "use_timeslot",
            False,
            "submit to the quantum computer's reserved time-slot queue",
            (bool,),
        ),
    )

    settings: IQMSettings

    @classmethod
    def from_settings(cls, settings: VendorSettings) -> IQMAdapter:
        """Adapter with a bearer-token (or tokens-file) transport."""
        if not isinstance(settings, IQMSettings):
            raise ConfigurationError(f"iqm: expected IQMSettings, got {type(settings).__name__}")
        return cls(settings, Transport("iqm", settings.url, settings.auth()))

    # -- discovery ------------------------------------------------------------------------

    def _quantum_computers(self) -> list[Mapping[str, Any]]:
        body = self.transport.json("GET", f"{API}/quantum-computers")
        qcs = body.get("quantum_computers") if isinstance(body, Mapping) else None
        if not isinstance(qcs, list) or not all(isinstance(q, Mapping) for q in qcs):
            raise MalformedResponseError(
                "iqm: GET /api/v1/quantum-computers has no list 'quantum_computers'", vendor="iqm"
            )
        wanted = self.settings.quantum_computer
        if wanted:
            chosen = [q for q in qcs if q.get("alias") == wanted]
            if not chosen:
                aliases = ", ".join(str(q.get("alias")) for q in qcs)
                raise ConfigurationError(
                    f"iqm: quantum computer {wanted!r} is not available on this server "
                    f"(available: {aliases})"
                )
            return chosen
        return list(qcs)

    def _observations(self, path: str) -> Any:
        try:
            return self.transport.json("GET", path)
        except VendorAPIError as exc:
            if exc.status in (403, 404):
                log.info("iqm: %s not available (HTTP %s); no calibration data", path, exc.status)
                return None
            raise

    def _device(
        self, qc: Mapping[str, Any], calibration_set: str = "default", *, reuse: bool = True,
        documents: tuple[Any, Any, Any] | None = None,
    ) -> DeviceSpec:
        """One QC's device from its DQA, calibration set and quality metrics.

        The three are read concurrently (one round trip instead of three), all by
        ``calibration_set`` (``default`` or a UUID; IQM's own client reads calibration set
        and metrics by ``default`` too). The DQA names the set it describes; a calibration
        set or metrics answer that does not name the same set (the server's default moved
        between the reads, or the answer does not say) is read again by that set's id, so
        the Target's structure and its error rates and durations always agree.

        With a cached device for this QC (and ``reuse``), only the DQA is read: the cached
        device is used when the DQA names the calibration set it was built from; otherwise
        that set's calibration and metrics are read (concurrently) and the cache replaced.
        ``documents`` are the three answers when :meth:`discover_devices` already read them.
        """
        alias = qc.get("alias")
        if not isinstance(alias, str):
            raise MalformedResponseError("iqm: quantum computer entry has no 'alias'", vendor="iqm")
        base = f"{API}/calibration-sets/{alias}"
        dqa_path = f"{base}/{calibration_set}/dynamic-quantum-architecture"
        known = self.cached_device(alias) if reuse else None
        if known is not None:
            dqa = self.transport.json("GET", dqa_path)
            cs_id = _calibration_set_id(dqa, alias)
            if known.calibration_id == str(cs_id):
                return known
            log.info("iqm: %s calibration set changed (%s -> %s); reading it", alias,
                     known.calibration_id, cs_id)
            calibration, metrics = concurrently(
                _call,
                [lambda: self._observations(f"{base}/{cs_id}"),
                 lambda: self._observations(f"{base}/{cs_id}/metrics")],
                max_workers=2,
            )
        else:
            dqa, calibration, metrics = documents or self._calibration_documents(
                alias, calibration_set
            )
        spec = device_from_dqa(qc, dqa, calibration, metrics)
        self.remember_device(alias, spec)
        return spec

    def _calibration_documents(
        self, alias: str, calibration_set: str = "default"
    ) -> tuple[Any, Any, Any]:
        """DQA, calibration set and metrics of one QC, read concurrently (see :meth:`_device`)."""
        base = f"{API}/calibration-sets/{alias}"
        reads: list[Callable[[], Any]] = [
            lambda: self.transport.json(
                "GET", f"{base}/{calibration_set}/dynamic-quantum-architecture"
            ),
            lambda: self._observations(f"{base}/{calibration_set}"),
            lambda: self._observations(f"{base}/{calibration_set}/metrics"),
        ]
        dqa, calibration, metrics = concurrently(_call, reads, max_workers=len(reads))
        cs_id = _calibration_set_id(dqa, alias)
        if calibration is not None and _set_id(calibration, "observation_set_id") != cs_id:
            calibration = self._observations(f"{base}/{cs_id}")
        if metrics is not None and _set_id(metrics, "describes_id") != cs_id:
            metrics = self._observations(f"{base}/{cs_id}/metrics")
        return dqa, calibration, metrics

    def list_devices(self) -> list[DeviceSpec]:
        """Every quantum computer as a device, Target data from its default calibration set."""
        return [self._device(qc) for qc in self._quantum_computers()]

    def discover_devices(self) -> list[DeviceSpec]:
        """Every quantum computer from the QC list alone (one request); see complete_device.

        The DQA, calibration set and metrics (three requests per QC) are read only for the
        backends that are used, as IQM's own client does for the one QC it is given.
        When the settings name the quantum computer and no cached device exists for it, its
        three documents need only its alias, so they are read in the same round trip as the
        QC list and the device comes back complete (one round trip fewer before a run).
        """
        wanted = self.settings.quantum_computer
        if wanted and self.cached_device(wanted) is None:
            qcs, documents = concurrently(
                _call,
                [self._quantum_computers, lambda: self._calibration_documents(wanted)],
                max_workers=2,
            )
            return [self._device(qc, documents=documents) for qc in qcs]
        return [partial_device(qc) for qc in self._quantum_computers()]

    def complete_device(self, device: DeviceSpec) -> DeviceSpec:
        """The full device (DQA + calibration) of a partial one from :meth:`discover_devices`."""
        qc = device.raw.get("quantum_computer")
        if device.extra.get("partial") and isinstance(qc, Mapping):
            return self._device(qc)
        return device

    def refresh_device(self, device: DeviceSpec) -> DeviceSpec:
        """Re-read one QC's default calibration set (bypassing the cache, rewriting it)."""
        qc = device.raw.get("quantum_computer")
        return self._device(qc, reuse=False) if isinstance(qc, Mapping) else device

    def queue_info(self, device: DeviceSpec) -> QueueInfo:
        """``queue_length`` of ``GET /api/v1/quantum-computers/{qc}/queue-availability``.

        IQM's Python SDK does not read this endpoint (its C++ client does); a server
        without it (404) means no queue information, not an error.
        """
        alias = device.extra.get("alias") or device.device_id
        path = f"{API}/quantum-computers/{alias}/queue-availability"
        source = "GET /api/v1/quantum-computers/{qc}/queue-availability: queue_length"
        try:
            body = self.transport.json("GET", path)
        except VendorAPIError as exc:
            if exc.status == 404:
                return QueueInfo(source="this IQM server has no queue-availability endpoint")
            raise
        length = body.get("queue_length") if isinstance(body, Mapping) else None
        if not isinstance(length, int) or isinstance(length, bool) or length < 0:
            return QueueInfo(source=source, error=f"unreadable queue_length {length!r}")
        return QueueInfo(pending_jobs=length, source=source)

    # -- jobs -----------------------------------------------------------------------------

    def build_payload(
        self, device: DeviceSpec, circuits: Sequence[QuantumCircuit], options: RunOptions
    ) -> dict[str, Any]:
        """The circuit job definition of ``POST /api/v1/jobs/{qc}/circuit``."""
        routes = {
            (int(a), int(b)): (str(r[0]), str(r[1]), str(r[2]))
            for key, r in dict(device.extra.get("cz_routes") or {}).items()
            for a, b in [key.split(",")]
        }
        translator = CircuitTranslator(
            device.extra.get("qubit_names") or [],
            routes,
            {(int(a), int(b)) for a, b in device.extra.get("real_cz") or []},
        )
        cs_id = _uuid_or_none(options.get("calibration_set_id")) or device.calibration_id
        t2_ratio = options.get("max_circuit_duration_over_t2")
        return {
            "circuits": translator.translate_all(circuits),
            "calibration_set_id": cs_id,
            "qubit_mapping": None,
            "shots": int(options["shots"]),
            "max_circuit_duration_over_t2": None if t2_ratio is None else float(t2_ratio),
            "heralding_mode": options.get("heralding_mode", "none"),
            "move_gate_validation": "strict",
            "move_gate_frame_tracking": "full",
            "active_reset_cycles": None,
            "dd_mode": "disabled",
            "dd_strategy": None,
            "move_validation_mode": "strict",
            "move_gate_frame_tracking_mode": "full",
        }

    def submit(self, device: DeviceSpec, payload: Any, options: RunOptions) -> str:
        """Create the job; return its UUID."""
        alias = device.extra.get("alias", device.device_id)
        body = self.transport.json(
            "POST",
            f"{API}/jobs/{alias}/circuit",
            json=payload,
            params={"use_timeslot": "true" if options.get("use_timeslot") else "false"},
        )
        job_id = body.get("id") if isinstance(body, Mapping) else None
        if not isinstance(job_id, str) or not job_id:
            raise MalformedResponseError(
                f"iqm: submit to {alias} answered without a job 'id'", vendor="iqm"
            )
        if body.get("status") in _FINAL:
            # The answer is the job record; a job already final in it needs no status poll
            # (IQM's own client does not poll it either).
            self.remember_final(job_id, body)
        return job_id

    def _job(self, job_ref: str) -> Mapping[str, Any]:
        record = self.transport.json("GET", f"{API}/jobs/{job_ref}")
        if not isinstance(record, Mapping) or not isinstance(record.get("status"), str):
            raise MalformedResponseError(
                f"iqm: job {job_ref} record has no string field 'status'", vendor="iqm"
            )
        return record

    def status(self, job_ref: str) -> VendorJobStatus:
        """Status from the job record (queue position while waiting, errors when failed).

        A record the submit answer already found final is used instead of a request.
        """
        record = self.known_final(job_ref) or self._job(job_ref)
        raw = str(record["status"])
        position = record.get("queue_position")
        return VendorJobStatus(
            status=map_status(STATUS_MAP, raw, JobStatus.RUNNING),
            raw=raw,
            queue_position=position if isinstance(position, int) else None,
            message=_errors(record) if raw == "failed" else None,
        )

    def results(
        self, job_ref: str, layouts: Sequence[CircuitLayout], options: RunOptions
    ) -> list[CircuitCounts]:
        """Counts (and per-shot memory when asked), Qiskit bit order.

        Without ``memory=True`` the compact ``measurement_counts`` histogram is read (client
        memory stays bounded for large runs); per-shot ``measurements`` otherwise, or when
        the histogram's keys are not the one-clbit keys our translation writes.
        """
        if not options.get("memory"):
            histogram = self.transport.json(
                "GET", f"{API}/jobs/{job_ref}/artifacts/measurement_counts"
            )
            decoded = decode_counts(histogram, layouts, job_ref)
            if decoded is not None:
                return [
                    CircuitCounts(counts=counts, shots=sum(counts.values()), metadata={})
                    for counts in decoded
                ]
        data = self.transport.json("GET", f"{API}/jobs/{job_ref}/artifacts/measurements")
        check_one_per_circuit(data, layouts, job_ref, "measurements")
        outcomes = []
        for index, (item, layout) in enumerate(zip(data, layouts, strict=True)):
            memory = decode_measurements(item, layout, index)
            outcomes.append(
                CircuitCounts(
                    counts=counts_from_memory(memory),
                    memory=memory,
                    shots=len(memory),
                    metadata={},
                )
            )
        return outcomes

    def may_return_fewer_shots(self, options: Mapping[str, Any]) -> bool:
        """Heralding discards the shots whose qubits were not in the ground state."""
        return str(options.get("heralding_mode") or "none") != "none"

    def cancel(self, job_ref: str) -> bool:
        """Cancel; a refusal because the job is already final is a no-op (False)."""
        try:
            self.transport.request("POST", f"{API}/jobs/{job_ref}/cancel")
        except VendorAPIError as exc:
            if exc.status in (403, 409) and str(self._job(job_ref)["status"]) in _FINAL:
                return False
            raise
        return True

    def failure_message(self, job_ref: str) -> str | None:
        """The job record's ``errors`` (or, lacking those, ``messages``) joined."""
        record = self._job(job_ref)
        return _errors(record) or _messages(record.get("messages"))


def _call(read: Callable[[], Any]) -> Any:
    return read()


def _set_id(answer: Any, member: str) -> Any:
    """``answer[member]``, the calibration set an observation-set answer is about."""
    return answer.get(member) if isinstance(answer, Mapping) else None


def _messages(items: Any) -> str | None:
    if not isinstance(items, list):
        return None
    texts = [
        str(item.get("message") or item.get("detail") or "")
        for item in items
        if isinstance(item, Mapping)
    ]
    return "; ".join(t for t in texts if t) or None


def _errors(record: Mapping[str, Any]) -> str | None:
    return _messages(record.get("errors"))


class IQMBackend(MultiCloudBackend):
    """An IQM quantum computer as a Qiskit backend."""

    vendor_options = IQMAdapter.run_options
