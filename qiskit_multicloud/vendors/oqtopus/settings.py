"""OQTOPUS Cloud credentials, resolved the way ``quri-parts-oqtopus`` resolves them.

Order (first match wins):

1. explicit arguments: ``url`` + ``api_token`` (alias ``token``), optional ``proxy``; or an
   explicit ``profile=`` naming a section of ``~/.oqtopus`` (optionally ``config_file=``);
2. the environment, but only when **both** ``OQTOPUS_URL`` and ``OQTOPUS_API_TOKEN`` are set
   (plus ``OQTOPUS_PROXY``); with only one of them set the environment is ignored, as the SDK
   does;
3. the INI file ``~/.oqtopus``, section ``[default]`` (keys ``url``, ``api_token``, optional
   ``proxy``).

Afterwards, if the chosen configuration has no proxy, ``OQTOPUS_PROXY`` is used as a
fallback. One trailing ``/`` is stripped from the URL.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar, Self

from ...config import Secret, VendorSettings, as_secret, clean_url, env, home_dir, read_ini_section
from ...exceptions import ConfigurationError

VENDOR = "oqtopus"
DEFAULT_PROFILE = "default"
_EXPLICIT_KEYS = frozenset({"url", "api_token", "token", "proxy", "profile", "config_file"})


def default_config_path() -> Path:
    """``~/.oqtopus`` (``HOME`` honoured)."""
    return home_dir() / ".oqtopus"


@dataclasses.dataclass(frozen=True, repr=False)
class OqtopusSettings(VendorSettings):
    """Where and how to reach OQTOPUS Cloud.

    Attributes:
        url: API base URL (no trailing slash); any deployment prefix belongs here.
        api_token: the API token sent as the ``q-api-token`` header.
        proxy: HTTP(S) proxy for API and storage traffic, if any.
        profile: the ``~/.oqtopus`` section the values came from, if any.
    """

    vendor: ClassVar[str] = VENDOR
    api_token: Secret | None = None
    proxy: str | None = None
    profile: str | None = None

    @classmethod
    def config_files(cls) -> list[Path]:
        """``~/.oqtopus``."""
        return [default_config_path()]

    @classmethod
    def resolve(cls, **explicit: Any) -> Self | None:
        """Settings from explicit arguments, else the environment, else ``~/.oqtopus``.

        Args:
            explicit: ``url``, ``api_token`` (or ``token``), ``proxy``, ``profile``,
                ``config_file``.

        Returns:
            The settings, or ``None`` when OQTOPUS is not configured anywhere.

        Raises:
            ConfigurationError: unknown argument, half-given credentials, a named profile
                that does not exist, or a profile without ``url``/``api_token``.
        """
        unknown = set(explicit) - _EXPLICIT_KEYS
        if unknown:
            raise ConfigurationError(
                f"{VENDOR}: unknown setting(s) {sorted(unknown)}; accepted: "
                f"{', '.join(sorted(_EXPLICIT_KEYS))}"
            )
        fallback_proxy = env("OQTOPUS_PROXY")
        url = explicit.get("url")
        token = explicit.get("api_token", explicit.get("token"))
        proxy = explicit.get("proxy")
        path = (
            Path(os.path.expandvars(str(explicit["config_file"]))).expanduser()
            if explicit.get("config_file")
            else default_config_path()
        )
        if url or token:
            if not (url and token):
                missing = "api_token" if url else "url"
                raise ConfigurationError(
                    f"{VENDOR}: {missing} is missing; pass both url= and api_token="
                )
            return cls._make(url, token, proxy or fallback_proxy, None, "arguments")
        if explicit.get("profile"):
            found = cls._from_file(path, str(explicit["profile"]), proxy or fallback_proxy)
            if found is None:
                raise ConfigurationError(
                    f"{VENDOR}: profile [{explicit['profile']}] not found in {path}; add it "
                    "with url= and api_token= lines"
                )
            return found
        env_url, env_token = env("OQTOPUS_URL"), env("OQTOPUS_API_TOKEN")
        if env_url and env_token:
            return cls._make(env_url, env_token, proxy or fallback_proxy, None, "environment")
        found = cls._from_file(path, DEFAULT_PROFILE, proxy or fallback_proxy)
        if found is not None:
            return found
        if env_url or env_token:
            missing = "OQTOPUS_API_TOKEN" if env_url else "OQTOPUS_URL"
            raise ConfigurationError(
                f"{VENDOR}: {missing} is not set; set both OQTOPUS_URL and OQTOPUS_API_TOKEN "
                f"(or write a [default] section to {path})"
            )
        return None

    @classmethod
    def _from_file(cls, path: Path, profile: str, fallback_proxy: str | None) -> Self | None:
        section = read_ini_section(path, profile)
        if section is None:
            return None
        url, token = section.get("url"), section.get("api_token")
        if not url or not token:
            missing = "url" if not url else "api_token"
            raise ConfigurationError(
                f"{VENDOR}: profile [{profile}] in {path} has no {missing}= line"
            )
        return cls._make(url, token, section.get("proxy") or fallback_proxy, profile, str(path))

    @classmethod
    def _make(
        cls, url: str, token: str | Secret, proxy: str | None, profile: str | None, source: str
    ) -> Self:
        secret = as_secret(token)
        if secret is None:
            raise ConfigurationError(f"{VENDOR}: api_token is empty")
        return cls(
            url=clean_url(str(url), vendor=VENDOR),
            source=source,
            api_token=secret,
            proxy=proxy or None,
            profile=profile,
        )
