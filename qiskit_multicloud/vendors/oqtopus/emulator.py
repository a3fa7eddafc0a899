"""OQTOPUS Cloud emulator: the G3 user API plus the object storage it hands out URLs for.

Routes (protocol notes, section 10): ``GET /devices``, ``GET /devices/{id}``, ``POST /jobs``,
``GET /jobs``, ``GET|DELETE /jobs/{id}``, ``GET /jobs/{id}/status``,
``POST /jobs/{id}/submit``, ``POST /jobs/{id}/cancel``; storage at ``/_storage/`` (upload
form POST) and ``/_storage/<key>`` (downloads), which need no token, like presigned URLs.

Emulator options (``EmulatorConfig.options``): ``unavailable`` = device ids reported as
``unavailable``; ``estimation_noise`` = add Gaussian noise of one standard error to
``exp_value`` (default ``True``).
"""

from __future__ import annotations

import datetime
import random
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from qiskit.circuit import QuantumCircuit
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ...config import Secret
from ...emulators.app import EmulatorApp, EmulatorConfig, EmulatorHTTPError
from ...emulators.jobs import EmulatedJob, JobPhase
from ...emulators.simulator import parse_qasm
from ...types import DeviceSpec
from .devices import device_spec
from .emulated_devices import EmulatedDevice, default_devices
from .emulator_support import (
    estimate,
    parse_operator,
    problem,
    transpile_result,
    uuid7,
    validate_submit,
)
from .settings import OqtopusSettings
from .translate import unzip_json, zip_json

STATUSES = (
    "registered",
    "submitted",
    "ready",
    "running",
    "cancelling",
    "succeeded",
    "failed",
    "cancelled",
)
JOB_FIELDS = (
    "job_id",
    "name",
    "description",
    "job_type",
    "status",
    "device_id",
    "shots",
    "job_info",
    "transpiler_info",
    "simulator_info",
    "mitigation_info",
    "execution_time",
    "submitted_at",
    "ready_at",
    "running_at",
    "ended_at",
)
DEFAULT_TRANSPILER = {"transpiler_lib": "qiskit", "transpiler_options": {"optimization_level": 1}}
NOT_FOUND = "job not found with the given id"
_PHASE_WORD = {
    JobPhase.QUEUED: "submitted",
    JobPhase.RUNNING: "running",
    JobPhase.DONE: "succeeded",
    JobPhase.FAILED: "failed",
    JobPhase.CANCELLED: "cancelled",
}


class OqtopusEmulator(EmulatorApp):
    """The OQTOPUS Cloud user API (G3) on 127.0.0.1."""

    vendor = "oqtopus"
    public_endpoints = frozenset({"storage_upload", "storage_download"})

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        super().__init__(config)
        self.devices: dict[str, EmulatedDevice] = default_devices()
        for device_id in self.config.options.get("unavailable", ()):
            self.devices[device_id].device["status"] = "unavailable"
        self.storage: dict[str, bytes] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._rng = random.Random(self.config.seed)
        self._epoch = time.time() - self.config.clock()
        for device_id, device in self.devices.items():
            if device.info is not None:
                self.storage[f"devices/{device_id}/device_info.zip"] = zip_json(
                    "device_info.json", device.info
                )

    # -- core hooks -----------------------------------------------------------------------

    def device_spec(self, device_id: str) -> DeviceSpec | None:
        """The device object and its ``device_info`` read by the adapter (noise source)."""
        device = self.devices.get(device_id)
        return device_spec(device.device, device.info) if device is not None else None

    def routes(self) -> Iterable[Rule]:
        """The G3 user API and the storage endpoints."""
        return [
            Rule("/devices", endpoint="list_devices", methods=["GET"]),
            Rule("/devices/<device_id>", endpoint="get_device", methods=["GET"]),
            Rule("/jobs", endpoint="register_job", methods=["POST"]),
            Rule("/jobs", endpoint="list_jobs", methods=["GET"]),
            Rule("/jobs/<job_id>", endpoint="get_job", methods=["GET"]),
            Rule("/jobs/<job_id>", endpoint="delete_job", methods=["DELETE"]),
            Rule("/jobs/<job_id>/status", endpoint="job_status", methods=["GET"]),
            Rule("/jobs/<job_id>/submit", endpoint="submit_job", methods=["POST"]),
            Rule("/jobs/<job_id>/cancel", endpoint="cancel_job", methods=["POST"]),
            Rule("/_storage/", endpoint="storage_upload", methods=["POST"]),
            Rule("/_storage/<path:key>", endpoint="storage_download", methods=["GET"]),
        ]

    def authenticate(self, request: Request) -> bool:
        """``q-api-token: <token>`` or ``Authorization: Bearer <token>``."""
        return request.headers.get("q-api-token") == self.token or (
            request.headers.get("Authorization") == f"Bearer {self.token}"
        )

    def client_settings(self) -> OqtopusSettings:
        """Settings for our adapter."""
        return OqtopusSettings(url=self.base_url, source="emulator", api_token=Secret(self.token))

    def error_response(self, status: int, message: str, **extra: Any) -> Response:
        """``{"message"}``; FastAPI's ``{"detail"}`` for routing errors and validation."""
        if "detail" in extra:
            return self.json({"detail": extra["detail"]}, status)
        if status in (404, 405) and message in ("Not Found", "Method Not Allowed"):
            return self.json({"detail": message}, status)
        return self.json({"message": message}, status)

    # -- helpers --------------------------------------------------------------------------

    def _time(self, clock_value: float | None) -> str | None:
        if clock_value is None:
            return None
        moment = datetime.datetime.fromtimestamp(self._epoch + clock_value, datetime.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    @staticmethod
    def _storage_url(request: Request, key: str) -> str:
        return f"{request.host_url}_storage/{key}?X-Amz-Signature=emulated"

    def _device_object(self, request: Request, device_id: str) -> dict[str, Any]:
        device = self.devices[device_id]
        data = dict(device.device)
        data["n_pending_jobs"] = self.jobs.pending(device_id)
        if device.info is not None:
            data["device_info"] = self._storage_url(request, f"devices/{device_id}/device_info.zip")
        return data

    def _record(self, job_id: str) -> dict[str, Any]:
        record = self.records.get(job_id)
        if record is None:
            raise EmulatorHTTPError(404, NOT_FOUND)
        return record

    def _status(self, record: dict[str, Any]) -> str:
        job: EmulatedJob | None = record.get("job")
        if job is None:
            return str(record["status"])
        phase = self.jobs.phase(job)
        if phase is JobPhase.DONE:
            self._write_results(record, job)
            if job.failure:
                phase = JobPhase.FAILED
        return _PHASE_WORD[phase]

    # -- devices --------------------------------------------------------------------------

    def list_devices(self, request: Request) -> Response:
        """``GET /devices``."""
        return self.json([self._device_object(request, d) for d in self.devices])

    def get_device(self, request: Request, device_id: str) -> Response:
        """``GET /devices/{device_id}``."""
        if device_id not in self.devices:
            raise EmulatorHTTPError(404, f"device_id={device_id} is not found.")
        return self.json(self._device_object(request, device_id))

    # -- storage --------------------------------------------------------------------------

    def storage_upload(self, request: Request) -> Response:
        """S3-style POST form: a ``key`` field and a ``file`` part; 204."""
        key = request.form.get("key")
        upload = request.files.get("file")
        if not key or upload is None:
            raise EmulatorHTTPError(400, "form needs a 'key' field and a 'file' part")
        self.storage[key] = upload.read()
        return Response(status=204)

    def storage_download(self, request: Request, key: str) -> Response:
        """Stored bytes (presigned download)."""
        if key not in self.storage:
            raise EmulatorHTTPError(404, "NoSuchKey")
        return Response(self.storage[key], mimetype="application/zip")

    # -- jobs -----------------------------------------------------------------------------

    def register_job(self, request: Request) -> Response:
        """``POST /jobs`` (no body, or ``{}``): a ``registered`` job and an upload form."""
        body = self.body(request, required=False)
        if isinstance(body, Mapping) and "job_info" in body:
            raise EmulatorHTTPError(400, "inline (G2) job submission is not supported; use G3")
        job_id = uuid7()
        key = f"{job_id}/input.zip"
        with self._lock:
            self.records[job_id] = {
                "job_id": job_id,
                "status": "registered",
                "created": self.config.clock(),
            }
        return self.json(
            {
                "job_id": job_id,
                "presigned_url": {
                    "url": f"{request.host_url}_storage/",
                    "fields": {
                        "key": key,
                        "AWSAccessKeyId": "EMULATEDKEY",
                        "policy": "ZW11bGF0ZWQ=",
                        "signature": "ZW11bGF0ZWQ=",
                    },
                },
            }
        )

    def submit_job(self, request: Request, job_id: str) -> Response:
        """``POST /jobs/{id}/submit``: validate, then queue the job."""
        body = self.body(request, required=False) or {}
        errors = validate_submit(body)
        if errors:
            raise EmulatorHTTPError(422, "validation error", detail=errors)
        record = self._record(job_id)
        if record["status"] != "registered":
            raise EmulatorHTTPError(
                400,
                f"{job_id} job is not in valid status for submission (valid status for "
                "submission: 'registered')",
            )
        device_id = body["device_id"]
        if device_id not in self.devices:
            raise EmulatorHTTPError(400, "device not found")
        if self.devices[device_id].device["status"] != "available":
            raise EmulatorHTTPError(400, f"device {device_id} is not available")
        archive = self.storage.get(f"{job_id}/input.zip")
        if archive is None:
            raise EmulatorHTTPError(400, f"job information input for {job_id} job not found")
        circuits, failure = self._prepare(body["job_type"], archive, record)
        transpiler = body.get("transpiler_info") or dict(DEFAULT_TRANSPILER)
        record.update(
            status="submitted",
            name=body.get("name") or "",
            description=body.get("description") or "",
            job_type=body["job_type"],
            device_id=device_id,
            shots=body["shots"],
            transpiler_info=transpiler,
            simulator_info=body.get("simulator_info") or {},
            mitigation_info=body.get("mitigation_info") or {},
        )
        record["job"] = self.jobs.add(
            device_id, circuits, body["shots"], job_id=job_id, failure=failure
        )
        return self.json({"message": "job submitted"})

    def _prepare(
        self, job_type: str, archive: bytes, record: dict[str, Any]
    ) -> tuple[list[QuantumCircuit], str | None]:
        """Parse the uploaded input; problems make the job fail later, as on the server."""
        try:
            submitted = unzip_json(archive, "input")
        except Exception as exc:  # the engine would fail the job
            return [], f"invalid input.zip: {exc}"
        record["input"] = submitted
        if job_type == "sse":
            return [], "SSE jobs are not supported by the emulator (user scripts are not run)"
        programs = submitted.get("program") if isinstance(submitted, Mapping) else None
        if not isinstance(programs, list) or not programs:
            return [], "job_info has no program"
        if job_type in ("sampling", "estimation") and len(programs) != 1:
            return [], f"{job_type} jobs take exactly one program, got {len(programs)}"
        try:
            circuits = [parse_qasm(str(p)) for p in programs]
        except ValueError as exc:
            return [], f"failed to parse program: {exc}"
        if job_type == "estimation":
            try:
                record["operator"] = parse_operator(
                    submitted.get("operator"), circuits[0].num_qubits
                )
            except (ValueError, KeyError, TypeError) as exc:
                return [], f"invalid operator: {exc}"
            circuits = [c.remove_final_measurements(inplace=False) for c in circuits]
        elif any(c.num_clbits == 0 for c in circuits):
            return [], "program has no classical bits to measure into"
        return circuits, None

    def _write_results(self, record: dict[str, Any], job: EmulatedJob) -> None:
        """Store ``result.zip`` (and ``transpile_result.zip``) once, for a finished job."""
        if "result_key" in record or job.failure or job.outcomes is None:
            return
        with job.lock:
            if "result_key" in record:
                return
            job_type = record["job_type"]
            sampling = estimation = None
            if job_type == "estimation":
                value, stds = estimate(job.circuits[0], record["operator"], job.shots)
                if self.config.options.get("estimation_noise", True) and stds:
                    value += self._rng.gauss(0.0, stds)
                estimation = {"exp_value": value, "stds": stds}
            elif job_type == "multi_manual":
                combined: dict[str, int] = {}
                for shot in range(job.shots):
                    key = "".join(o.memory[shot] for o in reversed(job.outcomes))
                    combined[key] = combined.get(key, 0) + 1
                divided = {str(i): o.counts for i, o in enumerate(job.outcomes)}
                sampling = {"counts": combined, "divided_counts": divided}
            else:
                sampling = {"counts": job.outcomes[0].counts, "divided_counts": None}
            result = {"sampling": sampling, "estimation": estimation}
            self.storage[f"{job.job_id}/result.zip"] = zip_json("result.json", result)
            if record["transpiler_info"].get("transpiler_lib") is not None:
                self.storage[f"{job.job_id}/transpile_result.zip"] = zip_json(
                    "transpile_result.json", transpile_result(job.circuits, record)
                )
                record["transpile_key"] = f"{job.job_id}/transpile_result.zip"
            record["result_key"] = f"{job.job_id}/result.zip"

    def _job_object(self, request: Request, record: dict[str, Any]) -> dict[str, Any]:
        status = self._status(record)
        if status == "registered" or "job" not in record:
            return {"job_id": record["job_id"], "status": status}
        job: EmulatedJob = record["job"]
        phase = self.jobs.phase(job)
        info: dict[str, Any] = {"input": self._storage_url(request, f"{job.job_id}/input.zip")}
        if "transpile_key" in record:
            info["transpile_result"] = self._storage_url(request, record["transpile_key"])
        if "result_key" in record:
            info["result"] = self._storage_url(request, record["result_key"])
        if status == "failed":
            info["message"] = job.failure
        started = (
            job.started_at if phase is not JobPhase.QUEUED and job.cancelled_at is None else None
        )
        if job.cancelled_at is not None and job.cancelled_at > job.started_at:
            started = job.started_at
        ended = job.ended_at if phase.final else None
        data = {
            "job_id": job.job_id,
            "name": record["name"],
            "description": record["description"],
            "job_type": record["job_type"],
            "status": status,
            "device_id": job.device_id,
            "shots": job.shots,
            "job_info": info,
            "transpiler_info": record["transpiler_info"],
            "simulator_info": record["simulator_info"],
            "mitigation_info": record["mitigation_info"],
            "execution_time": (ended - started)
            if ended is not None and started is not None
            else None,
            "submitted_at": self._time(job.created),
            "ready_at": self._time(started),
            "running_at": self._time(started),
            "ended_at": self._time(ended),
        }
        return {k: v for k, v in data.items() if v is not None}

    def get_job(self, request: Request, job_id: str) -> Response:
        """``GET /jobs/{id}`` (nulls omitted; registered jobs in short form)."""
        return self.json(self._job_object(request, self._record(job_id)))

    def job_status(self, request: Request, job_id: str) -> Response:
        """``GET /jobs/{id}/status``."""
        return self.json({"job_id": job_id, "status": self._status(self._record(job_id))})

    def cancel_job(self, request: Request, job_id: str) -> Response:
        """``POST /jobs/{id}/cancel``."""
        record = self._record(job_id)
        status = self._status(record)
        if status in ("succeeded", "failed"):
            raise EmulatorHTTPError(
                400,
                f"{job_id} job is not in valid status for cancellation (valid statuses for "
                "cancellation: 'registered', 'ready', 'submitted' and 'running')",
            )
        if status == "registered":
            record["status"] = "cancelled"
        elif status != "cancelled":
            self.jobs.cancel(record["job"])
        return self.json({"message": "cancel request accepted"})

    def delete_job(self, request: Request, job_id: str) -> Response:
        """``DELETE /jobs/{id}`` for finished jobs."""
        record = self._record(job_id)
        if self._status(record) not in ("succeeded", "failed", "cancelled"):
            raise EmulatorHTTPError(
                400,
                f"{job_id} job is not in valid status for deletion (valid statuses for "
                "deletion: 'succeeded', 'failed' and 'cancelled')",
            )
        with self._lock:
            self.records.pop(job_id, None)
            self.jobs.remove(job_id)
            for key in [k for k in self.storage if k.startswith(f"{job_id}/")]:
                del self.storage[key]
        return self.json({"message": "job deleted"})

    def list_jobs(self, request: Request) -> Response:
        """``GET /jobs`` with page/size/order/status/q/start_time/end_time/fields."""
        args = request.args
        try:
            page = int(args.get("page", 1))
            size = int(args.get("size", 100))
        except ValueError:
            raise EmulatorHTTPError(
                422, "validation error", detail=[problem("query", "page", "int_parsing")]
            ) from None
        status_filter = args.get("status")
        if status_filter is not None and status_filter not in STATUSES:
            raise EmulatorHTTPError(
                422, "validation error", detail=[problem("query", "status", "enum")]
            )
        fields = [f for f in (args.get("fields") or "").split(",") if f]
        invalid = [f for f in fields if f not in JOB_FIELDS]
        if invalid:
            raise EmulatorHTTPError(400, f"fields {invalid} is invalid")
        records = sorted(self.records.values(), key=lambda r: (r["created"], r["job_id"]))
        if args.get("order", "ASC").upper() == "DESC":
            records.reverse()
        objects = [self._job_object(request, r) for r in records]
        query = args.get("q")
        start, end = args.get("start_time"), args.get("end_time")
        chosen = [
            o
            for o in objects
            if (status_filter is None or o["status"] == status_filter)
            and (
                not query
                or any(query in str(o.get(k, "")) for k in ("job_id", "name", "description"))
            )
            and (not start or (o.get("submitted_at") or "") >= start)
            and (not end or (o.get("submitted_at") or "~") <= end)
        ]
        chosen = chosen[(page - 1) * size : page * size] if page >= 1 and size >= 1 else []
        if fields:
            chosen = [{k: v for k, v in o.items() if k in fields} for o in chosen]
        return self.json(chosen)
