"""Credential plumbing shared by every vendor.

Each vendor defines a small frozen dataclass of settings (URL, token, ...) and a
``resolve`` classmethod that applies the order **explicit arguments > environment
variables > vendor-native files**. What is shared lives here:

* :class:`Secret` wraps a token so that ``str()``, ``repr()``, f-strings and logging show
  ``'***'``; only :meth:`Secret.reveal` gives the value, and only the transport calls it.
* :class:`VendorSettings` is the base dataclass whose ``repr`` names the secret fields as
  redacted.
* Small readers for INI files and ``.env`` files used by the vendors' own SDKs.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

from .exceptions import ConfigurationError

REDACTED = "***"


class Secret:
    """A string that never shows itself by accident (``str``/``repr``/``format`` give ``***``)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the real value (for putting into a request header only)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError(
            "Secret values are not picklable (a pickle would write the credential out); "
            "rebuild the provider from its settings in the other process instead"
        )

    # Copies stay in memory, so they may share the value: ``copy.deepcopy`` of a backend
    # (done by qiskit-ibm-runtime's local mode, hence qiskit-experiments) must not fail here.
    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


def as_secret(value: str | Secret | None) -> Secret | None:
    """Wrap ``value`` as a :class:`Secret`; ``None`` and ``""`` stay ``None``."""
    if value is None or isinstance(value, Secret):
        return value or None
    return Secret(value) if value else None


@dataclasses.dataclass(frozen=True, repr=False)
class VendorSettings:
    """Base of each vendor's settings; ``repr`` redacts every :class:`Secret` field.

    Subclasses add fields and a ``resolve(**explicit)`` classmethod.
    """

    vendor: ClassVar[str] = ""
    url: str = ""
    #: Where the values came from ("arguments", "environment", a file path, "emulator").
    source: str = "arguments"

    def __repr__(self) -> str:
        parts = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            shown = REDACTED if isinstance(value, Secret) else repr(value)
            parts.append(f"{field.name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"

    @classmethod
    def resolve(cls, **explicit: Any) -> Self | None:
        """Settings from explicit arguments, else environment, else vendor files.

        Returns ``None`` when nothing at all is configured for this vendor.

        Raises:
            ConfigurationError: something is configured but incomplete or malformed.
        """
        raise NotImplementedError

    @classmethod
    def config_files(cls) -> list[Path]:
        """Files (present or not) whose contents :meth:`resolve` may read besides the
        environment and the saved accounts; the CLI's cached ``backends`` answer is only
        reused while none of them changed. Default: none."""
        return []

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def clean_url(url: str, *, vendor: str, setting: str = "url") -> str:
    """Validate an http(s) URL and strip one trailing slash.

    Raises:
        ConfigurationError: the URL is empty or not http/https.
    """
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{vendor}: {setting} {url!r} is not an http(s) URL; pass e.g. "
            f"'https://host.example' as {setting}="
        )
    return url[:-1] if url.endswith("/") else url


def is_loopback_url(url: str) -> bool:
    """True for URLs on this machine (plain http is only allowed there)."""
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def env(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """An environment variable, ``None`` when unset or blank."""
    value = (environ if environ is not None else os.environ).get(name)
    return value.strip() if value and value.strip() else None


def read_ini_section(path: Path, section: str) -> dict[str, str] | None:
    """Return one INI section as a dict, or ``None`` if the file or section is absent.

    Raises:
        ConfigurationError: the file exists but is not valid INI.
    """
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigurationError(f"cannot parse {path}: {exc.message}") from exc
    if not parser.has_section(section):
        return None
    return {key: value.strip() for key, value in parser.items(section)}


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a ``.env`` file (``KEY=VALUE`` lines, optional quotes and ``export``)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def home_dir() -> Path:
    """The user's home directory (``HOME`` honoured, so tests can redirect it)."""
    return Path(os.environ.get("HOME") or Path.home())
