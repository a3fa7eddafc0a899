"""The one HTTP transport every vendor adapter uses.

Responsibilities, all in one place:

* a pooled ``requests.Session`` per adapter, a timeout on every request;
* authentication headers added only for the vendor's own hosts (:meth:`Transport.trust_origin`);
* retries with exponential backoff and jitter, for idempotent requests and for answers that
  prove the server did not act (429, 503), honouring ``Retry-After`` (:class:`RetryPolicy`);
* one token refresh and replay on 401 where the vendor supports it (:class:`Auth.refresh`);
* the current :mod:`~qiskit_multicloud.deadline` on every request: timeouts, retry waits
  and slow bodies never run past it;
* bodies streamed and bounded (:func:`~qiskit_multicloud.decoding.read_body`), JSON decoded
  safely (:func:`~qiskit_multicloud.decoding.loads`);
* translation of ``requests``/``json`` failures into :mod:`~qiskit_multicloud.exceptions`
  (a failed TLS certificate check is :class:`~qiskit_multicloud.exceptions.TLSVerificationError`
  and is never retried);
* logging without secrets (path only, never headers or query strings; urllib3's own DEBUG
  lines are filtered by :class:`QueryStringFilter`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import json
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import urllib3
from requests.adapters import HTTPAdapter

from . import deadline
from .config import Secret, is_loopback_url
from .decoding import MAX_RESPONSE_BYTES, loads, read_body
from .exceptions import (
    AuthenticationError,
    ConfigurationError,
    DeadlineExceededError,
    MalformedResponseError,
    MultiCloudError,
    TLSVerificationError,
    VendorAPIError,
    VendorConnectionError,
)

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "request-id", "x-correlation-id")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before repeating a request.

    Attributes:
        total: retries after the first attempt.
        backoff_factor: first wait in seconds; doubles each retry.
        backoff_cap: longest wait between attempts, seconds.
        jitter: random fraction added to each wait (0.1 = up to +10%).
        statuses: statuses worth retrying for idempotent requests.
        unprocessed_statuses: statuses that prove the server did not act; retried for any method.
        retry_after_cap: longest ``Retry-After`` we honour, seconds.
    """

    total: int = 4
    backoff_factor: float = 0.25
    backoff_cap: float = 8.0
    jitter: float = 0.2
    statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    unprocessed_statuses: frozenset[int] = frozenset({429, 503})
    retry_after_cap: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Wait before retry number ``attempt`` (1-based)."""
        base = min(self.backoff_cap, self.backoff_factor * (2.0 ** (attempt - 1)))
        return float(base * (1.0 + random.uniform(0.0, self.jitter)))

    def should_retry_status(self, status: int, idempotent: bool) -> bool:
        """True if an answer with ``status`` may be repeated."""
        return status in self.unprocessed_statuses or (idempotent and status in self.statuses)

    def retry_after(self, response: requests.Response) -> float | None:
        """Seconds from a ``Retry-After`` header (delta or HTTP date), capped."""
        value = response.headers.get("Retry-After")
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError, OverflowError):
                return None  # e.g. "soon": neither seconds nor an HTTP date; normal backoff
            if parsed is None:  # pragma: no cover - older Pythons returned None
                return None
            seconds = parsed.timestamp() - time.time()
        if seconds != seconds:  # NaN
            return None
        return max(0.0, min(seconds, self.retry_after_cap))


NO_RETRY = RetryPolicy(total=0)

#: A retry is only started if, after its wait, at least this much time is left (seconds).
MIN_ATTEMPT_SECONDS = 0.05


def default_sleep(seconds: float) -> None:
    """How transports wait between retries unless given their own ``sleep``.

    Looked up at call time, so a test suite can replace it in one place.
    """
    time.sleep(seconds)


def _wait(seconds: float) -> None:
    default_sleep(seconds)


class _Watchdog:
    """Mixed into urllib3's connection classes: while a request is sent and its status line
    and headers are read, a timer cuts the socket when the current deadline runs out. Socket
    timeouts are per read, so a server trickling its headers one byte at a time would
    otherwise never be stopped. (The body is bounded by ``decoding.read_body``.)"""

    sock: socket.socket | None
    _timer: threading.Timer | None = None

    def request(self, *args: Any, **kwargs: Any) -> None:
        left = deadline.remaining()
        if left is not None:
            self._timer = threading.Timer(left, self._cut)
            self._timer.daemon = True
            self._timer.start()
        try:
            super().request(*args, **kwargs)  # type: ignore[misc]
        except BaseException:
            self._disarm()
            raise

    def getresponse(self) -> Any:
        try:
            return super().getresponse()  # type: ignore[misc]
        finally:
            self._disarm()

    def _disarm(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def _cut(self) -> None:
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _BoundedHTTPConnection(_Watchdog, urllib3.connection.HTTPConnection):
    """urllib3's HTTP connection with the deadline watchdog."""


class _BoundedHTTPSConnection(_Watchdog, urllib3.connection.HTTPSConnection):
    """urllib3's HTTPS connection with the deadline watchdog."""


class _BoundedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _BoundedHTTPConnection


class _BoundedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _BoundedHTTPSConnection


class _DeadlineAdapter(HTTPAdapter):
    """``requests``' adapter whose pools use the watchdog connections."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _BoundedHTTPPool,
            "https": _BoundedHTTPSPool,
        }


class Auth:
    """Adds credentials to a request. Subclasses override :meth:`headers` and maybe
    :meth:`refresh`."""

    def headers(self) -> dict[str, str]:
        """Headers carrying the credential."""
        return {}

    def refresh(self, transport: Transport) -> bool:
        """Obtain a fresh credential after a 401. Return True if the request may be replayed."""
        return False


class HeaderAuth(Auth):
    """A fixed token in one header, e.g. ``Authorization: Bearer <token>``."""

    def __init__(self, header: str, token: Secret, prefix: str = "") -> None:
        self._header = header
        self._token = token
        self._prefix = prefix

    def headers(self) -> dict[str, str]:
        return {self._header: f"{self._prefix}{self._token.reveal()}"}

    def __repr__(self) -> str:
        return f"HeaderAuth({self._header!r}, ***)"


@dataclasses.dataclass(frozen=True)
class Timeouts:
    """Connect and read timeouts in seconds."""

    connect: float = 10.0
    read: float = 60.0

    def as_tuple(self) -> tuple[float, float]:
        """The ``(connect, read)`` pair ``requests`` expects."""
        return (self.connect, self.read)


#: Options of :func:`encode_json`: numpy scalars and arrays are written as JSON numbers.
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


class DeferredJSON:
    """A value of a request body whose JSON text is made only when the body is encoded:
    :func:`encode_json` writes :meth:`fragment` in its place. A sweep's circuits are made,
    copied into the body and dropped one at a time instead of all existing at once."""

    __slots__ = ()

    def fragment(self) -> orjson.Fragment:
        """The JSON text to write (pre-serialized, embedded verbatim)."""
        raise NotImplementedError


def _deferred(value: Any) -> orjson.Fragment:
    """orjson's ``default`` hook: the text of a :class:`DeferredJSON`; nothing else."""
    if isinstance(value, DeferredJSON):
        return value.fragment()
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def encode_json(body: Any) -> bytes:
    """A request's JSON body as the bytes sent (compact, UTF-8).

    orjson writes floats with the same shortest round-trip digits as ``json``/``repr``, about
    20x faster, which matters for payloads of thousands of angles (IQM circuits, sweeps);
    it also embeds :class:`orjson.Fragment` (JSON written beforehand) verbatim and writes
    numpy numbers, and :class:`DeferredJSON` values as the text they make. It writes NaN and
    infinities as ``null``: circuits with non-finite angles are refused before any body is
    built (``backend.validate``).
    """
    try:
        encoded = orjson.dumps(body, default=_deferred, option=_JSON_OPTIONS)
    except orjson.JSONEncodeError as exc:
        raise MultiCloudError(
            f"the request body cannot be written as JSON ({exc}); pass plain numbers, "
            "strings, lists and dicts"
        ) from exc
    return encoded


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL, lower-cased."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def loggable(url: str) -> str:
    """A URL without its query string (presigned URLs carry signatures there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def error_message_from_body(text: str) -> str | None:
    """Pull the human message out of any vendor's error body.

    Understands ``{"message"}``, FastAPI ``{"detail"}`` (string or list), Flask-Security
    ``{"response": {"errors": [...]}}``, ``{"error": ...}`` and ``{"errors": [...]}``.
    """
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        stripped = text.strip()
        return stripped[:500] or None
    return _message_from(body)


def _message_from(body: Any, depth: int = 0) -> str | None:
    if isinstance(body, str):
        return body or None
    if depth > 8:  # error bodies are shallow; do not follow a hostile nesting
        return None
    if isinstance(body, list):
        parts = [m for m in (_message_from(item, depth + 1) for item in body[:20]) if m]
        return "; ".join(parts) or None
    if not isinstance(body, dict):
        return None
    for key in ("message", "detail", "error_message", "error", "errors", "msg", "title"):
        if key in body:
            found = _message_from(body[key], depth + 1)
            if found:
                return found
    if "response" in body:
        return _message_from(body["response"], depth + 1)
    return None


class Transport:
    """HTTP client for one vendor account.

    Args:
        vendor: vendor key used in error messages (``"oqc"``).
        base_url: prefix for relative paths; its origin is trusted with credentials.
        auth: how to add credentials.
        retry: retry policy for every request.
        timeouts: default connect/read timeouts.
        user_agent: sent on every request.
        sleep: the function used to wait between retries (default :func:`default_sleep`;
            tests pass a recorder).
        session: a ready ``requests.Session`` (tests may pass one).
        pool_size: pooled connections per host.
        max_response_bytes: largest decoded body accepted.
    """

    def __init__(
        self,
        vendor: str,
        base_url: str,
        auth: Auth | None = None,
        *,
        retry: RetryPolicy = RetryPolicy(),
        timeouts: Timeouts = Timeouts(),
        user_agent: str | None = None,
        sleep: Callable[[float], None] | None = None,
        session: requests.Session | None = None,
        pool_size: int = 16,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        if urlsplit(base_url).scheme == "http" and not is_loopback_url(base_url):
            raise ConfigurationError(
                f"{vendor}: refusing plain http to {loggable(base_url)}; "
                "use https (plain http is only allowed for 127.0.0.1/localhost emulators)"
            )
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        self.auth = auth or Auth()
        self.retry = retry
        self.timeouts = timeouts
        self.sleep: Callable[[float], None] = sleep or _wait
        self._trusted = {origin(self.base_url)}
        self._session = session or requests.Session()
        adapter = _DeadlineAdapter(pool_connections=4, pool_maxsize=pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        from .version import __version__

        self._session.headers["User-Agent"] = user_agent or f"qiskit-multicloud/{__version__}"
        self._lock = threading.Lock()
        self.request_count = 0
        #: Largest decoded body accepted (``decoding.MAX_RESPONSE_BYTES`` by default).
        self.max_response_bytes = max_response_bytes

    def __repr__(self) -> str:
        return f"Transport(vendor={self.vendor!r}, base_url={loggable(self.base_url)!r})"

    def trust_origin(self, url: str) -> None:
        """Allow credentials to be sent to ``url``'s origin (a host the vendor itself named)."""
        if urlsplit(url).scheme == "http" and not is_loopback_url(url):
            raise ConfigurationError(
                f"{self.vendor}: vendor named a plain-http host {loggable(url)}; refusing to "
                "send credentials there"
            )
        self._trusted.add(origin(url))

    def url(self, path: str) -> str:
        """Absolute URL for ``path`` (absolute URLs pass through)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    # -- requests -------------------------------------------------------------------------

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return the decoded JSON body (``None`` for an empty body).

        An idempotent request whose body is not JSON (e.g. truncated) is sent again, within
        the retry policy's ``total`` and the current deadline.

        Raises:
            MalformedResponseError: the body is not JSON (or nested too deeply to parse).
        """
        idempotent = kwargs.get("idempotent")
        if idempotent is None:
            idempotent = method.upper() in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            attempt += 1
            response = self.request(method, path, **kwargs)
            if not response.content:
                return None
            where = f"{method.upper()} {urlsplit(response.url).path}"
            try:
                return loads(
                    response.content,
                    vendor=self.vendor,
                    what=f"the {response.status_code} answer to {where}",
                )
            except MalformedResponseError as exc:
                exc.status = response.status_code
                if idempotent and attempt <= self.retry.total:
                    wait = self.retry.backoff(attempt)
                    if self._pause(wait):
                        log.info(
                            "%s %s %s answered an unreadable body; retry %d in %.2fs",
                            self.vendor, method.upper(), loggable(self.url(path)), attempt, wait,
                        )
                        continue
                raise

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        authenticate: bool = True,
        timeouts: Timeouts | None = None,
        ok: Iterable[int] = range(200, 300),
    ) -> requests.Response:
        """Send one logical request, with retries, refresh and error translation.

        The whole exchange (every attempt, every wait, the body) ends by the current
        :mod:`~qiskit_multicloud.deadline`, if any.

        Args:
            method: HTTP method.
            path: path relative to the base URL, or an absolute URL.
            json: JSON body.
            data: raw or form body.
            files: multipart files (``requests`` format).
            params: query parameters.
            headers: extra headers.
            idempotent: whether repeating is harmless; defaults from the method.
            authenticate: add credentials (only ever to trusted origins).
            timeouts: override the default timeouts for this call.
            ok: statuses that count as success.

        Raises:
            AuthenticationError: 401, or 403 on a request the vendor uses for auth checks.
            VendorAPIError: any other non-success status after retries.
            VendorConnectionError: no answer after retries.
            DeadlineExceededError: the current deadline ran out (or no retry could finish
                before it).
            TLSVerificationError: the server's certificate failed verification.
            MalformedResponseError: the body is larger than :attr:`max_response_bytes`.
        """
        method = method.upper()
        url = self.url(path)
        idem = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        ok_statuses = set(ok)
        send_auth = authenticate and origin(url) in self._trusted
        refreshed = False
        attempt = 0
        limits = timeouts or self.timeouts
        base_headers = dict(headers or {})
        if json is not None:
            data = encode_json(json)
            if not any(name.lower() == "content-type" for name in base_headers):
                base_headers["Content-Type"] = "application/json"
        while True:
            attempt += 1
            if deadline.expired():
                raise self._deadline_error(method, url, attempt - 1, "before sending")
            request_headers = dict(base_headers)
            if send_auth:
                request_headers.update(self.auth.headers())
            try:
                with self._lock:
                    self.request_count += 1
                response = self._session.request(
                    method,
                    url,
                    data=data,
                    files=files,
                    params=params,
                    headers=request_headers,
                    timeout=_capped(limits),
                    allow_redirects=False,
                    stream=True,
                )
                read_body(
                    response,
                    vendor=self.vendor,
                    where=f"{method} {loggable(url)}",
                    limit=self.max_response_bytes,
                )
            except requests.RequestException as exc:
                if _tls_verification_failed(exc):
                    raise self._tls_error(url, exc) from exc
                if deadline.expired():
                    raise self._deadline_error(method, url, attempt, type(exc).__name__) from exc
                never_sent = isinstance(exc, requests.ConnectTimeout) or _refused(exc)
                if (idem or never_sent) and attempt <= self.retry.total:
                    wait = self.retry.backoff(attempt)
                    if not self._pause(wait):
                        raise self._deadline_error(
                            method, url, attempt, f"{type(exc).__name__}; no time for a retry"
                        ) from exc
                    log.info(
                        "%s %s %s failed (%s); retried %d after %.2fs",
                        self.vendor,
                        method,
                        loggable(url),
                        type(exc).__name__,
                        attempt,
                        wait,
                    )
                    continue
                raise VendorConnectionError(
                    f"{self.vendor}: {method} {loggable(url)} got no answer "
                    f"({type(exc).__name__}) after {attempt} attempt(s); check the URL and "
                    "your network, then try again",
                    vendor=self.vendor,
                ) from exc
            log.debug("%s %s %s -> %d", self.vendor, method, loggable(url), response.status_code)
            status = response.status_code
            if status in ok_statuses:
                return response
            if status == 401 and send_auth and not refreshed and self.auth.refresh(self):
                refreshed = True
                continue
            if self.retry.should_retry_status(status, idem) and attempt <= self.retry.total:
                hinted = self.retry.retry_after(response)
                wait = self.retry.backoff(attempt) if hinted is None else hinted
                if not self._pause(wait):
                    raise self._deadline_error(
                        method,
                        url,
                        attempt,
                        f"HTTP {status}, retry asked after {wait:.1f}s",
                        status=status,
                    )
                log.info(
                    "%s %s %s -> %d; retried %d after %.2fs",
                    self.vendor,
                    method,
                    loggable(url),
                    status,
                    attempt,
                    wait,
                )
                continue
            raise self._error(method, url, response)

    def _pause(self, wait: float) -> bool:
        """Sleep ``wait`` seconds before a retry, unless the retry could not finish in time.

        Returns False (without sleeping) when the current deadline leaves less than ``wait``
        plus a minimal attempt (:data:`MIN_ATTEMPT_SECONDS`).
        """
        left = deadline.remaining()
        if left is not None and wait + MIN_ATTEMPT_SECONDS >= left:
            return False
        self.sleep(wait)
        return True

    def _deadline_error(
        self, method: str, url: str, attempts: int, last: str, *, status: int | None = None
    ) -> DeadlineExceededError:
        current = deadline.current_deadline()
        bound = f" of {current.seconds:g}s" if current and current.seconds is not None else ""
        return DeadlineExceededError(
            f"{self.vendor}: {method} {loggable(url)} did not complete within the time "
            f"bound{bound} ({attempts} attempt(s), last: {last}); the server is slow or not "
            "answering. Try again later or allow more time (job.result(timeout=...), the "
            "submit_timeout run option)",
            vendor=self.vendor,
            status=status,
        )

    def _tls_error(self, url: str, exc: requests.RequestException) -> TLSVerificationError:
        reason = str(exc.__context__ or exc)
        found = re.search(r"certificate verify failed: ([^(\)\]'\"]+)", str(exc))
        if found:
            reason = found.group(1).strip()
        return TLSVerificationError(
            f"{self.vendor}: the TLS certificate of {origin(url)} failed verification "
            f"({reason[:200]}); nothing was sent to it and it is not retried. Check the URL "
            "and the system clock; behind a proxy that re-signs HTTPS, or for a private CA, "
            "set REQUESTS_CA_BUNDLE to that CA's certificate file. Do not disable "
            "verification",
            vendor=self.vendor,
        )

    def _error(self, method: str, url: str, response: requests.Response) -> VendorAPIError:
        status = response.status_code
        vendor_message = error_message_from_body(response.text)
        request_id = next(
            (response.headers[h] for h in REQUEST_ID_HEADERS if h in response.headers), None
        )
        where = f"{method} {urlsplit(url).path}"
        detail = f": {vendor_message}" if vendor_message else ""
        if status == 401:
            return AuthenticationError(
                f"{self.vendor}: credentials rejected (HTTP 401 on {where}){detail}. Check the "
                "token/API key for this vendor (see the vendor page of the docs) and that it "
                "has not expired",
                vendor=self.vendor,
                status=status,
            )
        hint = {
            403: "your account may not use this resource",
            404: "the id does not exist for this account",
            413: "the request is too large; submit fewer or smaller circuits",
            429: "rate limited; wait and try again",
        }.get(status, "the vendor service reported an error")
        return VendorAPIError(
            f"{self.vendor}: {where} failed with HTTP {status}{detail} ({hint})",
            vendor=self.vendor,
            status=status,
            vendor_message=vendor_message,
            request_id=request_id,
        )


def _capped(limits: Timeouts) -> tuple[float, float]:
    """``(connect, read)`` timeouts cut to the time left under the current deadline."""
    return (
        max(deadline.cap(limits.connect), deadline.MIN_TIMEOUT),
        max(deadline.cap(limits.read), deadline.MIN_TIMEOUT),
    )


def _tls_verification_failed(exc: requests.RequestException) -> bool:
    """True when the server's certificate (or host name) failed verification."""
    if not isinstance(exc, requests.exceptions.SSLError):
        return False
    text = f"{exc!r} {exc.__context__!r}"
    return any(
        marker in text
        for marker in ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed",
                       "SSLCertVerificationError", "doesn't match", "Hostname mismatch")
    )


class QueryStringFilter(logging.Filter):
    """Strips query strings from URLs in log records (urllib3 logs full request URLs, and
    presigned URLs carry their signature in the query string)."""

    _QUERY = re.compile(r"(?P<path>(?:https?://|/)[^\s\"'?]*)\?[^\s\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg = self._QUERY.sub(r"\g<path>", message)
            record.args = ()
        return True


def install_log_filter() -> None:
    """Attach :class:`QueryStringFilter` to urllib3's connection-pool logger (once)."""
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, QueryStringFilter) for f in logger.filters):
        logger.addFilter(QueryStringFilter())


install_log_filter()


def _refused(exc: requests.RequestException) -> bool:
    """True when the connection was refused, i.e. the request never reached a server."""
    text = repr(exc)
    return isinstance(exc, requests.ConnectionError) and (
        "NewConnectionError" in text or "Connection refused" in text
    )
