"""``MultiCloudProvider``: one entry point to every configured vendor.

Nothing touches the network at import or construction. Vendors are configured from
explicit arguments, environment variables or the vendors' own files; device lists are
fetched on first use, concurrently across vendors, and cached until :meth:`refresh`.
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .backend import MultiCloudBackend
from .config import VendorSettings
from .exceptions import BackendNotFoundError, ConfigurationError, MultiCloudError
from .job import MultiCloudJob
from .jobstore import JobRecord, JobStore
from .vendors import VENDOR_KEYS, plugin, resolve_settings
from .vendors.base import VendorAdapter

if TYPE_CHECKING:
    from .emulators import EmulatorHandle

log = logging.getLogger(__name__)

Credentials = Mapping[str, VendorSettings | Mapping[str, Any]]


class MultiCloudProvider:
    """Backends of OQC QCaaS, OQTOPUS, IQM, Qoro and Qilimanjaro QaaS behind one provider.

    Args:
        credentials: per-vendor settings, e.g. ``{"oqc": {"url": ..., "token": ...}}``;
            vendors not named here are configured from their environment variables and
            files, as their own SDKs do.
        vendors: restrict to these vendor keys (default: all five).
        job_store: where submissions are recorded; a path, a :class:`JobStore`, or
            ``False`` to keep no record.
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        vendors: Iterable[str] | None = None,
        job_store: JobStore | str | Path | bool | None = None,
    ) -> None:
        self._explicit = dict(credentials or {})
        keys = tuple(v.lower() for v in (vendors or VENDOR_KEYS))
        for key in (*keys, *self._explicit):
            if key not in VENDOR_KEYS:
                raise ConfigurationError(
                    f"unknown vendor {key!r}; choose from {', '.join(VENDOR_KEYS)}"
                )
        self._vendor_keys = keys
        if job_store is False:
            self.job_store: JobStore | None = None
        elif isinstance(job_store, JobStore):
            self.job_store = job_store
        else:
            self.job_store = JobStore(None if job_store in (None, True) else Path(str(job_store)))
        self._adapters: dict[str, VendorAdapter] | None = None
        self._backends: dict[str, list[MultiCloudBackend]] = {}
        self._errors: dict[str, Exception] = {}
        self._lock = threading.RLock()
        self._emulators: list[EmulatorHandle] = []

    def __repr__(self) -> str:
        configured = list(self.adapters) if self._adapters is not None else "not yet resolved"
        return f"MultiCloudProvider(vendors={configured})"

    # -- configuration --------------------------------------------------------------------

    @property
    def adapters(self) -> dict[str, VendorAdapter]:
        """One adapter per vendor that has credentials (resolved on first use)."""
        with self._lock:
            if self._adapters is None:
                adapters: dict[str, VendorAdapter] = {}
                for key in self._vendor_keys:
                    settings = resolve_settings(key, self._explicit.get(key))
                    if settings is None:
                        log.debug("%s: no credentials found; vendor skipped", key)
                        continue
                    adapters[key] = plugin(key).adapter.from_settings(settings)
                self._adapters = adapters
            return self._adapters

    @property
    def vendors(self) -> tuple[str, ...]:
        """Keys of the vendors this provider can reach."""
        return tuple(self.adapters)

    def _vendor_backends(self, vendor: str) -> list[MultiCloudBackend]:
        with self._lock:
            if vendor not in self._backends:
                adapter = self.adapters[vendor]
                backend_class = plugin(vendor).backend
                self._backends[vendor] = [
                    backend_class(adapter, spec, provider=self, job_store=self.job_store)
                    for spec in adapter.discover_devices()
                ]
            return self._backends[vendor]

    def _all_backends(self, vendor: str | None = None) -> list[MultiCloudBackend]:
        keys = [vendor.lower()] if vendor else list(self.adapters)
        missing = [k for k in keys if k not in self.adapters]
        if missing:
            raise ConfigurationError(
                f"vendor {missing[0]!r} has no credentials configured; see the "
                f"'{missing[0]}' page of the docs, or use MultiCloudProvider.emulated()"
            )
        pending = [k for k in keys if k not in self._backends]
        if len(pending) > 1:
            with ThreadPoolExecutor(max_workers=len(pending)) as pool:
                list(pool.map(self._try_vendor, pending))
        else:
            for key in pending:
                self._try_vendor(key)
        found: list[MultiCloudBackend] = []
        for key in keys:
            if key in self._errors and len(keys) == 1:
                raise self._errors[key]
            found.extend(self._backends.get(key, []))
        return found

    def _try_vendor(self, key: str) -> None:
        try:
            self._vendor_backends(key)
            self._errors.pop(key, None)
        except MultiCloudError as exc:
            log.warning("%s: listing devices failed: %s", key, exc)
            self._errors[key] = exc

    # -- discovery ------------------------------------------------------------------------

    def backends(
        self,
        name: str | None = None,
        vendor: str | None = None,
        online: bool | None = None,
        min_qubits: int | None = None,
        **kwargs: Any,
    ) -> list[MultiCloudBackend]:
        """Backends matching every given filter.

        Args:
            name: exact id, alias or unique prefix (see :meth:`get_backend`).
            vendor: vendor key, e.g. ``"iqm"``.
            online: only devices the vendor reports as available (or unavailable).
            min_qubits: at least this many qubits.
        """
        if kwargs:
            raise TypeError(f"unknown filter(s): {', '.join(kwargs)}")
        found = self._all_backends(vendor)
        if name is not None:
            found = [b for b in found if _matches(b, name)]
            exact = [b for b in found if name in b.names]
            found = exact or found
        if online is not None:
            found = [b for b in found if b.online is online]
        if min_qubits is not None:
            found = [b for b in found if b.num_qubits >= min_qubits]
        return found

    def get_backend(self, name: str, vendor: str | None = None) -> MultiCloudBackend:
        """One backend by exact id, alias (case-insensitive) or unique ``:``-aware prefix.

        Raises:
            BackendNotFoundError: no match, or several; the message lists candidates.
        """
        candidates = self._all_backends(vendor)
        if not candidates and not self.adapters:
            raise BackendNotFoundError(
                "no vendor is configured: pass credentials=..., set a vendor's environment "
                "variables, or use MultiCloudProvider.emulated() for local emulators"
            )
        for rule in (_exact, _alias, _prefix):
            matches = [b for b in candidates if rule(b, name)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                names = tuple(f"{b.vendor}:{b.name}" for b in matches)
                raise BackendNotFoundError(
                    f"backend name {name!r} is ambiguous; it matches {', '.join(names)}. "
                    "Use a longer name or pass vendor=...",
                    candidates=names,
                )
        all_names = [n for b in candidates for n in b.names]
        close = tuple(difflib.get_close_matches(name, all_names, n=5, cutoff=0.4))
        failed = "".join(f"; {k} could not be listed: {e}" for k, e in self._errors.items())
        hint = (
            f"did you mean {', '.join(close)}?"
            if close
            else f"available: {', '.join(all_names) or 'none'}"
        )
        raise BackendNotFoundError(f"no backend named {name!r}; {hint}{failed}", candidates=close)

    def refresh(self) -> None:
        """Forget cached device lists (they are fetched again on next use)."""
        with self._lock:
            self._backends.clear()
            self._errors.clear()

    # -- jobs -----------------------------------------------------------------------------

    def retrieve_job(self, job_id: str) -> MultiCloudJob:
        """A job from the local job store, in this or any later process.

        Raises:
            MultiCloudError: the id is not in the job store, or its vendor is not configured.
        """
        if self.job_store is None:
            raise MultiCloudError("this provider keeps no job store; cannot retrieve jobs")
        record = self.job_store.get(job_id)
        if record is None:
            raise MultiCloudError(
                f"job {job_id!r} is not in the local job store ({self.job_store.path}); "
                "only jobs submitted through qiskit-multicloud can be retrieved"
            )
        backend = self.get_backend(record.backend, vendor=record.vendor)
        return backend.job_from_refs(
            record.chunk_refs, record.chunk_sizes, record.layouts, record.options, record.record_id
        )

    def jobs(
        self, vendor: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[JobRecord]:
        """Local records of submitted jobs, newest first."""
        if self.job_store is None:
            return []
        return self.job_store.list(vendor=vendor, status=status, limit=limit)

    # -- emulators ------------------------------------------------------------------------

    @classmethod
    def emulated(
        cls,
        vendors: Iterable[str] | None = None,
        *,
        job_store: JobStore | str | Path | bool | None = None,
        **emulator_options: Any,
    ) -> MultiCloudProvider:
        """Start local emulators (default: all five) and return a provider bound to them.

        The emulators stop when :meth:`close` is called or the process exits.
        """
        from .emulators import start

        keys = tuple(v.lower() for v in (vendors or VENDOR_KEYS))
        handles = [start(key, **emulator_options) for key in keys]
        provider = cls({h.vendor: h.settings() for h in handles}, vendors=keys, job_store=job_store)
        provider._emulators = handles
        return provider

    @property
    def emulators(self) -> list[EmulatorHandle]:
        """Emulators started by :meth:`emulated` (empty otherwise)."""
        return list(self._emulators)

    def close(self) -> None:
        """Stop emulators this provider started and close connections."""
        for handle in self._emulators:
            handle.stop()
        self._emulators = []
        for adapter in (self._adapters or {}).values():
            adapter.close()

    def __enter__(self) -> MultiCloudProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _exact(backend: MultiCloudBackend, name: str) -> bool:
    return bool(backend.name == name)


def _alias(backend: MultiCloudBackend, name: str) -> bool:
    lowered = name.lower()
    return any(alias.lower() == lowered for alias in backend.names)


def _prefix(backend: MultiCloudBackend, name: str) -> bool:
    lowered = name.lower()
    return any(n.lower().startswith(lowered) for n in backend.names)


def _matches(backend: MultiCloudBackend, name: str) -> bool:
    return _exact(backend, name) or _alias(backend, name) or _prefix(backend, name)
