"""Credentials and entry URL for OQC QCaaS.

Resolution order: explicit arguments > environment variables. The official sync client
(``oqc-qcaas-client``) reads no environment variables and no files: its constructor takes
``url`` and either ``authentication_token`` or ``email`` + ``password``. We read:

========================  ====================================================
``OQC_URL``               entry URL (default ``https://cloud.oqc.app``)
``OQC_AUTH_TOKEN``        access token (``OQC_TOKEN`` is accepted as an alias)
``OQC_EMAIL``             account e-mail for the login flow
``OQC_PASSWORD``          account password for the login flow
``OQC_QCAAS_V4``          truthy (``1``/``true``/``yes``): speak the v4 gateway API
``OQC_ENTRA_ENABLED``     same as ``OQC_QCAAS_V4`` (the SDK's older name)
========================  ====================================================

The two v4 switches are the ones ``oqc-qcaas-sdk`` reads; an explicit ``api="v4"`` (or
``"v3"``) setting wins over them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Self

from ...config import Secret, VendorSettings, as_secret, clean_url, env
from ...exceptions import ConfigurationError

DEFAULT_URL = "https://cloud.oqc.app"

ENV_URL = "OQC_URL"
ENV_TOKEN = "OQC_AUTH_TOKEN"
ENV_TOKEN_ALIAS = "OQC_TOKEN"
ENV_EMAIL = "OQC_EMAIL"
ENV_PASSWORD = "OQC_PASSWORD"
ENV_V4 = ("OQC_QCAAS_V4", "OQC_ENTRA_ENABLED")
#: Values of the v4 switches that count as "on" (as in oqc-qcaas-sdk).
TRUTHY = ("1", "true", "yes")
API_GENERATIONS = ("v3", "v4")


def v4_from_environment() -> bool:
    """True when ``OQC_QCAAS_V4`` or ``OQC_ENTRA_ENABLED`` is truthy (the SDK's rule)."""
    return any((env(name) or "").lower() in TRUTHY for name in ENV_V4)


@dataclasses.dataclass(frozen=True, repr=False)
class OQCSettings(VendorSettings):
    """How to reach one OQC QCaaS account.

    Attributes:
        url: entry URL (identity/admin service), e.g. ``https://cloud.oqc.app``.
        token: access token sent as ``Authentication-Token``.
        email: account e-mail, for the email/password login flow.
        password: account password, for the login flow.
        api: API generation, ``"v3"`` (entry URL + per-QPU task URLs) or ``"v4"`` (one
            gateway base URL); ``None`` reads ``OQC_QCAAS_V4`` / ``OQC_ENTRA_ENABLED``.
    """

    vendor = "oqc"
    token: Secret | None = None
    email: str | None = None
    password: Secret | None = None
    api: str | None = None

    def __post_init__(self) -> None:
        api = (self.api or ("v4" if v4_from_environment() else "v3")).strip().lower()
        if api not in API_GENERATIONS:
            raise ConfigurationError(
                f"oqc: api must be one of {', '.join(API_GENERATIONS)}, not {self.api!r}"
            )
        object.__setattr__(self, "api", api)
        # Plain strings passed directly are wrapped, so they never show in repr().
        for name in ("token", "password"):
            value = getattr(self, name)
            if not isinstance(value, Secret | None):
                object.__setattr__(self, name, as_secret(str(value)))
        has_login = bool(self.email or self.password)
        if self.token and has_login:
            raise ConfigurationError(
                "oqc: give either a token or email+password, not both "
                f"(check {ENV_TOKEN} / {ENV_EMAIL} / {ENV_PASSWORD})"
            )
        if has_login and not (self.email and self.password):
            missing = "password" if self.email else "email"
            raise ConfigurationError(
                f"oqc: email/password login needs both values; {missing} is missing "
                f"(pass {missing}=... or set {ENV_EMAIL if missing == 'email' else ENV_PASSWORD})"
            )
        if not self.token and not has_login:
            raise ConfigurationError(
                f"oqc: no credentials; pass token=... (or set {ENV_TOKEN}), or "
                f"email=... and password=... (or set {ENV_EMAIL} and {ENV_PASSWORD})"
            )
        if api == "v4" and not self.token:
            raise ConfigurationError(
                "oqc: the v4 gateway takes a token (sent as Authentication-Token, or as "
                f"'Authorization: Bearer' when it is a JWT); pass token=... (or set {ENV_TOKEN})"
                ", or use api='v3' for the email/password login"
            )

    @property
    def uses_login(self) -> bool:
        """True when the token must be obtained by logging in with email/password."""
        return self.token is None

    @classmethod
    def resolve(cls, **explicit: Any) -> Self | None:
        """Settings from explicit arguments, else ``OQC_*`` environment variables.

        Args:
            explicit: any of ``url``, ``token``, ``email``, ``password``, ``api``.

        Returns:
            The settings, or ``None`` when nothing OQC-related is configured.

        Raises:
            ConfigurationError: unknown argument, half-configured credentials, token and
                email/password together, or a bad URL.
        """
        known = {"url", "token", "email", "password", "api", "source"}
        unknown = sorted(set(explicit) - known)
        if unknown:
            raise ConfigurationError(
                f"oqc: unknown setting(s) {', '.join(unknown)}; use url, token, email, "
                "password, api"
            )
        given = {
            k: v for k, v in explicit.items() if v not in (None, "") and k not in ("source", "api")
        }
        if given:
            source = str(explicit.get("source") or "arguments")
            values: dict[str, Any] = dict(given)
        else:
            values = {
                "url": env(ENV_URL),
                "token": env(ENV_TOKEN) or env(ENV_TOKEN_ALIAS),
                "email": env(ENV_EMAIL),
                "password": env(ENV_PASSWORD),
            }
            values = {k: v for k, v in values.items() if v}
            source = "environment"
            if not values:
                return None
        url = clean_url(str(values.get("url") or DEFAULT_URL), vendor="oqc")
        email = values.get("email")
        return cls(
            url=url,
            source=source,
            token=as_secret(values.get("token")),
            email=str(email).strip() if email else None,
            password=as_secret(values.get("password")),
            api=str(explicit["api"]) if explicit.get("api") else None,
        )
