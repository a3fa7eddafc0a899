"""Qoro Service REST client: protocol translation only.

A ``run()`` becomes one Qoro job: ``POST job/init/`` (job type ``EXECUTE``), then one or
more ``POST job/{id}/add_circuits/`` fragments, each under the 0.95 MiB body limit, the last
one with ``"finalized": "true"``. Circuits are labelled ``"0"``..``"n-1"`` so results (which
come back keyed by label, paginated) map back to the order given to ``run()``. Labels are
the positions in base 62 (:func:`circuit_label`) and bodies are compact JSON: in a template
upload the bytes per circuit are almost only its row of values.

Beyond the :class:`VendorAdapter` interface, :meth:`QoroAdapter.estimate` and
:meth:`QoroAdapter.expectation_results` run ``EXPECTATION`` jobs (exact expectation values
per Pauli term) for an Estimator primitive.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import requests
from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus
from qiskit.quantum_info import SparsePauliOp

from ...backend import MultiCloudBackend, submission_uncertain
from ...config import VendorSettings
from ...exceptions import CircuitValidationError, ConfigurationError, VendorAPIError
from ...options import OptionSpec
from ...transport import HeaderAuth, Timeouts, Transport, encode_json
from ...types import CircuitCounts, CircuitLayout, DeviceSpec, VendorJobStatus, map_status
from ...version import __version__
from ..base import RunOptions, VendorAdapter
from . import histogram
from .devices import VENDOR, malformed, qpu_system_spec, require, simulator_cluster_spec
from .settings import QoroSettings
from .translate import (
    Sweep,
    check_ham_group,
    circuit_label,
    compress,
    encode_circuit,
    encode_ham_ops,
    find_sweeps,
    observable_terms,
)

log = logging.getLogger(__name__)

#: Attempts reconcile() makes at re-sending one fragment whose answer was lost.
RECONCILE_ATTEMPTS = 3

#: Qoro job status -> Qiskit status. ``PENDING`` is QUEUED: our submit finalizes the job
#: before returning, so we never observe the pre-finalize use of ``PENDING``.
#: ``PAUSED`` (held by the service, will resume) is reported as QUEUED.
STATUS_MAP: dict[str, JobStatus] = {
    "PENDING": JobStatus.QUEUED,
    "SCHEDULED": JobStatus.QUEUED,
    "RUNNING": JobStatus.RUNNING,
    "PAUSED": JobStatus.QUEUED,
    "COMPLETED": JobStatus.DONE,
    "FAILED": JobStatus.ERROR,
    "CANCELLED": JobStatus.CANCELLED,
    "INSUFFICIENT_CREDITS": JobStatus.ERROR,
    "TIMED_OUT": JobStatus.ERROR,
}

#: Why a job in a failed terminal state has no results.
FAILURE_MESSAGES: dict[str, str] = {
    "FAILED": "the Qoro Service reports the job FAILED",
    "INSUFFICIENT_CREDITS": (
        "the job never ran: the account has insufficient credits (status INSUFFICIENT_CREDITS); "
        "top up credits on the Qoro dashboard and submit again"
    ),
    "TIMED_OUT": (
        "the job exceeded the service's execution deadline (status TIMED_OUT); submit fewer or "
        "smaller circuits"
    ),
}

#: Largest ``add_circuits/`` body in bytes (:func:`wire_json` of the whole body).
MAX_FRAGMENT_BYTES = int(0.95 * 1024 * 1024)
#: Result entries per ``resultsV2/`` page (what the SDK asks for).
PAGE_SIZE = 100

QORO_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "tag", "qiskit-multicloud", "free-text tag of the Qoro job (job/init 'tag')", (str,)
    ),
    OptionSpec(
        "use_packing",
        False,
        "let the service pack several small circuits onto one device run (job/init 'use_packing')",
        (bool,),
    ),
    OptionSpec(
        "templates",
        True,
        "upload circuits that differ only in gate angles (parameter sweeps) as one parametric "
        "template plus the values, instead of each circuit in full",
        (bool,),
    ),
)

Observables: TypeAlias = str | SparsePauliOp | Sequence[SparsePauliOp]


def wire_json(body: Any) -> bytes:
    """A request body's bytes as the transport sends it (``json=``): compact JSON."""
    return encode_json(body)


def fragments(
    encoded: Sequence[tuple[str, str]], envelope: Mapping[str, Any], limit: int = MAX_FRAGMENT_BYTES
) -> list[dict[str, Any]]:
    """Pack ``(label, data)`` circuits greedily into ``add_circuits/`` bodies under ``limit``.

    Only the last body has ``"finalized": "true"`` (a string, as the service expects).

    Raises:
        CircuitValidationError: one circuit alone is larger than the limit.
    """
    overhead = len(wire_json({"circuits": {}, **envelope, "finalized": "false"}))
    sizes = [len(wire_json(label)) + len(wire_json(data)) + 2 for label, data in encoded]
    for (label, _), item in zip(encoded, sizes, strict=True):
        if overhead + item > limit:
            raise CircuitValidationError(
                f"circuit {label} is {item} bytes compressed, more than the Qoro upload limit "
                f"of {limit} bytes per request; split it into smaller circuits"
            )
    groups = _pack(sizes, overhead, limit)
    last = len(groups) - 1
    return [
        {
            "circuits": {encoded[k][0]: encoded[k][1] for k in group},
            **envelope,
            "finalized": "true" if i == last else "false",
        }
        for i, group in enumerate(groups)
    ]


def _pack(sizes: Sequence[int], overhead: int, limit: int) -> list[list[int]]:
    """Positions of the items, grouped greedily in order so that each group's sizes plus
    ``overhead`` stay within ``limit`` (an item too big alone gets a group of its own);
    always at least one (possibly empty) group."""
    groups: list[list[int]] = [[]]
    size = overhead
    for position, item in enumerate(sizes):
        if groups[-1] and size + item > limit:
            groups.append([])
            size = overhead
        groups[-1].append(position)
        size += item
    return groups


def upload_bodies(
    circuits: Sequence[QuantumCircuit],
    envelope: Mapping[str, Any],
    templates: bool,
    limit: int = MAX_FRAGMENT_BYTES,
) -> list[dict[str, Any]]:
    """Every ``add_circuits/`` body of a job; only the last one finalizes it.

    With ``templates``, circuits that differ only in gate angles (a parameter sweep) go as
    one parametric template plus a row of values each (:func:`find_sweeps`), unless their
    bound form is smaller (many angles per circuit that the bound text writes short, e.g.
    ``pi/2``, or whose digits gzip packs as tight as a JSON row); the rest as bound
    circuits. Every body's compact JSON stays under ``limit`` bytes (a sweep whose template
    or single row would not fit is sent bound). Labels are the positions in ``circuits``
    (:func:`circuit_label`).
    """
    sweeps, single = find_sweeps(circuits) if templates else ([], list(range(len(circuits))))
    template_bodies: list[dict[str, Any]] = []
    for sweep in sweeps:
        try:
            bodies = template_fragments(sweep, envelope, limit)
        except CircuitValidationError:  # the template or one row is over the limit
            single += sweep.indices
            continue
        if sum(len(wire_json(b)) for b in bodies) < _bound_estimate(circuits, sweep.indices):
            template_bodies += bodies
        else:
            single += sweep.indices
    encoded = [(circuit_label(i), encode_circuit(circuits[i])) for i in sorted(single)]
    bodies = fragments(encoded, envelope, limit) if encoded else []
    bodies += template_bodies
    for body in bodies:
        body["finalized"] = "false"
    bodies[-1]["finalized"] = "true"
    return bodies


def _bound_estimate(circuits: Sequence[QuantumCircuit], indices: Sequence[int]) -> int:
    """Bytes the circuits at ``indices`` would take bound, from up to three of them."""
    sample = sorted({indices[0], indices[len(indices) // 2], indices[-1]})
    each = [len(encode_circuit(circuits[i])) + len(circuit_label(i)) + 6 for i in sample]
    return sum(each) * len(indices) // len(each)


def template_fragments(
    sweep: Sweep, envelope: Mapping[str, Any], limit: int = MAX_FRAGMENT_BYTES
) -> list[dict[str, Any]]:
    """``add_circuits/`` bodies of one parametric template, its rows packed under ``limit``.

    Every body repeats the template (the service binds each body on its own); all carry
    ``"finalized": "false"``, the caller marks the job's last body.

    Raises:
        CircuitValidationError: the template alone, or with one row, is larger than the
            limit.
    """
    head = {
        "circuit_template": compress(sweep.template),
        "parameter_names": sweep.names,
        "parameter_sets": [],
        **envelope,
        "finalized": "false",
    }
    overhead = len(wire_json(head))
    if overhead > limit:
        raise CircuitValidationError(
            f"the parametric template of circuits {sweep.indices[:3]}... is {overhead} bytes, "
            f"more than the Qoro upload limit of {limit}; run with templates=False"
        )
    rows = [
        {"label": circuit_label(index), "values": values}
        for index, values in zip(sweep.indices, sweep.values, strict=True)
    ]
    sizes = [len(wire_json(row)) + 1 for row in rows]
    widest = max(sizes, default=0)
    if overhead + widest > limit:
        raise CircuitValidationError(
            f"one row of values of the parametric template of circuits "
            f"{sweep.indices[:3]}... makes a {overhead + widest}-byte upload, more than the "
            f"Qoro limit of {limit} bytes per request; run with templates=False"
        )
    groups = _pack(sizes, overhead, limit)
    return [{**head, "parameter_sets": [rows[k] for k in group]} for group in groups]


class QoroAdapter(VendorAdapter):
    """Qoro Service account: QPU systems and simulator clusters as devices."""

    vendor = VENDOR
    display_name = "Qoro Service"
    settings_class = QoroSettings
    status_map = STATUS_MAP
    run_options = QORO_OPTIONS

    def __init__(self, settings: VendorSettings, transport: Transport) -> None:
        super().__init__(settings, transport)
        #: Per EXPECTATION job: (dense terms, coefficients) per circuit, for recombination.
        self._estimates: dict[str, list[tuple[list[str], list[complex]]]] = {}
        #: submission tag -> [job id, index of the fragment being sent] while in flight.
        self._inflight: dict[str, tuple[str, int]] = {}

    @classmethod
    def from_settings(cls, settings: VendorSettings) -> QoroAdapter:
        """Adapter with a ``Bearer`` API-key transport.

        Raises:
            ConfigurationError: settings of another vendor, or no API key.
        """
        if not isinstance(settings, QoroSettings) or settings.api_key is None:
            raise ConfigurationError("qoro: settings need an api_key (QoroSettings.resolve)")
        transport = Transport(
            VENDOR,
            settings.url,
            HeaderAuth("Authorization", settings.api_key, prefix="Bearer "),
            timeouts=Timeouts(connect=10.0, read=100.0),
            user_agent=f"qiskit-multicloud/{__version__} (qoro)",
        )
        return cls(settings, transport)

    # -- discovery ------------------------------------------------------------------------

    def list_devices(self) -> list[DeviceSpec]:
        """QPU systems (``qpusystem/``) then simulator clusters (``simulatorcluster/``)."""
        systems = self.transport.json("GET", "qpusystem/")
        clusters = self.transport.json("GET", "simulatorcluster/")
        if not isinstance(systems, list) or not isinstance(clusters, list):
            raise malformed("qpusystem/ and simulatorcluster/ must answer JSON lists")
        assert isinstance(self.settings, QoroSettings)
        specs = [spec for spec in map(qpu_system_spec, systems) if spec is not None]
        specs += [simulator_cluster_spec(c, self.settings.simulator_qubits) for c in clusters]
        return specs

    # -- sampling -------------------------------------------------------------------------

    @staticmethod
    def _init_body(device: DeviceSpec, job_type: str, options: RunOptions) -> dict[str, Any]:
        body: dict[str, Any] = {
            "tag": options.get("tag", "qiskit-multicloud"),
            "job_type": job_type,
            "use_packing": bool(options.get("use_packing", False)),
        }
        key = (
            "simulator_cluster"
            if device.extra.get("kind") == "simulator_cluster"
            else "qpu_system_name"
        )
        body[key] = device.device_id
        return body

    def build_payload(
        self, device: DeviceSpec, circuits: Sequence[QuantumCircuit], options: RunOptions
    ) -> dict[str, Any]:
        """``{"init": job/init body, "fragments": [add_circuits bodies]}`` (no HTTP)."""
        envelope = {"mode": "append", "shots": int(options["shots"])}
        return {
            "init": self._init_body(device, "EXECUTE", options),
            "fragments": upload_bodies(circuits, envelope, bool(options.get("templates", True))),
        }

    def submit(self, device: DeviceSpec, payload: Any, options: RunOptions) -> str:
        """Create the job, upload every fragment; return the Qoro ``job_id``.

        Only the fragment marked ``finalized`` queues (and bills) the job; with a
        ``submission_tag`` the job id and the fragment in flight are remembered so
        :meth:`reconcile` can finish a run whose answer was lost.
        """
        try:
            # An initialised job without finalized circuits never runs and is never billed,
            # so repeating job/init/ after a lost answer is harmless (as OQTOPUS's POST /jobs).
            answer = self.transport.json(
                "POST",
                "job/init/",
                json=payload["init"],
                idempotent=True,
            )
        except VendorAPIError as exc:
            if not submission_uncertain(exc):
                raise
            raise VendorAPIError(
                f"qoro: job/init/ got no usable answer ({exc}); no circuits were uploaded, so "
                "nothing will run and it is safe to run again",
                vendor=VENDOR,
            ) from exc
        job_id = str(require(answer, "job_id", str, "job/init/ reply"))
        # Not finalized, the job never runs: if this cannot be recorded, send nothing more.
        self.report_reserved(options, job_id=job_id)
        tag = str(options.get("submission_tag") or "")
        total = len(payload["fragments"])
        for index, body in enumerate(payload["fragments"]):
            if tag:
                self._inflight[tag] = (job_id, index)
            try:
                self._add_circuits(job_id, body)
            except VendorAPIError as exc:
                if not (tag and submission_uncertain(exc)):
                    self._inflight.pop(tag, None)
                raise self._upload_failed(job_id, index, total, exc) from exc
        self._inflight.pop(tag, None)
        return job_id

    def reconcile(self, device: DeviceSpec, payload: Any, options: RunOptions) -> str | None:
        """Finish an upload whose answer was lost, from the fragment in flight.

        Re-sending a fragment cannot duplicate circuits or jobs: the service answers 400
        "Duplicate circuit label" for a fragment it already holds and 409 once the job was
        finalized (then the job exists and its id is returned).

        Raises:
            VendorAPIError: the service refused a fragment outright; the message names the
                job, which was never finalized and so never runs.
        """
        entry = self._inflight.pop(str(options.get("submission_tag") or ""), None)
        if entry is None:
            return None
        job_id, index = entry
        fragments = payload["fragments"]
        while index < len(fragments):
            response = None
            for _ in range(RECONCILE_ATTEMPTS):
                try:
                    response = self._add_circuits(
                        job_id, fragments[index], ok=(200, 201, 202, 204, 400, 409)
                    )
                    break
                except VendorAPIError as exc:
                    if not submission_uncertain(exc):
                        raise
                    log.info("qoro: re-sending fragment %d of job %s failed (%s)",
                             index + 1, job_id, exc)
            if response is None:
                return None
            if response.status_code == 409:
                return job_id  # already finalized: the job exists and is queued
            if response.status_code == 400 and "uplicate" not in response.text:
                raise VendorAPIError(
                    f"qoro: job {job_id} was not finalized and fragment {index + 1} of "
                    f"{len(fragments)} was refused ({response.text[:200]}); the job never "
                    "runs, so it is safe to run again",
                    vendor=VENDOR,
                    status=400,
                )
            index += 1
        return job_id

    def _add_circuits(
        self, job_id: str, body: Mapping[str, Any], ok: Iterable[int] = range(200, 300)
    ) -> requests.Response:
        """``POST job/{id}/add_circuits/`` with ``body`` as compact JSON (never repeated)."""
        return self.transport.request(
            "POST",
            f"job/{job_id}/add_circuits/",
            json=body,
            idempotent=False,
            ok=ok,
        )

    def recover(
        self, device: DeviceSpec, reserved: Mapping[str, Any], options: RunOptions
    ) -> str | None:
        """After a crash: ``GET job/{id}/status/`` of the job id stored after ``job/init/``.

        Past ``PENDING`` the job was finalized (it is queued or ran): return it. ``PENDING``
        is both "waiting for circuits" and "queued", so the service cannot tell: ``None``.

        Raises:
            VendorAPIError: no job was initialised before the process died.
        """
        job_id = str(reserved.get("job_id") or "")
        if not job_id:
            raise VendorAPIError(
                "qoro: the run was interrupted before a job was initialised and recorded, so "
                "no circuits were uploaded",
                vendor=VENDOR,
            )
        if self.status(job_id).raw.upper() == "PENDING":
            return None
        return job_id

    def _upload_failed(
        self, job_id: str, index: int, total: int, exc: VendorAPIError
    ) -> VendorAPIError:
        """Name the half-uploaded job; cancel it when the service surely refused the upload."""
        definite = exc.status is not None and 400 <= exc.status < 500
        note = "it was cancelled" if definite else f"cancel it with cancel({job_id!r}) if it exists"
        if definite:
            try:
                self.cancel(job_id)
            except VendorAPIError:
                note = f"cancelling it failed too; cancel job {job_id} on the Qoro dashboard"
        return type(exc)(
            f"qoro: job {job_id} was created but uploading circuits failed at fragment "
            f"{index + 1} of {total} ({exc}); {note}",
            vendor=VENDOR,
            status=exc.status,
            vendor_message=exc.vendor_message,
            request_id=exc.request_id,
        )

    def status(self, job_ref: str) -> VendorJobStatus:
        """One ``GET job/{id}/status/``."""
        answer = self.transport.json("GET", f"job/{job_ref}/status/")
        raw = require(answer, "status", str, f"job/{job_ref}/status/ reply")
        message = FAILURE_MESSAGES.get(raw.upper())
        reason = _failure_reason(answer)
        if message is not None and reason:
            message = f"{message}: {reason}"
        if raw.upper() not in STATUS_MAP:
            message = f"unrecognised Qoro status {raw!r}; treated as queued"
            log.warning("qoro: job %s: %s", job_ref, message)
        return VendorJobStatus(map_status(STATUS_MAP, raw, JobStatus.QUEUED), raw, message=message)

    def failure_message(self, job_ref: str) -> str | None:
        """The reason for a failed terminal status."""
        return self.status(job_ref).message

    def _result_entries(self, job_ref: str, count: int) -> list[Any]:
        """Page ``resultsV2/``; each circuit's ``results`` in ``run()`` order (by label)."""
        by_label: dict[str, Any] = {}
        offset = 0
        while True:
            page = self.transport.json(
                "GET", f"job/{job_ref}/resultsV2/", params={"limit": PAGE_SIZE, "offset": offset}
            )
            where = f"job/{job_ref}/resultsV2/ page at offset {offset}"
            entries = require(page, "results", list, where)
            for entry in entries:
                label = require(entry, "label", str, where + " entry")
                if "results" not in entry:
                    raise malformed(f"{where}: entry {label!r} has no 'results'")
                by_label[label] = entry["results"]
            if page.get("next") is None:
                break
            if not entries:
                raise malformed(f"{where}: empty page but 'next' is set")
            offset += PAGE_SIZE
        labels = [circuit_label(i) for i in range(count)]
        missing = [label for label in labels if label not in by_label]
        if missing:
            raise malformed(f"job {job_ref}: results lack circuit label(s) {missing[:5]}")
        return [by_label[label] for label in labels]

    def results(
        self, job_ref: str, layouts: Sequence[CircuitLayout], options: RunOptions
    ) -> list[CircuitCounts]:
        """Decode each circuit's ``qh1``/``qh2`` histogram (already Qiskit bit order)."""
        outcomes = []
        for layout, data in zip(layouts, self._result_entries(job_ref, len(layouts)), strict=True):
            if not isinstance(data, Mapping) or "encoding" not in data:
                raise malformed(f"job {job_ref}: result of {layout.name!r} is not a histogram")
            try:
                counts = histogram.decode_envelope(data)
            except histogram.HistogramError as exc:
                raise malformed(f"job {job_ref}: histogram of {layout.name!r}: {exc}") from exc
            if data["n_bits"] != layout.num_clbits:
                raise malformed(
                    f"job {job_ref}: histogram of {layout.name!r} has {data['n_bits']} bits, "
                    f"the circuit {layout.num_clbits} classical bits"
                )
            outcomes.append(CircuitCounts(counts=counts, shots=sum(counts.values())))
        return outcomes

    def cancel(self, job_ref: str) -> bool:
        """``POST job/{id}/cancel/``; 409 (already final) is a no-op (False), 403 an error."""
        response = self.transport.request(
            "POST", f"job/{job_ref}/cancel/", idempotent=False, ok=(200, 201, 202, 204, 403, 409)
        )
        if response.status_code == 403:
            raise VendorAPIError(
                f"qoro: job {job_ref} cannot be cancelled with this API key (HTTP 403): it "
                "belongs to another account or the key lacks permission",
                vendor=VENDOR,
                status=403,
            )
        if response.status_code == 409:
            log.info("qoro: job %s already finished; nothing to cancel", job_ref)
            return False
        return True

    def delete(self, job_ref: str) -> None:
        """Remove the job from the account's job list (``DELETE job/{id}``, no slash)."""
        self.transport.request("DELETE", f"job/{job_ref}")

    # -- expectation values (not part of VendorAdapter; for the Estimator) ----------------

    def estimate(
        self,
        device: DeviceSpec,
        circuits: Sequence[QuantumCircuit],
        ham_ops: Observables,
        shots: int | None = None,
        *,
        templates: bool = True,
    ) -> str:
        """Submit an ``EXPECTATION`` job; return its job reference.

        Args:
            device: a device whose ``supports_expval`` is true.
            circuits: state preparations (final measurements are ignored by the service).
            ham_ops: one ``SparsePauliOp`` for every circuit, a list with one per circuit,
                or a Qoro ``ham_ops`` string (dense terms, qubit 0 leftmost, ``;`` between
                terms; either one group for all circuits or ``|``-separated groups, one per
                circuit; coefficients 1).
            shots: ignored by the service (values are exact); accepted for interface parity.
            templates: upload circuits that differ only in angles as one parametric template
                (when every circuit has the same observable).

        Raises:
            CircuitValidationError: the device has no expectation support, or circuits and
                observables do not fit (nothing is sent).
        """
        if not device.extra.get("supports_expval"):
            raise CircuitValidationError(
                f"qoro: {device.device_id} does not compute expectation values "
                "(supports_expval is false); measure the observable's Pauli groups instead"
            )
        if not circuits:
            raise CircuitValidationError("estimate() needs at least one circuit")
        per_circuit = self._observables(circuits, ham_ops)
        for circuit in circuits:
            if circuit.num_qubits > device.n_qubits:
                raise CircuitValidationError(
                    f"circuit {circuit.name!r} uses {circuit.num_qubits} qubits; "
                    f"{device.device_id} has {device.n_qubits}"
                )
        groups = [terms for terms, _ in per_circuit]
        shared = all(group == groups[0] for group in groups)
        # One observable for every circuit (an Estimator sweep) travels once, and then the
        # circuits may go as a parametric template; otherwise one group per circuit.
        envelope: dict[str, Any] = {
            "mode": "append",
            "observables": encode_ham_ops(groups[:1] if shared else groups),
        }
        if not shared:
            envelope["circuit_ham_map"] = [[i, i + 1] for i in range(len(groups))]
        bare = [c.remove_final_measurements(inplace=False) or c for c in circuits]
        payload = {
            "init": self._init_body(device, "EXPECTATION", {}),
            "fragments": upload_bodies(bare, envelope, templates and shared),
        }
        job_id = self.submit(device, payload, {})
        self._estimates[job_id] = per_circuit
        return job_id

    @staticmethod
    def _observables(
        circuits: Sequence[QuantumCircuit], ham_ops: Observables
    ) -> list[tuple[list[str], list[complex]]]:
        """(dense terms, coefficients) per circuit, padded to each circuit's width."""
        if isinstance(ham_ops, str):
            groups = [check_ham_group(g) for g in ham_ops.split("|")]
            if len(groups) not in (1, len(circuits)):
                raise CircuitValidationError(
                    f"ham_ops has {len(groups)} groups for {len(circuits)} circuits; give one "
                    "group for all circuits or one per circuit"
                )
            chosen = groups * len(circuits) if len(groups) == 1 else groups
            out = []
            for circuit, terms in zip(circuits, chosen, strict=True):
                if len(terms[0]) > circuit.num_qubits:
                    raise CircuitValidationError(
                        f"ham_ops term {terms[0]!r} is wider than circuit {circuit.name!r}"
                    )
                padded = [t.ljust(circuit.num_qubits, "I") for t in terms]
                out.append((padded, [complex(1.0)] * len(terms)))
            return out
        ops = [ham_ops] * len(circuits) if isinstance(ham_ops, SparsePauliOp) else list(ham_ops)
        if len(ops) != len(circuits):
            raise CircuitValidationError(
                f"{len(ops)} observables for {len(circuits)} circuits; give one per circuit"
            )
        return [observable_terms(op, c.num_qubits) for op, c in zip(ops, circuits, strict=True)]

    def expectation_terms(self, job_ref: str, count: int | None = None) -> list[dict[str, float]]:
        """Per circuit, the service's value of each dense term (qubit 0 leftmost)."""
        if count is None:
            if job_ref not in self._estimates:
                raise ConfigurationError(
                    f"qoro: job {job_ref} was not submitted by this adapter; pass count="
                )
            count = len(self._estimates[job_ref])
        values = []
        for index, data in enumerate(self._result_entries(job_ref, count)):
            if not isinstance(data, Mapping) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in data.values()
            ):
                raise malformed(f"job {job_ref}: circuit {index} has no expectation values")
            values.append({str(k): float(v) for k, v in data.items()})
        return values

    def expectation_results(
        self, job_ref: str, observables: Sequence[tuple[list[str], list[complex]]] | None = None
    ) -> list[float]:
        """Expectation value per circuit: ``sum(coeff * <term>)`` recombined client-side.

        Args:
            job_ref: reference returned by :meth:`estimate`.
            observables: (dense terms, coefficients) per circuit; only needed for a job
                submitted by another adapter instance (e.g. another process).

        Raises:
            MalformedResponseError: a term's value is missing from the reply.
        """
        known = list(observables) if observables is not None else self._estimates.get(job_ref)
        if known is None:
            raise ConfigurationError(
                f"qoro: job {job_ref} was not submitted by this adapter; pass observables="
            )
        results = []
        for index, ((terms, coeffs), values) in enumerate(
            zip(known, self.expectation_terms(job_ref, len(known)), strict=True)
        ):
            total = 0j
            for term, coeff in zip(terms, coeffs, strict=True):
                if term not in values:
                    raise malformed(f"job {job_ref}: circuit {index} lacks a value for {term!r}")
                total += coeff * values[term]
            results.append(float(total.real))
        return results


def _failure_reason(answer: Mapping[str, Any]) -> str | None:
    """The reason a failed job's status reply gives, if any.

    The documented reply is ``{"status", "job_id", "run_time"}``; the service may add fields,
    and a reason under ``error``, ``detail`` or ``message`` (our emulator uses ``error``) is
    passed on to the user rather than a bare "FAILED".
    """
    for key in ("error", "detail", "message"):
        value = answer.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


class QoroBackend(MultiCloudBackend):
    """A Qoro QPU system or simulator cluster as a Qiskit backend."""

    vendor_options = QoroAdapter.run_options
