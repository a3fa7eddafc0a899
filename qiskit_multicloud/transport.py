"""The one HTTP transport every vendor adapter uses.

Responsibilities, all in one place:

* a pooled ``requests.Session`` per adapter, a timeout on every request;
* authentication headers added only for the vendor's own hosts (:meth:`Transport.trust_origin`);
* retries with exponential backoff and jitter, for idempotent requests and for answers that
  prove the server did not act (429, 503), honouring ``Retry-After`` (:class:`RetryPolicy`);
* one token refresh and replay on 401 where the vendor supports it (:class:`Auth.refresh`);
* translation of ``requests``/``json`` failures into :mod:`~qiskit_multicloud.exceptions`;
* logging without secrets (path only, never headers or query strings).
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from .config import Secret, is_loopback_url
from .exceptions import (
    AuthenticationError,
    ConfigurationError,
    MalformedResponseError,
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
            parsed = email.utils.parsedate_to_datetime(value)
            if parsed is None:  # pragma: no cover - defensive, parsedate raises instead
                return None
            seconds = parsed.timestamp() - time.time()
        return max(0.0, min(seconds, self.retry_after_cap))


NO_RETRY = RetryPolicy(total=0)


def default_sleep(seconds: float) -> None:
    """How transports wait between retries unless given their own ``sleep``.

    Looked up at call time, so a test suite can replace it in one place.
    """
    time.sleep(seconds)


def _wait(seconds: float) -> None:
    default_sleep(seconds)


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
    except ValueError:
        stripped = text.strip()
        return stripped[:500] or None
    return _message_from(body)


def _message_from(body: Any) -> str | None:
    if isinstance(body, str):
        return body or None
    if isinstance(body, list):
        parts = [m for m in (_message_from(item) for item in body) if m]
        return "; ".join(parts) or None
    if not isinstance(body, dict):
        return None
    for key in ("message", "detail", "error_message", "error", "errors", "msg", "title"):
        if key in body:
            found = _message_from(body[key])
            if found:
                return found
    if "response" in body:
        return _message_from(body["response"])
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
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        from .version import __version__

        self._session.headers["User-Agent"] = user_agent or f"qiskit-multicloud/{__version__}"
        self._lock = threading.Lock()
        self.request_count = 0

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
        the retry policy's ``total``.

        Raises:
            MalformedResponseError: the body is not JSON.
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
            try:
                return response.json()
            except ValueError as exc:
                if idempotent and attempt <= self.retry.total:
                    wait = self.retry.backoff(attempt)
                    log.info(
                        "%s %s %s answered an unreadable body; retry %d in %.2fs",
                        self.vendor, method.upper(), loggable(self.url(path)), attempt, wait,
                    )
                    self.sleep(wait)
                    continue
                error = exc
                break
        raise MalformedResponseError(
            f"{self.vendor}: {method} {urlsplit(response.url).path} answered "
            f"{response.status_code} with a body that is not JSON "
            f"({response.content[:80]!r}...)",
            vendor=self.vendor,
            status=response.status_code,
        ) from error

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
        """
        method = method.upper()
        url = self.url(path)
        idem = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        ok_statuses = set(ok)
        send_auth = authenticate and origin(url) in self._trusted
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            request_headers = dict(headers or {})
            if send_auth:
                request_headers.update(self.auth.headers())
            try:
                with self._lock:
                    self.request_count += 1
                response = self._session.request(
                    method,
                    url,
                    json=json,
                    data=data,
                    files=files,
                    params=params,
                    headers=request_headers,
                    timeout=(timeouts or self.timeouts).as_tuple(),
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                never_sent = isinstance(exc, requests.ConnectTimeout) or _refused(exc)
                if (idem or never_sent) and attempt <= self.retry.total:
                    wait = self.retry.backoff(attempt)
                    log.info(
                        "%s %s %s failed (%s); retry %d in %.2fs",
                        self.vendor,
                        method,
                        loggable(url),
                        type(exc).__name__,
                        attempt,
                        wait,
                    )
                    self.sleep(wait)
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
                log.info(
                    "%s %s %s -> %d; retry %d in %.2fs",
                    self.vendor,
                    method,
                    loggable(url),
                    status,
                    attempt,
                    wait,
                )
                self.sleep(wait)
                continue
            raise self._error(method, url, response)

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


def _refused(exc: requests.RequestException) -> bool:
    """True when the connection was refused, i.e. the request never reached a server."""
    text = repr(exc)
    return isinstance(exc, requests.ConnectionError) and (
        "NewConnectionError" in text or "Connection refused" in text
    )
