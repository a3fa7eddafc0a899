"""OQC QCaaS adapter (v3 API and v4 gateway): REST calls to and from the neutral types.

One ``run()`` chunk becomes one OQC task per circuit. The job reference is the task ids
joined by ``","``. In v3 task calls go to each QPU's own ``url`` (from the QPU list),
account and discovery calls to the entry URL; in v4 everything is rooted at the gateway
base URL. The differences live in :mod:`.routes` (one small object per generation).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus

from ... import sweeps
from ...backend import MultiCloudBackend, submission_uncertain
from ...cache import AccountCache
from ...config import Secret, VendorSettings
from ...exceptions import (
    AuthenticationError,
    ConfigurationError,
    MalformedResponseError,
    MultiCloudError,
    VendorAPIError,
)
from ...job import FINAL, aggregate_status, concurrently
from ...options import OptionSpec
from ...sweeps import SweepCircuits
from ...transport import Auth, Transport
from ...types import CircuitCounts, CircuitLayout, DeviceSpec, QueueInfo, VendorJobStatus
from ..base import RunOptions, VendorAdapter
from . import translate
from .device import device_spec
from .routes import V3Routes, routes_for
from .settings import OQCSettings

log = logging.getLogger(__name__)

JOB_REF_SEPARATOR = ","
#: Status reads (and resubmits of still-CREATED tasks) reconcile() tries.
RECONCILE_ATTEMPTS = 3
#: Task reads in flight at once while polling a job of many tasks: the transport's pooled
#: connections per host (16), so each read reuses a connection. At a 50 ms round trip, 100
#: finished tasks are collected in ~9 rounds instead of ~15 with 8 (benchmarks/README.md).
POLL_CONCURRENCY = 16

#: OQC task status -> Qiskit JobStatus (v3 names plus the aliases the v4 gateway uses).
STATUS_MAP: dict[str, JobStatus] = {
    "CREATED": JobStatus.INITIALIZING,
    "SUBMITTED": JobStatus.QUEUED,
    "QUEUED": JobStatus.QUEUED,
    "RUNNING": JobStatus.RUNNING,
    "IN_PROGRESS": JobStatus.RUNNING,
    "COMPLETED": JobStatus.DONE,
    "SUCCEEDED": JobStatus.DONE,
    "DONE": JobStatus.DONE,
    "FAILED": JobStatus.ERROR,
    "ERROR": JobStatus.ERROR,
    "EXPIRED": JobStatus.ERROR,
    "CANCELLED": JobStatus.CANCELLED,
    "CANCELED": JobStatus.CANCELLED,
}

RUN_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "optimizations",
        "default",
        "'default' lets OQC's compiler apply its default passes (it may remap qubits); "
        "'none' sends Tket Empty so the transpiled layout is kept",
        (str,),
        choices=("default", "none"),
    ),
    OptionSpec(
        "repetition_period",
        None,
        "seconds between shots (deprecated by OQC in favour of passive_reset_time)",
        (int, float),
        (0, None),
    ),
    OptionSpec(
        "passive_reset_time",
        None,
        "seconds the qubits relax between shots (None = service default)",
        (int, float),
        (0, None),
    ),
    OptionSpec(
        "rep_delay",
        None,
        "Qiskit's name for the time between shots: sent as passive_reset_time (which wins "
        "when both are given)",
        (int, float),
        (0, None),
    ),
    OptionSpec("tag", None, "free-text tag stored with every OQC task", (str,)),
    OptionSpec(
        "metrics",
        6,
        "MetricsType flag of compiler metrics to return (6 = optimized circuit + instruction "
        "count, 14 adds physical qubit indices)",
        (int,),
        (1, 15),
    ),
)


class OQCAuth(Auth):
    """``Authentication-Token`` header (v4: ``Authorization: Bearer`` for a JWT); logs in
    once with email/password when needed (v3).

    The login token is kept for the adapter's life (OQC never renews it) and, with the
    on-disk cache, for later processes until the cache TTL (never the password); a 401 on
    it drops it and logs in again.
    """

    def __init__(self, settings: OQCSettings, routes: V3Routes | None = None) -> None:
        self._settings = settings
        self._routes = routes or V3Routes()
        self._token: Secret | None = settings.token
        self._transport: Transport | None = None
        self._lock = threading.Lock()
        #: The on-disk cache for the login token (set by the adapter), or None.
        self.cache: AccountCache | None = None

    def __repr__(self) -> str:
        return "OQCAuth(***)"

    def bind(self, transport: Transport) -> None:
        """Give the auth the transport used for the login calls."""
        self._transport = transport

    def headers(self) -> dict[str, str]:
        token = self._token or self._login()
        return self._routes.auth_headers(token.reveal())

    def refresh(self, transport: Transport) -> bool:
        """Log in again with email/password after a 401 (a fixed token cannot be renewed)."""
        if self._settings.password is None or self._transport is None:
            return False
        with self._lock:
            self._token = None
            if self.cache is not None:
                self.cache.drop("token")
        self._login()
        return True

    def _login(self) -> Secret:
        with self._lock:
            if self._token:
                return self._token
            record = self.cache.load_token() if self.cache is not None else None
            if record is not None and self._settings.password is not None:
                self._token = Secret(record["token"])
                return self._token
            if self._transport is None or self._settings.password is None:
                raise ConfigurationError("oqc: no token and no login credentials")
            transport = self._transport
            transport.request("POST", "/admin/logout", json={}, authenticate=False)
            try:
                body = transport.json(
                    "POST",
                    "/admin/login",
                    params={"include_auth_token": "true"},
                    json={
                        "email": self._settings.email,
                        "password": self._settings.password.reveal(),
                    },
                    authenticate=False,
                )
            except VendorAPIError as exc:
                if exc.status in (400, 401, 403):
                    raise AuthenticationError(
                        f"oqc: login as {self._settings.email} was refused (HTTP {exc.status}"
                        f"{': ' + exc.vendor_message if exc.vendor_message else ''}); check "
                        "the email and password",
                        vendor="oqc",
                        status=exc.status,
                    ) from exc
                raise
            try:
                token = body["response"]["user"]["authentication_token"]
            except (TypeError, KeyError) as exc:
                raise MalformedResponseError(
                    "oqc: login reply lacks response.user.authentication_token", vendor="oqc"
                ) from exc
            if not isinstance(token, str) or not token:
                raise MalformedResponseError(
                    "oqc: login reply has an empty authentication_token", vendor="oqc"
                )
            self._token = Secret(token)
            if self.cache is not None:
                self.cache.store_token(token, None)
            return self._token


def _task_ids(job_ref: str) -> list[str]:
    ids = [part.strip() for part in job_ref.split(JOB_REF_SEPARATOR) if part.strip()]
    if not ids:
        raise VendorAPIError(f"oqc: job reference {job_ref!r} holds no task id", vendor="oqc")
    return ids


def _wait_seconds(entry: dict[str, Any]) -> float | None:
    """Seconds from the server's ``timestamp`` to ``estimated_availability_time`` (>= 0)."""
    stamps = []
    for key in ("estimated_availability_time", "timestamp"):
        value = entry.get(key)
        try:
            stamps.append(datetime.fromisoformat(str(value)))
        except ValueError:
            return None
    available, now = stamps
    if (available.tzinfo is None) != (now.tzinfo is None):
        return None
    return max(0.0, (available - now).total_seconds())


def _require(body: Any, key: str, where: str) -> Any:
    if not isinstance(body, dict) or key not in body:
        raise MalformedResponseError(f"oqc: {where} answer lacks '{key}'", vendor="oqc")
    return body[key]


class OQCAdapter(VendorAdapter):
    """OQC QCaaS: v3 (entry URL for discovery, per-QPU URLs for tasks) or the v4 gateway."""

    vendor = "oqc"
    display_name = "OQC QCaaS"
    settings_class = OQCSettings
    status_map = STATUS_MAP
    run_options = RUN_OPTIONS

    def __init__(self, settings: OQCSettings, transport: Transport) -> None:
        super().__init__(settings, transport)
        self.routes = routes_for(settings.api, settings.url)
        self._qpu_urls: dict[str, str] = {}
        self._task_urls: dict[str, str] = {}
        self._task_status: dict[str, VendorJobStatus] = {}
        #: circuit id -> (circuit, instruction count, program) translated by validate().
        self._programs: dict[int, tuple[QuantumCircuit, int, str]] = {}
        self._programs_lock = threading.Lock()
        #: submission tag -> (QPU URL, reserved ids, task specs) while a submit is in flight.
        self._inflight: dict[str, tuple[str, list[str], list[dict[str, Any]]]] = {}
        self.server_version: str | None = None

    @classmethod
    def from_settings(cls, settings: VendorSettings) -> OQCAdapter:
        """Adapter with an ``Authentication-Token`` transport (login flow if configured)."""
        if not isinstance(settings, OQCSettings):
            raise ConfigurationError(
                f"oqc: expected OQCSettings, got {type(settings).__name__}"
            )
        auth = OQCAuth(settings, routes_for(settings.api, settings.url))
        transport = Transport("oqc", settings.url, auth)
        auth.bind(transport)
        return cls(settings, transport)

    # -- devices ---------------------------------------------------------------------------

    def _remember(self, spec: DeviceSpec) -> DeviceSpec:
        url = str(spec.extra["url"])
        self.transport.trust_origin(url)
        self._qpu_urls[spec.device_id] = url
        return spec

    def attach_cache(self, cache: AccountCache | None) -> None:
        """Device information and a login token (email/password accounts) go to ``cache``."""
        super().attach_cache(cache)
        if isinstance(self.transport.auth, OQCAuth):
            self.transport.auth.cache = cache

    def adopt_cached_devices(self, specs: Sequence[DeviceSpec]) -> None:
        """Each cached QPU's task URL is trusted as a fresh listing's would be."""
        for spec in specs:
            self._remember(spec)

    def list_devices(self) -> list[DeviceSpec]:
        """v3: ``GET /admin/version`` then ``GET /admin/qpu?per_page=1000``; v4:
        ``GET /healthz``, ``GET /qpus`` and per QPU ``/features`` and ``/benchmarks``.

        Inactive QPUs are returned with ``online=False``.
        """
        health = self.routes.health
        version = self.transport.json("GET", health, authenticate=False)
        self.server_version = str(_require(version, "version", f"GET {health}"))
        items = self.routes.qpu_items(self.transport)
        specs = []
        for item in items:
            try:
                specs.append(self._remember(device_spec(item, self.settings.url)))
            except MalformedResponseError:
                if isinstance(item, dict) and item.get("active"):
                    raise
                log.warning("oqc: skipping inactive QPU %r with an unreadable description",
                            item.get("id") if isinstance(item, dict) else item)
        return specs

    def refresh_device(self, device: DeviceSpec) -> DeviceSpec:
        """Re-read one QPU (v3 ``GET /admin/qpu/{id}``; v4 ``GET /qpus`` and its details)."""
        item = self.routes.qpu_item(self.transport, device.device_id)
        return self._remember(device_spec(item, self.settings.url))

    def queue_info(self, device: DeviceSpec) -> QueueInfo:
        """``tasks_in_queue`` and ``estimated_availability_time`` of
        ``POST {qpu}/monitoring/qpu_wait_time``."""
        if self.routes.queue_path is None:
            return QueueInfo(source=f"the OQC {self.routes.name} gateway publishes no queue")
        source = f"POST {{qpu}}{self.routes.queue_path}: tasks_in_queue"
        body = self.transport.json(
            "POST",
            f"{self._qpu_url(device)}{self.routes.queue_path}",
            json={"targets": [device.device_id]},
            idempotent=True,
        )
        entries = body.get("qpu_wait_times") if isinstance(body, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("qpu_id") == device.device_id:
                tasks = entry.get("tasks_in_queue")
                pending = tasks if isinstance(tasks, int) and not isinstance(tasks, bool) else None
                return QueueInfo(
                    pending_jobs=pending,
                    estimated_wait=_wait_seconds(entry),
                    source=source,
                )
        return QueueInfo(source=f"{source} (no entry for {device.device_id})")

    def _qpu_url(self, device: DeviceSpec) -> str:
        url = self._qpu_urls.get(device.device_id) or device.extra.get("url")
        if not url:
            raise ConfigurationError(f"oqc: QPU {device.device_id} has no task URL")
        return str(url)

    def _url_for(self, task_id: str) -> str:
        """The task URL of the QPU holding ``task_id`` (probes QPUs for foreign ids)."""
        if task_id in self._task_urls:
            return self._task_urls[task_id]
        if not self._qpu_urls:
            self.list_devices()
        for url in dict.fromkeys(self._qpu_urls.values()):
            response = self.transport.request(
                "GET", f"{url}/tasks/{task_id}/status", ok=(200, 404)
            )
            if response.status_code == 200:
                self._task_urls[task_id] = url
                return url
        raise VendorAPIError(
            f"oqc: task {task_id} was not found on any QPU of this account "
            f"({', '.join(self._qpu_urls) or 'none listed'})",
            vendor="oqc",
            status=404,
        )

    # -- submission ------------------------------------------------------------------------

    def _tasks(
        self, device: DeviceSpec, circuits: Sequence[QuantumCircuit], options: RunOptions
    ) -> list[dict[str, Any]]:
        config = json.dumps(translate.compiler_config(options))
        tag = options.get("tag") or ""
        if isinstance(circuits, SweepCircuits):
            return [
                translate.task_spec(None, device.device_id, config, tag, program=text)
                for text in self._sweep_programs(circuits)
            ]
        return [
            translate.task_spec(c, device.device_id, config, tag, program=self._program(c))
            for c in circuits
        ]

    @staticmethod
    def _sweep_programs(circuits: SweepCircuits) -> list[str]:
        """Programs of a run with sweep points (each sweep translated once, cached on it)."""
        return sweeps.texts(
            circuits, "oqc", 2, translate.program_template, translate.program
        )

    def _program(self, circuit: QuantumCircuit) -> str:
        """The circuit's QASM, reusing what validate() translated just before (once)."""
        with self._programs_lock:
            cached = self._programs.pop(id(circuit), None)
        if cached is not None and cached[0] is circuit and cached[1] == len(circuit.data):
            return cached[2]
        return translate.program(circuit)

    def validate(
        self, device: DeviceSpec, circuits: Sequence[QuantumCircuit], options: RunOptions
    ) -> None:
        """Refuse circuits whose task alone would exceed OQC's 128 KiB request limit.

        The programs are kept for the build_payload() that follows, so each circuit is
        translated once per run().
        """
        config = json.dumps(translate.compiler_config(options))
        tag = options.get("tag") or ""
        if isinstance(circuits, SweepCircuits):
            for index, text in enumerate(self._sweep_programs(circuits)):
                spec = translate.task_spec(None, device.device_id, config, tag, program=text)
                translate.check_task_size(spec, f"circuit {index} ({circuits.name_of(index)!r})")
            return
        programs = {}
        for index, circuit in enumerate(circuits):
            text = translate.program(circuit)
            spec = translate.task_spec(circuit, device.device_id, config, tag, program=text)
            translate.check_task_size(spec, f"circuit {index} ({circuit.name!r})")
            programs[id(circuit)] = (circuit, len(circuit.data), text)
        with self._programs_lock:
            if len(self._programs) > 100_000:
                self._programs.clear()
            self._programs.update(programs)

    def build_payload(
        self, device: DeviceSpec, circuits: Sequence[QuantumCircuit], options: RunOptions
    ) -> dict[str, Any]:
        """``{"tasks": [TaskSpec, ...]}`` as sent to ``POST {qpu}/tasks/submit``.

        Batch submissions get their ``task_id`` added by :meth:`submit` after reserving ids.
        """
        return {"tasks": self._tasks(device, circuits, options)}

    def submit(self, device: DeviceSpec, payload: Any, options: RunOptions) -> str:
        """Reserve task ids, then submit them in <100 kB bodies; return the ids.

        With a ``submission_tag`` (every ``backend.run()``) ids are reserved even for one
        task, so :meth:`reconcile` knows which tasks a lost submit concerns. Without one, a
        single task is submitted in one call.
        """
        url = self._qpu_url(device)
        tasks: list[dict[str, Any]] = list(payload["tasks"])
        tag = options.get("submission_tag")
        if len(tasks) == 1 and not tag:
            reply = self.transport.json("POST", f"{url}/tasks/submit", json={"tasks": tasks})
            if not isinstance(reply, list) or not reply or not isinstance(reply[0], dict):
                raise MalformedResponseError(
                    "oqc: submit answer is not a list of {task_id}", vendor="oqc"
                )
            ids = [str(_require(reply[0], "task_id", "POST tasks/submit"))]
        else:
            ids = self._reserve(url, device, len(tasks), options)
            try:
                self.report_reserved(options, qpu_url=url, task_ids=ids)
            except MultiCloudError:
                self._cancel_quietly(url, ids)  # not recorded: release them, send nothing
                raise
            if tag:
                self._inflight[tag] = (url, ids, tasks)
            with_ids = [{**task, "task_id": i} for task, i in zip(tasks, ids, strict=True)]
            try:
                for chunk in translate.chunk_tasks(with_ids):
                    self.transport.json("POST", f"{url}/tasks/submit", json={"tasks": chunk})
            except VendorAPIError as exc:
                if not (tag and submission_uncertain(exc)):
                    self._inflight.pop(tag or "", None)
                    self._cancel_quietly(url, ids)
                raise
            self._inflight.pop(tag or "", None)
        for task_id in ids:
            self._task_urls[task_id] = url
        return JOB_REF_SEPARATOR.join(ids)

    def _reserve(self, url: str, device: DeviceSpec, count: int, options: RunOptions) -> list[str]:
        """``POST {qpu}/tasks``: ``count`` CREATED task ids (nothing runs until submitted).

        v3 sends ``task_count`` and gets a bare array; v4 sends one entry per id and gets
        ``{"tasks": [...]}``.
        """
        try:
            reply = self.transport.json(
                "POST",
                f"{url}/tasks",
                json=self.routes.reserve(device.device_id, count, options.get("tag")),
                idempotent=True,  # a reserved (CREATED) task never runs: repeating is harmless
            )
        except VendorAPIError as exc:
            if not submission_uncertain(exc):
                raise
            raise VendorAPIError(
                f"oqc: reserving {count} task id(s) got no usable answer ({exc}); nothing was "
                "submitted (reserved tasks never run unless submitted), so it is safe to run "
                "again",
                vendor="oqc",
            ) from exc
        reserved = self.routes.reserved_ids(reply)
        if (
            not isinstance(reserved, list)
            or len(reserved) != count
            or not all(isinstance(i, str) and i for i in reserved)
        ):
            raise MalformedResponseError(
                f"oqc: POST tasks answered {reply!r:.120}; expected {count} task ids",
                vendor="oqc",
            )
        return list(reserved)

    def reconcile(self, device: DeviceSpec, payload: Any, options: RunOptions) -> str | None:
        """After a lost submit answer: read the reserved tasks' status (idempotent GETs).

        No task still ``CREATED``: the submit arrived, return the ids. Some ``CREATED``:
        those never arrived; submit exactly those ids again (OQC refuses to submit a task
        that is not ``CREATED``, so this cannot duplicate), then read again.

        Raises:
            VendorAPIError: the tasks could not be confirmed; they were cancelled and the
                message names them.
        """
        entry = self._inflight.pop(str(options.get("submission_tag") or ""), None)
        if entry is None:
            return None
        url, ids, tasks = entry
        for attempt in range(RECONCILE_ATTEMPTS):
            created = [
                {**task, "task_id": task_id}
                for task, task_id in zip(tasks, ids, strict=True)
                if self._raw_status(url, task_id) == "CREATED"
            ]
            if not created:
                for task_id in ids:
                    self._task_urls[task_id] = url
                return JOB_REF_SEPARATOR.join(ids)
            if attempt == RECONCILE_ATTEMPTS - 1:
                break
            log.info("oqc: %d reserved task(s) were not submitted; submitting them again",
                     len(created))
            try:
                for chunk in translate.chunk_tasks(created):
                    self.transport.json("POST", f"{url}/tasks/submit", json={"tasks": chunk})
            except VendorAPIError as exc:
                log.info("oqc: resubmitting reserved tasks failed (%s); reading again", exc)
        self._cancel_quietly(url, ids)
        raise VendorAPIError(
            f"oqc: tasks {ids} could not be confirmed as submitted; they were cancelled "
            "(none will run), so it is safe to run again",
            vendor="oqc",
        )

    def recover(
        self, device: DeviceSpec, reserved: Mapping[str, Any], options: RunOptions
    ) -> str | None:
        """After a crash: read the stored reserved tasks' status (idempotent GETs only).

        No task still ``CREATED``: the submit arrived, return the ids. Tasks still
        ``CREATED`` were never submitted and never run: they are cancelled (so a submit
        still in flight is refused) and, if none was submitted, no job exists.

        Raises:
            VendorAPIError: no task was submitted (or none was reserved): no job runs.
        """
        ids = [str(i) for i in reserved.get("task_ids") or ()]
        url = str(reserved.get("qpu_url") or "") or self._qpu_url(device)
        if not ids:
            raise VendorAPIError(
                "oqc: the run was interrupted before its task ids were reserved and "
                "recorded, so no task was submitted",
                vendor="oqc",
            )
        created = [task_id for task_id in ids if self._raw_status(url, task_id) == "CREATED"]
        if created:
            self._cancel_quietly(url, created)
        if len(created) == len(ids):
            raise VendorAPIError(
                f"oqc: reserved tasks {ids} were never submitted (still CREATED); they were "
                "cancelled",
                vendor="oqc",
            )
        if created:
            log.warning("oqc: tasks %s of an interrupted submit were never submitted and were "
                        "cancelled; the other tasks run", created)
        for task_id in ids:
            self._task_urls[task_id] = url
        return JOB_REF_SEPARATOR.join(ids)

    def _raw_status(self, url: str, task_id: str) -> str:
        body = self.transport.json("GET", f"{url}/tasks/{task_id}/status")
        return str(_require(body, "status", f"GET tasks/{task_id}/status")).upper()

    def _cancel_quietly(self, url: str, ids: list[str]) -> None:
        """Best-effort cancel of a half-submitted batch, so no orphan task runs."""
        try:
            self.transport.request("POST", f"{url}/tasks/cancel_many", json={"tasks": ids})
        except VendorAPIError as exc:
            log.warning("oqc: could not cancel a half-submitted batch: %s", exc)

    # -- status, results, cancel -----------------------------------------------------------

    def _read_task(self, task_id: str) -> VendorJobStatus:
        known = self._task_status.get(task_id)
        if known is not None and known.status in FINAL:
            return known
        url = self._url_for(task_id)
        body = self.transport.json("GET", f"{url}/tasks/{task_id}/all_info")
        raw = _require(body, "status", f"GET tasks/{task_id}/all_info")
        if not isinstance(raw, str):
            raise MalformedResponseError(
                f"oqc: status of task {task_id} is {raw!r}, not a string", vendor="oqc"
            )
        mapped = STATUS_MAP.get(raw.upper())
        if mapped is None:
            log.warning("oqc: task %s has unrecognised status %r; keeping the last known",
                        task_id, raw)
            mapped = known.status if known is not None else JobStatus.QUEUED
        message = "task expired before it ran" if raw.upper() == "EXPIRED" else None
        status = VendorJobStatus(mapped, raw, message=message)
        if mapped in FINAL:
            self.remember_final(task_id, body)  # all_info carries the results
        self._task_status[task_id] = status
        return status

    def status(self, job_ref: str) -> VendorJobStatus:
        """Aggregate of ``GET {qpu}/tasks/{id}/all_info`` over the job's tasks.

        ``all_info`` carries a finished task's results with its status, so results() needs
        no further request. Tasks are read in order and reading stops at the first
        unfinished one (the job cannot be final before it); finished tasks are never read
        again. While tasks keep turning out finished, the next ones are read in growing
        concurrent batches (1, 2, 4, ... up to :data:`POLL_CONCURRENCY`), so a long job
        costs few extra reads and a finished one is collected quickly.
        """
        ids = _task_ids(job_ref)
        seen: list[VendorJobStatus] = []
        index, window = 0, 1
        while index < len(ids):
            batch = ids[index : index + window]
            statuses = self._read_tasks(batch)
            stop = False
            for status in statuses:
                seen.append(status)
                if status.status not in FINAL or status.status is JobStatus.ERROR:
                    stop = True
                    break
            if stop:
                break
            index += len(batch)
            window = min(window * 2, POLL_CONCURRENCY)
        combined = aggregate_status([s.status for s in seen])
        if len(ids) == 1:
            return seen[0]
        raws = [s.raw for s in seen]
        summary = ",".join(f"{r}x{raws.count(r)}" for r in dict.fromkeys(raws))
        if len(seen) < len(ids):
            summary += f" (read {len(seen)} of {len(ids)} tasks)"
        return VendorJobStatus(combined, summary, message=next(
            (s.message for s in seen if s.message), None))

    def _read_tasks(self, task_ids: list[str]) -> list[VendorJobStatus]:
        """:meth:`_read_task` for each id, concurrently when several are not known final."""
        unknown = [
            t for t in task_ids
            if (s := self._task_status.get(t)) is None or s.status not in FINAL
        ]
        if len(unknown) <= 1:
            return [self._read_task(t) for t in task_ids]
        return concurrently(
            self._read_task, task_ids, max_workers=min(len(unknown), POLL_CONCURRENCY)
        )

    def results(
        self, job_ref: str, layouts: Sequence[CircuitLayout], options: RunOptions
    ) -> list[CircuitCounts]:
        """Per task: the results polled with ``all_info``, else ``GET {qpu}/tasks/{id}/results``.

        Keys reversed to Qiskit order.
        """
        ids = _task_ids(job_ref)
        if len(ids) != len(layouts):
            raise MalformedResponseError(
                f"oqc: job {job_ref} has {len(ids)} task(s) for {len(layouts)} circuit(s)",
                vendor="oqc",
            )
        outcomes = []
        for task_id, layout in zip(ids, layouts, strict=True):
            url = self._url_for(task_id)
            body = self.known_final(task_id)
            if body is None or body.get("results") is None:
                body = self.transport.json("GET", f"{url}/tasks/{task_id}/results")
            results = _require(body, "results", f"GET tasks/{task_id}/results")
            if results is None:
                raise MalformedResponseError(
                    f"oqc: task {task_id} is finished but its results are null", vendor="oqc"
                )
            counts = translate.counts_from_results(results, layout.num_clbits, task_id)
            metadata: dict[str, Any] = {"oqc_task_id": task_id}
            qpu = body.get("qpu_id") if isinstance(body, dict) else None
            if not qpu and self.routes.name == "v3":
                qpu = next((q for q, u in self._qpu_urls.items() if u == url), None)
            if qpu:
                metadata["qpu_id"] = qpu
            mitigation = translate.mitigation_entries(results)
            if mitigation:
                metadata["readout_mitigation"] = mitigation
            if isinstance(body, dict) and isinstance(body.get("metrics"), dict):
                metadata["metrics"] = body["metrics"]
            outcomes.append(CircuitCounts(counts=counts, metadata=metadata))
        return outcomes

    def may_return_fewer_shots(self, options: RunOptions) -> bool:
        """OQC documents that ``binary_count`` histograms "sum to the shots actually kept"
        (the service may drop shots), so totals below ``shots`` are accepted."""
        return True

    def cancel(self, job_ref: str) -> bool:
        """``POST {qpu}/tasks/cancel_many`` with every task not final; False if none is.

        OQC answers ``"OK"`` whether or not a task was final, so tasks whose status is not
        known yet are read first.
        """
        ids = _task_ids(job_ref)
        self._read_tasks([t for t in ids if t not in self._task_status])
        pending = [t for t in ids if self._task_status[t].status not in FINAL]
        by_url: dict[str, list[str]] = {}
        for task_id in pending:
            by_url.setdefault(self._url_for(task_id), []).append(task_id)
        for url, batch in by_url.items():
            self.transport.request("POST", f"{url}/tasks/cancel_many", json={"tasks": batch})
        return bool(pending)

    def failure_message(self, job_ref: str) -> str | None:
        """The ``task_error`` of each failed task (from ``all_info`` or ``GET .../error``)."""
        messages = []
        for task_id in _task_ids(job_ref):
            known = self._task_status.get(task_id)
            if known is not None and known.status is not JobStatus.ERROR:
                continue
            body = self.known_final(task_id, keep=True)
            if body is None or not isinstance(body.get("task_error"), dict):
                url = self._url_for(task_id)
                body = self.transport.json("GET", f"{url}/tasks/{task_id}/error")
            error = body.get("task_error") if isinstance(body, dict) else None
            if isinstance(error, dict):
                text = error.get("error_message") or "Unknown error."
                code = error.get("error_code", -1)
                messages.append(f"task {task_id}: {text} (code {code})")
            elif known is not None and known.message:
                messages.append(f"task {task_id}: {known.message}")
        return "; ".join(messages) or None


class OQCBackend(MultiCloudBackend):
    """An OQC QPU or simulator as a Qiskit backend."""

    vendor_options = OQCAdapter.run_options

