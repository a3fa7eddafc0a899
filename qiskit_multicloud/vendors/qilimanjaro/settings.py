"""Credentials and service root for Qilimanjaro QaaS (qiboconnection generation).

Resolution order: explicit arguments > environment variables. The vendor SDK
(``qiboconnection``) keeps **no configuration files and no credential cache**: username and
API key are passed in code every time, and the service root comes from the environment
(``QUANTUM_SERVICE_URL``, else the named environment in ``QIBOCONNECTION_ENVIRONMENT``). We
read the same variables, plus ``QILIMANJARO_USERNAME`` / ``QILIMANJARO_API_KEY`` for the
credentials.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Self

from ...config import Secret, VendorSettings, as_secret, clean_url, env
from ...exceptions import ConfigurationError

VENDOR = "qilimanjaro"

#: Production service root (what the vendor's newer clients default to).
DEFAULT_URL = "https://pro-api.qaas.qilimanjaro.tech"

#: Named environments of qiboconnection 0.23 (``QIBOCONNECTION_ENVIRONMENT``): service root
#: and audience root.
NAMED_ENVIRONMENTS: dict[str, tuple[str, str]] = {
    "local": ("http://localhost:8080", "http://nginx:8080"),
    "staging": (
        "https://qilimanjaroqaas.ddns.net:8080",
        "https://qilimanjaroqaas.ddns.net:8080",
    ),
    "development": (
        "https://qilimanjarodev.ddns.net:8080",
        "https://qilimanjarodev.ddns.net:8080",
    ),
}

ENV_URL = "QUANTUM_SERVICE_URL"
ENV_AUDIENCE = "AUDIENCE_URL"
ENV_ENVIRONMENT = "QIBOCONNECTION_ENVIRONMENT"
ENV_USERNAME = "QILIMANJARO_USERNAME"
ENV_API_KEY = "QILIMANJARO_API_KEY"


@dataclasses.dataclass(frozen=True, repr=False)
class QilimanjaroSettings(VendorSettings):
    """How to reach one Qilimanjaro QaaS account.

    Attributes:
        url: service root (scheme, host, port; no ``/api/v1``).
        username: the account name.
        api_key: the account's API key (exchanged for access/refresh tokens at login).
        audience: audience root used in the login assertion (default: ``url``).
        simulator_qubits: qubits assumed for a simulator that does not publish a count.
        max_circuits: circuits per vendor job (``None`` = all circuits of a run in one job).
    """

    vendor = VENDOR
    url: str = DEFAULT_URL
    username: str = ""
    api_key: Secret | None = None
    audience: str = ""
    simulator_qubits: int = 25
    max_circuits: int | None = None

    @property
    def api_root(self) -> str:
        """The REST prefix, ``<url>/api/v1``."""
        return f"{self.url}/api/v1"

    @property
    def audience_root(self) -> str:
        """Audience root + ``/api/v1``, as put in the login assertion."""
        return f"{self.audience or self.url}/api/v1"

    @classmethod
    def resolve(cls, **explicit: Any) -> Self | None:
        """Settings from explicit arguments, else environment variables.

        Args:
            explicit: any of ``url``, ``username``, ``api_key``, ``audience``,
                ``simulator_qubits``, ``max_circuits``, ``source``.

        Returns:
            ``None`` when neither a username nor an API key is configured anywhere.

        Raises:
            ConfigurationError: only one of username / API key is given, or a value is
                malformed.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(explicit) - known)
        if unknown:
            raise ConfigurationError(
                f"{VENDOR}: unknown setting(s) {', '.join(unknown)}; known: "
                f"{', '.join(sorted(known - {'source'}))}"
            )
        return cls._from(explicit, _environment())

    @classmethod
    def _from(cls, explicit: Mapping[str, Any], environ: Mapping[str, str]) -> Self | None:
        username = explicit.get("username") or environ.get(ENV_USERNAME)
        api_key = as_secret(explicit.get("api_key") or environ.get(ENV_API_KEY))
        from_args = bool(explicit.get("username") or explicit.get("api_key"))
        if not username and api_key is None:
            if explicit.get("url"):
                raise ConfigurationError(
                    f"{VENDOR}: a url was given but no username/api_key; pass "
                    f"username= and api_key= (or set {ENV_USERNAME} and {ENV_API_KEY})"
                )
            return None
        if not username or api_key is None:
            missing = "username" if not username else "api_key"
            variable = ENV_USERNAME if missing == "username" else ENV_API_KEY
            raise ConfigurationError(
                f"{VENDOR}: {missing} is missing; pass {missing}= or set {variable} "
                "(Qilimanjaro logs in with a username and an API key)"
            )
        url, audience = _service_root(explicit, environ)
        simulator_qubits = explicit.get("simulator_qubits", 25)
        if not isinstance(simulator_qubits, int) or simulator_qubits < 1:
            raise ConfigurationError(
                f"{VENDOR}: simulator_qubits must be a positive int, not {simulator_qubits!r}"
            )
        max_circuits = explicit.get("max_circuits")
        if max_circuits is not None and (not isinstance(max_circuits, int) or max_circuits < 1):
            raise ConfigurationError(
                f"{VENDOR}: max_circuits must be a positive int or None, not {max_circuits!r}"
            )
        source = explicit.get("source") or ("arguments" if from_args else "environment")
        return cls(
            url=url,
            source=str(source),
            username=str(username),
            api_key=api_key,
            audience=audience,
            simulator_qubits=simulator_qubits,
            max_circuits=max_circuits,
        )


def _environment() -> dict[str, str]:
    names = (ENV_URL, ENV_AUDIENCE, ENV_ENVIRONMENT, ENV_USERNAME, ENV_API_KEY)
    return {name: value for name in names if (value := env(name)) is not None}


def _service_root(explicit: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[str, str]:
    """(service root, audience root) the way qiboconnection picks them."""
    if explicit.get("url"):
        url = clean_url(str(explicit["url"]), vendor=VENDOR)
        audience = explicit.get("audience") or ""
        return url, clean_url(str(audience), vendor=VENDOR, setting="audience") if audience else ""
    if ENV_URL in environ:
        url = clean_url(environ[ENV_URL], vendor=VENDOR, setting=ENV_URL)
        audience = explicit.get("audience") or environ.get(ENV_AUDIENCE) or ""
        return url, clean_url(str(audience), vendor=VENDOR, setting="audience") if audience else ""
    if ENV_ENVIRONMENT in environ:
        name = environ[ENV_ENVIRONMENT].lower()
        if name not in NAMED_ENVIRONMENTS:
            raise ConfigurationError(
                f"{VENDOR}: {ENV_ENVIRONMENT}={environ[ENV_ENVIRONMENT]!r} is not one of "
                f"{', '.join(NAMED_ENVIRONMENTS)}; or set {ENV_URL} to the service root"
            )
        root, audience = NAMED_ENVIRONMENTS[name]
        return root, audience
    return DEFAULT_URL, ""
