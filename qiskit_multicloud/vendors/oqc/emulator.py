"""Local emulator of OQC QCaaS (v3 API or v4 gateway), good enough for the official SDKs.

v3 (default, ``EmulatorConfig.api="v3"``): entry routes (``/admin/...``) and per-QPU task
routes (``/<hex tail>/tasks/...``) are served by one server; each QPU's ``url`` is
``<base_url>/<hex tail>``. Errors use the Flask-Security envelope
``{"meta": {"code": N}, "response": {"errors": [...]}}``.

v4 (``api="v4"``, the default when ``OQC_QCAAS_V4``/``OQC_ENTRA_ENABLED`` is on; what
``oqc-qcaas-sdk`` speaks with ``OQC_QCAAS_V4=1``): ``/healthz``,
``/qpus``, ``/qpus/{id}/features|status|benchmarks``, tasks rooted at the base URL
(``/tasks``, ``/tasks/submit``, ...), reservation ``{"tasks": [{"qpu_id", "tag"}...]}``,
v4 status names (``QUEUED``, ``IN_PROGRESS``, ``SUCCEEDED``, ``ERROR``, ``CANCELED``),
``Authentication-Token`` or ``Authorization: Bearer <token>``, FastAPI ``{"detail"}``
errors. Calibration (errors, durations, T1/T2) moves from the feature set to
``/qpus/{id}/benchmarks``. Both generations share the task logic. Every success is HTTP 200.

Emulator options (``EmulatorConfig.options``):

* ``flat_results`` (bool): drop the register layer from results (as OQC does for programs
  without user-named registers).
* ``fail_tag`` (str, default ``"__fail__"``): tasks submitted with this tag end FAILED.
* ``users`` (dict email -> password): accounts accepted by the login flow (default: any
  non-empty email and password).

Tests can call :meth:`OQCEmulator.expire` to make a task EXPIRED.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from qiskit.circuit import QuantumCircuit
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ...config import Secret
from ...emulators.app import EmulatorApp, EmulatorHTTPError
from ...emulators.jobs import EmulatedJob, JobPhase
from ...emulators.simulator import parse_qasm
from ...types import DeviceSpec
from .device import device_spec
from .emulated_qpus import default_qpus
from .settings import OQCSettings, v4_from_environment

MAX_BODY = 128 * 1024
VERSION = "3.14.2-emulator"
CONFIG_PREFIXES = ("compiler_config.config", "scc.compiler.config", "qat.purr.compiler.config")
ERADO = "compiler_config.experimental.erado.config.EradoConfig"
UNSUPPORTED = frozenset({"reset", "if_else", "while_loop", "for_loop", "switch_case"})
PHASE_STATUS = {
    JobPhase.QUEUED: "SUBMITTED",
    JobPhase.RUNNING: "RUNNING",
    JobPhase.DONE: "COMPLETED",
    JobPhase.FAILED: "FAILED",
    JobPhase.CANCELLED: "CANCELLED",
}
#: v3 status -> the name the v4 gateway sends (the SDK folds these back).
V4_STATUS = {
    "SUBMITTED": "QUEUED",
    "RUNNING": "IN_PROGRESS",
    "COMPLETED": "SUCCEEDED",
    "FAILED": "ERROR",
    "CANCELLED": "CANCELED",
}
#: Feature-set keys the v4 gateway serves from ``/qpus/{id}/benchmarks`` instead.
BENCHMARK_KEYS = ("gate_errors", "gate_durations", "t1", "t2", "calibrated_at")
V3_ROUTES = (
    ("/admin/version", "version", "GET"),
    ("/admin/login", "login", "POST"),
    ("/admin/logout", "logout", "POST"),
    ("/admin/qpu", "qpu_list", "GET"),
    ("/admin/qpu/<qpu_id>", "qpu_one", "GET"),
    ("/admin/auth_tokens/<token>", "auth_token", "GET"),
    ("/<hex_>/tasks", "tasks_reserve", "POST"),
    ("/<hex_>/tasks", "tasks_list", "GET"),
    ("/<hex_>/tasks/submit", "tasks_submit", "POST"),
    ("/<hex_>/tasks/cancel_many", "tasks_cancel", "POST"),
    ("/<hex_>/tasks/<task_id>/<view>", "task_view", "GET"),
    ("/<hex_>/windows/next", "window_next", "GET"),
    ("/<hex_>/monitoring/statuses", "monitoring_status", "GET"),
    ("/<hex_>/monitoring/calibrations", "calibrations", "GET"),
    ("/<hex_>/monitoring/qpu_wait_time", "qpu_wait_time", "POST"),
)
V4_ROUTES = (
    ("/healthz", "version", "GET"),
    ("/qpus", "qpus_v4", "GET"),
    ("/qpus/<qpu_id>/features", "features_v4", "GET"),
    ("/qpus/<qpu_id>/status", "qpu_status_v4", "GET"),
    ("/qpus/<qpu_id>/benchmarks", "benchmarks_v4", "GET"),
    ("/qpus/<qpu_id>/benchmarks/search", "benchmarks_search_v4", "GET"),
    ("/tasks", "tasks_reserve", "POST"),
    ("/tasks", "tasks_list", "GET"),
    ("/tasks/submit", "tasks_submit", "POST"),
    ("/tasks/cancel_many", "tasks_cancel", "POST"),
    ("/tasks/<task_id>/<view>", "task_view", "GET"),
)


def _wall(offset: float = 0.0) -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=offset)


class OQCEmulator(EmulatorApp):
    """OQC QCaaS (v3, or the v4 gateway) over HTTP with Aer behind it."""

    vendor = "oqc"
    public_endpoints = frozenset({"version", "login", "logout"})
    api_generations = ("v3", "v4")

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.qpus = {q["id"]: q for q in default_qpus()}
        self.by_hex = {qpu_id.rsplit(":", 1)[1]: qpu_id for qpu_id in self.qpus}
        self.reserved: dict[str, dict[str, Any]] = {}
        self.expired: set[str] = set()
        self.fail_tag = str(self.config.options.get("fail_tag", "__fail__"))

    # -- EmulatorApp hooks -----------------------------------------------------------------

    def device_spec(self, device_id: str) -> DeviceSpec | None:
        """The QPU object read by the adapter (the source of the QPU's noise)."""
        qpu = self.qpus.get(device_id)
        if qpu is None:
            return None
        return device_spec({**qpu, "url": qpu["id"].rsplit(":", 1)[1]}, self.base_url)

    @property
    def v4(self) -> bool:
        """True when serving the v4 gateway."""
        return self.api == "v4"

    @classmethod
    def default_api(cls) -> str:
        """v4 when the SDK's switches (``OQC_QCAAS_V4``/``OQC_ENTRA_ENABLED``) are on, as
        for the adapter, so an emulator and a client started in one environment agree."""
        return "v4" if v4_from_environment() else "v3"

    def routes(self) -> Iterable[Rule]:
        rules = V4_ROUTES if self.v4 else V3_ROUTES
        return [Rule(path, endpoint=endpoint, methods=[method]) for path, endpoint, method in rules]

    def authenticate(self, request: Request) -> bool:
        if self.v4 and request.headers.get("Authorization", "") == f"Bearer {self.token}":
            return True
        return request.headers.get("Authentication-Token", "") == self.token

    def client_settings(self) -> OQCSettings:
        return OQCSettings(
            url=self.base_url, token=Secret(self.token), source="emulator", api=self.api
        )

    def error_response(self, status: int, message: str, **extra: Any) -> Response:
        if self.v4:
            return self.json({"detail": message}, status)
        return self.json({"meta": {"code": status}, "response": {"errors": [message]}}, status)

    def unauthorized(self, request: Request, *, expired: bool = False) -> Response:
        text = (
            "Authentication token expired"
            if expired
            else "Unauthorized: invalid or missing Authentication-Token"
        )
        return self.error_response(401, text)

    # -- helpers -----------------------------------------------------------------------------

    def _payload(self, request: Request) -> Any:
        if len(request.get_data(cache=True)) > MAX_BODY:
            raise EmulatorHTTPError(413, f"Request body exceeds the {MAX_BODY}-byte limit")
        return self.body(request)

    def _base(self, request: Request) -> str:
        return self.base_url or request.host_url.rstrip("/")

    def _qpu_view(self, qpu: dict[str, Any], request: Request) -> dict[str, Any]:
        hex_tail = qpu["id"].rsplit(":", 1)[1]
        return {
            **qpu,
            "url": f"{self._base(request)}/{hex_tail}",
            "feature_set": json.dumps(qpu["feature_set"]),
        }

    def _device(self, hex_: str) -> dict[str, Any]:
        qpu_id = self.by_hex.get(hex_)
        if qpu_id is None:
            raise EmulatorHTTPError(404, f"QPU {hex_} not found")
        return self.qpus[qpu_id]

    def _qpu(self, qpu_id: Any, where: str = "QPU") -> dict[str, Any]:
        """A QPU by id (v4 routes and task bodies name QPUs by id)."""
        if not isinstance(qpu_id, str) or qpu_id not in self.qpus:
            raise EmulatorHTTPError(404 if where == "QPU" else 400,
                                    f"{where} {qpu_id!r} is not a known QPU")
        return self.qpus[qpu_id]

    def _scope(self, hex_: str | None) -> str | None:
        """The QPU a v3 task route is rooted at; None on the v4 gateway (any QPU)."""
        return None if hex_ is None else self._device(hex_)["id"]

    def _job(self, hex_: str | None, task_id: str) -> EmulatedJob | None:
        job = self.jobs.get(task_id)
        if job is not None and self._scope(hex_) in (None, job.device_id):
            return job
        return None

    def _known(self, hex_: str | None, task_id: str) -> bool:
        """True if ``task_id`` is a submitted or reserved task reachable from this route."""
        if self._job(hex_, task_id) is not None:
            return True
        reserved = self.reserved.get(task_id)
        return reserved is not None and self._scope(hex_) in (None, reserved["qpu_id"])

    def _wire(self, status: str) -> str:
        """A status as this generation sends it (v4 uses its own names)."""
        return V4_STATUS.get(status, status) if self.v4 else status

    def _status(self, task_id: str, job: EmulatedJob | None) -> str:
        if job is None:
            return "CANCELLED" if self.reserved[task_id].get("cancelled") else "CREATED"
        if task_id in self.expired:
            return "EXPIRED"
        return PHASE_STATUS[self.jobs.phase(job)]

    def expire(self, task_id: str) -> bool:
        """Make a submitted task that has not finished report ``EXPIRED`` from now on."""
        job = self.jobs.get(task_id)
        if job is None or self.jobs.phase(job).final:
            return False
        self.expired.add(task_id)
        return True

    # -- admin routes ------------------------------------------------------------------------

    def version(self, request: Request) -> Response:
        return self.json({"version": VERSION})

    def logout(self, request: Request) -> Response:
        return self.json({"meta": {"code": 200}, "response": {}})

    def login(self, request: Request) -> Response:
        body = self._payload(request)
        email_ = body.get("email") if isinstance(body, dict) else None
        password = body.get("password") if isinstance(body, dict) else None
        users = self.config.options.get("users")
        ok = bool(email_) and bool(password)
        if ok and isinstance(users, dict):
            ok = users.get(email_) == password
        if not ok:
            raise EmulatorHTTPError(400, "Invalid email or password")
        return self.json(
            {"meta": {"code": 200},
             "response": {"user": {"authentication_token": self.token}, "csrf_token": "x"}}
        )

    def qpu_list(self, request: Request) -> Response:
        items = [self._qpu_view(q, request) for q in self.qpus.values()]
        per_page = request.args.get("per_page", type=int) or 20
        return self.json({"items": items, "page": 1, "per_page": per_page, "total": len(items)})

    def qpu_one(self, request: Request, qpu_id: str) -> Response:
        if qpu_id not in self.qpus:
            raise EmulatorHTTPError(404, f"QPU {qpu_id} not found")
        return self.json(self._qpu_view(self.qpus[qpu_id], request))

    def auth_token(self, request: Request, token: str) -> Response:
        if token != self.token:
            raise EmulatorHTTPError(404, "Token not found")
        return self.json({"expires_at": "2099-12-31T23:59:59"})

    # -- task routes -------------------------------------------------------------------------

    def tasks_reserve(self, request: Request, hex_: str | None = None) -> Response:
        if hex_ is None:
            return self._reserve_v4(request)
        qpu = self._device(hex_)
        body = self._payload(request)
        count = body.get("task_count") if isinstance(body, dict) else None
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10_000:
            raise EmulatorHTTPError(400, "task_count must be an integer between 1 and 10000")
        ids = [str(uuid.uuid4()) for _ in range(count)]
        for task_id in ids:
            self.reserved[task_id] = {"qpu_id": qpu["id"], "tag": body.get("tag"),
                                      "created_at": _wall()}
        return self.json(ids)

    def _reserve_v4(self, request: Request) -> Response:
        """v4: one ``{"qpu_id", "tag"}`` entry per id; answers ``{"tasks": [ids]}``."""
        body = self._payload(request)
        entries = body.get("tasks") if isinstance(body, dict) else None
        if not isinstance(entries, list) or not 1 <= len(entries) <= 10_000 or not all(
                isinstance(e, dict) for e in entries):
            raise EmulatorHTTPError(400, "'tasks' must be a list of 1 to 10000 "
                                         "{qpu_id, tag} objects")
        qpus = [self._qpu(e.get("qpu_id"), f"tasks[{i}].qpu_id") for i, e in enumerate(entries)]
        ids = [str(uuid.uuid4()) for _ in entries]
        for task_id, entry, qpu in zip(ids, entries, qpus, strict=True):
            self.reserved[task_id] = {"qpu_id": qpu["id"], "tag": entry.get("tag"),
                                      "created_at": _wall()}
        return self.json({"tasks": ids})

    def tasks_list(self, request: Request, hex_: str | None = None) -> Response:
        scope = self._scope(hex_)
        rows = [
            {"id": job.job_id, "qpu_id": job.device_id,
             "status": self._wire(self._status(job.job_id, job)),
             "tag": job.meta["tag"], "created_at": job.meta["created_at"].isoformat()}
            for job in self.jobs.all() if scope in (None, job.device_id)
        ]
        return self.json(rows)

    def tasks_submit(self, request: Request, hex_: str | None = None) -> Response:
        body = self._payload(request)
        tasks = body.get("tasks") if isinstance(body, dict) else None
        if not isinstance(tasks, list) or not tasks:
            raise EmulatorHTTPError(400, "'tasks' must be a non-empty list")
        parsed = []
        for index, spec in enumerate(tasks):
            qpu = (self._device(hex_) if hex_ is not None else self._qpu(
                spec.get("qpu_id") if isinstance(spec, dict) else None, f"tasks[{index}].qpu_id"))
            parsed.append((qpu, *self._check_task(spec, qpu, index)))
        ids = [self._create_task(qpu, spec, cfg) for qpu, spec, cfg in parsed]
        return self.json([{"task_id": task_id} for task_id in ids])

    def _check_task(
        self, spec: Any, qpu: dict[str, Any], index: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        where = f"tasks[{index}]"
        if not isinstance(spec, dict):
            raise EmulatorHTTPError(400, f"{where} must be an object")
        if not isinstance(spec.get("program"), str):
            raise EmulatorHTTPError(400, f"{where}.program must be a string")
        config = spec.get("config")
        if not isinstance(config, str):
            raise EmulatorHTTPError(400, f"{where}.config must be a JSON-encoded string")
        try:
            cfg = json.loads(config)
        except ValueError as exc:
            raise EmulatorHTTPError(400, f"{where}.config is not valid JSON: {exc}") from exc
        type_path = str(cfg.get("$type", "")).removeprefix("<class '").removesuffix("'>") \
            if isinstance(cfg, dict) else ""
        known = type_path == ERADO or any(
            type_path == f"{p}.CompilerConfig" for p in CONFIG_PREFIXES)
        if not known:
            raise EmulatorHTTPError(400, f"{where}.config has unknown type {type_path!r}")
        if spec.get("qpu_id") not in (None, qpu["id"]):
            raise EmulatorHTTPError(400, f"{where}.qpu_id {spec['qpu_id']!r} is not {qpu['id']}")
        task_id = spec.get("task_id")
        if task_id not in (None, -1, "-1", ""):
            reserved = self.reserved.get(str(task_id))
            if reserved is None or reserved["qpu_id"] != qpu["id"] or reserved.get("cancelled") \
                    or self.jobs.get(str(task_id)) is not None:
                raise EmulatorHTTPError(
                    400, f"{where}.task_id {task_id} is not a CREATED task of {qpu['id']}")
        return spec, cfg

    def _create_task(self, qpu: dict[str, Any], spec: dict[str, Any], cfg: dict[str, Any]) -> str:
        data = cfg.get("$data", cfg) if isinstance(cfg.get("$data", cfg), dict) else {}
        shots = data.get("repeats")
        shots = 1000 if shots is None else shots
        failure, circuit, registers = self._compile(qpu, spec, data, shots)
        task_id = spec.get("task_id")
        task_id = str(task_id) if task_id not in (None, -1, "-1", "") else None
        tag = spec.get("tag")
        reserved = self.reserved.get(task_id or "")
        if tag in (None, "") and reserved is not None:
            tag = reserved.get("tag")
        if failure is None and tag == self.fail_tag:
            failure = "Task failed on request (emulator fail_tag)"
        metrics = data.get("metrics")
        meta = {
            "tag": tag, "config": spec["config"], "program": spec["program"],
            "created_at": _wall(), "registers": registers,
            "hybrid_marker": spec.get("hybrid_marker"),
            "metrics": metrics.get("$value", 6) if isinstance(metrics, dict) else 6,
            "flat": bool(self.config.options.get("flat_results")) or not registers,
            "instructions": len(circuit.data) if circuit is not None else 0,
            "num_qubits": circuit.num_qubits if circuit is not None else 0,
        }
        job = self.jobs.add(
            qpu["id"], [circuit] if circuit is not None else [],
            int(shots) if isinstance(shots, int) and shots > 0 else 1,
            job_id=task_id, meta=meta, failure=failure,
        )
        return job.job_id

    def _compile(
        self, qpu: dict[str, Any], spec: dict[str, Any], data: dict[str, Any], shots: Any
    ) -> tuple[str | None, QuantumCircuit | None, list[tuple[str, list[int]]]]:
        """Parse and check a program; a problem becomes the task's failure message."""
        features = qpu["feature_set"]
        fmt = data.get("results_format")
        transforms = 3
        if isinstance(fmt, dict):
            value = (fmt.get("$data") or {}).get("transforms")
            transforms = value.get("$value", 2) if isinstance(value, dict) else 2
        if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
            return f"repeats must be a positive integer, got {shots!r}", None, []
        if shots > features["Maximum Shots"]:
            return f"repeats {shots} exceeds Maximum Shots {features['Maximum Shots']}", None, []
        if not int(transforms) & 1:
            return ("the emulator only supports the binary_count results format "
                    "(ResultsFormatting.BinaryCount)"), None, []
        try:
            circuit = parse_qasm(spec["program"])
        except ValueError as exc:
            return f"QASM parse error: {exc}", None, []
        if circuit.num_qubits > features["qubit_count"]:
            return (f"program uses {circuit.num_qubits} qubits but {qpu['id']} has "
                    f"{features['qubit_count']}"), None, []
        bad = sorted({i.operation.name for i in circuit.data} & UNSUPPORTED)
        if bad:
            return f"unsupported statement(s): {', '.join(bad)}", None, []
        registers = [(reg.name, [circuit.find_bit(b).index for b in reg]) for reg in circuit.cregs]
        return None, circuit, registers

    def tasks_cancel(self, request: Request, hex_: str | None = None) -> Response:
        body = self._payload(request)
        ids = body.get("tasks") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise EmulatorHTTPError(400, "'tasks' must be a list of task ids")
        for task_id in ids:
            if not self._known(hex_, task_id):
                raise EmulatorHTTPError(404, f"Task {task_id} not found")
        for task_id in ids:
            job = self._job(hex_, task_id)
            if job is not None:
                if task_id not in self.expired:
                    self.jobs.cancel(job)
            else:
                self.reserved[task_id]["cancelled"] = True
        return self.json("OK")

    def task_view(
        self, request: Request, task_id: str, view: str, hex_: str | None = None
    ) -> Response:
        if not self._known(hex_, task_id):
            raise EmulatorHTTPError(404, f"Task {task_id} not found")
        job = self._job(hex_, task_id)
        status = self._status(task_id, job)
        views: dict[str, Callable[[], Any]] = {
            "status": lambda: {"status": self._wire(status)},
            "results": lambda: {"results": self._results(job, status)},
            "error": lambda: {"task_error": self._error(job, status)},
            "execution_metadata": lambda: {"execution_metadata": self._exec_meta(job, status)},
            "metadata": lambda: {"metadata": self._metadata(task_id, job)},
            "timings": lambda: {"timings": self._timings(job, status)},
            "all_info": lambda: self._all_info(task_id, job, status),
        }
        if view not in views:
            raise EmulatorHTTPError(404, f"Unknown task view {view!r}")
        return self.json(views[view]())

    def _results(self, job: EmulatedJob | None, status: str) -> Any:
        if job is None or status != "COMPLETED" or not job.outcomes:
            return None
        memory = job.outcomes[0].memory
        width = len(memory[0]) if memory else 0

        def bits(shot: str, indices: list[int]) -> str:
            # OQC puts register bit 0 LEFTMOST; Qiskit memory has clbit 0 rightmost.
            return "".join(shot[width - 1 - i] for i in indices)

        if job.meta["flat"]:
            indices = list(range(width))
            return dict(Counter(bits(m, indices) for m in memory))
        return {name: dict(Counter(bits(m, idx) for m in memory))
                for name, idx in job.meta["registers"]}

    def _error(self, job: EmulatedJob | None, status: str) -> dict[str, Any] | None:
        if status == "EXPIRED":
            return {"error_code": 410, "error_message": "Task expired before it was run"}
        if job is None or status != "FAILED":
            return None
        return {"error_code": 400, "error_message": job.failure or "Task failed"}

    def _exec_meta(self, job: EmulatedJob | None, status: str) -> dict[str, Any] | None:
        if job is None or status != "COMPLETED":
            return None
        flags = int(job.meta["metrics"])
        out: dict[str, Any] = {}
        if flags & 2:
            out["optimized_circuit"] = job.meta["program"]
        if flags & 4:
            out["optimized_instruction_count"] = job.meta["instructions"]
        if flags & 8:
            out["physical_qubit_indices"] = list(range(job.meta["num_qubits"]))
        return out

    def _metadata(self, task_id: str, job: EmulatedJob | None) -> dict[str, Any]:
        source = job.meta if job is not None else self.reserved[task_id]
        created: datetime.datetime = source["created_at"]
        return {
            "id": task_id,
            "qpu_id": job.device_id if job is not None else source["qpu_id"],
            "tag": source.get("tag"),
            "config": job.meta["config"] if job is not None else None,
            "created_at": email.utils.format_datetime(created, usegmt=True),
            "allow_support_access": False,
        }

    def _timings(self, job: EmulatedJob | None, status: str) -> dict[str, str] | None:
        if job is None:
            return None
        start: datetime.datetime = job.meta["created_at"]

        def at(offset: float) -> str:
            return str(start + datetime.timedelta(seconds=offset))

        out = {"SERVER_RECEIVED": at(0), "SERVER_ENQUEUED": at(0)}
        if status in ("RUNNING", "COMPLETED", "FAILED"):
            out["SERVER_DEQUEUED"] = at(job.queue_delay)
            out["RECEIVER_ENQUEUED"] = at(job.queue_delay)
            out["RECEIVER_DEQUEUED"] = at(job.queue_delay)
            out["RECEIVER_TO_SCC"] = at(job.queue_delay)
        if status in ("COMPLETED", "FAILED"):
            out["RECEIVER_FROM_SCC"] = at(job.queue_delay + job.run_time)
        return out

    def _all_info(self, task_id: str, job: EmulatedJob | None, status: str) -> dict[str, Any]:
        metadata = self._metadata(task_id, job)
        created = (job.meta if job is not None else self.reserved[task_id])["created_at"]
        return {
            "id": task_id,
            "qpu_id": metadata["qpu_id"],
            "status": self._wire(status),
            "tag": metadata["tag"],
            "created_at": created.isoformat(),
            "config": metadata["config"],
            "results": self._results(job, status),
            "task_error": self._error(job, status),
            "execution_metadata": self._exec_meta(job, status),
            "metadata": metadata,
            "timings": self._timings(job, status),
        }

    # -- windows and monitoring --------------------------------------------------------------

    def window_next(self, request: Request, hex_: str) -> Response:
        self._device(hex_)
        return self.json({})

    def monitoring_status(self, request: Request, hex_: str) -> Response:
        qpu = self._device(hex_)
        return self.json({"qpu_id": qpu["id"], "status": qpu["status"], "active": qpu["active"]})

    def calibrations(self, request: Request, hex_: str) -> Response:
        """Our own documented shape: the calibration keys of the feature set."""
        qpu = self._device(hex_)
        keys = ("gate_errors", "gate_durations", "t1", "t2", "coupling_map", "calibrated_at")
        features = qpu["feature_set"]
        return self.json({"qpu_id": qpu["id"], **{k: features[k] for k in keys if k in features}})

    def qpu_wait_time(self, request: Request, hex_: str) -> Response:
        qpu = self._device(hex_)
        body = self._payload(request)
        targets = body.get("targets") if isinstance(body, dict) else None
        targets = targets if isinstance(targets, list) else [qpu["id"]]
        now = _wall().strftime("%Y-%m-%d %H:%M:%S")
        return self.json({"qpu_wait_times": [
            {"qpu_id": target, "tasks_in_queue": self.jobs.pending(str(target)),
             "average_processing_seconds": 0.0, "estimated_availability_time": now,
             "timestamp": now, "windows": []}
            for target in targets if target in self.qpus
        ]})

    # -- v4 gateway ------------------------------------------------------------------------

    def qpus_v4(self, request: Request) -> Response:
        """``GET /qpus``: QPU objects without the feature set (read per QPU)."""
        return self.json([
            {k: v for k, v in qpu.items() if k not in ("feature_set", "active")}
            for qpu in self.qpus.values()
        ])

    def features_v4(self, request: Request, qpu_id: str) -> Response:
        """``GET /qpus/{id}/features``: the feature set without calibration keys."""
        features = self._qpu(qpu_id)["feature_set"]
        data = {k: v for k, v in features.items() if k not in BENCHMARK_KEYS}
        return self.json({"qpu_id": qpu_id, "data": data})

    def qpu_status_v4(self, request: Request, qpu_id: str) -> Response:
        qpu = self._qpu(qpu_id)
        return self.json({"qpu_id": qpu_id, "status": qpu["status"]})

    def benchmarks_v4(self, request: Request, qpu_id: str) -> Response:
        """``GET /qpus/{id}/benchmarks``: our documented calibration shape under ``data``."""
        features = self._qpu(qpu_id)["feature_set"]
        return self.json({"data": {"qpu_id": qpu_id,
                                   **{k: features[k] for k in BENCHMARK_KEYS if k in features}}})

    def benchmarks_search_v4(self, request: Request, qpu_id: str) -> Response:
        """Answers 501, as the real gateway does today."""
        self._qpu(qpu_id)
        raise EmulatorHTTPError(501, "Benchmark search is not implemented")
