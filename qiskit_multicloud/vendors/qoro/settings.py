"""Credentials and endpoint of a Qoro Service account.

Resolution follows the ``QoroService`` client of the ``qoro-divi`` package:

1. explicit arguments (``api_key=...``; ``token=`` is accepted as an alias);
2. ``QORO_API_KEY`` in the nearest ``.env`` file, searched from the current working
   directory upwards (the SDK's ``find_dotenv(usecwd=True)``);
3. the ``QORO_API_KEY`` environment variable.

Note the order of 2 and 3: like the SDK, a ``.env`` file wins over the environment. The
service URL is not configurable in the SDK (a module constant); here it comes from
``url=``, else ``QORO_URL`` (or ``QORO_BASE_URL``) in the ``.env`` file or the environment,
else the public endpoint.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar, Self

from ...config import Secret, VendorSettings, as_secret, clean_url, env, read_dotenv
from ...exceptions import ConfigurationError

#: The public Qoro Service API.
DEFAULT_URL = "https://app.qoroquantum.net/api"
#: Qubits assumed for a simulator cluster, which publishes no size.
DEFAULT_SIMULATOR_QUBITS = 32
KEY_VARIABLE = "QORO_API_KEY"
URL_VARIABLES = ("QORO_URL", "QORO_BASE_URL")


def find_dotenv(start: Path | None = None) -> Path | None:
    """The nearest ``.env`` file in ``start`` (default: the working directory) or above."""
    here = (start or Path(os.getcwd())).resolve()
    for folder in (here, *here.parents):
        candidate = folder / ".env"
        if candidate.is_file():
            return candidate
    return None


@dataclasses.dataclass(frozen=True, repr=False)
class QoroSettings(VendorSettings):
    """Settings of one Qoro Service account.

    Attributes:
        url: API base URL, e.g. ``https://app.qoroquantum.net/api`` (no trailing slash).
        api_key: the account's API key (sent as ``Authorization: Bearer <key>``).
        simulator_qubits: qubits the Target of a simulator cluster offers (the service
            publishes none; the cluster may accept more).
        source: where the key came from.
    """

    vendor: ClassVar[str] = "qoro"
    url: str = DEFAULT_URL
    api_key: Secret | None = None
    simulator_qubits: int = DEFAULT_SIMULATOR_QUBITS

    @classmethod
    def config_files(cls) -> list[Path]:
        """Every ``.env`` :func:`find_dotenv` may read, from the working directory up."""
        here = Path(os.getcwd()).resolve()
        return [folder / ".env" for folder in (here, *here.parents)]

    @classmethod
    def resolve(cls, **explicit: Any) -> Self | None:
        """Settings from arguments, else ``.env`` (walking up), else the environment.

        Args:
            explicit: ``url``, ``api_key`` (or ``token``), ``simulator_qubits``,
                ``dotenv_start`` (folder where the ``.env`` search starts; tests).

        Returns:
            ``None`` when no key and no URL are configured anywhere.

        Raises:
            ConfigurationError: a URL is configured without a key, a bad URL, unknown
                arguments, or a non-positive ``simulator_qubits``.
        """
        explicit = dict(explicit)
        start = explicit.pop("dotenv_start", None)
        key_arg = explicit.pop("api_key", None) or explicit.pop("token", None)
        explicit.pop("token", None)
        url_arg = explicit.pop("url", None)
        qubits = explicit.pop("simulator_qubits", DEFAULT_SIMULATOR_QUBITS)
        explicit.pop("source", None)
        if explicit:
            raise ConfigurationError(
                f"qoro: unknown setting(s) {sorted(explicit)}; use url=, api_key=, "
                "simulator_qubits="
            )
        dotenv_path = find_dotenv(Path(start) if start else None)
        dotenv = read_dotenv(dotenv_path) if dotenv_path else {}

        def from_dotenv(name: str) -> str | None:
            value = dotenv.get(name, "").strip()
            return value or None

        api_key = as_secret(key_arg)
        source = "arguments"
        if api_key is None and from_dotenv(KEY_VARIABLE):
            api_key, source = as_secret(from_dotenv(KEY_VARIABLE)), str(dotenv_path)
        if api_key is None and env(KEY_VARIABLE):
            api_key, source = as_secret(env(KEY_VARIABLE)), "environment"
        url = url_arg
        for name in URL_VARIABLES:
            url = url or from_dotenv(name) or env(name)
        if api_key is None:
            if url:
                raise ConfigurationError(
                    f"qoro: a service URL is configured but no API key; pass api_key=, or set "
                    f"{KEY_VARIABLE} in a .env file or the environment"
                )
            return None
        if not isinstance(qubits, int) or isinstance(qubits, bool) or qubits < 1:
            raise ConfigurationError(
                f"qoro: simulator_qubits={qubits!r} must be a positive integer"
            )
        return cls(
            url=clean_url(url or DEFAULT_URL, vendor="qoro"),
            api_key=api_key,
            simulator_qubits=qubits,
            source=source,
        )
