"""A local Qilimanjaro QaaS service that the unmodified ``qiboconnection`` 0.23 client accepts.

Point the vendor SDK at it with ``QUANTUM_SERVICE_URL=http://127.0.0.1:<port>`` and log in
with the emulator's username (default ``qiskit``) and API key (``handle.token``).

Emulator options (``start("qilimanjaro", options={...})``):

* ``username`` / ``user_id``: the default (admin) account; its API key is the config token.
* ``accounts``: extra accounts, a list of ``{"username", "api_key", "user_id", "role"}``.
* ``access_token_ttl`` / ``refresh_token_ttl``: token lifetimes in seconds of the emulator
  clock (advance a ``ManualClock`` past the first to test refresh).
* ``device_status``: ``{device name: "online" | "maintenance" | "offline"}`` overrides.
* ``per_page``: default page size of list endpoints (2, so pagination is exercised).

Devices: ``qibo_simulator`` (id 1, 20 qubits, all-to-all), ``radagast`` (id 9, 5-qubit
QPU-like star centred on qubit 2, calibration in ``dynamic_features``) and ``galadriel``
(id 11, 5-qubit line, in ``maintenance`` so its jobs stay ``queued``). A job named
``emulator:fail`` ends in ``error``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import math
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from qiskit.quantum_info import Statevector
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ...config import Secret
from ...emulators.app import EmulatorApp, EmulatorConfig, EmulatorHTTPError
from ...emulators.devices import calibration, line_edges
from ...emulators.jobs import EmulatedJob, JobPhase
from ...types import DeviceSpec
from .devices import device_spec
from .emulator_qasm import check_program
from .settings import QilimanjaroSettings
from .translate import compress, decompress

PREFIX = "/api/v1"
STAR = [(0, 2), (1, 2), (2, 3), (2, 4)]
QPU_GATES = ["rz", "sx", "x", "cz", "measure"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _qpu_device(device_id: int, name: str, status: str, edges: list[tuple[int, int]],
                seed: int) -> dict[str, Any]:
    cal = calibration(5, edges, seed=seed)
    return {
        "id": device_id, "name": name, "status": status, "type": "quantum_device",
        "number_pending_jobs": 0, "slurm_partition": name,
        "static_features": {"number_qubits": 5, "native_gates": QPU_GATES,
                            "connectivity": [list(e) for e in edges]},
        "dynamic_features": {
            "last_calibration_time": "2026-01-01T00:00:00Z",
            "gate_duration": cal.single_qubit_duration,
            "cz_duration": cal.two_qubit_duration,
            "readout_duration": cal.readout_duration,
            "qubits": [{"id": q, "t1": cal.t1[q], "t2": cal.t2[q],
                        "gate_error": cal.single_qubit_error[q],
                        "readout_error": cal.readout_error[q]} for q in range(5)],
            "couplers": [{"qubits": list(e), "cz_error": cal.two_qubit_error[e]}
                         for e in edges],
        },
    }


def default_devices() -> list[dict[str, Any]]:
    """The emulated devices, in the vendor's record format."""
    return [
        {"id": 1, "name": "qibo_simulator", "status": "online", "type": "simulator_device",
         "number_pending_jobs": 0, "slurm_partition": "cpu",
         "static_features": {"number_qubits": 20, "connectivity": "all-to-all"},
         "dynamic_features": None},
        _qpu_device(9, "radagast", "online", STAR, seed=9),
        _qpu_device(11, "galadriel", "maintenance", line_edges(5), seed=11),
    ]


class QilimanjaroEmulator(EmulatorApp):
    """The qiboconnection-generation QaaS REST API on 127.0.0.1."""

    vendor = "qilimanjaro"
    public_endpoints = frozenset({"ping", "login", "refresh_token"})

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        super().__init__(config)
        opts = self.config.options
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._ids = itertools.count(int(opts.get("first_job_id", 1001)))
        self.username = str(opts.get("username", "qiskit"))
        self.user_id = int(opts.get("user_id", 7))
        self.accounts: dict[str, dict[str, Any]] = {
            self.username: {"api_key": self.token, "user_id": self.user_id, "role": "admin"}
        }
        for account in opts.get("accounts", []):
            self.accounts[account["username"]] = {
                "api_key": account["api_key"], "user_id": int(account["user_id"]),
                "role": account.get("role", "qilimanjaro_user"),
            }
        self.access_ttl = float(opts.get("access_token_ttl", 3600))
        self.refresh_ttl = float(opts.get("refresh_token_ttl", 86400))
        self.per_page = int(opts.get("per_page", 2))
        self.devices = {d["id"]: d for d in opts.get("devices", default_devices())}
        for device in self.devices.values():
            device["status"] = opts.get("device_status", {}).get(device["name"],
                                                                   device["status"])
        #: Client versions seen in ``X-Client-Version`` (logged, never checked).
        self.client_versions: set[str] = set()

    def device_spec(self, device_id: str) -> DeviceSpec | None:
        """The device record read by the adapter (jobs carry the numeric id as text)."""
        device = self.devices.get(int(device_id)) if device_id.isdigit() else None
        return device_spec(device, self.client_settings()) if device is not None else None

    def routes(self) -> Iterable[Rule]:
        p = PREFIX
        return [
            Rule("/status", endpoint="ping", methods=["GET"]),
            Rule(f"{p}/authorisation-tokens", endpoint="login", methods=["POST"]),
            Rule(f"{p}/authorisation-tokens/refresh", endpoint="refresh_token",
                 methods=["POST"]),
            Rule(f"{p}/devices", endpoint="list_devices", methods=["GET"]),
            Rule(f"{p}/devices/<int:device_id>", endpoint="get_device", methods=["GET"]),
            Rule(f"{p}/devices/<int:device_id>", endpoint="put_device", methods=["PUT"]),
            Rule(f"{p}/circuits", endpoint="create_job", methods=["POST"]),
            Rule(f"{p}/jobs", endpoint="list_jobs", methods=["GET"]),
            Rule(f"{p}/jobs/<int:job_id>", endpoint="get_job", methods=["GET"]),
            Rule(f"{p}/jobs/<int:job_id>", endpoint="delete_job", methods=["DELETE"]),
            Rule(f"{p}/jobs/cancel/<int:job_id>", endpoint="cancel_job", methods=["PUT"]),
            Rule(f"{p}/users/<int:user_id>", endpoint="get_user", methods=["GET"]),
        ]

    def client_settings(self) -> QilimanjaroSettings:
        return QilimanjaroSettings(url=self.base_url, source="emulator",
                                   username=self.username, api_key=Secret(self.token))

    def error_response(self, status: int, message: str, **extra: Any) -> Response:
        title = HTTP_STATUS_CODES.get(status, "Error")
        return self.json({"title": title, "status": status, "detail": message, **extra},
                         status)

    def unauthorized(self, request: Request, *, expired: bool = False) -> Response:
        reason = "Token has expired" if expired else self._token_problem(request)
        return self.error_response(401, reason or "Unauthorized")

    # -- tokens -----------------------------------------------------------------------------

    def issue(self, username: str, kind: str) -> str:
        """A signed HS256 JWT for ``username``; ``kind`` is ``access`` or ``refresh``."""
        account = self.accounts[username]
        now = self.config.clock()
        ttl = self.access_ttl if kind == "access" else self.refresh_ttl
        claims = {
            "aud": f"{self.base_url}{PREFIX}", "iss": f"{self.base_url}/", "iat": int(now),
            # ``exp`` in Unix time, as the service issues it; the emulator's own expiry
            # check uses its (possibly manual) clock through ``clock_exp``.
            "exp": int(time.time() + ttl), "clock_exp": now + ttl, "type": kind,
            "user_id": account["user_id"],
            "user_role": account["role"], "username": username,
            "jti": secrets.token_hex(8),
        }
        head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64url(json.dumps(claims).encode())
        signature = hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256)
        return f"{head}.{body}.{_b64url(signature.digest())}"

    def _claims(self, token: str) -> dict[str, Any] | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = hmac.new(self._secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256)
        try:
            if not hmac.compare_digest(_unb64url(parts[2]), expected.digest()):
                return None
            claims = json.loads(_unb64url(parts[1]))
        except (ValueError, binascii.Error):
            return None
        return claims if isinstance(claims, dict) else None

    def _bearer(self, request: Request) -> str:
        header = request.headers.get("Authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else ""

    def _token_problem(self, request: Request, kind: str = "access") -> str | None:
        claims = self._claims(self._bearer(request))
        if claims is None:
            return "Missing or invalid bearer token"
        if claims.get("type") != kind:
            return f"Expected an {kind} token"
        if float(claims.get("clock_exp", 0)) <= self.config.clock():
            return "Token has expired"
        if claims.get("username") not in self.accounts:
            return "Unknown user"
        return None

    def authenticate(self, request: Request) -> bool:
        version = request.headers.get("X-Client-Version")
        if version:
            self.client_versions.add(version)
        return self._token_problem(request) is None

    def _caller(self, request: Request) -> dict[str, Any]:
        claims = self._claims(self._bearer(request)) or {}
        return {"user_id": claims.get("user_id"), "role": claims.get("user_role")}

    @staticmethod
    def _tokens(access: str, refresh: str | None, now: float) -> dict[str, Any]:
        return {"accessToken": access, "refreshToken": refresh, "tokenType": "bearer",
                "expiresIn": int(now) + 3600, "issuedAt": str(int(now))}

    # -- auth endpoints -------------------------------------------------------------------

    def ping(self, request: Request) -> Response:
        return Response("OK", status=200, mimetype="text/plain")

    def login(self, request: Request) -> Response:
        body = self.body(request)
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), str) for k in ("grantType", "assertion", "scope")
        ):
            raise EmulatorHTTPError(422, "grantType, assertion and scope are required")
        try:
            assertion = json.loads(_unb64url(body["assertion"].rstrip("=")))
        except (ValueError, binascii.Error) as exc:
            raise EmulatorHTTPError(422, "assertion is not base64url JSON") from exc
        username = assertion.get("username") if isinstance(assertion, dict) else None
        account = self.accounts.get(username) if isinstance(username, str) else None
        api_key = assertion.get("api_key") if isinstance(assertion, dict) else None
        if account is None or not isinstance(api_key, str) or not hmac.compare_digest(
            api_key.encode(), str(account["api_key"]).encode()
        ):
            raise EmulatorHTTPError(401, "Invalid username or API key")
        assert isinstance(username, str)
        now = self.config.clock()
        tokens = self._tokens(self.issue(username, "access"), self.issue(username, "refresh"),
                              now)
        return self.json(tokens, 201)

    def refresh_token(self, request: Request) -> Response:
        problem = self._token_problem(request, kind="refresh")
        if problem:
            raise EmulatorHTTPError(401, problem)
        claims = self._claims(self._bearer(request)) or {}
        now = self.config.clock()
        return self.json(self._tokens(self.issue(claims["username"], "access"), None, now),
                         201)

    def get_user(self, request: Request, user_id: int) -> Response:
        for name, account in self.accounts.items():
            if account["user_id"] == user_id:
                return self.json({"user_id": user_id, "username": name, "slack_id": None})
        raise EmulatorHTTPError(404, f"Requested user with 'user_id': {user_id}, does not exist.")

    # -- devices --------------------------------------------------------------------------

    def _page(self, request: Request, path: str, items: list[Any]) -> Response:
        try:
            page = max(1, int(request.args.get("page", 1)))
            per_page = max(1, int(request.args.get("per_page", self.per_page)))
        except ValueError as exc:
            raise EmulatorHTTPError(422, "page and per_page must be integers") from exc
        pages = max(1, math.ceil(len(items) / per_page))
        base = f"{self.base_url}{PREFIX}/{path}"

        def link(number: int | None) -> str:
            return f"{base}?page={number}&per_page={per_page}"

        return self.json({
            "items": items[(page - 1) * per_page: page * per_page],
            "total": len(items), "per_page": per_page, "self": link(page),
            "links": {"first": link(1), "prev": link(page - 1 if page > 1 else None),
                      "next": link(page + 1 if page < pages else None), "last": link(pages)},
        })

    def _device_record(self, device: dict[str, Any]) -> dict[str, Any]:
        pending = sum(
            1 for job in self.jobs.all()
            if job.meta.get("device_id") == device["id"] and not self.jobs.phase(job).final
        )
        return {**device, "number_pending_jobs": pending}

    def list_devices(self, request: Request) -> Response:
        records = [self._device_record(d) for d in self.devices.values()]
        return self._page(request, "devices", records)

    def _device(self, device_id: int) -> dict[str, Any]:
        device: dict[str, Any] | None = self.devices.get(device_id)
        if device is None:
            raise EmulatorHTTPError(
                404, f"Requested device with 'device_id': {device_id}, does not exist.")
        return device

    def get_device(self, request: Request, device_id: int) -> Response:
        return self.json(self._device_record(self._device(device_id)))

    def put_device(self, request: Request, device_id: int) -> Response:
        device = self._device(device_id)
        if self._caller(request)["role"] != "admin":
            raise EmulatorHTTPError(403, "Only admins may change device status")
        body = self.body(request)
        status = body.get("status") if isinstance(body, dict) else None
        if status not in ("online", "maintenance", "offline"):
            raise EmulatorHTTPError(422, "status must be online, maintenance or offline")
        self.set_device_status(device["name"], status)
        return self.json(self._device_record(device))

    def set_device_status(self, name: str, status: str) -> None:
        """Switch a device; going ``online`` releases its held jobs."""
        for device in self.devices.values():
            if device["name"] == name:
                device["status"] = status
                if status == "online":
                    now = self.config.clock()
                    held = [j for j in self.jobs.all() if j.queue_delay == math.inf]
                    for job in held:
                        if job.meta.get("device_id") == device["id"]:
                            job.queue_delay = now - job.created + self.config.queue_delay
                return
        raise KeyError(name)

    # -- jobs -----------------------------------------------------------------------------

    def create_job(self, request: Request) -> Response:
        body = self.body(request)
        members = ("user_id", "device_id", "number_shots", "job_type", "description", "name",
                   "summary")
        if not isinstance(body, dict) or any(m not in body for m in members):
            raise EmulatorHTTPError(422, f"the body must carry {', '.join(members)}")
        caller = self._caller(request)
        if body["user_id"] not in (None, caller["user_id"]):
            raise EmulatorHTTPError(403, "user_id does not match the access token")
        device_id = body["device_id"]
        if not isinstance(device_id, int) or isinstance(device_id, bool):
            raise EmulatorHTTPError(422, "device_id must be an integer")
        device = self._device(device_id)
        if body["job_type"] != "circuit":
            raise EmulatorHTTPError(
                422, f"job_type {body['job_type']!r} is not supported by this emulator")
        shots = body["number_shots"]
        if not isinstance(shots, int) or isinstance(shots, bool) or not 1 <= shots <= 100_000:
            raise EmulatorHTTPError(422, "number_shots must be an integer in [1, 100000]")
        if not isinstance(body["description"], str):
            raise EmulatorHTTPError(422, "description must be a string")
        try:
            programs = decompress(body["description"], "description")
        except Exception as exc:
            raise EmulatorHTTPError(422, f"cannot decode description: {exc}") from exc
        if not isinstance(programs, list) or not programs or not all(
            isinstance(p, str) for p in programs
        ):
            raise EmulatorHTTPError(422, "description must hold a non-empty list of QASM strings")
        circuits, key_orders = [], []
        for index, text in enumerate(programs):
            try:
                circuit, order = check_program(text)
            except ValueError as exc:
                raise EmulatorHTTPError(422, f"circuit {index}: {exc}") from exc
            if circuit.num_qubits > int(device["static_features"]["number_qubits"]):
                raise EmulatorHTTPError(
                    422, f"circuit {index} uses {circuit.num_qubits} qubits; {device['name']} "
                    f"has {device['static_features']['number_qubits']}")
            circuits.append(circuit)
            key_orders.append(order)
        with self._lock:
            job_id = next(self._ids)
        failure = "emulated failure (job name 'emulator:fail')" if body["name"] == \
            "emulator:fail" else None
        meta = {"user_id": caller["user_id"], "device_id": device_id, "job_type": "circuit",
                "description": body["description"], "name": str(body["name"]),
                "summary": str(body["summary"]), "key_orders": key_orders,
                "simulator": device["type"] == "simulator_device"}
        job = self.jobs.add(str(device_id), circuits, shots, job_id=str(job_id),
                            owner=str(caller["user_id"]), meta=meta, failure=failure)
        if device["status"] != "online":
            job.queue_delay = math.inf
        return self.json({"job_id": job_id}, 201)

    def _job(self, job_id: int) -> EmulatedJob:
        job = self.jobs.get(str(job_id))
        if job is None:
            raise EmulatorHTTPError(404, f"Requested job with 'job_id': {job_id}, does not exist.",
                                    title="Bad Request")
        return job

    def _status(self, job: EmulatedJob) -> str:
        phase = self.jobs.phase(job)
        if phase is JobPhase.QUEUED:
            device = self.devices[job.meta["device_id"]]
            return "pending" if device["status"] == "offline" else "queued"
        return {JobPhase.RUNNING: "running", JobPhase.DONE: "completed",
                JobPhase.FAILED: "error", JobPhase.CANCELLED: "cancelled"}[phase]

    def _result(self, job: EmulatedJob) -> str | None:
        if job.outcomes is None:
            return None
        if "result" not in job.meta:
            objects = [
                _result_object(outcome.memory, order, circuit, job.shots,
                               job.meta["simulator"])
                for outcome, order, circuit in zip(job.outcomes, job.meta["key_orders"],
                                                   job.circuits, strict=True)
            ]
            job.meta["result"] = compress(objects)
        result: str = job.meta["result"]
        return result

    def _record(self, job: EmulatedJob) -> dict[str, Any]:
        status = self._status(job)
        position = self.jobs.queue_position(job)
        record = {
            "job_id": int(job.job_id), "user_id": job.meta["user_id"],
            "device_id": job.meta["device_id"], "status": status,
            "job_type": job.meta["job_type"], "number_shots": job.shots,
            "queue_position": position or 0, "description": job.meta["description"],
            "result": self._result(job) if status == "completed" else None,
            "name": job.meta["name"], "summary": job.meta["summary"],
        }
        if status == "error":
            record["error_message"] = job.failure or "job failed"
        return record

    def _own(self, request: Request, job: EmulatedJob) -> None:
        caller = self._caller(request)
        if caller["role"] != "admin" and job.meta["user_id"] != caller["user_id"]:
            raise EmulatorHTTPError(403, "This job belongs to another user")

    def get_job(self, request: Request, job_id: int) -> Response:
        job = self._job(job_id)
        self._own(request, job)
        return self.json(self._record(job))

    def list_jobs(self, request: Request) -> Response:
        caller = self._caller(request)
        summaries = [
            {k: v for k, v in self._record(job).items()
             if k in ("job_id", "user_id", "device_id", "status", "job_type", "number_shots",
                      "name", "summary")}
            for job in self.jobs.all() if job.meta.get("user_id") == caller["user_id"]
        ]
        for summary in summaries:
            summary["id"] = summary.pop("job_id")
        return self._page(request, "jobs", summaries)

    def cancel_job(self, request: Request, job_id: int) -> Response:
        job = self._job(job_id)
        self._own(request, job)
        if self.jobs.phase(job).final:
            raise EmulatorHTTPError(409, f"Job {job_id} is already {self._status(job)}")
        if self.devices[job.meta["device_id"]]["status"] != "offline":
            self.jobs.cancel(job)
        return Response(status=204)

    def delete_job(self, request: Request, job_id: int) -> Response:
        job = self._job(job_id)
        if self._caller(request)["role"] != "admin":
            raise EmulatorHTTPError(403, "Only admins may delete jobs")
        self.jobs.remove(job.job_id)
        return Response(status=204)


def _result_object(memory: list[str], order: list[int], circuit: Any, shots: int,
                   simulator: bool) -> dict[str, Any]:
    """One circuit's result in Qibo order (first measured bit leftmost)."""
    samples = [[int(m[len(m) - 1 - g]) for g in order] for m in memory]
    counts: dict[str, int] = {}
    for sample in samples:
        key = "".join(str(b) for b in sample)
        counts[key] = counts.get(key, 0) + 1
    result: dict[str, Any] = {
        "counts": counts,
        "probabilities": {k: v / shots for k, v in counts.items()},
        "samples": samples,
    }
    if simulator and circuit.num_qubits <= 10:
        stripped = circuit.remove_final_measurements(inplace=False)
        state = Statevector(stripped)
        width = circuit.num_qubits
        amplitudes: Mapping[str, Any] = {
            format(i, f"0{width}b")[::-1]: amp for i, amp in enumerate(state.data)
            if abs(amp) > 1e-12
        }
        result["final_state"] = {k: str(complex(v)) for k, v in amplitudes.items()}
        result["final_state_probabilities"] = {k: abs(v) ** 2 for k, v in amplitudes.items()}
    return result
