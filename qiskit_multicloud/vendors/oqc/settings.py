"""Credentials and entry URL for OQC QCaaS.

Resolution order: explicit arguments > environment variables. The official sync client
(``oqc-qcaas-client``) reads no environment variables and no files: its constructor takes
``url`` and either ``authentication_token`` or ``email`` + ``password``. We read:

========================  ====================================================
``OQC_URL``               entry URL (default ``https://cloud.oqc.app``)
``OQC_AUTH_TOKEN``        access token (``OQC_TOKEN`` is accepted as an alias)
``OQC_EMAIL``             account e-mail for the login flow
``OQC_PASSWORD``          account password for the login flow
========================  ====================================================
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


@dataclasses.dataclass(frozen=True, repr=False)
class OQCSettings(VendorSettings):
    """How to reach one OQC QCaaS account.

    Attributes:
        url: entry URL (identity/admin service), e.g. ``https://cloud.oqc.app``.
        token: access token sent as ``Authentication-Token``.
        email: account e-mail, for the email/password login flow.
        password: account password, for the login flow.
    """

    vendor = "oqc"
    token: Secret | None = None
    email: str | None = None
    password: Secret | None = None

    def __post_init__(self) -> None:
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

    @property
    def uses_login(self) -> bool:
        """True when the token must be obtained by logging in with email/password."""
        return self.token is None

    @classmethod
    def resolve(cls, **explicit: Any) -> Self | None:
        """Settings from explicit arguments, else ``OQC_*`` environment variables.

        Args:
            explicit: any of ``url``, ``token``, ``email``, ``password``.

        Returns:
            The settings, or ``None`` when nothing OQC-related is configured.

        Raises:
            ConfigurationError: unknown argument, half-configured credentials, token and
                email/password together, or a bad URL.
        """
        known = {"url", "token", "email", "password", "source"}
        unknown = sorted(set(explicit) - known)
        if unknown:
            raise ConfigurationError(
                f"oqc: unknown setting(s) {', '.join(unknown)}; use url, token, email, password"
            )
        given = {k: v for k, v in explicit.items() if v not in (None, "") and k != "source"}
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
        )
