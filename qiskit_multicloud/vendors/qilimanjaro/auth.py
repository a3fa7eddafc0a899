"""Login and token refresh for Qilimanjaro QaaS (username + API key -> JWT access token).

The API key is exchanged lazily, on the first authenticated request, for an access token and
a refresh token (``POST /authorisation-tokens``). On a 401 the transport calls
:meth:`QilimanjaroAuth.refresh` once: it asks ``/authorisation-tokens/refresh`` for a new
access token and, if that fails, logs in again. Tokens are kept as :class:`Secret` values and
never appear in ``repr``, logs or error messages.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ...cache import AccountCache
from ...config import Secret
from ...decoding import loads
from ...exceptions import AuthenticationError, MalformedResponseError, VendorAPIError
from ...transport import Auth, Transport
from .settings import VENDOR, QilimanjaroSettings

log = logging.getLogger(__name__)

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "user profile"
LOGIN_PATH = "authorisation-tokens"
REFRESH_PATH = "authorisation-tokens/refresh"
CLIENT_VERSION_HEADER = "X-Client-Version"
#: ``X-Client-Version`` carries the version of Qilimanjaro's own client (qiboconnection)
#: whose protocol we speak, in its numeric form: the service reads this header as a
#: qiboconnection release and may refuse versions below a minimum, so a project string
#: such as ``qiskit-multicloud/0.1`` would risk refusal. Our identity travels in
#: ``User-Agent`` instead (``qiskit-multicloud/<version> (qilimanjaro)``).
CLIENT_VERSION = "0.23.2"


def login_assertion(settings: QilimanjaroSettings, now: Callable[[], float] = time.time) -> str:
    """The base64url (padded) JSON assertion carrying username and API key (not signed)."""
    assert settings.api_key is not None
    document = {
        "user_id": None,
        "username": settings.username,
        "api_key": settings.api_key.reveal(),
        "audience": settings.audience_root,
        "iat": int(now()),
    }
    text = json.dumps(document, indent=2)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")


def jwt_claims(token: str) -> dict[str, Any]:
    """The (unverified) payload of a JWT.

    Raises:
        MalformedResponseError: the token is not a JWT with a JSON-object payload.
    """
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not three segments")
        segment = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = loads(
            base64.urlsafe_b64decode(segment.encode("ascii")), vendor=VENDOR, what="token"
        )
    except (ValueError, binascii.Error, UnicodeError, MalformedResponseError) as exc:
        raise MalformedResponseError(
            f"{VENDOR}: the access token from the login is not a readable JWT", vendor=VENDOR
        ) from exc
    if not isinstance(claims, dict):
        raise MalformedResponseError(
            f"{VENDOR}: the access token's payload is not a JSON object", vendor=VENDOR
        )
    return claims


class QilimanjaroAuth(Auth):
    """Bearer access token obtained from username + API key, refreshed on 401.

    Args:
        settings: the account settings (username and API key).
        transport: set by :meth:`bind`; used for the lazy login.
    """

    def __init__(self, settings: QilimanjaroSettings) -> None:
        self._settings = settings
        self._transport: Transport | None = None
        self._access: Secret | None = None
        self._refresh: Secret | None = None
        self._user_id: int | None = None
        self._lock = threading.RLock()
        #: The on-disk cache for the access token (set by the adapter), or None.
        self.cache: AccountCache | None = None
        #: Counters for tests and diagnostics.
        self.logins = 0
        self.refreshes = 0

    def __repr__(self) -> str:
        state = "logged in" if self._access is not None else "not logged in"
        return f"QilimanjaroAuth(username={self._settings.username!r}, {state})"

    def bind(self, transport: Transport) -> None:
        """Remember the transport used for login and refresh."""
        self._transport = transport

    @property
    def user_id(self) -> int:
        """The ``user_id`` claim of the access token (logs in if needed)."""
        self._ensure()
        assert self._user_id is not None
        return self._user_id

    # -- Auth hooks -------------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        self._ensure()
        assert self._access is not None
        return {
            "Authorization": f"Bearer {self._access.reveal()}",
            CLIENT_VERSION_HEADER: CLIENT_VERSION,
        }

    def refresh(self, transport: Transport) -> bool:
        """Get a new access token with the refresh token; log in again if that fails."""
        with self._lock:
            self.refreshes += 1
            if self.cache is not None:
                self.cache.drop("token")
            if self._refresh is not None:
                try:
                    body = transport.json(
                        "POST",
                        REFRESH_PATH,
                        json={},
                        headers={
                            "Authorization": f"Bearer {self._refresh.reveal()}",
                            CLIENT_VERSION_HEADER: CLIENT_VERSION,
                        },
                        authenticate=False,
                        idempotent=True,
                        ok=(200, 201),
                    )
                    self._store(body, keep_refresh=True)
                    log.info("%s: access token refreshed", VENDOR)
                    return True
                except (AuthenticationError, VendorAPIError) as exc:
                    log.info("%s: token refresh failed (%s); logging in again", VENDOR,
                             type(exc).__name__)
            self._login(transport)
            return True

    # -- internals --------------------------------------------------------------------------

    def _ensure(self) -> None:
        if self._access is not None:
            return
        with self._lock:
            if self._access is None and self._from_cache():
                return
            if self._access is None:
                if self._transport is None:
                    raise AuthenticationError(
                        f"{VENDOR}: not connected (auth not bound to a transport)", vendor=VENDOR
                    )
                self._login(self._transport)

    def _from_cache(self) -> bool:
        """Use a cached access token of this account; False if there is none."""
        record = self.cache.load_token() if self.cache is not None else None
        if record is None:
            return False
        try:
            claims = jwt_claims(record["token"])
        except MalformedResponseError:
            return False
        user_id = claims.get("user_id")
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            return False
        self._access, self._user_id = Secret(record["token"]), user_id
        log.info("%s: reusing the cached access token", VENDOR)
        return True

    def _login(self, transport: Transport) -> None:
        self.logins += 1
        body = {
            "grantType": GRANT_TYPE,
            "assertion": login_assertion(self._settings),
            "scope": SCOPE,
        }
        try:
            answer = transport.json(
                "POST",
                LOGIN_PATH,
                json=body,
                headers={CLIENT_VERSION_HEADER: CLIENT_VERSION},
                authenticate=False,
                idempotent=True,
                ok=(200, 201),
            )
        except AuthenticationError:
            raise
        except VendorAPIError as exc:
            if exc.status in (400, 403, 404, 422):
                detail = f": {exc.vendor_message}" if exc.vendor_message else ""
                raise AuthenticationError(
                    f"{VENDOR}: login as {self._settings.username!r} was refused (HTTP "
                    f"{exc.status}){detail}. Check QILIMANJARO_USERNAME / QILIMANJARO_API_KEY",
                    vendor=VENDOR,
                    status=exc.status,
                ) from exc
            raise
        self._store(answer, keep_refresh=False)
        log.info("%s: logged in as %r (user id %s)", VENDOR, self._settings.username,
                 self._user_id)

    def _store(self, answer: Any, *, keep_refresh: bool) -> None:
        if not isinstance(answer, dict) or not isinstance(answer.get("accessToken"), str):
            raise MalformedResponseError(
                f"{VENDOR}: token answer lacks the string field 'accessToken'", vendor=VENDOR
            )
        claims = jwt_claims(answer["accessToken"])
        user_id = claims.get("user_id")
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise MalformedResponseError(
                f"{VENDOR}: the access token has no integer 'user_id' claim", vendor=VENDOR
            )
        self._access = Secret(answer["accessToken"])
        self._user_id = user_id
        if self.cache is not None:
            expires = claims.get("exp")
            expires_at = float(expires) if isinstance(expires, int | float) else None
            self.cache.store_token(answer["accessToken"], expires_at)
        refresh = answer.get("refreshToken")
        if not keep_refresh or self._refresh is None:
            self._refresh = Secret(refresh) if isinstance(refresh, str) and refresh else None
