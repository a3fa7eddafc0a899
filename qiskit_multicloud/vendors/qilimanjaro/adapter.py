"""Qilimanjaro QaaS adapter: the qiboconnection REST protocol <-> neutral types.

Endpoints (relative to ``<service root>/api/v1``): ``GET devices`` (paginated),
``POST circuits`` (one job holding every circuit of a run), ``GET jobs/{id}`` (status and
gzip+base64 result), ``PUT jobs/cancel/{id}``. See ``docs/protocols/qilimanjaro.rst``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus

from ... import sweeps
from ...backend import MultiCloudBackend
from ...cache import AccountCache
from ...config import VendorSettings
from ...exceptions import ConfigurationError, MalformedResponseError, VendorAPIError
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
from ...version import __version__
from ..base import RunOptions, VendorAdapter
from .auth import QilimanjaroAuth
from .devices import device_spec
from .settings import VENDOR, QilimanjaroSettings
from .translate import (
    SKIPPED_SAMPLES,
    circuit_template,
    circuit_to_qasm,
    clbit_order,
    compress,
    convert_counts,
    convert_samples,
    decompress,
)

log = logging.getLogger(__name__)

#: Service job status -> Qiskit status (``canceled`` appears in some vendor mocks).
STATUS_MAP: dict[str, JobStatus] = {
    "pending": JobStatus.QUEUED,
    "queued": JobStatus.QUEUED,
    "running": JobStatus.RUNNING,
    "completed": JobStatus.DONE,
    "error": JobStatus.ERROR,
    "cancelled": JobStatus.CANCELLED,
    "canceled": JobStatus.CANCELLED,
    "not sent": JobStatus.INITIALIZING,
}

#: Members every job record carries.
JOB_MEMBERS = ("job_id", "status", "number_shots", "description", "result")
#: Extra members a failed job may explain itself in.
FAILURE_MEMBERS = ("error_message", "error", "reason", "detail", "message", "logs")
#: Safety stop for a server whose ``next`` links never end.
MAX_PAGES = 1000


class QilimanjaroAdapter(VendorAdapter):
    """One Qilimanjaro QaaS account."""

    vendor = VENDOR
    display_name = "Qilimanjaro QaaS"
    settings_class = QilimanjaroSettings
    status_map = STATUS_MAP
    run_options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec(
            "job_name", None, "job name shown in the Qilimanjaro job list (default: circuit "
            "names)", (str,)
        ),
        OptionSpec("summary", "-", "free-text job summary stored with the job", (str,)),
    )

    def __init__(self, settings: QilimanjaroSettings, transport: Transport,
                 auth: QilimanjaroAuth) -> None:
        super().__init__(settings, transport)
        self.auth = auth
        self.qsettings = settings

    @classmethod
    def from_settings(cls, settings: VendorSettings) -> QilimanjaroAdapter:
        """Adapter with a transport on ``<url>/api/v1`` and lazy username/API-key login."""
        if not isinstance(settings, QilimanjaroSettings) or settings.api_key is None:
            raise ConfigurationError(
                f"{VENDOR}: needs QilimanjaroSettings with username and api_key"
            )
        auth = QilimanjaroAuth(settings)
        user_agent = f"qiskit-multicloud/{__version__} ({VENDOR})"
        transport = Transport(VENDOR, settings.api_root, auth, user_agent=user_agent)
        auth.bind(transport)
        return cls(settings, transport, auth)

    def attach_cache(self, cache: AccountCache | None) -> None:
        """Device information and the login's access token go to ``cache``."""
        super().attach_cache(cache)
        self.auth.cache = cache

    # -- devices ----------------------------------------------------------------------------

    def list_devices(self) -> list[DeviceSpec]:
        """Walk every page of ``GET devices``."""
        specs = []
        for item in self._walk("devices"):
            spec = device_spec(item, self.qsettings)
            if spec is not None:
                specs.append(spec)
        return specs

    def refresh_device(self, device: DeviceSpec) -> DeviceSpec:
        """Re-read one device with ``GET devices/{id}``."""
        item = self.transport.json("GET", f"devices/{device.extra['id']}")
        return device_spec(item, self.qsettings) or device

    def queue_info(self, device: DeviceSpec) -> QueueInfo:
        """``number_pending_jobs`` of ``GET devices/{id}``."""
        return self.queue_from_refresh(device, "GET devices/{id}: number_pending_jobs")

    def _walk(self, path: str, fixed: Mapping[str, str] | None = None) -> list[Any]:
        items: list[Any] = []
        params: dict[str, str] = dict(fixed or {})
        seen: set[tuple[tuple[str, str], ...]] = set()
        for _ in range(MAX_PAGES):
            page = self.transport.json("GET", path, params=params or None)
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise MalformedResponseError(
                    f"{VENDOR}: GET {path} answer lacks the list 'items'", vendor=VENDOR
                )
            items.extend(page["items"])
            links = page.get("links")
            following = links.get("next") if isinstance(links, dict) else None
            if not isinstance(following, str) or "None" in following:
                return items
            query = parse_qs(urlsplit(following).query)
            params = {k: v[0] for k, v in query.items() if k in ("page", "per_page") and v}
            key = tuple(sorted(params.items()))
            params.update(fixed or {})
            if "page" not in params or key in seen:
                return items
            seen.add(key)
        raise MalformedResponseError(
            f"{VENDOR}: GET {path} returned more than {MAX_PAGES} pages", vendor=VENDOR
        )

    # -- jobs -------------------------------------------------------------------------------

    def build_payload(
        self, device: DeviceSpec, circuits: Sequence[QuantumCircuit], options: RunOptions
    ) -> dict[str, Any]:
        """The ``POST circuits`` body; ``user_id`` is filled in by :meth:`submit`."""
        programs = sweeps.texts(circuits, VENDOR, 2, circuit_template, circuit_to_qasm)
        name = options.get("job_name") or _default_name(circuits)
        return {
            "user_id": None,
            "device_id": device.extra["id"],
            "number_shots": int(options["shots"]),
            "job_type": "circuit",
            "description": compress(programs),
            "name": name,
            "summary": options.get("summary") or "-",
        }

    def submit(self, device: DeviceSpec, payload: Any, options: RunOptions) -> str:
        """``POST circuits`` (never retried); returns the integer job id as a string."""
        body = {**payload, "user_id": self.auth.user_id}
        tag = options.get("submission_tag")
        if tag:
            # Lets reconcile() find the job if the answer to this POST is lost.
            body["summary"] = tag if body["summary"] == "-" else f"{body['summary']} [{tag}]"
        answer = self.transport.json("POST", "circuits", json=body, idempotent=False)
        job_id = answer.get("job_id") if isinstance(answer, dict) else None
        if isinstance(job_id, bool) or not isinstance(job_id, int | str) or job_id == "":
            raise MalformedResponseError(
                f"{VENDOR}: POST circuits answer lacks 'job_id'", vendor=VENDOR
            )
        return str(job_id)

    def reconcile(self, device: DeviceSpec, payload: Any, options: RunOptions) -> str | None:
        """Find the job a lost ``POST circuits`` created, by the tag in its ``summary``."""
        tag = options.get("submission_tag")
        if not tag:
            return None
        for item in self._walk("jobs", {"favourites": "False"}):
            if not isinstance(item, dict) or tag not in str(item.get("summary", "")):
                continue
            job_id = item.get("id", item.get("job_id"))
            if job_id is not None and item.get("device_id") in (None, device.extra["id"]):
                return str(job_id)
        return None

    def recover(
        self, device: DeviceSpec, reserved: Mapping[str, Any], options: RunOptions
    ) -> str | None:
        """After a crash: the job tagged with the submission tag, from the job list.

        Raises:
            VendorAPIError: no job carries the tag (the submit never reached the service).
        """
        found = self.reconcile(device, None, options)
        if found is None:
            raise VendorAPIError(
                f"{VENDOR}: no job in the account's job list carries the submission tag "
                f"{options.get('submission_tag')}, so the submit never reached the service",
                vendor=VENDOR,
            )
        return found

    def _job(self, job_ref: str) -> dict[str, Any]:
        record = self.transport.json("GET", f"jobs/{job_ref}")
        if not isinstance(record, dict):
            raise MalformedResponseError(
                f"{VENDOR}: GET jobs/{job_ref} did not return a job object", vendor=VENDOR
            )
        for member in ("status",):
            if not isinstance(record.get(member), str):
                raise MalformedResponseError(
                    f"{VENDOR}: job {job_ref} record lacks the string field '{member}'",
                    vendor=VENDOR,
                )
        return record

    def status(self, job_ref: str) -> VendorJobStatus:
        """``GET jobs/{id}`` mapped through :data:`STATUS_MAP`."""
        record = self._job(job_ref)
        raw = record["status"]
        status = map_status(STATUS_MAP, raw, JobStatus.INITIALIZING)
        if raw.lower() not in STATUS_MAP:
            log.warning("%s: job %s has unknown status %r", VENDOR, job_ref, raw)
        position = record.get("queue_position")
        queue_position = position if isinstance(position, int) and position > 0 else None
        message = _failure(record) if status is JobStatus.ERROR else None
        if status is JobStatus.DONE:
            self.remember_final(job_ref, record)  # the record carries the results
        return VendorJobStatus(status, raw, queue_position=queue_position, message=message)

    def failure_message(self, job_ref: str) -> str | None:
        """The reason a failed job gives in its record, if any."""
        return _failure(self._job(job_ref))

    def results(
        self, job_ref: str, layouts: Sequence[CircuitLayout], options: RunOptions
    ) -> list[CircuitCounts]:
        """Decode the job's result envelope; Qibo keys -> Qiskit order per circuit.

        The record the status poll found DONE is reused (it carries the results), so a
        finished job is read once.
        """
        record = self.known_final(job_ref) or self._job(job_ref)
        for member in ("description", "result"):
            if record.get(member) is None:
                raise MalformedResponseError(
                    f"{VENDOR}: completed job {job_ref} has no '{member}'", vendor=VENDOR
                )
        programs = decompress(record["description"], f"job {job_ref} description")
        memory = bool(options.get("memory"))
        outcomes = decompress(record["result"], f"job {job_ref} result", skip_samples=not memory)
        if not memory and _needs_samples(outcomes):
            outcomes = decompress(record["result"], f"job {job_ref} result")
        if not isinstance(outcomes, list):
            raise MalformedResponseError(
                f"{VENDOR}: job {job_ref} result is not a list of per-circuit results "
                "(legacy single-object results are not supported)",
                vendor=VENDOR,
            )
        if not isinstance(programs, list) or len(programs) != len(layouts):
            raise MalformedResponseError(
                f"{VENDOR}: job {job_ref} holds {_length(programs)} circuit(s), expected "
                f"{len(layouts)}",
                vendor=VENDOR,
            )
        if len(outcomes) != len(layouts):
            raise MalformedResponseError(
                f"{VENDOR}: job {job_ref} returned {len(outcomes)} result(s) for "
                f"{len(layouts)} circuit(s)",
                vendor=VENDOR,
            )
        shots = record.get("number_shots")
        return [
            _circuit_counts(outcome, program, layout, shots, f"job {job_ref} circuit {i}",
                            memory)
            for i, (outcome, program, layout) in enumerate(
                zip(outcomes, programs, layouts, strict=True)
            )
        ]

    def cancel(self, job_ref: str) -> bool:
        """``PUT jobs/cancel/{id}``; a 409 (already final) is a no-op (False)."""
        job_id: int | str = int(job_ref) if job_ref.isdigit() else job_ref
        try:
            self.transport.request("PUT", f"jobs/cancel/{job_ref}", json={"job_id": job_id})
        except VendorAPIError as exc:
            if exc.status != 409:
                raise
            log.info("%s: job %s was already final; nothing to cancel", VENDOR, job_ref)
            return False
        return True


def _default_name(circuits: Sequence[QuantumCircuit]) -> str:
    if len(circuits) == 1:
        return str(circuits[0].name)
    return f"qiskit-multicloud ({len(circuits)} circuits)"


def _length(value: Any) -> int | str:
    return len(value) if isinstance(value, list) else "an unreadable number of"


def _needs_samples(outcomes: Any) -> bool:
    """True if a result skipped its ``samples`` but has no ``counts`` to use instead."""
    return isinstance(outcomes, list) and any(
        isinstance(o, dict) and o.get("samples") == SKIPPED_SAMPLES and o.get("counts") is None
        for o in outcomes
    )


def _failure(record: Mapping[str, Any]) -> str | None:
    for member in FAILURE_MEMBERS:
        value = record.get(member)
        if isinstance(value, str) and value:
            return value
    return None


def _circuit_counts(
    outcome: Any, program: Any, layout: CircuitLayout, shots: Any, where: str, memory: bool
) -> CircuitCounts:
    if not isinstance(outcome, dict):
        raise MalformedResponseError(f"{VENDOR}: {where}: result is not an object",
                                     vendor=VENDOR)
    order = clbit_order(program) if isinstance(program, str) else None
    if order is None:
        # Not written by us: assume every clbit was measured, in index order.
        order = list(range(layout.num_clbits))
    width = layout.num_clbits
    if any(clbit >= width for clbit in order):
        raise MalformedResponseError(
            f"{VENDOR}: {where}: recorded clbit order {order} does not fit {width} clbits",
            vendor=VENDOR,
        )
    samples = None
    wanted = memory or outcome.get("counts") is None  # per-shot data only when needed
    if wanted and outcome.get("samples") not in (None, SKIPPED_SAMPLES):
        samples = convert_samples(outcome["samples"], order, width, where)
    if outcome.get("counts") is not None:
        counts = convert_counts(outcome["counts"], order, width, where)
    elif samples is not None:
        counts = counts_from_memory(samples)
    elif isinstance(outcome.get("probabilities"), dict) and isinstance(shots, int):
        scaled = {
            k: round(float(v) * shots)
            for k, v in outcome["probabilities"].items()
            if isinstance(v, int | float) and math.isfinite(v) and 0 <= v <= 1
        }
        counts = convert_counts(scaled, order, width, where)
    else:
        raise MalformedResponseError(
            f"{VENDOR}: {where}: result has none of 'counts', 'samples', 'probabilities'",
            vendor=VENDOR,
        )
    total = sum(counts.values())
    return CircuitCounts(
        counts=counts,
        memory=samples if memory else None,
        shots=total or (shots if isinstance(shots, int) else None),
    )


class QilimanjaroBackend(MultiCloudBackend):
    """A Qilimanjaro QaaS device (simulator or QPU)."""

    vendor_options = QilimanjaroAdapter.run_options

    def device_status(self) -> dict[str, Any]:
        """The service's own view of the device: id, status, type, pending jobs."""
        return {
            "id": self.device.extra.get("id"),
            "name": self.device.extra.get("name", self.name),
            "status": self.device.extra.get("status"),
            "type": self.device.extra.get("type"),
            "number_pending_jobs": self.device.queue_length,
        }
