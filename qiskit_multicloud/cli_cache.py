"""``qiskit-multicloud backends`` answered from the on-disk cache, without importing Qiskit.

The full command (provider, discovery, Targets) writes the table rows it printed to the
cache (:mod:`qiskit_multicloud.cache`), keyed by what decided the configuration: the
command's options, the whole environment and the working directory (hashed, never stored),
plus the signature (mtime, size, inode) of every file the vendors' settings may read (saved
accounts, ``~/.oqtopus``, ``.env`` files, ...). A later ``backends`` with the same options,
environment and files prints those rows within the cache TTL without importing Qiskit or
sending a request. Anything else (``--refresh``, ``--emulated``, other options, a changed
file, an expired or missing entry, a vendor that failed last time) takes the full path.

This module imports only the standard library and :mod:`qiskit_multicloud.cache`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .cache import CacheKey, DiskCache, enabled_by_environment, fingerprint

#: Entry kind of the cached rows.
KIND = "backends"
#: The options of ``backends`` the cached path understands (``--opt VALUE`` or
#: ``--opt=VALUE``); anything else takes the full path.
OPTIONS = ("--vendor", "--emulator", "--account", "--discovery-timeout")


def options_from_argv(argv: Sequence[str]) -> dict[str, Any] | None:
    """The ``backends`` options in ``argv``, or ``None`` when only the full path applies."""
    if not argv or argv[0] != "backends":
        return None
    vendor = "all"
    emulators: list[str] = []
    accounts: list[str] = []
    index = 1
    while index < len(argv):
        name, equals, value = argv[index].partition("=")
        if name not in OPTIONS:
            return None
        if not equals:
            if index + 1 >= len(argv):
                return None
            index += 1
            value = argv[index]
        index += 1
        if name == "--vendor":
            vendor = value.lower()
        elif name == "--emulator":
            emulators.append(value)
        elif name == "--account":
            accounts.append(value)
    return options(vendor, emulators, accounts)


def options(vendor: str | None, emulators: Sequence[str], accounts: Sequence[str]) -> dict[
    str, Any
]:
    """The options that decide what ``backends`` lists (``--discovery-timeout`` does not,
    when every vendor answered)."""
    return {"vendor": vendor or "all", "emulator": list(emulators), "account": list(accounts)}


def _key(chosen: Mapping[str, Any], environ: Mapping[str, str]) -> CacheKey:
    configuration = fingerprint(
        json.dumps(chosen, sort_keys=True),
        json.dumps(sorted(environ.items())),
        os.getcwd(),
    )
    return CacheKey("cli", "backends", configuration)


def _signature(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return "absent"
    return f"{info.st_mtime_ns}:{info.st_size}:{info.st_ino}"


def cached_rows(argv: Sequence[str]) -> tuple[list[list[str]], float] | None:
    """The rows a previous ``backends`` printed for this very configuration, and their age
    in seconds; ``None`` when the full command must run."""
    if not enabled_by_environment():
        return None
    chosen = options_from_argv(argv)
    if chosen is None:
        return None
    disk = DiskCache(quiet=True)  # the full path warns, once
    entry = disk.load(_key(chosen, os.environ), KIND)
    if entry is None or not isinstance(entry.data, dict):
        return None
    files, rows = entry.data.get("files"), entry.data.get("rows")
    if not isinstance(files, list) or not isinstance(rows, list):
        return None
    for item in files:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            return None
        if _signature(item[0]) != item[1]:
            return None
    if not all(isinstance(r, list) and all(isinstance(c, str) for c in r) for r in rows):
        return None
    return rows, entry.age(disk.clock())


def remember_rows(
    chosen: Mapping[str, Any], rows: Sequence[Sequence[str]], files: Sequence[Path]
) -> None:
    """Keep what the full ``backends`` printed for :func:`cached_rows`."""
    if not enabled_by_environment():
        return
    signed = [[str(path), _signature(str(path))] for path in dict.fromkeys(files)]
    DiskCache().store(
        _key(chosen, os.environ), KIND, {"files": signed, "rows": [list(r) for r in rows]}
    )
