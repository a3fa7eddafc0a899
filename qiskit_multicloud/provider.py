"""``MultiCloudProvider``: one entry point to every configured vendor.

Nothing touches the network at import or construction. Vendors are configured from
explicit arguments, environment variables, saved accounts or the vendors' own files (see
:mod:`qiskit_multicloud.accounts`); device lists are fetched on first use, concurrently
across vendors within ``discovery_timeout`` seconds, and cached until :meth:`refresh`, in
memory and on disk for later processes (see :mod:`qiskit_multicloud.cache`). A
vendor that is misconfigured or does not answer in time is skipped with one
:class:`~qiskit_multicloud.exceptions.VendorUnavailableWarning` and remembered as failed
until :meth:`refresh`, so it never blocks the other vendors twice.
"""

from __future__ import annotations

import difflib
import logging
import tempfile
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import accounts as saved
from .backend import MultiCloudBackend
from .cache import DiskCache, enabled_by_environment
from .config import VendorSettings
from .deadline import bounded
from .exceptions import (
    BackendNotFoundError,
    ConfigurationError,
    DeadlineExceededError,
    MultiCloudError,
    VendorConnectionError,
    VendorUnavailableWarning,
)
from .job import MultiCloudJob
from .jobstore import SUBMITTING, UNCERTAIN, JobRecord, JobStore
from .types import DeviceSpec
from .vendors import VENDOR_KEYS, plugin, resolve_settings
from .vendors.base import VendorAdapter

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

    from .emulators import EmulatorHandle
    from .selection import Comparison, Ranking, RankingEntry
    from .selection.compare import ProgressCallback
    from .selection.queue import BackendFilter

log = logging.getLogger(__name__)

Credentials = Mapping[str, VendorSettings | Mapping[str, Any]]
#: One vendor's discovery: its devices and the age of the cached list (None: just read).
Discovered = tuple[list[DeviceSpec], float | None]

#: Seconds the provider waits for all vendors' device lists together (``discovery_timeout``).
DEFAULT_DISCOVERY_TIMEOUT = 5.0


def _known_vendor(vendor: str) -> str:
    key = str(vendor).lower()
    if key not in VENDOR_KEYS:
        raise ConfigurationError(f"unknown vendor {vendor!r}; known: {', '.join(VENDOR_KEYS)}")
    return key


class MultiCloudProvider:
    """Backends of OQC QCaaS, OQTOPUS, IQM, Qoro and Qilimanjaro QaaS behind one provider.

    Args:
        credentials: per-vendor settings, e.g. ``{"oqc": {"url": ..., "token": ...}}``;
            vendors not named here are configured from their environment variables, saved
            accounts and files, as their own SDKs do.
        vendors: restrict to these vendor keys (default: all five).
        accounts: saved account to use per vendor, e.g. ``{"iqm": "lab2"}`` (see
            :meth:`save_account`); without it each vendor's default saved account is used
            when its environment variables do not configure it.
        job_store: where submissions are recorded; a path, a :class:`JobStore`, or
            ``False`` to keep no record.
        discovery_timeout: seconds to wait for all vendors' device lists together
            (default :data:`DEFAULT_DISCOVERY_TIMEOUT`); a vendor that has not answered by
            then is skipped with a warning until :meth:`refresh`.
        cache: the on-disk cache of device information and access tokens shared with later
            processes: a directory, a :class:`~qiskit_multicloud.cache.DiskCache`, ``True``
            for the default directory, or ``False`` for none. Default: the default
            directory unless ``QISKIT_MULTICLOUD_CACHE=off``.
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        vendors: Iterable[str] | None = None,
        accounts: Mapping[str, str] | None = None,
        job_store: JobStore | str | Path | bool | None = None,
        discovery_timeout: float = DEFAULT_DISCOVERY_TIMEOUT,
        cache: DiskCache | str | Path | bool | None = None,
    ) -> None:
        self._explicit = {_known_vendor(k): v for k, v in (credentials or {}).items()}
        self._accounts = {_known_vendor(k): str(v) for k, v in (accounts or {}).items()}
        self._vendor_keys = tuple(_known_vendor(v) for v in (vendors or VENDOR_KEYS))
        if not discovery_timeout > 0:
            raise ConfigurationError(
                f"discovery_timeout={discovery_timeout!r} must be a positive number of seconds"
            )
        self.discovery_timeout = float(discovery_timeout)
        if job_store is False:
            self.job_store: JobStore | None = None
        elif isinstance(job_store, JobStore):
            self.job_store = job_store
        else:
            self.job_store = JobStore(None if job_store in (None, True) else Path(str(job_store)))
        if cache is None:
            cache = enabled_by_environment()
        if isinstance(cache, DiskCache) or cache is False:
            self.cache: DiskCache | None = cache or None
        else:
            self.cache = DiskCache(None if cache is True else Path(str(cache)))
        self._refreshing = False
        self._adapters: dict[str, VendorAdapter] | None = None
        self._config_errors: dict[str, ConfigurationError] = {}
        self._backends: dict[str, list[MultiCloudBackend]] = {}
        self._errors: dict[str, Exception] = {}
        self._reported: set[str] = set()
        self._inflight: dict[str, Future[Discovered]] = {}
        self._lock = threading.RLock()
        self._emulators: list[EmulatorHandle] = []
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    def __repr__(self) -> str:
        configured = list(self.adapters) if self._adapters is not None else "not yet resolved"
        return f"MultiCloudProvider(vendors={configured})"

    # -- saved accounts -------------------------------------------------------------------

    @staticmethod
    def save_account(
        vendor: str,
        *,
        name: str | None = None,
        overwrite: bool = False,
        set_as_default: bool | None = None,
        **settings: Any,
    ) -> saved.SavedAccount:
        """Save a vendor account to the private accounts file for later sessions.

        Args:
            vendor: vendor key, e.g. ``"iqm"``.
            name: account name (default ``"default"``); a vendor may have several.
            overwrite: replace an account of the same name.
            set_as_default: make it the vendor's default account (default: only if the
                vendor has none yet).
            settings: the vendor's settings, as for ``credentials=`` (e.g. ``url=``,
                ``token=``); validated before saving.

        Returns:
            The saved account as :meth:`saved_accounts` lists it (secrets redacted).

        Raises:
            ConfigurationError: unknown vendor or setting, invalid values, or the account
                exists and ``overwrite`` is false.
        """
        return saved.save_account(
            vendor, name=name, overwrite=overwrite, set_as_default=set_as_default, **settings
        )

    @staticmethod
    def saved_accounts(
        vendor: str | None = None, name: str | None = None
    ) -> list[saved.SavedAccount]:
        """Saved accounts, optionally of one vendor or name, with secrets shown as ``***``."""
        return saved.saved_accounts(vendor, name)

    @staticmethod
    def delete_account(vendor: str, name: str | None = None) -> bool:
        """Delete a saved account (default: the vendor's default one); False if absent."""
        return saved.delete_account(vendor, name)

    # -- configuration --------------------------------------------------------------------

    @property
    def adapters(self) -> dict[str, VendorAdapter]:
        """One adapter per vendor that is configured (resolved on first use).

        A vendor whose configuration is malformed is left out (see :attr:`unavailable`).
        """
        with self._lock:
            if self._adapters is None:
                adapters: dict[str, VendorAdapter] = {}
                for key in self._vendor_keys:
                    try:
                        settings = resolve_settings(
                            key, self._explicit.get(key), self._accounts.get(key)
                        )
                    except ConfigurationError as exc:
                        log.debug("%s: configuration unusable: %s", key, exc)
                        self._config_errors[key] = exc
                        continue
                    if settings is None:
                        log.debug("%s: no credentials found; vendor skipped", key)
                        continue
                    adapter = plugin(key).adapter.from_settings(settings)
                    if self.cache is not None:
                        view = self.cache.bind(adapter.cache_key())
                        view.refreshing = self._refreshing
                        adapter.attach_cache(view)
                    adapters[key] = adapter
                self._adapters = adapters
            return self._adapters

    @property
    def vendors(self) -> tuple[str, ...]:
        """Keys of the vendors this provider can reach."""
        return tuple(self.adapters)

    @property
    def unavailable(self) -> dict[str, Exception]:
        """Vendors skipped so far (misconfigured, or their device list failed) and why."""
        self.adapters  # noqa: B018 - resolves configuration errors
        with self._lock:
            return {**self._config_errors, **self._errors}

    # -- discovery ------------------------------------------------------------------------

    def _list_devices(self, key: str, future: Future[Discovered]) -> None:
        """Worker thread body: one vendor's device list into ``future``.

        Runs under ``bounded(discovery_timeout)``, so the transport ends in-flight requests
        when the caller stops waiting. The caller's own deadline is deliberately not
        carried: the device list is cached for every later caller.
        """
        try:
            with bounded(self.discovery_timeout):
                future.set_result(self.adapters[key].cached_discovery())
        except BaseException as exc:  # handed to the waiting caller
            future.set_exception(exc)

    def _discover(self, keys: list[str]) -> list[str]:
        """Fetch the device lists of ``keys`` not yet known, concurrently, waiting at most
        ``discovery_timeout`` seconds; returns the keys that failed just now."""
        with self._lock:
            futures: dict[str, Future[Discovered]] = {}
            for key in keys:
                if key in self._backends or key in self._errors:
                    continue
                future = self._inflight.get(key)
                if future is None:
                    future = self._inflight[key] = Future()
                    # Daemon threads: a vendor that never answers cannot delay exit.
                    threading.Thread(
                        target=self._list_devices,
                        args=(key, future),
                        name=f"qiskit-multicloud-discover-{key}",
                        daemon=True,
                    ).start()
                futures[key] = future
        if not futures:
            return []
        done, _ = wait(futures.values(), timeout=self.discovery_timeout)
        failed: list[str] = []
        with self._lock:
            for key, future in futures.items():
                if self._inflight.get(key) is future:
                    del self._inflight[key]
                if key in self._backends or key in self._errors:
                    continue  # another caller stored the outcome
                error = future.exception() if future in done else None
                if future not in done or isinstance(error, DeadlineExceededError):
                    self._errors[key] = VendorConnectionError(
                        f"{key}: no device list within the discovery timeout of "
                        f"{self.discovery_timeout:g}s (MultiCloudProvider(discovery_timeout=...))",
                        vendor=key,
                    )
                    failed.append(key)
                    continue
                if error is None:
                    backend_class, adapter = plugin(key).backend, self.adapters[key]
                    specs, cached_age = future.result()
                    self._backends[key] = [
                        backend_class(adapter, spec, provider=self, job_store=self.job_store)
                        for spec in specs
                    ]
                    for backend in self._backends[key]:
                        backend.cached_age = cached_age
                elif isinstance(error, MultiCloudError):
                    self._errors[key] = error
                    failed.append(key)
                else:
                    raise error
        return failed

    def _warn_unavailable(self, keys: Iterable[str]) -> None:
        """One warning per vendor that is skipped, the first time only."""
        for key in keys:
            with self._lock:
                error = self._config_errors.get(key) or self._errors.get(key)
                if error is None or key in self._reported:
                    continue
                self._reported.add(key)
            again = (
                "fix its configuration and create a new provider"
                if isinstance(error, ConfigurationError)
                else "provider.refresh() tries it again"
            )
            warnings.warn(
                VendorUnavailableWarning(
                    f"{key} skipped: {error}; other vendors are unaffected ({again})",
                    vendor=key,
                    reason=error,
                ),
                stacklevel=4,
            )

    def _all_backends(self, vendor: str | None = None) -> list[MultiCloudBackend]:
        if vendor is not None:
            key = _known_vendor(vendor)
            if key in self._vendor_keys and key not in self.adapters:
                if key in self._config_errors:
                    raise self._config_errors[key]
                raise ConfigurationError(
                    f"vendor {key!r} has no credentials configured; run 'qiskit-multicloud "
                    f"login {key}', see the '{key}' page of the docs, or use "
                    "MultiCloudProvider.emulated()"
                )
            if key not in self._vendor_keys:
                raise ConfigurationError(
                    f"vendor {key!r} is not among this provider's vendors "
                    f"({', '.join(self._vendor_keys)})"
                )
            self._discover([key])
            if key in self._errors:
                self._reported.add(key)
                raise self._errors[key]
            return list(self._backends[key])
        keys = list(self.adapters)
        self._discover(keys)
        if len(keys) == 1 and keys[0] in self._errors and not self._config_errors:
            self._reported.add(keys[0])
            raise self._errors[keys[0]]  # the only vendor: its error, not an empty list
        self._warn_unavailable([*self._config_errors, *keys])
        return [b for key in keys for b in self._backends.get(key, [])]

    def backends(
        self,
        name: str | None = None,
        vendor: str | None = None,
        online: bool | None = None,
        min_qubits: int | None = None,
        **kwargs: Any,
    ) -> list[MultiCloudBackend]:
        """Backends matching every given filter.

        Vendors are contacted concurrently; one that fails or does not answer within
        ``discovery_timeout`` is left out with a :class:`VendorUnavailableWarning` (when
        ``vendor=`` names it, or it is the only vendor configured, its error is raised
        instead).

        Args:
            name: exact id, alias or unique prefix (see :meth:`get_backend`).
            vendor: vendor key, e.g. ``"iqm"``.
            online: only devices the vendor reports as available (or unavailable).
            min_qubits: at least this many qubits.

        Raises:
            ConfigurationError: ``vendor`` is unknown or not configured.
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
            ConfigurationError: ``vendor`` is unknown or not configured.
        """
        if vendor is None and not self.adapters:
            problems = "".join(f"; {k}: {e}" for k, e in self._config_errors.items())
            raise BackendNotFoundError(
                "no vendor is configured: pass credentials=..., run 'qiskit-multicloud login "
                "VENDOR' or MultiCloudProvider.save_account(...), set a vendor's environment "
                f"variables, or use MultiCloudProvider.emulated() for local emulators{problems}"
            )
        candidates = self._all_backends(vendor)
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
        close = similar_names(name, candidates)
        unavailable = {**self._config_errors, **self._errors}
        failed = "".join(f"; {k} is unavailable: {e}" for k, e in unavailable.items())
        hint = (
            f"did you mean {', '.join(close)}?"
            if close
            else f"available: {', '.join(b.name for b in candidates) or 'none'}"
        )
        raise BackendNotFoundError(f"no backend named {name!r}; {hint}{failed}", candidates=close)

    def refresh(self) -> None:
        """Forget device lists and failed vendors (all are tried again on next use).

        From then on this provider reads device information from the vendors, not from the
        on-disk cache, and rewrites the cache with what it reads.
        """
        with self._lock:
            self._backends.clear()
            self._errors.clear()
            self._reported.clear()
            self._refreshing = True
            for adapter in (self._adapters or {}).values():
                if adapter.cache is not None:
                    adapter.cache.refreshing = True

    # -- choosing and comparing (see qiskit_multicloud.selection) ------------------------

    def candidates(
        self,
        vendors: str | Iterable[str] | None = None,
        min_qubits: int | None = None,
        simulator: bool | None = False,
    ) -> list[MultiCloudBackend]:
        """Online backends of ``vendors`` with at least ``min_qubits`` qubits.

        Args:
            vendors: one vendor key or several (default: every configured vendor).
            min_qubits: at least this many qubits.
            simulator: ``False`` devices only, ``True`` simulators only, ``None`` both.
        """
        keys = [vendors] if isinstance(vendors, str) else list(vendors or ())
        wanted = {key.lower() for key in keys}
        unknown = sorted(wanted - set(self.adapters))
        if unknown:
            self._all_backends(unknown[0])  # raises the "not configured" error
        listed = self._all_backends(keys[0] if len(keys) == 1 else None)
        found = [b for b in listed if b.online and (not wanted or b.vendor in wanted)]
        if simulator is not None:
            found = [b for b in found if b.simulator is simulator]
        if min_qubits is not None:
            found = [b for b in found if b.num_qubits >= min_qubits]
        return found

    def least_busy(
        self,
        min_qubits: int | None = None,
        vendor: str | Iterable[str] | None = None,
        simulator: bool = False,
        filters: BackendFilter | None = None,
    ) -> MultiCloudBackend:
        """The online device with the shortest queue, as ``QiskitRuntimeService.least_busy``.

        Queue information is read fresh from each vendor (concurrently). Devices whose
        vendor publishes none rank after every device with queue information; the
        "Choosing a cloud" page lists what each vendor publishes.

        Args:
            min_qubits: at least this many qubits.
            vendor: a vendor key or several (default: all configured).
            simulator: ``True`` to choose among simulators instead of devices.
            filters: extra predicate, ``filters(backend) -> bool``.

        Raises:
            BackendNotFoundError: no online backend matches.
        """
        from .selection import least_busy

        return least_busy(self.candidates(vendor, min_qubits, simulator), filters)

    def rank_backends(
        self,
        circuits: QuantumCircuit | Sequence[QuantumCircuit],
        *,
        vendors: str | Iterable[str] | None = None,
        min_qubits: int | None = None,
        optimization_level: int = 2,
        seed_transpiler: int | None = None,
        queue_weight: float = 0.0,
        simulators: bool = False,
        backends: Sequence[MultiCloudBackend | str] | None = None,
    ) -> Ranking:
        """Transpile for every candidate device concurrently and rank by estimated success.

        The estimate comes from each device's own Target (gate and readout errors, idle
        decoherence from T1/T2 and durations); unpublished errors are replaced by marked
        assumptions (see :mod:`qiskit_multicloud.selection.estimate`). The queue breaks
        ties, or weighs in with ``queue_weight``.

        Args:
            circuits: one circuit or several (scored together: mean estimate).
            vendors: restrict to these vendors.
            min_qubits: restrict to devices this large (devices smaller than the circuit
                are always skipped).
            optimization_level: transpiler optimisation level.
            seed_transpiler: transpiler seed (reproducible ranking).
            queue_weight: ``w > 0`` divides each estimate by ``1 + w * pending_jobs``.
            simulators: include simulators (ideal, so they rank first).
            backends: rank exactly these (names or backends) instead of discovering.

        Returns:
            Entries best first (``.table()`` prints them; ``.skipped`` says who could not
            be scored and why).
        """
        from qiskit.circuit import QuantumCircuit

        from .selection import rank

        batch = [circuits] if isinstance(circuits, QuantumCircuit) else list(circuits)
        if not batch:
            raise ValueError("rank_backends needs at least one circuit")
        if backends is not None:
            chosen = [self.get_backend(b) if isinstance(b, str) else b for b in backends]
        else:
            chosen = self.candidates(vendors, min_qubits, None if simulators else False)
        return rank(
            chosen,
            batch,
            optimization_level=optimization_level,
            seed_transpiler=seed_transpiler,
            queue_weight=queue_weight,
        )

    def compare(
        self,
        circuit: QuantumCircuit,
        backends: Sequence[MultiCloudBackend | str | RankingEntry] | None = None,
        shots: int = 1000,
        *,
        vendors: str | Iterable[str] | None = None,
        optimization_level: int = 2,
        seed_transpiler: int | None = None,
        timeout: float | None = None,
        run_options: Mapping[str, Any] | None = None,
        progress: ProgressCallback | None = None,
        max_ideal_qubits: int = 12,
    ) -> Comparison:
        """Run ``circuit`` on several devices at once and compare the outcomes.

        One job per device, submitted concurrently through the ordinary ``run()`` (recorded
        in the job store). Devices that fail, time out or cannot take the circuit appear as
        such in the comparison; the others still come back.

        Args:
            circuit: the logical circuit; it is transpiled for each device.
            backends: names, backends or ranking entries (whose ISA circuit is sent as is);
                default: every online device that fits, from :meth:`rank_backends`.
            shots: shots per device.
            vendors: with ``backends=None``, restrict to these vendors.
            optimization_level: transpiler optimisation level.
            seed_transpiler: transpiler seed.
            timeout: seconds per job before it is reported as ``TIMEOUT`` (not cancelled).
            run_options: extra ``run()`` options for every device.
            progress: called with a :class:`~qiskit_multicloud.selection.DeviceRun` on
                every status change (from worker threads).
            max_ideal_qubits: largest circuit compared against its statevector.
        """
        from .selection import DeviceRun, RankingEntry, compare_runs, rank

        if backends is None:
            entries: list[RankingEntry | MultiCloudBackend] = list(
                self.rank_backends(
                    circuit, vendors=vendors, optimization_level=optimization_level,
                    seed_transpiler=seed_transpiler,
                )
            )
        else:
            entries = [self.get_backend(b) if isinstance(b, str) else b for b in backends]
        plain = [e for e in entries if not isinstance(e, RankingEntry)]
        ranking = rank(
            plain, [circuit], optimization_level=optimization_level,
            seed_transpiler=seed_transpiler,
        ) if plain else None
        scored = {id(e.backend): e for e in ranking or []}
        reasons = {id(s.backend): s.reason for s in (ranking.skipped if ranking else [])}
        runs = []
        for item in entries:
            entry = item if isinstance(item, RankingEntry) else scored.get(id(item))
            backend = item.backend if isinstance(item, RankingEntry) else item
            runs.append(
                DeviceRun(
                    backend=backend,
                    circuit=entry.circuit if entry else None,
                    estimate=entry.estimates[0] if entry else None,
                    error=None if entry else f"not submitted: {reasons.get(id(item))}",
                )
            )
        return compare_runs(
            runs,
            circuit,
            shots,
            timeout=timeout,
            run_options=dict(run_options or {}),
            progress=progress,
            max_ideal_qubits=max_ideal_qubits,
        )

    # -- jobs -----------------------------------------------------------------------------

    def retrieve_job(self, job_id: str) -> MultiCloudJob:
        """A job from the local job store, in this or any later process.

        ``job_id`` is a vendor job id or a local record id (``provider.jobs()`` lists both;
        a record id is unique, a vendor job id may repeat across vendors and servers). A
        record whose submit was interrupted (a crash, a lost answer) is reconciled with the
        vendor by idempotent requests (:meth:`MultiCloudBackend.recover`); nothing is ever
        resubmitted.

        Raises:
            MultiCloudError: the id is unknown, ambiguous (the message lists the candidate
                record ids), made on an account this provider does not reach, or its
                vendor is not configured.
            SubmissionUncertainError: an interrupted submit the vendor cannot confirm.
        """
        if self.job_store is None:
            raise MultiCloudError("this provider keeps no job store; cannot retrieve jobs")
        record = self._record_for(job_id, self.job_store.find(job_id))
        backend = self.get_backend(record.backend, vendor=record.vendor)
        reached = backend.adapter.account_origin
        if record.origin and record.origin != reached:
            raise MultiCloudError(
                f"job {job_id!r} was submitted to {record.vendor} at {record.origin}, but this "
                f"provider's {record.vendor} account is {reached}; configure credentials for "
                f"{record.origin} to retrieve it ({record.describe()})"
            )
        if not record.chunk_refs and record.status in (SUBMITTING, UNCERTAIN):
            return backend.recover(record)
        return backend.job_from_refs(
            record.chunk_refs, record.chunk_sizes, record.layouts, record.options, record.record_id
        )

    def _record_for(self, job_id: str, candidates: list[JobRecord]) -> JobRecord:
        """The one record ``job_id`` names, preferring accounts this provider reaches."""
        assert self.job_store is not None
        if not candidates:
            raise MultiCloudError(
                f"job {job_id!r} is not in the local job store ({self.job_store.path}); "
                "only jobs submitted through qiskit-multicloud can be retrieved"
            )
        if len(candidates) == 1:
            return candidates[0]
        adapters = self.adapters
        reachable = [
            r
            for r in candidates
            if r.vendor in adapters and r.origin in ("", adapters[r.vendor].account_origin)
        ]
        if len(reachable) == 1:
            return reachable[0]
        listed = "; ".join(r.describe() for r in candidates)
        raise MultiCloudError(
            f"job id {job_id!r} is ambiguous: {len(candidates)} records carry it ({listed}). "
            "Pass the record id of the one you mean to retrieve_job()"
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
        cache: DiskCache | str | Path | bool = False,
        **emulator_options: Any,
    ) -> MultiCloudProvider:
        """Start local emulators (default: all five) and return a provider bound to them.

        Emulated jobs go to a temporary job store (removed by :meth:`close`) unless
        ``job_store`` names one (``True`` = the user's persistent store). The emulators stop
        when :meth:`close` is called or the process exits. No on-disk cache by default:
        these emulators live on new ports each time, so nothing could be reused
        (``cache=`` as for the constructor).
        """
        from .emulators import start

        keys = tuple(v.lower() for v in (vendors or VENDOR_KEYS))
        scratch = None
        if job_store is None:
            scratch = tempfile.TemporaryDirectory(prefix="qiskit-multicloud-emulated-")
            job_store = Path(scratch.name) / "jobs.sqlite"
        handles = [start(key, **emulator_options) for key in keys]
        provider = cls(
            {h.vendor: h.settings() for h in handles}, vendors=keys, job_store=job_store,
            cache=cache,
        )
        provider._emulators = handles
        provider._scratch = scratch
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
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

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


def _similarity(query: str, name: str) -> float:
    """How alike two names look, 0..1: whole-name ratio, or ratio against the name's start
    (so a mistyped short form like ``qpu:uk:9`` is close to ``qpu:uk:2:d865b5a184``)."""
    query, name = query.lower(), name.lower()
    whole = difflib.SequenceMatcher(None, query, name).ratio()
    start = difflib.SequenceMatcher(None, query, name[: len(query)]).ratio()
    return max(whole, start)


def similar_names(
    query: str, backends: Iterable[MultiCloudBackend], limit: int = 5, cutoff: float = 0.6
) -> tuple[str, ...]:
    """Backend names most like ``query``, best first (one name per backend)."""
    scored = []
    for backend in backends:
        score, best = max((_similarity(query, n), n) for n in backend.names)
        if score >= cutoff:
            scored.append((-score, best))
    return tuple(name for _, name in sorted(scored)[:limit])
