"""``MultiCloudBackend``: the shared ``BackendV2`` (validate -> translate -> submit -> job).

Each vendor subclasses it only to name its adapter class, so ``_default_options`` (a
classmethod in Qiskit) can include the vendor's own run options.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any, ClassVar

from qiskit.circuit import QuantumCircuit
from qiskit.providers import BackendV2, Options
from qiskit.transpiler import CouplingMap, Target

from .deadline import bounded, carry_deadline
from .exceptions import (
    BackendNotFoundError,
    CircuitValidationError,
    DeadlineExceededError,
    MalformedResponseError,
    MultiCloudError,
    SubmissionUncertainError,
    VendorAPIError,
    VendorConnectionError,
)
from .job import MultiCloudJob
from .jobstore import JobRecord, JobStore
from .options import BASE_OPTIONS, OptionSpec, build_options, resolve_run_options
from .sweeps import SweepCircuits
from .target import build_target
from .transpiler_plugins import installed_plugin
from .types import CircuitLayout, DeviceSpec, QueueInfo
from .validation import validate_circuits
from .vendors.base import BEFORE_BILLABLE, VendorAdapter

if TYPE_CHECKING:
    from .provider import MultiCloudProvider

log = logging.getLogger(__name__)


def submission_uncertain(exc: MultiCloudError) -> bool:
    """True if a failed submit may still have created a job on the vendor's side.

    No answer (the ``submit_timeout`` running out included, unless the last answer was a
    429/503, which prove the server did not act), a 5xx other than 503, or a success answer
    we could not read (the server acted on the request, but the job id was lost with the
    garbled body).
    """
    if not isinstance(exc, VendorAPIError):
        return False
    if isinstance(exc, DeadlineExceededError) and exc.status in (429, 503):
        return False
    if isinstance(exc, VendorConnectionError):
        return True
    if isinstance(exc, MalformedResponseError) and (exc.status is None or exc.status < 300):
        return True
    return exc.status is not None and exc.status >= 500 and exc.status != 503


class MultiCloudBackend(BackendV2):
    """A device of one vendor, as a Qiskit ``BackendV2``.

    Args:
        adapter: the vendor adapter holding the account's transport.
        device: the device description the Target is built from.
        provider: the provider that listed it.
        job_store: where submissions are recorded (``None`` = do not record).
    """

    #: Vendor-specific run options, set by each vendor's subclass.
    vendor_options: ClassVar[tuple[OptionSpec, ...]] = ()
    #: Chunks of a large run submitted at once (vendors may lower it).
    submit_concurrency: ClassVar[int] = 4

    def __init__(
        self,
        adapter: VendorAdapter,
        device: DeviceSpec,
        provider: MultiCloudProvider | None = None,
        job_store: JobStore | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            provider=provider,
            name=device.device_id,
            description=device.description or f"{adapter.display_name} {device.device_id}",
            backend_version=device.version or "1",
        )
        self.adapter = adapter
        self._device = device
        self._device_complete = False
        self._device_lock = threading.Lock()
        self.job_store = job_store
        self._sleep = sleep
        self._target: Target | None = None
        self._queue: QueueInfo | None = None
        #: Age in seconds of the on-disk cached device list this backend was built from
        #: (``None``: read from the vendor in this process).
        self.cached_age: float | None = None
        if device.max_shots:
            self.options.set_validator("shots", (1, device.max_shots))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}('{self.name}') vendor={self.vendor!r}>"

    def __deepcopy__(self, memo: dict[int, Any]) -> MultiCloudBackend:
        """A copy that can run on its own: own options and locks, shared connection.

        The adapter (transport, session, credentials), provider, job store, device
        description and Target are shared; they stay in memory. qiskit-ibm-runtime's local
        mode (used by qiskit-experiments when no sampler is given) deep-copies the backend.
        """
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        clone.__dict__.update(self.__dict__)
        clone._options = copy.deepcopy(self._options, memo)
        clone._device_lock = threading.Lock()
        return clone

    def __copy__(self) -> MultiCloudBackend:
        """Same as a deep copy: sharing options or locks with the original helps nobody."""
        return self.__deepcopy__({})

    def __reduce__(self) -> Any:
        raise TypeError(
            f"{type(self).__name__} holds live credentials and is not picklable; in another "
            f"process build it again with MultiCloudProvider(...).get_backend({self.name!r}) "
            f"(copy.deepcopy works within a process)"
        )

    @classmethod
    def _default_options(cls) -> Options:
        return build_options(cls.option_specs())

    @classmethod
    def option_specs(cls) -> tuple[OptionSpec, ...]:
        """Every run option this backend accepts, shared ones first."""
        return BASE_OPTIONS + cls.vendor_options

    @property
    def device(self) -> DeviceSpec:
        """The device description, completed by the adapter on first use.

        Vendors may list devices cheaply (names, status) and fetch the calibration data of
        a device only when its backend is used (see ``VendorAdapter.complete_device``).
        """
        if not self._device_complete:
            with self._device_lock:
                if not self._device_complete:
                    self._device = self.adapter.complete_device(self._device)
                    self._device_complete = True
        return self._device

    @device.setter
    def device(self, value: DeviceSpec) -> None:
        with self._device_lock:
            self._device = value
            self._device_complete = False

    @property
    def names(self) -> tuple[str, ...]:
        """The device id followed by its aliases (known without completing the device)."""
        return self._device.names

    @property
    def vendor(self) -> str:
        """Vendor key, e.g. ``"oqc"``."""
        return self.adapter.vendor

    @property
    def target(self) -> Target:
        """The device's Target, built on first use from the vendor's device information."""
        if self._target is None:
            self._target = build_target(self.device)
        return self._target

    @property
    def coupling_map(self) -> CouplingMap | None:
        """Coupled qubit pairs; a complete graph for all-to-all devices.

        Qiskit's ``Target`` reports ``None`` for all-to-all devices; a full map keeps
        ``plot_gate_map(backend)`` and user code that reads the map working. Targets with
        3+-qubit gates keep ``None``, which Qiskit's transpiler requires for them.
        """
        found: CouplingMap | None = self.target.build_coupling_map()
        if found is None and not self._has_wide_gates():
            return CouplingMap.from_full(self.num_qubits)
        return found

    def _has_wide_gates(self) -> bool:
        return any(
            getattr(self.target.operation_from_name(name), "num_qubits", 0) > 2
            for name in self.target.operation_names
        )

    @property
    def max_circuits(self) -> int | None:
        """Circuits per vendor job; larger runs are split into several vendor jobs."""
        return self.device.max_circuits

    @property
    def simulator(self) -> bool:
        """Whether the vendor lists the device as a simulator (not a QPU)."""
        return bool(self._device.simulator)

    @property
    def online(self) -> bool:
        """Whether the vendor reported the device as available."""
        return self._device.online

    @property
    def queue_length(self) -> int | None:
        """Jobs waiting on the device, where the vendor reports it (latest known value)."""
        if self._queue is not None and self._queue.pending_jobs is not None:
            return self._queue.pending_jobs
        return self._device.queue_length

    def queue_info(self) -> QueueInfo:
        """Ask the vendor now how busy the device is (see "Choosing a cloud" in the docs).

        Never raises for a vendor failure: the answer then carries ``error`` and no numbers,
        so one unreachable cloud does not stop a comparison of the others.
        """
        try:
            info = self.adapter.queue_info(self._device)
        except MultiCloudError as exc:
            info = QueueInfo(source="queue request failed", error=str(exc))
        self._queue = info
        return info

    def get_translation_stage_plugin(self) -> str | None:
        """The vendor's translation plugin, so ``transpile(qc, backend)`` uses it.

        ``None`` (Qiskit's default stage) if the package's entry points are not installed.
        """
        return installed_plugin(self.vendor)

    def refresh(self) -> None:
        """Re-read the device (calibration, status) and rebuild the Target on next use.

        A new calibration id drops the account's cached device list, so later processes
        read it again too.
        """
        before = self._device
        self.device = self.adapter.refresh_device(before)
        self._target = None
        if self.cached_age is not None and self._device.calibration_id != before.calibration_id:
            self.adapter.forget_cached()
        self.cached_age = None

    def _stale_cache(self, exc: VendorAPIError) -> bool:
        """After a 404 to a request built from cached device information: drop the cache
        and read the vendor's device list once. True when the device is still listed, so
        the request may be rebuilt and sent again (a 404 created nothing).

        Raises:
            BackendNotFoundError: the vendor no longer lists the device.
        """
        if exc.status != 404 or self.cached_age is None:
            return False
        log.info("%s: %s answered 404 with device data cached %.0f s ago; dropping the "
                 "cache and reading the device list again", self.vendor, self.name,
                 self.cached_age)
        self.adapter.forget_cached()
        specs, _ = self.adapter.cached_discovery()  # the cache was just dropped: fresh
        fresh = next((s for s in specs if s.device_id == self.name), None)
        if fresh is None:
            raise BackendNotFoundError(
                f"{self.vendor}: {self.name} is no longer listed by the vendor (its cached "
                "device information was out of date and has been dropped); choose another "
                "backend from provider.backends()"
            ) from exc
        self.device = fresh
        self._target = None
        self.cached_age = None
        return True

    # -- running --------------------------------------------------------------------------

    def _prepare(
        self, run_input: QuantumCircuit | Sequence[QuantumCircuit], options: dict[str, Any]
    ) -> tuple[Sequence[QuantumCircuit], dict[str, Any]]:
        resolved = resolve_run_options(
            self.option_specs(), self.options, options, max_shots=self.device.max_shots
        )
        circuits: Sequence[QuantumCircuit]
        if isinstance(run_input, SweepCircuits):
            circuits = run_input if resolved["translate_once"] else run_input.bind_all()
        elif isinstance(run_input, QuantumCircuit):
            circuits = [run_input]
        else:
            circuits = list(run_input)
        validate_circuits(circuits, self.target, self.name)
        self.adapter.validate(self.device, circuits, resolved)
        return circuits, resolved

    def build_payload(
        self, run_input: QuantumCircuit | Sequence[QuantumCircuit], **options: Any
    ) -> Any:
        """The exact vendor request body ``run()`` would send for these circuits (one chunk)."""
        circuits, resolved = self._prepare(run_input, options)
        return self.adapter.build_payload(self.device, circuits, resolved)

    def run(
        self, run_input: QuantumCircuit | Sequence[QuantumCircuit], **options: Any
    ) -> MultiCloudJob:
        """Validate, translate and submit circuits; return the job without waiting.

        Args:
            run_input: a circuit or a list of circuits, transpiled for this backend.
            options: run options (``shots``, ``memory``, vendor-specific ones, ...).

        The network part of the submit is bounded by the ``submit_timeout`` run option
        (default 120 s): past it, a request still unanswered ends the call with
        :class:`SubmissionUncertainError` (recorded), whatever the server does.

        Raises:
            CircuitValidationError: a circuit or option cannot run here, or the vendor
                reports the device offline and ``allow_offline=True`` was not passed
                (nothing was sent).
            SubmissionUncertainError: the submit may have reached the vendor without an
                answer (or ``submit_timeout`` ran out); it is recorded in the job store and
                not repeated.
            VendorAPIError: the vendor refused the submission.
        """
        circuits, resolved = self._prepare(run_input, options)
        if not self.online and not resolved["allow_offline"] and self.cached_age is not None:
            self.refresh()  # offline in a cached list: it may be back, ask the vendor once
        if not self.online and not resolved["allow_offline"]:
            raise CircuitValidationError(
                f"{self.vendor}:{self.name} is reported offline by the vendor, so nothing was "
                "sent; choose an online backend (provider.backends(online=True)), call "
                "backend.refresh() if it is back, or pass allow_offline=True to submit anyway"
            )
        layouts = (
            circuits.layouts()
            if isinstance(circuits, SweepCircuits)
            else [CircuitLayout.from_circuit(c) for c in circuits]
        )
        size = self.max_circuits or len(circuits)
        chunks = [circuits[i : i + size] for i in range(0, len(circuits), size)]
        sizes = [len(chunk) for chunk in chunks]
        record_id = None
        if self.job_store is not None:
            # Raises JobStoreError when the record cannot be written: nothing is sent.
            record_id = self.job_store.record_submission(
                vendor=self.vendor,
                backend=self.name,
                circuits=circuits,
                layouts=layouts,
                options=resolved,
                origin=self.adapter.account_origin,
                chunk_sizes=sizes,
            )
        resolved["submission_tag"] = f"qmc-{record_id or uuid.uuid4()}"
        # Translate everything before sending anything: a bad chunk costs no job.
        payloads = [self.adapter.build_payload(self.device, chunk, resolved) for chunk in chunks]
        with bounded(resolved["submit_timeout"]):
            refs = self._submit_all(payloads, resolved, record_id, chunks)
        job = MultiCloudJob(
            self, refs, sizes, layouts, resolved, record_id=record_id, sleep=self._sleep
        )
        if self.job_store is not None and record_id is not None:
            # Never raises: retried, else journaled next to the store with a warning.
            self.job_store.mark_submitted(record_id, refs, sizes, job.job_id())
        log.info("%s: submitted job %s (%d circuit(s))", self.vendor, job.job_id(), len(circuits))
        return job

    def _reserved_hook(self, record_id: str | None, index: int) -> Callable[..., None] | None:
        """The callback adapters call with ids known before the billable request."""
        store = self.job_store
        if store is None or record_id is None:
            return None

        def note(ids: Mapping[str, Any]) -> None:
            store.note_reserved(record_id, index, ids)

        return note

    def _submit_one(
        self,
        payload: Any,
        options: dict[str, Any],
        index: int,
        record_id: str | None = None,
        circuits: Sequence[QuantumCircuit] | None = None,
    ) -> str:
        """Submit one chunk; after an uncertain failure, look for the job it may have made.

        A 404 on a device known from the on-disk cache re-reads the device once and sends
        the chunk (``circuits``) again, rebuilt for it.
        """
        chunk_options = {
            **options,
            "submission_tag": f"{options['submission_tag']}-{index}",
            BEFORE_BILLABLE: self._reserved_hook(record_id, index),
        }
        try:
            try:
                return self.adapter.submit(self.device, payload, chunk_options)
            except VendorAPIError as exc:
                if circuits is None or not self._stale_cache(exc):
                    raise
                payload = self.adapter.build_payload(self.device, circuits, options)
                return self.adapter.submit(self.device, payload, chunk_options)
        except VendorAPIError as exc:
            if not submission_uncertain(exc):
                raise
            found = self.adapter.reconcile(self.device, payload, chunk_options)
            if found is None:
                raise
            log.warning(
                "%s: submit answer was lost (%s) but job %s was found; not resubmitted",
                self.vendor,
                exc,
                found,
            )
            return found

    def _submit_all(
        self,
        payloads: list[Any],
        options: dict[str, Any],
        record_id: str | None,
        chunks: Sequence[Sequence[QuantumCircuit]] | None = None,
    ) -> list[str]:
        """Submit every chunk (concurrently when several) and return refs in order."""
        if len(payloads) == 1:
            try:
                return [self._submit_one(
                    payloads[0], options, 0, record_id, chunks[0] if chunks else None
                )]
            except MultiCloudError as exc:
                self._submit_failed(record_id, exc, [])
                raise
        results: list[str | None] = [None] * len(payloads)
        errors: list[MultiCloudError] = []
        workers = min(self.submit_concurrency, len(payloads))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            submit_one = carry_deadline(self._submit_one)
            futures = {
                pool.submit(
                    submit_one, payload, options, index, record_id,
                    chunks[index] if chunks else None,
                ): index
                for index, payload in enumerate(payloads)
            }
            for future in as_completed(futures):
                try:
                    results[futures[future]] = future.result()
                except MultiCloudError as exc:
                    errors.append(exc)
        if errors:
            done = [ref for ref in results if ref is not None]
            uncertain = [e for e in errors if submission_uncertain(e)]
            self._submit_failed(record_id, (uncertain or errors)[0], done)
            raise (uncertain or errors)[0]
        return [ref for ref in results if ref is not None]

    def _submit_failed(self, record_id: str | None, exc: MultiCloudError, refs: list[str]) -> None:
        already = (
            f"; chunks already submitted (NOT cancelled, results still retrievable): {refs}"
            if refs
            else ""
        )
        if submission_uncertain(exc):
            if self.job_store is not None and record_id is not None:
                self.job_store.mark_uncertain(record_id, str(exc), refs)
            raise SubmissionUncertainError(
                f"{self.vendor}: the submit to {self.name} may have reached the vendor but no "
                f"job id came back ({exc}). It was NOT retried, to avoid a duplicate paid job. "
                f"Check the vendor's job list before submitting again (local record "
                f"{record_id}; provider.retrieve_job({record_id!r}) checks again with "
                f"idempotent requests){already}",
                vendor=self.vendor,
                record_id=record_id,
            ) from exc
        if self.job_store is not None and record_id is not None:
            self.job_store.mark_failed(record_id, f"{exc}{already}")

    def recover(self, record: JobRecord) -> MultiCloudJob:
        """The job of a record whose submit was interrupted (crash, lost answer).

        Asks the adapter, with idempotent requests only, about each chunk (its submission
        tag and the ids stored before the billable request); never submits anything.

        Raises:
            SubmissionUncertainError: the vendor cannot tell; the message lists what to check.
            MultiCloudError: it is certain that no job runs (safe to run again), or the
                vendor could not be reached (the record is unchanged; try again).
        """
        store = self.job_store
        sizes = list(record.chunk_sizes)
        found: list[str | None] = []
        absent: list[VendorAPIError] = []
        for index in range(len(sizes)):
            options = {**record.options, "submission_tag": f"qmc-{record.record_id}-{index}"}
            reserved = record.reserved.get(str(index), {})
            try:
                found.append(self.adapter.recover(self.device, reserved, options))
            except VendorAPIError as exc:
                if submission_uncertain(exc):
                    raise MultiCloudError(
                        f"{self.vendor}: could not check the interrupted submit of record "
                        f"{record.record_id} ({exc}); the record is unchanged, try again later"
                    ) from exc
                absent.append(exc)
                found.append("")
        refs = [ref for ref in found if ref]
        if not sizes or None in found:
            raise self._cannot_tell(record, refs)
        if absent:
            reason = "; ".join(str(exc) for exc in absent)
            if store is not None and refs:
                store.mark_uncertain(record.record_id, f"partly recovered: {reason}", refs)
            elif store is not None:
                store.mark_failed(record.record_id, f"recovered: {reason}")
            kept = (
                f". Chunks that do exist (their results stay retrievable by vendor id): {refs}"
                if refs
                else "; it is safe to run the circuits again"
            )
            raise MultiCloudError(
                f"{self.vendor}: {len(absent)} of {len(sizes)} chunk(s) of the interrupted "
                f"submit of record {record.record_id} created no job that will run ({reason}). "
                f"Nothing was resubmitted{kept}"
            )
        job = self.job_from_refs(refs, sizes, record.layouts, record.options, record.record_id)
        if store is not None:
            store.mark_submitted(record.record_id, refs, sizes, job.job_id())
        log.info("%s: recovered job %s of record %s", self.vendor, job.job_id(), record.record_id)
        return job

    def _cannot_tell(self, record: JobRecord, refs: list[str]) -> SubmissionUncertainError:
        chunks = max(len(record.chunk_sizes), 1)
        tags = ", ".join(f"qmc-{record.record_id}-{i}" for i in range(chunks))
        reserved = "".join(
            f"; ids reserved before the submit (chunk {i}): {ids}"
            for i, ids in sorted(record.reserved.items())
        )
        found = f"; chunks found: {refs}" if refs else ""
        return SubmissionUncertainError(
            f"{self.vendor}: cannot tell whether the interrupted submit of record "
            f"{record.record_id} created a job: {self.adapter.display_name} offers no "
            "idempotent way to find it. Nothing was resubmitted. Check the vendor's job list "
            f"(web console or API) for jobs on {record.backend} created between "
            f"{record.created_at[:19]} UTC and a few minutes after {record.updated_at[:19]} "
            f"UTC, with {len(record.layouts)} circuit(s) of {record.shots} shots, named or "
            f"tagged {tags} where the vendor keeps a name{reserved}{found}. If none exists, "
            "it is safe to run again",
            vendor=self.vendor,
            record_id=record.record_id,
        )

    def job_from_refs(
        self,
        chunk_refs: Sequence[str],
        chunk_sizes: Sequence[int],
        layouts: Sequence[CircuitLayout],
        options: dict[str, Any],
        record_id: str | None = None,
    ) -> MultiCloudJob:
        """Rebuild a job handle from stored references (used by ``retrieve_job``)."""
        if not chunk_refs:
            raise MultiCloudError("job has no vendor references (it was never submitted)")
        merged = {spec.name: spec.default for spec in self.option_specs()} | dict(options)
        return MultiCloudJob(
            self, chunk_refs, chunk_sizes, layouts, merged, record_id=record_id, sleep=self._sleep
        )
