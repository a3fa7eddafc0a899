"""IQM Server (G3 ``/api/v1``) emulator: works with our adapter and unmodified iqm-client 36.

Options (``EmulatorConfig.options``):
    ``devices``: list of QC aliases to serve (default: all of
    :func:`~qiskit_multicloud.vendors.iqm.emulator_devices.default_qcs`).
    ``auth``: ``False`` accepts requests without a token (default ``True``).
"""

from __future__ import annotations

import datetime
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from qiskit.circuit import ClassicalRegister, QuantumCircuit
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ...config import Secret, VendorSettings
from ...emulators.app import EmulatorApp, EmulatorConfig, EmulatorHTTPError
from ...emulators.jobs import EmulatedJob, JobPhase
from ...emulators.simulator import SimOutcome
from ...types import DeviceSpec
from .emulator_devices import EmulatedQC, default_qcs
from .settings import IQMSettings

V1 = "/api/v1"

PHASE_STATUS = {
    JobPhase.QUEUED: "waiting",
    JobPhase.RUNNING: "processing",
    JobPhase.DONE: "completed",
    JobPhase.FAILED: "failed",
    JobPhase.CANCELLED: "cancelled",
}

#: Operations whose locus is checked per component (any number of components).
FACTORIZABLE = {"measure", "reset", "reset_wait", "barrier", "delay"}
#: Operations needing no calibration.
CALIBRATION_FREE = {"barrier", "delay", "reset"}
ARGS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "prx": {"angle": (int, float), "phase": (int, float)},
    "cc_prx": {"angle": (int, float), "phase": (int, float), "feedback_qubit": str,
               "feedback_key": str},
    "cz": {}, "move": {}, "reset": {}, "reset_wait": {}, "barrier": {},
    "measure": {"key": str},
    "delay": {"duration": (int, float)},
}
OPTIONAL_ARGS = {"measure": {"feedback_key"}}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


def _invalid(message: str) -> EmulatorHTTPError:
    return EmulatorHTTPError(422, message, error_code="validation_error")


class IQMEmulator(EmulatorApp):
    """The IQM Server REST API on 127.0.0.1."""

    vendor: ClassVar[str] = "iqm"

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        super().__init__(config)
        wanted = self.config.options.get("devices")
        self.qcs: dict[str, EmulatedQC] = {
            qc.alias: qc for qc in default_qcs() if not wanted or qc.alias in wanted
        }

    # -- framework hooks ------------------------------------------------------------------

    def device_spec(self, device_id: str) -> DeviceSpec | None:
        """The QC's published documents read by the adapter (jobs carry the QC alias)."""
        qc = self.qcs.get(device_id)
        return qc.device_spec() if qc is not None else None

    def routes(self) -> Iterable[Rule]:
        """The G3 endpoints of section 10 of the protocol notes."""
        qc = f"{V1}/quantum-computers/<qc>"
        cs = f"{V1}/calibration-sets/<qc>/<cs>"
        job = f"{V1}/jobs/<job_id>"
        return [
            Rule(f"{V1}/quantum-computers", endpoint="list_qcs", methods=["GET"]),
            Rule(f"{qc}/artifacts/static-quantum-architectures", endpoint="get_sqa",
                 methods=["GET"]),
            Rule(f"{qc}/artifacts/about", endpoint="qc_about", methods=["GET"]),
            Rule(f"{qc}/health", endpoint="qc_health", methods=["GET"]),
            Rule(f"{qc}/queue-availability", endpoint="queue_availability", methods=["GET"]),
            Rule(f"{V1}/about", endpoint="about", methods=["GET"]),
            Rule(f"{cs}/dynamic-quantum-architecture", endpoint="get_dqa", methods=["GET"]),
            Rule(cs, endpoint="get_calibration_set", methods=["GET"]),
            Rule(f"{cs}/metrics", endpoint="get_metrics", methods=["GET"]),
            Rule(f"{V1}/jobs/<qc>/circuit", endpoint="submit", methods=["POST"]),
            Rule(job, endpoint="get_job", methods=["GET"]),
            Rule(job, endpoint="delete_job", methods=["DELETE"]),
            Rule(f"{job}/payload", endpoint="get_payload", methods=["GET"]),
            Rule(f"{job}/artifacts/measurements", endpoint="get_measurements", methods=["GET"]),
            Rule(f"{job}/artifacts/measurement_counts", endpoint="get_counts", methods=["GET"]),
            Rule(f"{job}/cancel", endpoint="cancel", methods=["POST"]),
        ]

    def authenticate(self, request: Request) -> bool:
        """``Authorization: Bearer <token>`` must carry the configured token."""
        if self.config.options.get("auth", True) is False:
            return True
        return request.headers.get("Authorization", "") == f"Bearer {self.token}"

    def client_settings(self) -> VendorSettings:
        """Settings pointing our adapter at this emulator."""
        return IQMSettings(url=self.base_url, token=Secret(self.token), source="emulator")

    def error_response(self, status: int, message: str, **extra: Any) -> Response:
        """IQM error body: ``{message, error_code, source}`` (message always present)."""
        codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "not_allowed",
                 422: "validation_error", 429: "rate_limited"}
        body = {"message": message, "error_code": extra.pop("error_code", codes.get(status)),
                "source": "iqm-server", **extra}
        return self.json(body, status)

    # -- lookups --------------------------------------------------------------------------

    def _qc(self, alias: str) -> EmulatedQC:
        qc = self.qcs.get(alias)
        if qc is None:
            raise EmulatorHTTPError(404, f"Quantum computer {alias!r} not found.",
                                    error_code="quantum_computer_not_found")
        return qc

    def _cs(self, qc: EmulatedQC, cs: str) -> None:
        if cs not in ("default", qc.calibration_set_id):
            raise EmulatorHTTPError(404, f"Calibration set {cs} not found.",
                                    error_code="calibration_set_not_found")

    def _job(self, job_id: str) -> EmulatedJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise EmulatorHTTPError(404, f"Job {job_id} not found.", error_code="job_not_found")
        return job

    # -- architecture ---------------------------------------------------------------------

    def list_qcs(self, request: Request) -> Response:
        """``GET /api/v1/quantum-computers``."""
        return self.json({"quantum_computers": [qc.listing() for qc in self.qcs.values()]})

    def get_sqa(self, request: Request, qc: str) -> Response:
        """Static quantum architecture (one-element list)."""
        return self.json(self._qc(qc).sqa())

    def qc_about(self, request: Request, qc: str) -> Response:
        """QC software versions."""
        self._qc(qc)
        return self.json({"version": "emulator", "software_versions": {"qiskit-multicloud": "1"}})

    def qc_health(self, request: Request, qc: str) -> Response:
        """QC health."""
        self._qc(qc)
        return self.json({"healthy": True})

    def queue_availability(self, request: Request, qc: str) -> Response:
        """Jobs waiting for the QC (read by IQM's C++ client, not its Python SDK)."""
        self._qc(qc)
        return self.json({"queue_length": self.jobs.pending(qc), "available": []})

    def about(self, request: Request) -> Response:
        """Server information."""
        return self.json({"name": "qiskit-multicloud IQM emulator", "api": "v1"})

    def get_dqa(self, request: Request, qc: str, cs: str) -> Response:
        """Dynamic quantum architecture (``default`` or the explicit set id)."""
        device = self._qc(qc)
        self._cs(device, cs)
        return self.json(device.dqa())

    def get_calibration_set(self, request: Request, qc: str, cs: str) -> Response:
        """Calibration set observations."""
        device = self._qc(qc)
        self._cs(device, cs)
        return self.json(device.calibration_set())

    def get_metrics(self, request: Request, qc: str, cs: str) -> Response:
        """Quality-metric observations."""
        device = self._qc(qc)
        self._cs(device, cs)
        return self.json(device.metrics())

    # -- jobs -----------------------------------------------------------------------------

    def submit(self, request: Request, qc: str) -> Response:
        """``POST /api/v1/jobs/{qc}/circuit``: validate, convert, queue."""
        device = self._qc(qc)
        body = self.body(request)
        if not isinstance(body, dict):
            raise _invalid("request body must be a JSON object")
        shots = body.get("shots")
        if not isinstance(shots, int) or isinstance(shots, bool) or shots < 1:
            raise _invalid(f"shots must be an integer >= 1, got {shots!r}")
        circuits = body.get("circuits")
        if not isinstance(circuits, list) or not circuits:
            raise _invalid("circuits must be a non-empty array")
        cs = body.get("calibration_set_id")
        if cs is not None:
            self._cs(device, str(cs))
        heralding = body.get("heralding_mode", "none") or "none"
        if heralding not in ("none", "zeros"):
            raise _invalid(f"heralding_mode must be 'none' or 'zeros', got {heralding!r}")
        mapping = _qubit_mapping(body.get("qubit_mapping"), device)
        converted = [
            _to_qiskit(c, i, device, mapping) for i, c in enumerate(circuits)
        ]
        failure = None
        ratio = body.get("max_circuit_duration_over_t2")
        if isinstance(ratio, int | float) and ratio > 0:
            for qcirc, used, duration in converted:
                if duration > ratio * device.t2_min(used):
                    failure = (f"circuit {qcirc.name!r} lasts {duration:.3g} s, more than "
                               f"{ratio} x the shortest T2 of its qubits")
                    break
        job = self.jobs.add(
            qc, [c for c, _, _ in converted], shots,
            meta={"payload": body, "keys": [c.metadata["_iqm_keys"] for c, _, _ in converted],
                  "cs": device.calibration_set_id, "timeline": [("created", _now())]},
            failure=failure,
        )
        return self.json(self._record(job))

    def _record(self, job: EmulatedJob) -> dict[str, Any]:
        phase = self.jobs.phase(job)
        status = PHASE_STATUS[phase]
        timeline = job.meta["timeline"]
        if timeline[-1][0] != status and status != "waiting":
            if status in ("completed", "failed") and timeline[-1][0] == "created":
                timeline.append(("processing", _now()))
            timeline.append((status, _now()))
        errors = []
        if phase is JobPhase.FAILED:
            errors.append({"message": job.failure or "job failed", "error_code": "job_failed",
                           "source": "iqm-station-control"})
        done = phase is JobPhase.DONE
        shots = job.shots
        return {
            "id": job.job_id,
            "type": "circuit",
            "status": status,
            "queue_position": self.jobs.queue_position(job),
            "compilation": None
            if phase is JobPhase.QUEUED
            else {"calibration_set_id": job.meta["cs"]},
            "execution": {"progress": {"sweep_1": {"value": shots, "max_value": shots}}}
            if done else None,
            "messages": [],
            "errors": errors,
            "timeline": [{"source": "iqm-server", "status": s, "timestamp": t}
                         for s, t in timeline],
            "artifacts": [{"type": "measurements"}, {"type": "measurement_counts"}] if done else [],
        }

    def get_job(self, request: Request, job_id: str) -> Response:
        """Job record."""
        return self.json(self._record(self._job(job_id)))

    def get_payload(self, request: Request, job_id: str) -> Response:
        """The submitted body, unchanged."""
        return self.json(self._job(job_id).meta["payload"])

    def _finished_outcomes(self, job_id: str) -> list[tuple[SimOutcome, Any]]:
        """(outcome, measurement keys) per circuit of a finished job; 404 before that."""
        job = self._job(job_id)
        if self.jobs.phase(job) is not JobPhase.DONE or job.outcomes is None:
            raise EmulatorHTTPError(404, f"Job {job_id} has no measurements artifact yet.",
                                    error_code="artifact_not_found")
        return list(zip(job.outcomes, job.meta["keys"], strict=True))

    def _measurements(self, job_id: str) -> list[dict[str, list[list[int]]]]:
        results = []
        for outcome, keys in self._finished_outcomes(job_id):
            per_key: dict[str, list[list[int]]] = {}
            for key, clbits in keys:
                # One bit list per distinct outcome, shared by its shots (same JSON, less work
                # than converting every shot; the histogram artifact is built the same way).
                bits_of = {
                    memory: [int(memory[-1 - c]) for c in clbits]
                    for memory in set(outcome.memory)
                }
                per_key[key] = [bits_of[shot] for shot in outcome.memory]
            results.append(per_key)
        return results

    def get_measurements(self, request: Request, job_id: str) -> Response:
        """Per-shot results: one object per circuit, key -> shots x locus bits."""
        return self.json(self._measurements(job_id))

    def get_counts(self, request: Request, job_id: str) -> Response:
        """Histogram results: bitstrings concatenated in key order, locus order."""
        out = []
        for outcome, keys in self._finished_outcomes(job_id):
            # Histogram the raw shots first (few distinct outcomes), then pick each key's bits
            # once per distinct outcome: the same answer as per-shot joining, without a Python
            # loop over every shot (which cost ~0.3 s per 100 x 1000-shot job).
            positions = [c for _, clbits in keys for c in clbits]
            counts: dict[str, int] = {}
            if positions:
                for memory, n in Counter(outcome.memory).items():
                    bits = "".join(memory[-1 - c] for c in positions)
                    counts[bits] = counts.get(bits, 0) + n
            out.append({"measurement_keys": [key for key, _ in keys], "counts": counts})
        return self.json(out)

    def cancel(self, request: Request, job_id: str) -> Response:
        """Cancel a non-final job; 403 ``illegal_job_status`` when already final."""
        job = self._job(job_id)
        if not self.jobs.cancel(job):
            raise EmulatorHTTPError(
                403, f"Job {job_id} is already {PHASE_STATUS[self.jobs.phase(job)]}.",
                error_code="illegal_job_status",
            )
        job.meta["timeline"].append(("cancelled", _now()))
        return Response(status=204)

    def delete_job(self, request: Request, job_id: str) -> Response:
        """Cancel and forget."""
        job = self._job(job_id)
        self.jobs.cancel(job)
        self.jobs.remove(job_id)
        return Response(status=204)


def _qubit_mapping(raw: Any, device: EmulatedQC) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        mapping = {str(k): str(v) for k, v in raw.items()}
    elif isinstance(raw, list):
        try:
            mapping = {str(m["logical_name"]): str(m["physical_name"]) for m in raw}
        except (TypeError, KeyError) as exc:
            raise _invalid("qubit_mapping entries need logical_name and physical_name") from exc
    else:
        raise _invalid("qubit_mapping must be a list or an object")
    if len(set(mapping.values())) != len(mapping):
        raise _invalid("qubit_mapping is not injective")
    unknown = set(mapping.values()) - set(device.components)
    if unknown:
        raise _invalid(f"qubit_mapping names unknown components {sorted(unknown)}")
    return mapping


def _check_locus(name: str, locus: list[str], device: EmulatedQC, where: str) -> None:
    if len(set(locus)) != len(locus) or not locus:
        raise _invalid(f"{where}: locus {locus} is empty or repeats a component")
    unknown = [c for c in locus if c not in device.components]
    if unknown:
        raise _invalid(f"{where}: unknown component(s) {unknown}")
    if name in CALIBRATION_FREE:
        return
    loci = [tuple(loc) for impl in device.loci.get(name, {}).values() for loc in impl]
    if name in FACTORIZABLE:
        allowed = {c for loc in loci for c in loc}
        if not set(locus) <= allowed:
            raise _invalid(f"{where}: {name} is not calibrated on {sorted(set(locus) - allowed)}")
        return
    if tuple(locus) in loci or (name == "cz" and tuple(reversed(locus)) in loci):
        return
    raise _invalid(f"{where}: {name} is not calibrated for locus {locus}")


def _to_qiskit(
    circuit: Any, index: int, device: EmulatedQC, mapping: Mapping[str, str]
) -> tuple[QuantumCircuit, set[str], float]:
    """Validate one IQM circuit; return (Qiskit circuit, components used, rough duration)."""
    where = f"circuits[{index}]"
    if not isinstance(circuit, dict) or not isinstance(circuit.get("instructions"), list):
        raise _invalid(f"{where} needs an 'instructions' array")
    instructions = circuit["instructions"]
    if not instructions:
        raise _invalid(f"{where}.instructions is empty")
    components = list(device.components)
    position = {c: i for i, c in enumerate(components)}
    n_clbits = sum(
        len(i.get("locus") or []) for i in instructions
        if isinstance(i, dict) and i.get("name") == "measure"
    )
    qc = QuantumCircuit(len(components), name=str(circuit.get("name") or f"circuit_{index}"))
    creg = ClassicalRegister(n_clbits, "meas")
    qc.add_register(creg)
    keys: list[tuple[str, list[int]]] = []
    feedback: dict[tuple[str, str], int] = {}
    used: set[str] = set()
    next_clbit = 0
    duration = 0.0
    for k, inst in enumerate(instructions):
        here = f"{where}.instructions[{k}]"
        if not isinstance(inst, dict):
            raise _invalid(f"{here} is not an object")
        name = inst.get("name")
        args = inst.get("args") or {}
        raw_locus = inst.get("locus", inst.get("qubits"))
        if name not in ARGS or not isinstance(raw_locus, list) or not isinstance(args, dict):
            raise _invalid(f"{here}: unknown operation {name!r} or missing locus")
        locus = [mapping.get(str(c), str(c)) for c in raw_locus]
        _check_locus(str(name), locus, device, here)
        if name in ("prx", "cc_prx") and "angle_t" in args:
            args = {**args, "angle": 2 * math.pi * float(args["angle_t"]),
                    "phase": 2 * math.pi * float(args["phase_t"])}
        for arg, kind in ARGS[str(name)].items():
            if not isinstance(args.get(arg), kind) or isinstance(args.get(arg), bool):
                raise _invalid(f"{here}: {name} needs argument {arg!r}")
        qubits = [position[c] for c in locus]
        used.update(locus)
        if name == "prx":
            qc.r(float(args["angle"]), float(args["phase"]), qubits[0])
            duration += 4e-8
        elif name == "cz":
            qc.cz(*qubits)
            duration += 1.2e-7
        elif name == "move":
            if locus[0] not in device.qubits or locus[1] not in device.resonators:
                raise _invalid(f"{here}: move locus must be [qubit, resonator]")
            qc.swap(*qubits)
            duration += 9.6e-8
        elif name == "measure":
            key = str(args["key"])
            if any(key == existing for existing, _ in keys):
                raise _invalid(f"{here}: measurement key {key!r} is not unique")
            clbits = list(range(next_clbit, next_clbit + len(qubits)))
            next_clbit += len(qubits)
            for q, c in zip(qubits, clbits, strict=True):
                qc.measure(q, creg[c])
            keys.append((key, clbits))
            if args.get("feedback_key"):
                for comp, c in zip(locus, clbits, strict=True):
                    feedback[(str(args["feedback_key"]), comp)] = c
            duration += 1.5e-6
        elif name == "cc_prx":
            source = feedback.get((str(args["feedback_key"]), str(args["feedback_qubit"])))
            if source is None:
                raise _invalid(f"{here}: no earlier measure with that feedback_key/qubit")
            with qc.if_test((creg[source], 1)):
                qc.r(float(args["angle"]), float(args["phase"]), qubits[0])
        elif name in ("reset", "reset_wait"):
            for q in qubits:
                qc.reset(q)
        elif name == "delay":
            qc.delay(float(args["duration"]), qubits, unit="s")
            duration += float(args["duration"])
        # barrier: no-op
    qc.metadata = {"_iqm_keys": keys}
    return qc, used, duration
