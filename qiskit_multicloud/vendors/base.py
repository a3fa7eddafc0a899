"""The small interface each vendor implements: protocol translation only.

Everything else (validation, polling, retries, Target and Result building, persistence) is
shared. An adapter is constructed from the vendor's resolved settings and owns one
:class:`~qiskit_multicloud.transport.Transport`.
"""

from __future__ import annotations

import abc
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus

from ..cache import AccountCache, CacheKey, fingerprint
from ..config import Secret, VendorSettings
from ..options import OptionSpec
from ..transport import Transport, origin
from ..types import CircuitCounts, CircuitLayout, DeviceSpec, QueueInfo, VendorJobStatus

log = logging.getLogger(__name__)

#: Resolved run options (base options plus the vendor's own), already validated.
RunOptions = Mapping[str, Any]

#: Key, in the options :meth:`VendorAdapter.submit` gets, of the core's callback for ids
#: known before the billable request (see :meth:`VendorAdapter.report_reserved`).
BEFORE_BILLABLE = "_before_billable"


class VendorAdapter(abc.ABC):
    """REST protocol translation for one vendor account.

    Class attributes:
        vendor: short key (``"oqc"``, ``"oqtopus"``, ``"iqm"``, ``"qoro"``, ``"qilimanjaro"``).
        display_name: human name for messages and tables.
        settings_class: the vendor's :class:`VendorSettings` subclass.
        status_map: vendor status string -> Qiskit ``JobStatus`` (exhaustively tested).
        run_options: vendor-specific ``run()`` options beyond the shared base set.
    """

    vendor: ClassVar[str]
    display_name: ClassVar[str]
    settings_class: ClassVar[type[VendorSettings]]
    status_map: ClassVar[Mapping[str, JobStatus]]
    run_options: ClassVar[tuple[OptionSpec, ...]] = ()

    def __init__(self, settings: VendorSettings, transport: Transport) -> None:
        self.settings = settings
        self.transport = transport
        self._final_answers: dict[str, Any] = {}
        #: This account's view of the on-disk cache (set by the provider), or None.
        self.cache: AccountCache | None = None

    def remember_final(self, ref: str, answer: Any) -> None:
        """Keep a status answer that found ``ref`` (a job or task) final and carries its
        results or failure, so :meth:`results` / :meth:`failure_message` send no request
        for what is already known. The one mechanism for this in every adapter."""
        self._final_answers[ref] = answer

    def known_final(self, ref: str, *, keep: bool = False) -> Any | None:
        """The answer :meth:`remember_final` kept for ``ref`` (``None`` if none); handed
        out once unless ``keep``, so a retry after a bad answer reads the vendor again and
        finished jobs' documents do not stay in memory."""
        if keep:
            return self._final_answers.get(ref)
        return self._final_answers.pop(ref, None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.settings!r})"

    @property
    def account_origin(self) -> str:
        """``scheme://host:port`` of the account's API: with the vendor, it scopes job ids."""
        return origin(self.transport.base_url)

    # -- on-disk cache ----------------------------------------------------------------------

    def cache_key(self) -> CacheKey:
        """Vendor, origin and a non-reversible fingerprint of every setting (secrets
        included, so another token or username is another account; ``source`` excluded)."""
        parts = []
        for field in dataclasses.fields(self.settings):
            if field.name == "source":
                continue
            value = getattr(self.settings, field.name)
            shown = value.reveal() if isinstance(value, Secret) else repr(value)
            parts.append(f"{field.name}={shown}")
        return CacheKey(self.vendor, self.account_origin, fingerprint(*parts))

    def attach_cache(self, cache: AccountCache | None) -> None:
        """Use ``cache`` for device information (and, in adapters that log in, tokens)."""
        self.cache = cache

    def cached_discovery(self) -> tuple[list[DeviceSpec], float | None]:
        """:meth:`discover_devices`, from the cache while fresh.

        Returns:
            The devices and the age in seconds of the cached list they came from (``None``
            when just read from the vendor, which also rewrites the cache).
        """
        cache = self.cache
        if cache is not None:
            entry = cache.load("devices")
            if entry is not None:
                try:
                    specs = [DeviceSpec.from_dict(d) for d in entry.data["specs"]]
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    log.info("%s: cached device list unreadable (%s); reading it again",
                             self.vendor, type(exc).__name__)
                else:
                    self.adopt_cached_devices(specs)
                    return specs, entry.age(cache.now)
        specs = self.discover_devices()
        if cache is not None:
            cache.store("devices", {"specs": [s.to_dict() for s in specs]})
        return specs, None

    def forget_cached(self) -> None:
        """Drop this account's cached device information (after a 404 that used it, or a
        changed calibration id); a cached access token stays (it was not the problem)."""
        if self.cache is not None:
            token = self.cache.load("token")
            self.cache.drop()
            if token is not None:
                self.cache.store("token", token.data)

    def adopt_cached_devices(self, specs: Sequence[DeviceSpec]) -> None:
        """Set up what :meth:`list_devices` would have (per-device URLs, ...) for devices
        that came from the cache instead. Default: nothing to set up."""
        return None

    def cached_device(self, key: str) -> DeviceSpec | None:
        """The full device cached under ``key`` by :meth:`remember_device` (the caller
        checks its ``calibration_id`` against the vendor's current one)."""
        if self.cache is None:
            return None
        entry = self.cache.load(f"device-{fingerprint(key)}")
        if entry is None:
            return None
        try:
            return DeviceSpec.from_dict(entry.data)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def remember_device(self, key: str, spec: DeviceSpec) -> None:
        """Cache one full device under ``key`` (see :meth:`cached_device`)."""
        if self.cache is not None:
            self.cache.store(f"device-{fingerprint(key)}", spec.to_dict())

    @classmethod
    @abc.abstractmethod
    def from_settings(cls, settings: VendorSettings) -> VendorAdapter:
        """Build the adapter and its transport (auth header, retry policy) from settings."""

    @abc.abstractmethod
    def list_devices(self) -> list[DeviceSpec]:
        """Fetch every device the account can see, with what the Target needs."""

    def discover_devices(self) -> list[DeviceSpec]:
        """Devices for the provider's backend list; may be partial (cheap to fetch).

        A partial spec has the names, ``online`` and ``max_shots`` of the device;
        :meth:`complete_device` fetches the rest when a backend first needs its Target.
        The default is the full :meth:`list_devices`.
        """
        return self.list_devices()

    def complete_device(self, device: DeviceSpec) -> DeviceSpec:
        """The full spec of a device returned by :meth:`discover_devices` (identity if full)."""
        return device

    def refresh_device(self, device: DeviceSpec) -> DeviceSpec:
        """Re-read one device (calibration may have changed). Defaults to a full listing."""
        for spec in self.list_devices():
            if spec.device_id == device.device_id:
                return spec
        return device

    def queue_info(self, device: DeviceSpec) -> QueueInfo:
        """How busy ``device`` is now, from the vendor's own queue information.

        The default says the vendor publishes none; adapters whose protocol has a queue
        length or wait estimate override it (one idempotent request, no caching).
        """
        return QueueInfo(source=f"{self.display_name} publishes no queue information")

    def queue_from_refresh(self, device: DeviceSpec, source: str) -> QueueInfo:
        """Queue length as a fresh :meth:`refresh_device` reports it (``source`` names the
        request and field), for vendors that publish it in the device record."""
        return QueueInfo(pending_jobs=self.refresh_device(device).queue_length, source=source)

    def validate(
        self, device: DeviceSpec, circuits: Sequence[QuantumCircuit], options: RunOptions
    ) -> None:
        """Vendor-specific checks beyond the Target (raise CircuitValidationError).

        The default accepts everything the Target accepts.
        """
        return None

    @abc.abstractmethod
    def build_payload(
        self, device: DeviceSpec, circuits: Sequence[QuantumCircuit], options: RunOptions
    ) -> Any:
        """Translate circuits into the exact vendor request body (no HTTP here).

        Tests assert on this payload; :meth:`submit` only sends it.
        """

    @abc.abstractmethod
    def submit(self, device: DeviceSpec, payload: Any, options: RunOptions) -> str:
        """Send ``payload``; return the vendor job reference used by the other methods.

        Must not retry a request that may have reached the vendor; let
        :class:`~qiskit_multicloud.exceptions.VendorConnectionError` or a 5xx
        :class:`~qiskit_multicloud.exceptions.VendorAPIError` propagate and the shared core
        records the submission as uncertain.
        """

    @abc.abstractmethod
    def status(self, job_ref: str) -> VendorJobStatus:
        """The job's current status."""

    @abc.abstractmethod
    def results(
        self, job_ref: str, layouts: Sequence[CircuitLayout], options: RunOptions
    ) -> list[CircuitCounts]:
        """Outcomes of a DONE job, one per circuit, in submission order, Qiskit bit order."""

    @abc.abstractmethod
    def cancel(self, job_ref: str) -> bool:
        """Ask the vendor to cancel the job.

        Returns:
            True if a cancel was sent for a job still running or queued; False (and no
            error) if the job had already finished, failed or been cancelled.
        """

    @staticmethod
    def report_reserved(options: RunOptions, **ids: Any) -> None:
        """Hand ids known BEFORE the billable request to the core, from inside :meth:`submit`.

        The core writes them to the job store before this returns, so a process killed
        while the billable request is in flight leaves a record :meth:`recover` can use.
        Values must be JSON (strings, lists); never a secret or a presigned URL.

        Raises:
            JobStoreError: they could not be stored; the billable request must not be sent
                (release what was reserved, if the vendor allows it, and let it propagate).
        """
        hook = options.get(BEFORE_BILLABLE)
        if hook is not None:
            hook(ids)

    def recover(
        self, device: DeviceSpec, reserved: Mapping[str, Any], options: RunOptions
    ) -> str | None:
        """In a later process: the job an interrupted submit created, by idempotent requests.

        ``reserved`` holds what :meth:`report_reserved` stored for this chunk (empty if the
        process died before), ``options["submission_tag"]`` the chunk's tag. Never sends
        the billable request. May release (cancel) reserved ids that were never submitted.

        Returns:
            The job reference, or ``None`` when the vendor cannot tell (the default).

        Raises:
            VendorAPIError: not a connection error or 5xx: it is certain no job runs.
        """
        return None

    def reconcile(self, device: DeviceSpec, payload: Any, options: RunOptions) -> str | None:
        """After a submit whose answer was lost: the job it created, if the vendor has one.

        ``options["submission_tag"]`` is a unique string adapters may embed in the payload
        (a job name, tag or metadata field) so it can be found again here with idempotent
        requests only. Return ``None`` when no such job exists or the vendor cannot tell.
        Where the protocol lets a job id be known before the final, billable request (and
        the server refuses to start that id twice), an adapter may finish that request here.

        Raises:
            VendorAPIError: with a status below 500 (not a connection error) when it is
                certain that no job will run; the message names any id the vendor holds.
        """
        return None

    def may_return_fewer_shots(self, options: RunOptions) -> bool:
        """True when the vendor documents results with fewer shots than asked (e.g. IQM
        heralding drops shots); never more. Default: exactly the shots asked. The result
        builder then accepts totals below ``shots``."""
        return False

    def failure_message(self, job_ref: str) -> str | None:
        """Why a job failed, if the vendor says (fetched only after an ERROR status)."""
        return None

    def close(self) -> None:
        """Release network resources."""
        self.transport.close()

