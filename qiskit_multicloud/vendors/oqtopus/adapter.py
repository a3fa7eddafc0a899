"""OQTOPUS Cloud adapter: the G3 "storage-backed jobs" user API.

Submission is three calls: ``POST /jobs`` registers an id and returns a presigned storage
form; ``input.zip`` (one ``input.json`` entry) is uploaded there without the API token; and
``POST /jobs/{id}/submit`` sends the metadata. Results are read from ``result.zip`` whose
download URL appears in ``job_info.result`` of ``GET /jobs/{id}``.

A run of several circuits becomes one OQTOPUS ``sampling`` job per circuit (the devices have
``max_circuits = 1``, so the shared core splits the run and joins the job ids). The
``multi_manual`` job type is not used for batches: it runs programs *side by side on one
device at the same time* (their qubits must fit together and they share crosstalk), which is
a different experiment from running circuits one after another.

Besides the :class:`VendorAdapter` interface, :meth:`OqtopusAdapter.estimate` and
:meth:`OqtopusAdapter.estimation_result` expose native ``estimation`` jobs for an Estimator
primitive.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import requests
from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus
from qiskit.quantum_info import SparsePauliOp

from ... import sweeps
from ...backend import MultiCloudBackend, submission_uncertain
from ...config import VendorSettings
from ...decoding import loads
from ...exceptions import (
    CircuitValidationError,
    ConfigurationError,
    JobFailedError,
    MalformedResponseError,
    MultiCloudError,
    VendorAPIError,
)
from ...options import OptionSpec
from ...results import count_value
from ...transport import HeaderAuth, Transport
from ...types import (
    CircuitCounts,
    CircuitLayout,
    DeviceSpec,
    QueueInfo,
    VendorJobStatus,
    map_status,
)
from ..base import RunOptions, VendorAdapter
from .devices import MAX_SHOTS, check_device, device_spec
from .settings import OqtopusSettings
from .translate import pauli_terms, program_template, to_program, unzip_json, zip_json

log = logging.getLogger(__name__)

VENDOR = "oqtopus"
AUTH_HEADER = "q-api-token"
#: Status reads (and resubmits of a still-registered job) reconcile() tries.
RECONCILE_ATTEMPTS = 3

#: OQTOPUS job status -> Qiskit JobStatus (protocol notes, section 9.3).
STATUS_MAP: dict[str, JobStatus] = {
    "registered": JobStatus.INITIALIZING,
    "submitted": JobStatus.QUEUED,
    "ready": JobStatus.QUEUED,
    "running": JobStatus.RUNNING,
    "cancelling": JobStatus.RUNNING,
    "succeeded": JobStatus.DONE,
    "failed": JobStatus.ERROR,
    "cancelled": JobStatus.CANCELLED,
}

#: ``transpiler_info`` that makes the server run the program exactly as sent.
NO_TRANSPILE: dict[str, Any] = {"transpiler_lib": None}

RUN_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("job_name", None, "OQTOPUS job name (shown in the OQTOPUS job list)", (str,)),
    OptionSpec("description", None, "OQTOPUS job description", (str,)),
    OptionSpec(
        "transpiler_info",
        None,
        "server-side transpilation: None = automatic ({'transpiler_lib': None}, i.e. run the "
        "circuit exactly as transpiled for this backend, except on devices whose native "
        "entangler is rzx90, where {} lets the server insert it); {} = server default; "
        "{'transpiler_lib': 'qiskit', 'transpiler_options': {...}} = explicit",
        (dict,),
    ),
    OptionSpec(
        "mitigation_info",
        None,
        "error mitigation, e.g. {'ro_error_mitigation': 'pseudo_inverse'} (None = {})",
        (dict,),
    ),
    OptionSpec("simulator_info", None, "simulator knobs passed through (None = {})", (dict,)),
)


def _status_word(data: Any, where: str) -> str:
    if not isinstance(data, Mapping) or not isinstance(data.get("status"), str):
        raise MalformedResponseError(f"{VENDOR}: {where} has no 'status' field", vendor=VENDOR)
    status: str = data["status"]
    return status


class OqtopusAdapter(VendorAdapter):
    """Protocol translation for one OQTOPUS Cloud account."""

    vendor = VENDOR
    display_name = "OQTOPUS Cloud"
    settings_class = OqtopusSettings
    status_map = STATUS_MAP
    run_options = RUN_OPTIONS

    def __init__(self, settings: VendorSettings, transport: Transport) -> None:
        super().__init__(settings, transport)
        #: submission tag -> (job id, upload URL, upload fields) while a submit is in flight.
        self._inflight: dict[str, tuple[str, str, Mapping[str, Any]]] = {}

    @classmethod
    def from_settings(cls, settings: VendorSettings) -> OqtopusAdapter:
        """Build the adapter; the token goes into the ``q-api-token`` header.

        Raises:
            ConfigurationError: the settings carry no token.
        """
        if not isinstance(settings, OqtopusSettings) or settings.api_token is None:
            raise ConfigurationError(f"{VENDOR}: settings need a url and an api_token")
        session = requests.Session()
        if settings.proxy:
            session.proxies.update({"http": settings.proxy, "https": settings.proxy})
        transport = Transport(
            VENDOR, settings.url, HeaderAuth(AUTH_HEADER, settings.api_token), session=session
        )
        return cls(settings, transport)

    # -- devices --------------------------------------------------------------------------

    def list_devices(self) -> list[DeviceSpec]:
        """``GET /devices``, plus each device's ``device_info`` (downloaded if a URL)."""
        data = self.transport.json("GET", "/devices")
        if not isinstance(data, list):
            raise MalformedResponseError(
                f"{VENDOR}: GET /devices did not answer a list", vendor=VENDOR
            )
        specs = []
        for device in data:
            spec = self._spec(device)
            if spec is not None:
                specs.append(spec)
        return specs

    def refresh_device(self, device: DeviceSpec) -> DeviceSpec:
        """``GET /devices/{id}`` for one device."""
        data = self.transport.json("GET", f"/devices/{device.device_id}")
        return self._spec(data) or device

    def queue_info(self, device: DeviceSpec) -> QueueInfo:
        """``n_pending_jobs`` of ``GET /devices/{id}``."""
        return self.queue_from_refresh(device, "GET /devices/{id}: n_pending_jobs")

    def _spec(self, device: Any) -> DeviceSpec | None:
        check_device(device)
        return device_spec(device, self.device_info(device.get("device_info")))

    def device_info(self, value: Any) -> dict[str, Any] | None:
        """The ``device_info`` document: inline JSON text, or a zip at a presigned URL.

        Raises:
            MalformedResponseError: not a string, or not a JSON object once decoded.
        """
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise MalformedResponseError(
                f"{VENDOR}: device_info is {type(value).__name__}, expected a string",
                vendor=VENDOR,
            )
        if value.startswith(("http://", "https://")):
            raw = self.transport.request("GET", value, authenticate=False).content
            parsed = unzip_json(raw, "device_info")
        else:
            parsed = _loads(value, "device_info")
        if not isinstance(parsed, dict):
            raise MalformedResponseError(
                f"{VENDOR}: device_info is not a JSON object", vendor=VENDOR
            )
        return parsed

    # -- submission -----------------------------------------------------------------------

    def build_payload(
        self, device: DeviceSpec, circuits: Sequence[QuantumCircuit], options: RunOptions
    ) -> dict[str, Any]:
        """``{"input": <input.json>, "submit": <POST /jobs/{id}/submit body>}``."""
        programs = sweeps.texts(circuits, VENDOR, 3, program_template, to_program)
        return {
            "input": {"program": programs},
            "submit": self._submit_body(
                device, "sampling" if len(programs) == 1 else "multi_manual", options
            ),
        }

    def _submit_body(
        self, device: DeviceSpec, job_type: str, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        transpiler = options.get("transpiler_info")
        if transpiler is None:
            transpiler = {} if device.extra.get("needs_server_transpile") else dict(NO_TRANSPILE)
        body: dict[str, Any] = {
            "device_id": device.device_id,
            "job_type": job_type,
            "transpiler_info": dict(transpiler),
            "simulator_info": dict(options.get("simulator_info") or {}),
            "mitigation_info": dict(options.get("mitigation_info") or {}),
            "shots": int(options["shots"]),
        }
        if options.get("job_name"):
            body["name"] = options["job_name"]
        if options.get("description"):
            body["description"] = options["description"]
        return body

    def submit(self, device: DeviceSpec, payload: Any, options: RunOptions) -> str:
        """Register a job id, upload ``input.zip``, then submit; return the job id.

        The id is known before the billable ``POST /jobs/{id}/submit``; with a
        ``submission_tag`` it is remembered so :meth:`reconcile` can check a lost submit.
        """
        job_id, form, fields = self._register()
        try:
            self.report_reserved(options, job_id=job_id)
        except MultiCloudError:
            self._discard(job_id)  # not recorded: release it, send nothing
            raise
        tag = str(options.get("submission_tag") or "")
        if tag:
            self._inflight[tag] = (job_id, form["url"], fields)
        try:
            self._upload_and_submit(job_id, form["url"], fields, payload)
        except VendorAPIError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                self._discard(job_id)
            if not (tag and submission_uncertain(exc)):
                self._inflight.pop(tag, None)
            raise
        self._inflight.pop(tag, None)
        return job_id

    def _register(self) -> tuple[str, Mapping[str, Any], Mapping[str, Any]]:
        """``POST /jobs``: a ``registered`` id and its upload form (nothing runs yet)."""
        try:
            # A registered job never runs unless submitted: repeating is harmless.
            registered = self.transport.json("POST", "/jobs", idempotent=True)
        except VendorAPIError as exc:
            if not submission_uncertain(exc):
                raise
            raise VendorAPIError(
                f"{VENDOR}: registering a job got no usable answer ({exc}); nothing was "
                "submitted (a registered job never runs), so it is safe to run again",
                vendor=VENDOR,
            ) from exc
        job_id = _text(registered, "job_id", "POST /jobs")
        form = registered.get("presigned_url")
        if not isinstance(form, Mapping) or not isinstance(form.get("url"), str):
            raise MalformedResponseError(
                f"{VENDOR}: POST /jobs answer has no 'presigned_url.url'", vendor=VENDOR
            )
        fields = form.get("fields")
        if not isinstance(fields, Mapping) or not isinstance(fields.get("key"), str):
            raise MalformedResponseError(
                f"{VENDOR}: POST /jobs answer has no 'presigned_url.fields.key'", vendor=VENDOR
            )
        return job_id, form, fields

    def _upload_and_submit(
        self, job_id: str, url: str, fields: Mapping[str, Any], payload: Any
    ) -> None:
        self.transport.request(
            "POST",
            url,
            data={str(k): str(v) for k, v in fields.items()},
            files={
                "file": (
                    "input.zip",
                    zip_json("input.json", payload["input"]),
                    "application/zip",
                )
            },
            authenticate=False,
            idempotent=True,  # same key, same bytes: repeating an upload is harmless
        )
        self.transport.json(
            "POST", f"/jobs/{job_id}/submit", json=payload["submit"], idempotent=False
        )

    def reconcile(self, device: DeviceSpec, payload: Any, options: RunOptions) -> str | None:
        """After a lost upload/submit answer: ``GET /jobs/{id}/status`` of the registered id.

        Past ``registered``: the submit arrived, return the id. Still ``registered``: it
        never arrived; upload and submit that same id again (the service only submits a
        ``registered`` job, so this cannot duplicate), then read again.

        Raises:
            VendorAPIError: the job stayed ``registered``; it was cancelled (nothing runs).
        """
        entry = self._inflight.pop(str(options.get("submission_tag") or ""), None)
        if entry is None:
            return None
        job_id, url, fields = entry
        for attempt in range(RECONCILE_ATTEMPTS):
            if self._status_word(job_id) != "registered":
                return job_id
            if attempt == RECONCILE_ATTEMPTS - 1:
                break
            log.info("%s: job %s was registered but not submitted; submitting it", VENDOR, job_id)
            try:
                self._upload_and_submit(job_id, url, fields, payload)
            except VendorAPIError as exc:
                log.info("%s: resubmitting job %s failed (%s); reading again", VENDOR, job_id, exc)
        self._discard(job_id)
        raise VendorAPIError(
            f"{VENDOR}: job {job_id} could not be confirmed as submitted; it was cancelled "
            "(it will not run), so it is safe to run again",
            vendor=VENDOR,
        )

    def recover(
        self, device: DeviceSpec, reserved: Mapping[str, Any], options: RunOptions
    ) -> str | None:
        """After a crash: ``GET /jobs/{id}/status`` of the stored registered id.

        Past ``registered``: the submit arrived, return the id. Still ``registered``: it
        never arrived and never runs; it is cancelled, so a submit still in flight is refused.

        Raises:
            VendorAPIError: the job was never submitted (or no id was registered).
        """
        job_id = str(reserved.get("job_id") or "")
        if not job_id:
            raise VendorAPIError(
                f"{VENDOR}: the run was interrupted before a job id was registered and "
                "recorded, so nothing was submitted",
                vendor=VENDOR,
            )
        if self._status_word(job_id) != "registered":
            return job_id
        self._discard(job_id)
        raise VendorAPIError(
            f"{VENDOR}: job {job_id} was registered but never submitted; it was cancelled",
            vendor=VENDOR,
        )

    def _discard(self, job_id: str) -> None:
        """Cancel a registered job whose submission was refused (best effort)."""
        try:
            self.transport.request("POST", f"/jobs/{job_id}/cancel", idempotent=True)
        except MultiCloudError as exc:
            log.debug("%s: could not cancel unsubmitted job %s: %s", VENDOR, job_id, exc)

    # -- lifecycle ------------------------------------------------------------------------

    def _status_word(self, job_ref: str) -> str:
        """``GET /jobs/{id}/status``: the status word alone (recovery checks)."""
        return _status_word(self.transport.json("GET", f"/jobs/{job_ref}/status"), "job status")

    def status(self, job_ref: str) -> VendorJobStatus:
        """``GET /jobs/{id}``: the full job, not ``/status``.

        The job is small (its archives are URLs), and the answer that says ``succeeded``
        already names the result archive, so it is kept for :meth:`results` (one request
        less per job); a failed job's ``job_info.message`` is its failure reason.
        """
        job = self.job(job_ref)
        raw: str = job["status"]
        status = map_status(STATUS_MAP, raw, JobStatus.ERROR)
        message = None
        if status is JobStatus.ERROR:
            info = job.get("job_info")
            reason = info.get("message") if isinstance(info, Mapping) else None
            message = str(reason) if reason else None
        if status is JobStatus.DONE:
            self.remember_final(job_ref, job)
        return VendorJobStatus(status, raw, message=message)

    def job(self, job_ref: str) -> dict[str, Any]:
        """``GET /jobs/{id}`` (the full job object)."""
        data = self.transport.json("GET", f"/jobs/{job_ref}")
        _status_word(data, f"job {job_ref}")
        found: dict[str, Any] = data
        return found

    def _archive(self, job: Mapping[str, Any], member: str) -> Any:
        """Download and parse one ``job_info`` member (URL of a zip, or an inline object)."""
        info = job.get("job_info")
        value = info.get(member) if isinstance(info, Mapping) else None
        if value is None:
            raise MalformedResponseError(
                f"{VENDOR}: job {job.get('job_id')} has no job_info.{member}", vendor=VENDOR
            )
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            content = self.transport.request("GET", value, authenticate=False).content
            return unzip_json(content, member)
        return _loads(value, member) if isinstance(value, str) else value

    def results(
        self, job_ref: str, layouts: Sequence[CircuitLayout], options: RunOptions
    ) -> list[CircuitCounts]:
        """Counts from ``result.zip``; keys are already Qiskit order over all clbits.

        The job the status poll found ``succeeded`` is reused (it names the archive).
        """
        job = self.known_final(job_ref) or self.job(job_ref)
        result = self._archive(job, "result")
        sampling = result.get("sampling") if isinstance(result, Mapping) else None
        if not isinstance(sampling, Mapping):
            raise MalformedResponseError(
                f"{VENDOR}: job {job_ref} result has no 'sampling' section", vendor=VENDOR
            )
        metadata: dict[str, Any] = {"job_id": job_ref, "execution_time": job.get("execution_time")}
        metadata["transpiler_info"] = job.get("transpiler_info")
        if isinstance(job.get("job_info"), Mapping) and job["job_info"].get("transpile_result"):
            transpiled = self._archive(job, "transpile_result")
            if isinstance(transpiled, Mapping):
                mapping = transpiled.get("virtual_physical_mapping")
                metadata["virtual_physical_mapping"] = (
                    _loads(mapping, "virtual_physical_mapping")
                    if isinstance(mapping, str)
                    else mapping
                )
        if len(layouts) == 1:
            histograms = [sampling.get("counts")]
        else:
            divided = sampling.get("divided_counts")
            if not isinstance(divided, Mapping):
                raise MalformedResponseError(
                    f"{VENDOR}: multi-program job {job_ref} has no 'divided_counts'",
                    vendor=VENDOR,
                )
            histograms = [divided.get(str(i)) for i in range(len(layouts))]
        return [
            CircuitCounts(
                counts=_counts(h, job_ref), shots=job.get("shots"), metadata=dict(metadata)
            )
            for h in histograms
        ]

    def may_return_fewer_shots(self, options: RunOptions) -> bool:
        """After ``ro_error_mitigation`` each count is ``int(p * shots)`` of a
        quasi-probability, truncated, so the total may fall short of ``shots``."""
        return bool((options.get("mitigation_info") or {}).get("ro_error_mitigation"))

    def cancel(self, job_ref: str) -> bool:
        """``POST /jobs/{id}/cancel``; a 400 (already finished) is a no-op (False)."""
        try:
            self.transport.request("POST", f"/jobs/{job_ref}/cancel", idempotent=True)
        except VendorAPIError as exc:
            if exc.status != 400:
                raise
            log.info("%s: job %s already finished; nothing to cancel", VENDOR, job_ref)
            return False
        return True

    def failure_message(self, job_ref: str) -> str | None:
        """``job_info.message`` of a failed job."""
        info = self.job(job_ref).get("job_info")
        message = info.get("message") if isinstance(info, Mapping) else None
        return str(message) if message else None

    # -- native estimation (not part of VendorAdapter; used by the Estimator primitive) ----

    def estimate(
        self,
        device: DeviceSpec,
        circuit: QuantumCircuit,
        observable: SparsePauliOp | Iterable[Mapping[str, Any]],
        shots: int,
        *,
        transpiler_info: Mapping[str, Any] | None = None,
        mitigation_info: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> str:
        """Submit one ``estimation`` job; return its job id.

        Args:
            device: the device to run on.
            circuit: the state preparation (virtual numbering, or an ISA circuit with the
                observable already laid out); final measurements are removed.
            observable: a ``SparsePauliOp`` or OQTOPUS terms ``{"pauli", "coeff"}``.
            shots: shots per commuting group (1 ... 10 000 000).
            transpiler_info: default: ``{"transpiler_lib": None}`` for a circuit already
                transpiled for this backend (it has a layout; its qubits are device qubits
                and the observable is on them), else ``{}`` (the server lays the circuit out
                and maps the operator itself).
            mitigation_info: passed through.
            name: job name.

        Raises:
            CircuitValidationError: shots out of range or a non-Hermitian observable.
        """
        if not 1 <= int(shots) <= MAX_SHOTS:
            raise CircuitValidationError(f"shots={shots} is out of range [1, {MAX_SHOTS}]")
        if transpiler_info is None:
            # An ISA circuit (it has a layout) keeps its layout unless the server must
            # insert the native rzx90; a virtual circuit is laid out by the server.
            keep = circuit.layout is not None and not device.extra.get("needs_server_transpile")
            transpiler_info = NO_TRANSPILE if keep else {}
        options = {
            "shots": shots,
            "transpiler_info": dict(transpiler_info),
            "mitigation_info": mitigation_info,
            "job_name": name,
        }
        payload = {
            "input": {
                "program": [to_program(circuit, keep_measurements=False)],
                "operator": pauli_terms(observable),
            },
            "submit": self._submit_body(device, "estimation", options),
        }
        return self.submit(device, payload, options)

    def estimation_result(self, job_ref: str) -> tuple[float, float]:
        """``(exp_value, stds)`` of a finished estimation job (``stds`` = standard error).

        Raises:
            JobFailedError: the job failed or was cancelled.
            MultiCloudError: the job has not finished yet.
        """
        job = self.known_final(job_ref) or self.job(job_ref)
        status = job["status"]
        if status in ("failed", "cancelled"):
            info = job.get("job_info") or {}
            reason = info.get("message") or "no reason given"
            raise JobFailedError(
                f"{VENDOR}: estimation job {job_ref} {status}: {reason}",
                job_id=job_ref,
                vendor_status=status,
            )
        if status != "succeeded":
            raise MultiCloudError(f"{VENDOR}: estimation job {job_ref} is still {status}")
        result = self._archive(job, "result")
        estimation = result.get("estimation") if isinstance(result, Mapping) else None
        if not isinstance(estimation, Mapping):
            raise MalformedResponseError(
                f"{VENDOR}: job {job_ref} result has no 'estimation' section", vendor=VENDOR
            )
        values = []
        for key in ("exp_value", "stds"):
            value = estimation.get(key)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise MalformedResponseError(
                    f"{VENDOR}: job {job_ref} estimation has no numeric '{key}'", vendor=VENDOR
                )
            values.append(float(value))
        return values[0], values[1]


class OqtopusBackend(MultiCloudBackend):
    """An OQTOPUS Cloud device as a Qiskit backend."""

    vendor_options = OqtopusAdapter.run_options


def _text(data: Any, field: str, where: str) -> str:
    if not isinstance(data, Mapping) or not isinstance(data.get(field), str) or not data[field]:
        raise MalformedResponseError(f"{VENDOR}: {where} answer has no '{field}'", vendor=VENDOR)
    value: str = data[field]
    return value


def _loads(text: str, what: str) -> Any:
    return loads(text, vendor=VENDOR, what=what)


def _counts(histogram: Any, job_ref: str) -> dict[str, int]:
    """Validate one histogram (an object, or JSON text from older servers)."""
    if isinstance(histogram, str):
        histogram = _loads(histogram, "counts")
    if not isinstance(histogram, Mapping):
        raise MalformedResponseError(
            f"{VENDOR}: job {job_ref} result has no 'counts'", vendor=VENDOR
        )
    out: dict[str, int] = {}
    for key, value in histogram.items():
        number = count_value(value, vendor=VENDOR, where=f"job {job_ref}, key {key!r}")
        if number:
            out[str(key)] = number
    return out
