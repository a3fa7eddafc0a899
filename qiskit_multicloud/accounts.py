"""Saved accounts: vendor credentials kept in one private file, like Qiskit Runtime's.

``MultiCloudProvider.save_account("iqm", name="lab2", url=..., token=...)`` (or
``qiskit-multicloud login iqm --name lab2``) stores an account; each vendor may have several
named accounts, one of which is its *default*. Where a vendor's settings come from, first
match wins:

1. explicit ``credentials=`` of :class:`~qiskit_multicloud.MultiCloudProvider`, or a saved
   account selected by name (``accounts={"iqm": "lab2"}``);
2. the vendor's environment variables;
3. the vendor's default saved account;
4. the vendor's own SDK files (``~/.oqtopus``, Qoro's ``.env``).

The file is ``$QISKIT_MULTICLOUD_HOME/accounts.json``, else
``$XDG_CONFIG_HOME/qiskit-multicloud/accounts.json``, else
``~/.config/qiskit-multicloud/accounts.json``. It is written atomically (temporary file,
then rename) with mode 0600 in a directory with mode 0700, and never read or written
through a symbolic link; a file that others can read is refused. Secrets are only ever
shown as ``***``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .config import REDACTED, Secret, VendorSettings
from .exceptions import ConfigurationError
from .vendors import VENDOR_KEYS, plugin

try:  # POSIX: serialise concurrent read-modify-write of the file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

FILE_NAME = "accounts.json"
FORMAT = 1
#: Name of an account saved without ``name=``.
DEFAULT_NAME = "default"
#: Keys that are secrets whatever the vendor (aliases some vendors accept).
SECRET_KEYS = frozenset({"token", "api_token", "api_key", "password"})


def accounts_path() -> Path:
    """Where saved accounts live (see the module docstring)."""
    root = os.environ.get("QISKIT_MULTICLOUD_HOME")
    if root:
        return Path(root) / FILE_NAME
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "qiskit-multicloud" / FILE_NAME


@dataclasses.dataclass(frozen=True)
class SavedAccount:
    """One saved account as listed by ``saved_accounts()``: secrets are shown as ``***``.

    Attributes:
        vendor: vendor key.
        name: account name, unique per vendor.
        default: whether ``MultiCloudProvider()`` uses it for this vendor by default.
        settings: the saved settings, each secret replaced by ``'***'``.
    """

    vendor: str
    name: str
    default: bool
    settings: Mapping[str, Any]


def secret_fields(settings_class: type[VendorSettings]) -> tuple[str, ...]:
    """The fields of a vendor's settings that hold secrets (typed :class:`Secret`)."""
    return tuple(
        f.name for f in dataclasses.fields(settings_class) if "Secret" in str(f.type)
    )


def setting_fields(settings_class: type[VendorSettings]) -> tuple[str, ...]:
    """The fields that can be saved (every settings field but ``source``)."""
    return tuple(f.name for f in dataclasses.fields(settings_class) if f.name != "source")


def _is_secret(vendor: str, key: str) -> bool:
    return key in SECRET_KEYS or key in secret_fields(plugin(vendor).settings)


def _vendor_key(vendor: str) -> str:
    key = str(vendor).lower()
    if key not in VENDOR_KEYS:
        raise ConfigurationError(f"unknown vendor {vendor!r}; known: {', '.join(VENDOR_KEYS)}")
    return key


# -- the file -------------------------------------------------------------------------------


def _check_private(info: os.stat_result, path: Path) -> None:
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ConfigurationError(f"{path} belongs to another user; refusing to use it")
    if info.st_mode & 0o077:
        raise ConfigurationError(
            f"{path} can be read by other users (mode {stat.S_IMODE(info.st_mode):04o}); "
            f"run 'chmod 600 {path}' and consider replacing the secrets it holds"
        )


def _read(path: Path) -> dict[str, Any]:
    """The parsed file, ``{}`` when it does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return {}
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigurationError(
                f"{path} is a symbolic link; refusing to read credentials through it"
            ) from None
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        _check_private(os.fstat(handle.fileno()), path)
        raw = handle.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ConfigurationError(
            f"{path} is not valid JSON; fix or delete it and save the accounts again"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("vendors", {}), dict):
        raise ConfigurationError(f"{path} is not a qiskit-multicloud accounts file")
    return data


def _write(path: Path, data: Mapping[str, Any]) -> None:
    """Atomically replace the file (mode 0600; never through a symbolic link)."""
    if path.is_symlink():
        raise ConfigurationError(f"{path} is a symbolic link; refusing to write credentials")
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = os.stat(folder)
    if info.st_mode & 0o022:
        raise ConfigurationError(
            f"{folder} can be written by other users; run 'chmod 700 {folder}' first"
        )
    temporary = folder / f".{path.name}.{os.getpid()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)  # left over by a crash of this very process id
    fd = os.open(temporary, flags, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock while reading, changing and writing the file."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = path.with_name(f".{path.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _vendors(data: Mapping[str, Any]) -> dict[str, Any]:
    vendors = data.get("vendors", {})
    return vendors if isinstance(vendors, dict) else {}


# -- public operations ----------------------------------------------------------------------


def save_account(
    vendor: str,
    *,
    name: str | None = None,
    overwrite: bool = False,
    set_as_default: bool | None = None,
    **settings: Any,
) -> SavedAccount:
    """Save one vendor account (see ``MultiCloudProvider.save_account``).

    Raises:
        ConfigurationError: unknown vendor or setting, incomplete or malformed settings,
            or the account exists and ``overwrite`` is false.
    """
    key = _vendor_key(vendor)
    account = DEFAULT_NAME if name is None else str(name).strip()
    if not account:
        raise ConfigurationError("an account name must not be empty")
    values = {
        k: (v.reveal() if isinstance(v, Secret) else v)
        for k, v in settings.items()
        if v is not None and v != ""
    }
    if not values:
        raise ConfigurationError(f"{key}: nothing to save; pass the account's settings")
    for k, v in values.items():
        if not isinstance(v, str | int | float | bool):
            raise ConfigurationError(f"{key}: setting {k} must be a string or number")
    if plugin(key).settings.resolve(**values) is None:  # validates names and values
        raise ConfigurationError(f"{key}: these settings configure nothing; nothing saved")
    path = accounts_path()
    with _locked(path):
        data = _read(path)
        entry = _vendors(data).setdefault(key, {"default": None, "accounts": {}})
        if account in entry["accounts"] and not overwrite:
            raise ConfigurationError(
                f"{key} account {account!r} is already saved; pass overwrite=True "
                "(--overwrite) to replace it, or choose another name"
            )
        entry["accounts"][account] = values
        if set_as_default or (set_as_default is None and not entry.get("default")):
            entry["default"] = account
        data.setdefault("vendors", {})[key] = entry
        data["format"] = FORMAT
        _write(path, data)
    return _listed(key, account, entry)


def _listed(vendor: str, name: str, entry: Mapping[str, Any]) -> SavedAccount:
    values = entry["accounts"][name]
    shown = {k: (REDACTED if _is_secret(vendor, k) else v) for k, v in sorted(values.items())}
    return SavedAccount(vendor, name, entry.get("default") == name, shown)


def saved_accounts(vendor: str | None = None, name: str | None = None) -> list[SavedAccount]:
    """Saved accounts (secrets redacted), by vendor in display order, then by name."""
    keys = VENDOR_KEYS if vendor is None else (_vendor_key(vendor),)
    vendors = _vendors(_read(accounts_path()))
    return [
        _listed(key, account, vendors[key])
        for key in keys
        if key in vendors
        for account in sorted(vendors[key].get("accounts", {}))
        if name is None or account == name
    ]


def delete_account(vendor: str, name: str | None = None) -> bool:
    """Delete a saved account (``name=None``: the vendor's default); False if absent.

    Deleting the default account leaves the vendor without a default: its other accounts
    are used only when selected by name (or made default again by saving them).
    """
    key = _vendor_key(vendor)
    path = accounts_path()
    with _locked(path):
        data = _read(path)
        entry = _vendors(data).get(key)
        if not entry:
            return False
        account = entry.get("default") if name is None else name
        if account not in entry.get("accounts", {}):
            return False
        del entry["accounts"][account]
        if entry.get("default") == account:
            entry["default"] = None
        if not entry["accounts"]:
            del data["vendors"][key]
        _write(path, data)
    return True


def load_account(vendor: str, name: str | None = None) -> dict[str, Any] | None:
    """The saved settings of an account (secrets in clear, for resolving only).

    ``name=None`` gives the vendor's default account, or ``None`` when it has none.

    Raises:
        ConfigurationError: a named account does not exist, or the file is unusable.
    """
    key = _vendor_key(vendor)
    entry = _vendors(_read(accounts_path())).get(key) or {}
    saved = entry.get("accounts", {})
    account = entry.get("default") if name is None else name
    if account is None:
        return None
    if account not in saved:
        known = ", ".join(sorted(saved)) or "none"
        raise ConfigurationError(
            f"no saved {key} account named {account!r} (saved: {known}); save it with "
            f"'qiskit-multicloud login {key} --name {account}'"
        )
    return {"name": account, "values": dict(saved[account])}


def resolve(
    vendor: str,
    explicit: VendorSettings | Mapping[str, Any] | None = None,
    account: str | None = None,
) -> VendorSettings | None:
    """One vendor's settings: explicit or named account > environment > default saved
    account > vendor files; ``None`` when nothing is configured.

    Raises:
        ConfigurationError: conflicting choices, a missing named account, or settings
            that are configured but incomplete or malformed.
    """
    settings_class = plugin(vendor).settings
    if isinstance(explicit, VendorSettings):
        return explicit
    if explicit and account is not None:
        raise ConfigurationError(
            f"{vendor}: both credentials and the saved account {account!r} were given; "
            "pass only one"
        )
    if explicit:
        return settings_class.resolve(**dict(explicit))
    if account is not None:
        return _from_saved(settings_class, vendor, account)
    found = settings_class.resolve()
    if found is not None and found.source == "environment":
        return found
    return _from_saved(settings_class, vendor, None) or found


def _from_saved(
    settings_class: type[VendorSettings], vendor: str, name: str | None
) -> VendorSettings | None:
    saved = load_account(vendor, name)
    if saved is None:
        return None
    settings = settings_class.resolve(**saved["values"])
    if settings is None:
        return None
    return settings.replace(source=f"saved account {vendor}:{saved['name']}")
