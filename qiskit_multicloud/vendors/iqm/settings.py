"""IQM credentials: server URL, bearer token or tokens file, optional quantum computer alias.

Resolution order (as iqm-client 36 reads them): explicit arguments > environment variables
(``IQM_SERVER_URL``, ``IQM_QUANTUM_COMPUTER``, ``IQM_TOKEN``, ``IQM_TOKENS_FILE``) > nothing.
IQM has no configuration file of its own; the only file is the *tokens file* written by IQM's
CLI (a JSON object with at least ``access_token``), which is re-read whenever its token is
about to expire.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self
from urllib.parse import urlsplit

from ...config import Secret, VendorSettings, as_secret, clean_url, env
from ...exceptions import AuthenticationError, ConfigurationError
from ...transport import Auth, HeaderAuth

if TYPE_CHECKING:
    from ...transport import Transport

#: Environment variables read by iqm-client 36 (``IQM_URL`` is accepted as a fallback).
ENV_URL = ("IQM_SERVER_URL", "IQM_URL")
ENV_QC = "IQM_QUANTUM_COMPUTER"
ENV_TOKEN = "IQM_TOKEN"
ENV_TOKENS_FILE = "IQM_TOKENS_FILE"

#: Seconds of remaining validity below which a tokens-file token is re-read.
REFRESH_MARGIN = 60.0


def check_server_url(url: str) -> str:
    """Validate an IQM server root URL the way the SDK does.

    Raises:
        ConfigurationError: not http(s), carries a path (old CoCoS-style URL with the QC
            name in it), or points at a ``cocos.`` host.
    """
    cleaned = clean_url(url, vendor="iqm")
    parts = urlsplit(cleaned)
    if parts.path.strip("/"):
        raise ConfigurationError(
            f"iqm: url {cleaned!r} has a path; give only the server root, e.g. "
            "'https://resonance.iqm.tech', and pick the quantum computer with "
            "quantum_computer= (or IQM_QUANTUM_COMPUTER)"
        )
    if (parts.hostname or "").startswith("cocos."):
        raise ConfigurationError(
            f"iqm: url {cleaned!r} is an old CoCoS address; use the IQM Server root URL, "
            "e.g. 'https://resonance.iqm.tech'"
        )
    return cleaned


@dataclasses.dataclass(frozen=True, repr=False)
class IQMSettings(VendorSettings):
    """Settings for one IQM Server (IQM Resonance or on-premises).

    Attributes:
        url: server root, e.g. ``https://resonance.iqm.tech`` (no path).
        token: API token sent as ``Authorization: Bearer <token>``.
        tokens_file: path of a tokens file (JSON with ``access_token``) kept fresh by
            IQM's CLI; used instead of ``token``.
        quantum_computer: restrict discovery to this QC alias (default: all the account sees).
    """

    vendor: ClassVar[str] = "iqm"
    token: Secret | None = None
    tokens_file: str | None = None
    quantum_computer: str | None = None

    @classmethod
    def resolve(cls, **explicit: Any) -> Self | None:
        """Explicit arguments > environment variables.

        Returns:
            The settings, or ``None`` when neither a URL nor a credential is configured.

        Raises:
            ConfigurationError: a credential without a URL, both a token and a tokens file,
                a missing tokens file, or a malformed URL.
        """
        unknown = set(explicit) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigurationError(
                f"iqm: unknown setting(s) {sorted(unknown)}; use url, token, tokens_file, "
                "quantum_computer"
            )
        source = "arguments"
        url = explicit.get("url") or None
        if url is None:
            url = next((v for v in (env(n) for n in ENV_URL) if v), None)
            source = "environment" if url else source
        token = as_secret(explicit.get("token"))
        tokens_file = explicit.get("tokens_file") or None
        if token is None and tokens_file is None:
            token = as_secret(env(ENV_TOKEN))
            tokens_file = env(ENV_TOKENS_FILE)
            if token is not None or tokens_file is not None:
                source = "environment" if "url" not in explicit else "arguments+environment"
        qc = explicit.get("quantum_computer") or env(ENV_QC)
        if url is None and token is None and tokens_file is None:
            return None
        if url is None:
            raise ConfigurationError(
                "iqm: a token is configured but no server URL; pass url= or set "
                "IQM_SERVER_URL (e.g. https://resonance.iqm.tech)"
            )
        if token is not None and tokens_file is not None:
            raise ConfigurationError(
                "iqm: both a token and a tokens file are configured; give only one "
                "(token= / IQM_TOKEN or tokens_file= / IQM_TOKENS_FILE)"
            )
        if tokens_file is not None and not Path(str(tokens_file)).expanduser().is_file():
            raise ConfigurationError(
                f"iqm: tokens file {tokens_file!r} does not exist; run IQM's CLI to create "
                "it or pass token= instead"
            )
        return cls(
            url=check_server_url(str(url)),
            token=token,
            tokens_file=str(tokens_file) if tokens_file is not None else None,
            quantum_computer=str(qc) if qc else None,
            source=source if explicit.get("source") is None else str(explicit["source"]),
        )

    def auth(self) -> Auth:
        """The request authenticator these settings call for."""
        if self.tokens_file is not None:
            return TokensFileAuth(Path(self.tokens_file).expanduser())
        if self.token is not None:
            return HeaderAuth("Authorization", self.token, prefix="Bearer ")
        return Auth()


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (not verified), or ``None`` if it is not a readable JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except ValueError:
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) else None


class TokensFileAuth(Auth):
    """Bearer token read from IQM's tokens file, re-read when it nears expiry or after a 401."""

    def __init__(self, path: Path, clock: Any = time.time) -> None:
        self._path = path
        self._clock = clock
        self._token: Secret | None = None
        self._expiry: float | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TokensFileAuth({str(self._path)!r})"

    def _read(self) -> Secret:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AuthenticationError(
                f"iqm: cannot read tokens file {str(self._path)!r} ({type(exc).__name__}); "
                "refresh it with IQM's CLI",
                vendor="iqm",
            ) from exc
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthenticationError(
                f"iqm: tokens file {str(self._path)!r} has no access_token; refresh it with "
                "IQM's CLI",
                vendor="iqm",
            )
        expiry = jwt_expiry(token)
        if expiry is not None and expiry <= self._clock():
            raise AuthenticationError(
                f"iqm: the token in {str(self._path)!r} has expired; refresh it with IQM's CLI",
                vendor="iqm",
            )
        self._expiry = expiry
        return Secret(token)

    def headers(self) -> dict[str, str]:
        with self._lock:
            stale = self._expiry is not None and self._expiry - self._clock() < REFRESH_MARGIN
            if self._token is None or stale:
                self._token = self._read()
            return {"Authorization": f"Bearer {self._token.reveal()}"}

    def refresh(self, transport: Transport) -> bool:
        with self._lock:
            old = self._token
            try:
                self._token = self._read()
            except AuthenticationError:
                return False
            return self._token != old
