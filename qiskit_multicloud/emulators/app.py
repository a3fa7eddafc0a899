"""The shared emulator core: a WSGI application base class each vendor emulator extends.

A vendor emulator subclasses :class:`EmulatorApp`, lists its routes (werkzeug ``Rule`` s
whose endpoint is the name of a handler method), says how a request authenticates and
what its error bodies look like. The core handles dispatch, auth, fault injection, request
statistics, the job table and the simulator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ..config import VendorSettings
from ..exceptions import ConfigurationError
from ..types import DeviceSpec
from .faults import FaultConfig, FaultInjector
from .jobs import JobTable
from .noise import DeviceNoise
from .simulator import Simulator

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/_emulator"


class EmulatorHTTPError(Exception):
    """Raise inside a handler to answer ``status`` with the vendor's error body."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def new_token() -> str:
    """A random URL-safe token that never starts with ``-`` (so ``--token VALUE`` and
    ``VENDOR=URL,TOKEN`` command lines never mistake it for an option)."""
    while True:
        token = secrets.token_urlsafe(18)
        if not token.startswith("-"):
            return token


@dataclasses.dataclass
class EmulatorConfig:
    """Settings common to all emulators.

    Attributes:
        token: the credential the emulator accepts (random when not given).
        queue_delay: seconds each job stays queued (non-zero makes cancel testable).
        run_time: seconds each job stays running.
        seed: simulator seed (``None`` = random sampling).
        clock: time source; pass a :class:`~qiskit_multicloud.emulators.jobs.ManualClock`
            in tests.
        faults: initial fault-injection rates.
        options: vendor-specific extras (documented by each emulator).
        noise: emulated QPUs simulate the noise their published calibration describes
            (readout, gate errors, T1/T2); ``False`` makes them ideal, e.g. for exact
            tests. The vendors' simulators are always ideal.
        api: API generation to serve, for emulators that serve several (OQC: ``"v3"``,
            ``"v4"``); ``None`` = the emulator's default.
    """

    token: str = dataclasses.field(default_factory=new_token)
    queue_delay: float = 0.0
    run_time: float = 0.0
    seed: int | None = None
    clock: Callable[[], float] = time.monotonic
    faults: FaultConfig = dataclasses.field(default_factory=FaultConfig)
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    noise: bool = True
    api: str | None = None


class RequestStats:
    """Counts of requests seen, overall and per (method, route)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_route: Counter[str] = Counter()
        self.total = 0

    def record(self, method: str, route: str) -> None:
        """Count one request."""
        with self._lock:
            self.total += 1
            self.by_route[f"{method} {route}"] += 1

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self.total = 0
            self.by_route.clear()

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready copy."""
        with self._lock:
            return {"total": self.total, "by_route": dict(self.by_route)}


class EmulatorApp:
    """Base WSGI app of a vendor emulator.

    Subclasses set :attr:`vendor`, implement :meth:`routes`, :meth:`authenticate`,
    :meth:`client_settings`, and may override :meth:`error_response` (vendor error body),
    :meth:`unauthorized`, :attr:`public_endpoints` and :meth:`device_spec` (the source of
    each emulated QPU's noise).
    """

    vendor: ClassVar[str] = ""
    #: Handler names that need no credentials.
    public_endpoints: ClassVar[frozenset[str]] = frozenset()
    #: API generations served (first = default); empty = one unnamed generation.
    api_generations: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        if self.config.api is not None and self.config.api not in self.api_generations:
            served = ", ".join(self.api_generations) or "only its one API"
            raise ConfigurationError(
                f"the {self.vendor} emulator cannot serve api={self.config.api!r} "
                f"(it serves {served})"
            )
        #: The API generation served.
        self.api = self.config.api or self.default_api()
        self.token = self.config.token
        self.simulator = Simulator(seed=self.config.seed)
        self._noise: dict[str, DeviceNoise | None] = {}
        self._noise_lock = threading.Lock()
        self.jobs = JobTable(
            self.simulator,
            self.config.clock,
            self.config.queue_delay,
            self.config.run_time,
            noise_for=self.noise,
        )
        self.faults = FaultInjector(self.config.faults)
        self.stats = RequestStats()
        #: Set by the server once bound, e.g. ``http://127.0.0.1:43121``.
        self.base_url = ""
        self.url_map = Map(
            [
                *self.routes(),
                Rule(f"{ADMIN_PREFIX}/stats", endpoint="admin_stats", methods=["GET"]),
                Rule(f"{ADMIN_PREFIX}/faults", endpoint="admin_faults", methods=["POST"]),
            ],
            strict_slashes=False,
            merge_slashes=False,
        )

    # -- to implement per vendor ----------------------------------------------------------

    @classmethod
    def default_api(cls) -> str:
        """The generation served when ``EmulatorConfig.api`` is not given."""
        return cls.api_generations[0] if cls.api_generations else ""

    def routes(self) -> Iterable[Rule]:
        """The vendor's REST routes; each ``endpoint`` names a handler method."""
        raise NotImplementedError

    def authenticate(self, request: Request) -> bool:
        """True if the request carries an accepted credential."""
        raise NotImplementedError

    def client_settings(self) -> VendorSettings:
        """Settings that make our adapter (and the vendor SDK) talk to this emulator."""
        raise NotImplementedError

    def device_spec(self, device_id: str) -> DeviceSpec | None:
        """The device as our vendor adapter reads this emulator's own payload for it.

        The emulated QPU's noise is built from it, so the emulator behaves as the Target a
        client builds from the same payload says. ``None`` (the default): no noise.
        """
        return None

    def noise(self, device_id: str) -> DeviceNoise | None:
        """The noise of a device's jobs: ``None`` for simulators, or when noise is off."""
        if not self.config.noise:
            return None
        with self._noise_lock:
            if device_id not in self._noise:
                spec = self.device_spec(device_id)
                ideal = spec is None or spec.simulator
                self._noise[device_id] = None if ideal or spec is None else DeviceNoise(spec)
            return self._noise[device_id]

    def error_response(self, status: int, message: str, **extra: Any) -> Response:
        """The vendor's error body; default ``{"message": ...}``."""
        return self.json({"message": message, **extra}, status)

    def unauthorized(self, request: Request, *, expired: bool = False) -> Response:
        """Answer for a missing/invalid (or expired) credential."""
        return self.error_response(401, "token expired" if expired else "Unauthorized")

    # -- helpers for handlers -------------------------------------------------------------

    @staticmethod
    def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """A JSON response."""
        return Response(
            json.dumps(data), status=status, mimetype="application/json", headers=headers
        )

    @staticmethod
    def body(request: Request, *, required: bool = True) -> Any:
        """The request's JSON body.

        Raises:
            EmulatorHTTPError: 400 if it is missing (when required) or not JSON.
        """
        raw = request.get_data(cache=True)
        if not raw:
            if required:
                raise EmulatorHTTPError(400, "request body must be JSON")
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise EmulatorHTTPError(400, f"request body is not valid JSON: {exc}") from exc

    # -- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        finally:
            request.close()  # closes uploaded files (form parsing spools them to temp files)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Route one request through faults, auth and the handler."""
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            self.stats.record(request.method, "<unknown>")
            return self.error_response(404, "Not Found")
        except MethodNotAllowed:
            self.stats.record(request.method, "<method not allowed>")
            return self.error_response(405, "Method Not Allowed")
        except HTTPException as exc:  # redirects etc.
            return self.error_response(exc.code or 400, exc.description or "bad request")
        rule = str(endpoint)
        if rule.startswith("admin_"):
            return self._admin(rule, request)
        self.stats.record(request.method, rule)
        if self.faults.config.latency:
            time.sleep(self.faults.config.latency)
        fault = self.faults.draw(request.method, request.path)
        if fault == "latency":
            time.sleep(self.faults.config.latency_spike)
        if fault == "error":
            return self.error_response(self.faults.error_status(), "injected server error")
        if fault == "rate_limit":
            response = self.error_response(429, "Too Many Requests")
            response.headers["Retry-After"] = f"{self.faults.config.retry_after:g}"
            return response
        if fault == "retry_later":
            response = self.error_response(503, "Service Unavailable")
            response.headers["Retry-After"] = f"{self.faults.config.long_retry_after:g}"
            return response
        if fault == "hostile_counts":
            self.jobs.corrupt_next(1)
        if fault == "expired_token" and rule not in self.public_endpoints:
            return self.unauthorized(request, expired=True)
        if rule not in self.public_endpoints and not self.authenticate(request):
            return self.unauthorized(request)
        try:
            response = getattr(self, rule)(request, **args)
        except EmulatorHTTPError as exc:
            response = self.error_response(exc.status, exc.message, **exc.extra)
        except Exception as exc:  # an emulator bug must still answer like a server
            log.exception("%s emulator: handler %s failed", self.vendor, rule)
            response = self.error_response(500, f"Internal Server Error: {exc}")
        if fault == "drop_after":
            _drop_connection(request)
        if fault == "frozen":
            self.faults.hold(self.faults.config.hold_limit)
            _drop_connection(request)
        if fault == "trickle":
            response = self._trickled(response)
        if fault == "malformed" and response.status_code < 300:
            response.set_data(response.get_data()[: max(1, len(response.get_data()) // 2)])
        return response

    def _trickled(self, response: Response) -> Response:
        """The same answer, its body sent one byte per ``trickle_interval``."""
        body = response.get_data()
        interval = self.faults.config.trickle_interval

        def drip() -> Iterator[bytes]:
            for index in range(len(body)):
                yield body[index : index + 1]
                if self.faults.hold(interval):
                    return  # released: the connection ends short of Content-Length

        trickled = Response(
            drip(), status=response.status_code, headers=dict(response.headers),
            direct_passthrough=True,
        )
        trickled.headers["Content-Length"] = str(len(body))
        return trickled

    def _admin(self, rule: str, request: Request) -> Response:
        if rule == "admin_stats":
            return self.json(
                {
                    "requests": self.stats.snapshot(),
                    "jobs_created": self.jobs.created_count,
                    "faults_fired": dict(self.faults.fired),
                }
            )
        body = self.body(request, required=False) or {}
        if not isinstance(body, dict):
            return self.error_response(400, "fault settings must be a JSON object")
        forced = body.pop("force", [])
        try:
            if body or not forced:
                self.faults.configure(FaultConfig.from_dict(body))
            for item in forced:
                self.faults.force(
                    item["kind"],
                    int(item.get("count", 1)),
                    method=item.get("method"),
                    path=item.get("path"),
                )
        except (KeyError, TypeError, ValueError) as exc:
            return self.error_response(400, f"bad fault settings: {exc}")
        return self.json({"faults": dataclasses.asdict(self.faults.config)})


def _drop_connection(request: Request) -> None:
    """Cut the client connection after the request was processed (no reply is sent)."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
