"""On-disk cache of device information and reusable access tokens, across processes.

Why: every new process would otherwise log in again and re-read each vendor's device list
and calibration before it can run anything (on a real cloud each request costs 30-150 ms).

What is stored, per vendor account (vendor + API origin + a fingerprint of the account):

* ``devices``: the device list the provider's backends are built from (and the rows
  ``qiskit-multicloud backends`` prints), for :attr:`DiskCache.ttl` seconds;
* ``device-<id>``: a device's full Target data where the vendor reads it separately (IQM's
  calibration set and metrics, kept per calibration set id);
* ``token``: a short-lived access token the vendor issued at login (Qilimanjaro's JWT,
  OQC's login token), until its expiry or the TTL.

Never stored: passwords, API keys, long-lived tokens given in the settings, refresh tokens.
The account fingerprint is a truncated SHA-256 of the account's settings, never a secret.

Security: one directory (created 0700, parents too), files 0600 whatever the umask, written
to a temporary file then ``os.replace``-d (so two processes never see a torn file), read
and written through a directory descriptor with ``O_NOFOLLOW``. A symbolic link as the
directory or as an entry is never followed: the cache (or that entry) is ignored with one
:class:`~qiskit_multicloud.exceptions.CacheWarning` saying what to remove. A corrupt or
foreign file is ignored and rewritten. The cache never fails a run: an unusable cache
means the vendor is asked, as without a cache.

Location: ``$QISKIT_MULTICLOUD_CACHE_DIR``, else ``$XDG_CACHE_HOME/qiskit-multicloud``, else
``~/.cache/qiskit-multicloud``. ``QISKIT_MULTICLOUD_CACHE=off`` turns it off and
``QISKIT_MULTICLOUD_CACHE_TTL`` sets the TTL in seconds (default :data:`DEFAULT_TTL`).

This module imports nothing from Qiskit, so the CLI can answer from it quickly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import stat
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Environment variable: the cache directory.
ENV_DIR = "QISKIT_MULTICLOUD_CACHE_DIR"
#: Environment variable: ``off`` (or ``0``, ``false``, ``no``) turns the cache off.
ENV_SWITCH = "QISKIT_MULTICLOUD_CACHE"
#: Environment variable: seconds a cached device list stays fresh.
ENV_TTL = "QISKIT_MULTICLOUD_CACHE_TTL"
#: Default seconds an entry stays fresh (device status shown from the cache is at most
#: this old; ``refresh`` re-reads).
DEFAULT_TTL = 900.0
#: A token is not reused when it expires within this many seconds.
TOKEN_MARGIN = 60.0
#: Format version written in every file; other versions are ignored (and rewritten).
FORMAT = 1
#: Entries not rewritten for this many seconds are removed (emulators on new ports, old
#: accounts), once per :class:`DiskCache` when it first writes.
PRUNE_AFTER = 7 * 24 * 3600.0

_OFF = frozenset({"0", "off", "false", "no", "disabled"})
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def default_cache_dir() -> Path:
    """Where the cache lives unless told otherwise (see the module docstring)."""
    explicit = os.environ.get(ENV_DIR)
    if explicit:
        return Path(explicit)
    root = os.environ.get("XDG_CACHE_HOME") or str(
        Path(os.environ.get("HOME") or Path.home()) / ".cache"
    )
    return Path(root) / "qiskit-multicloud"


def enabled_by_environment() -> bool:
    """False when ``QISKIT_MULTICLOUD_CACHE`` says off."""
    return (os.environ.get(ENV_SWITCH) or "").strip().lower() not in _OFF


def ttl_from_environment(default: float = DEFAULT_TTL) -> float:
    """``QISKIT_MULTICLOUD_CACHE_TTL`` in seconds, or ``default`` when unset or unreadable."""
    text = (os.environ.get(ENV_TTL) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        log.warning("%s=%r is not a number of seconds; using %g", ENV_TTL, text, default)
        return default
    return max(0.0, value)


def fingerprint(*parts: str) -> str:
    """A short, non-reversible name for ``parts`` (SHA-256, 16 hex digits)."""
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class CacheKey:
    """Whose data an entry holds: vendor, API origin and account fingerprint."""

    vendor: str
    origin: str
    account: str

    def filename(self, kind: str) -> str:
        """The entry's file name: readable vendor and kind, hashed origin and account."""
        return f"{self.vendor}-{fingerprint(self.origin, self.account)}-{kind}.json"


@dataclasses.dataclass(frozen=True)
class CacheEntry:
    """What :meth:`DiskCache.load` found: the stored data and when it was stored."""

    data: Any
    stored_at: float

    def age(self, now: float) -> float:
        """Seconds since the entry was written."""
        return max(0.0, now - self.stored_at)


def _warn(message: str) -> None:
    from .exceptions import CacheWarning  # imports Qiskit: only when there is a problem

    warnings.warn(CacheWarning(message), stacklevel=3)


class DiskCache:
    """The cache directory: load, store and drop entries, never raising for the cache.

    Args:
        directory: the cache directory (default :func:`default_cache_dir`).
        ttl: seconds an entry stays fresh (default from the environment, else
            :data:`DEFAULT_TTL`); ``0`` stores but never reuses.
        clock: wall-clock time in seconds (tests pass a fake one).
        quiet: log problems instead of warning (for a caller that falls back to a path
            that opens the cache again and warns there).
    """

    def __init__(
        self,
        directory: str | Path | None = None,
        *,
        ttl: float | None = None,
        clock: Callable[[], float] = time.time,
        quiet: bool = False,
    ) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.ttl = float(ttl_from_environment() if ttl is None else ttl)
        if self.ttl < 0:
            raise ValueError(f"cache ttl={ttl!r} must be >= 0 seconds")
        self.clock = clock
        self._lock = threading.Lock()
        self._broken: str | None = None
        self._warned: set[str] = set()
        self._pruned = False
        self._quiet = quiet

    def __repr__(self) -> str:
        return f"DiskCache({str(self.directory)!r}, ttl={self.ttl:g})"

    # -- the directory --------------------------------------------------------------------

    def _warn_once(self, what: str, message: str) -> None:
        with self._lock:
            if what in self._warned:
                return
            self._warned.add(what)
        if self._quiet:
            log.info("cache: %s", message)
        else:
            _warn(message)

    def _ensure_directory(self, create: bool) -> bool:
        """True when the directory is usable: a real directory of ours, mode 0700."""
        if self._broken is not None:
            return False
        path = self.directory
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            if not create:
                return False
            try:
                make_private_dirs(path)
                info = os.lstat(path)
            except OSError as exc:
                return self._give_up(f"cannot create the cache directory {path}: {exc}")
        except OSError as exc:
            return self._give_up(f"cannot read the cache directory {path}: {exc}")
        if stat.S_ISLNK(info.st_mode):
            return self._give_up(
                f"the cache directory {path} is a symbolic link; it is not followed and the "
                "cache is not used. Remove the link (or set QISKIT_MULTICLOUD_CACHE_DIR to a "
                "real directory)"
            )
        if not stat.S_ISDIR(info.st_mode):
            return self._give_up(f"the cache path {path} is not a directory; cache not used")
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            return self._give_up(
                f"the cache directory {path} belongs to another user; cache not used"
            )
        if stat.S_IMODE(info.st_mode) != 0o700:
            try:
                os.chmod(path, 0o700, follow_symlinks=False)
            except (OSError, NotImplementedError) as exc:
                return self._give_up(f"cannot make the cache directory {path} private: {exc}")
        return True

    def _warn_link(self, name: str) -> None:
        """One warning per entry: ``name`` is a symbolic link, so it is neither read nor
        replaced."""
        self._warn_once(
            name,
            f"cache entry {self.directory / name} is a symbolic link; it is not followed "
            "(nor replaced). Remove it to let the cache use this entry",
        )

    def _give_up(self, message: str) -> bool:
        self._broken = message
        self._warn_once("directory", message)
        return False

    @contextlib.contextmanager
    def _dir_fd(self, create: bool) -> Iterator[int | None]:
        """A descriptor of the cache directory opened without following links, or None."""
        if not self._ensure_directory(create):
            yield None
            return
        try:
            fd = os.open(self.directory, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
        except OSError as exc:
            self._give_up(f"cannot open the cache directory {self.directory}: {exc}")
            yield None
            return
        try:
            yield fd
        finally:
            os.close(fd)

    # -- entries --------------------------------------------------------------------------

    def load(self, key: CacheKey, kind: str, *, max_age: float | None = None) -> CacheEntry | None:
        """The entry if present, readable, of this key and younger than the TTL (or
        ``max_age``); otherwise ``None`` (a corrupt or foreign file is ignored)."""
        limit = self.ttl if max_age is None else max_age
        name = key.filename(kind)
        with self._dir_fd(create=False) as dir_fd:
            if dir_fd is None:
                return None
            document = self._read(dir_fd, name)
        if not isinstance(document, dict):
            return None
        if any(document.get(k) != v for k, v in _header(key, kind).items()):
            log.debug("cache: %s is not an entry of this key; ignored", name)
            return None
        stored_at = document.get("stored_at")
        if not isinstance(stored_at, int | float) or isinstance(stored_at, bool):
            return None
        entry = CacheEntry(document.get("data"), float(stored_at))
        now = self.clock()
        if stored_at > now + 60 or entry.age(now) >= limit:
            return None
        return entry

    def _read(self, dir_fd: int, name: str) -> Any:
        try:
            fd = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=dir_fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if _is_link(dir_fd, name):
                self._warn_link(name)
            else:
                log.debug("cache: cannot open %s: %s", name, exc)
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or (
                hasattr(os, "getuid") and info.st_uid != os.getuid()
            ):
                log.debug("cache: %s is not a regular file of ours; ignored", name)
                return None
            with os.fdopen(fd, "rb") as handle:
                fd = -1
                raw = handle.read()
        except OSError as exc:
            log.debug("cache: cannot read %s: %s", name, exc)
            return None
        finally:
            if fd >= 0:
                os.close(fd)
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            log.info("cache: %s is corrupt; ignored (it is rewritten on the next store)", name)
            return None

    def store(self, key: CacheKey, kind: str, data: Any) -> bool:
        """Write an entry atomically (0600); False, with a log line, if it could not be."""
        name = key.filename(kind)
        document = {**_header(key, kind), "stored_at": self.clock(), "data": data}
        try:
            payload = json.dumps(document, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            log.info("cache: %s data is not JSON (%s); not cached", name, exc)
            return False
        with self._dir_fd(create=True) as dir_fd:
            if dir_fd is None:
                return False
            if _is_link(dir_fd, name):
                self._warn_link(name)
                return False
            written = self._write(dir_fd, name, payload.encode("utf-8"))
            if written and not self._pruned:
                self._pruned = True
                self._prune(dir_fd)
            return written

    def _prune(self, dir_fd: int) -> None:
        """Remove entries (and leftover temporary files) older than :data:`PRUNE_AFTER`
        seconds (temporary files: an hour): only regular files named as this module names
        them."""
        now = time.time()
        try:
            names = os.listdir(dir_fd)
        except OSError:
            return
        for name in names:
            temporary = name.startswith(".") and name.endswith(".tmp")
            if not (temporary or name.endswith(".json")):
                continue
            with contextlib.suppress(OSError):
                info = os.lstat(name, dir_fd=dir_fd)
                limit = 3600.0 if temporary else PRUNE_AFTER
                if stat.S_ISREG(info.st_mode) and now - info.st_mtime > limit:
                    os.unlink(name, dir_fd=dir_fd)
                    log.debug("cache: removed %s (not written for %.0f s)", name,
                              now - info.st_mtime)

    def _write(self, dir_fd: int, name: str, payload: bytes) -> bool:
        temporary = f".{name}.{uuid.uuid4().hex}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
        try:
            fd = os.open(temporary, flags, 0o600, dir_fd=dir_fd)
        except OSError as exc:
            log.info("cache: cannot write in %s: %s", self.directory, exc)
            return False
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)  # whatever the umask
                handle.write(payload)
            os.replace(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            return True
        except OSError as exc:
            log.info("cache: cannot write %s: %s", name, exc)
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=dir_fd)
            return False

    def drop(self, key: CacheKey, kind: str | None = None) -> None:
        """Remove one entry, or every entry of ``key`` when ``kind`` is None."""
        prefix = key.filename("")[: -len(".json")]
        with self._dir_fd(create=False) as dir_fd:
            if dir_fd is None:
                return
            if kind is not None:
                names = [key.filename(kind)]
            else:
                try:
                    names = [n for n in os.listdir(dir_fd) if n.startswith(prefix)]
                except OSError:
                    return
            for name in names:
                with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
                    os.unlink(name, dir_fd=dir_fd)

    def bind(self, key: CacheKey) -> AccountCache:
        """This cache as seen by one vendor account."""
        return AccountCache(self, key)


def _header(key: CacheKey, kind: str) -> dict[str, Any]:
    """The fields that say whose entry a file is (written with it, checked on load)."""
    return {"format": FORMAT, "vendor": key.vendor, "origin": key.origin,
            "account": key.account, "kind": kind}


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and missing parents, each 0700 (the job store's and the cache's
    folders are private to the user)."""
    missing = []
    current = directory
    while not os.path.lexists(current) and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
            os.chmod(path, 0o700)


class AccountCache:
    """One vendor account's view of a :class:`DiskCache` (what adapters are handed).

    Attributes:
        refreshing: True while the provider re-reads everything (``refresh()``): loads
            then find nothing and stores rewrite the entries.
    """

    def __init__(self, disk: DiskCache, key: CacheKey) -> None:
        self.disk = disk
        self.key = key
        self.refreshing = False

    def __repr__(self) -> str:
        return f"AccountCache({self.key.vendor}, {self.key.origin}, {self.disk!r})"

    @property
    def now(self) -> float:
        """The cache clock's current time."""
        return self.disk.clock()

    def load(self, kind: str, *, max_age: float | None = None) -> CacheEntry | None:
        """The fresh entry ``kind`` of this account, or None."""
        if self.refreshing:
            return None
        return self.disk.load(self.key, kind, max_age=max_age)

    def store(self, kind: str, data: Any) -> bool:
        """Write entry ``kind`` (see :meth:`DiskCache.store`)."""
        return self.disk.store(self.key, kind, data)

    def drop(self, kind: str | None = None) -> None:
        """Remove entry ``kind``, or all of this account's entries."""
        self.disk.drop(self.key, kind)

    # -- access tokens --------------------------------------------------------------------

    def load_token(self) -> Mapping[str, Any] | None:
        """A cached access token record (``token`` plus vendor facts) not about to expire
        (also while refreshing: :meth:`refresh` is about device information)."""
        entry = self.disk.load(self.key, "token")
        data = entry.data if entry is not None else None
        if not isinstance(data, dict) or not isinstance(data.get("token"), str):
            return None
        expires = data.get("expires_at")
        if isinstance(expires, int | float) and expires - TOKEN_MARGIN <= self.now:
            return None
        return data

    def store_token(self, token: str, expires_at: float | None, **facts: Any) -> None:
        """Cache a short-lived access token (never a password, API key or refresh token)."""
        self.store("token", {"token": token, "expires_at": expires_at, **facts})
