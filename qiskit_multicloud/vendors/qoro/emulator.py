"""A local Qoro Service: the REST routes ``QoroService`` (qoro-divi) uses, on 127.0.0.1.

Point the SDK at it by setting its runners module's ``API_URL`` to ``<emulator url>/api``
and passing the token as ``auth_token``. Devices: the simulator cluster ``qoro_maestro``
(expectation values supported) and the QPU system ``qoro_emulated_qpu`` (one 5-qubit line
QPU publishing basis gates, coupling map and calibration).

Emulator options (``EmulatorConfig.options``):
    ``fail_with``: ``"FAILED"``, ``"INSUFFICIENT_CREDITS"`` or ``"TIMED_OUT"`` -- every
        finalized job ends in that status (a job tag ``emulator:fail=<STATUS>`` does the
        same for one job).
    ``extra_tokens``: more accepted API keys (each is a separate owner, so 403 is testable).
    ``max_body_bytes``: largest accepted request body (default 1 MiB; larger -> 413).

Result entries are listed in label order as strings (``"0", "1", "10", "11", "2"``), so a
client that relies on list position instead of labels gets wrong answers.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ...config import Secret
from ...emulators.app import EmulatorApp, EmulatorConfig, EmulatorHTTPError
from ...emulators.jobs import EmulatedJob, JobPhase
from ...emulators.simulator import expectation, parse_qasm
from ...types import DeviceSpec
from . import histogram
from .devices import qpu_system_spec
from .emulator_devices import BLUEPRINTS, SIMULATOR_CLUSTERS, qpu_systems
from .settings import QoroSettings
from .translate import decode_ham_ops, decompress, dense_to_qiskit_label

FAILURE_STATUSES = ("FAILED", "INSUFFICIENT_CREDITS", "TIMED_OUT")
#: ``qelib1.inc`` gates the service accepts (protocol note 5.2) that Aer cannot run as they
#: are; the emulator compiles them away as the service compiles for its devices.
COMPILED_AWAY = ("ch",)
API_META_KEYS = {
    "optimization_level",
    "resilience_level",
    "max_execution_time",
    "transpilation_seed",
    "layout_method",
    "routing_method",
    "approximation_degree",
}


@dataclasses.dataclass
class StagedJob:
    """A job between ``job/init/`` and its finalizing ``add_circuits/``."""

    job_id: str
    owner: str
    target: str
    job_type: str
    tag: str
    limit: int | None = None
    labels: list[str] = dataclasses.field(default_factory=list)
    circuits: list[QuantumCircuit] = dataclasses.field(default_factory=list)
    shots: list[int] = dataclasses.field(default_factory=list)
    observables: list[list[str] | None] = dataclasses.field(default_factory=list)
    configs: dict[str, Any] = dataclasses.field(default_factory=dict)


class QoroEmulator(EmulatorApp):
    """Qoro Service REST API over the shared emulator core."""

    vendor = "qoro"

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        super().__init__(config)
        self.systems = qpu_systems()
        self.clusters = [dict(c) for c in SIMULATOR_CLUSTERS]
        self.staged: dict[str, StagedJob] = {}
        self.max_body = int(self.config.options.get("max_body_bytes", 1024 * 1024))
        self._counter = 0

    # -- core hooks -----------------------------------------------------------------------

    def device_spec(self, device_id: str) -> DeviceSpec | None:
        """A QPU system's entry read by the adapter (simulator clusters: ``None``, ideal)."""
        system = next((s for s in self.systems if s["name"] == device_id), None)
        return qpu_system_spec(system) if system is not None else None

    def routes(self) -> Iterable[Rule]:
        """The Qoro REST routes (all under ``/api``)."""
        job = "/api/job/<job_id>"
        return [
            Rule("/api/", endpoint="index", methods=["GET"]),
            Rule("/api/qpusystem/", endpoint="qpu_systems", methods=["GET"]),
            Rule("/api/simulatorcluster/", endpoint="simulator_clusters", methods=["GET"]),
            Rule("/api/vendor-config-blueprint/", endpoint="blueprints", methods=["GET"]),
            Rule("/api/credits/", endpoint="credits", methods=["GET"]),
            Rule("/api/credits/transactions/", endpoint="transactions", methods=["GET"]),
            Rule("/api/job/init/", endpoint="job_init", methods=["POST"]),
            Rule(f"{job}/add_circuits/", endpoint="add_circuits", methods=["POST"]),
            Rule(f"{job}/status/", endpoint="job_status", methods=["GET"]),
            Rule(f"{job}/resultsV2/", endpoint="job_results", methods=["GET"]),
            Rule(f"{job}/cancel/", endpoint="job_cancel", methods=["POST"]),
            Rule(f"{job}/execution_config/", endpoint="execution_config", methods=["GET", "POST"]),
            Rule(job, endpoint="job_delete", methods=["DELETE"]),
        ]

    def _tokens(self) -> list[str]:
        return [self.token, *self.config.options.get("extra_tokens", [])]

    def _caller(self, request: Request) -> str:
        header = request.headers.get("Authorization", "")
        return header[len("Bearer ") :] if header.startswith("Bearer ") else ""

    def authenticate(self, request: Request) -> bool:
        """``Authorization: Bearer <key>`` with an accepted key."""
        return self._caller(request) in self._tokens()

    def client_settings(self) -> QoroSettings:
        """Adapter settings for this emulator."""
        return QoroSettings(
            url=f"{self.base_url}/api", api_key=Secret(self.token), source="emulator"
        )

    def error_response(self, status: int, message: str, **extra: Any) -> Response:
        """Django REST framework style ``{"detail": ...}``."""
        return self.json({"detail": message, **extra}, status)

    def unauthorized(self, request: Request, *, expired: bool = False) -> Response:
        """401 as the service words it."""
        if expired:
            return self.error_response(401, "Token has expired.")
        if not request.headers.get("Authorization"):
            return self.error_response(401, "Authentication credentials were not provided.")
        return self.error_response(401, "Invalid token.")

    # -- discovery and account ------------------------------------------------------------

    def index(self, request: Request) -> Response:
        """Connection test."""
        return self.json({"status": "ok"})

    def qpu_systems(self, request: Request) -> Response:
        """QPU systems."""
        return self.json(self.systems)

    def simulator_clusters(self, request: Request) -> Response:
        """Simulator clusters."""
        return self.json(self.clusters)

    def blueprints(self, request: Request) -> Response:
        """Device-option shapes per QPU vendor."""
        return self.json(BLUEPRINTS)

    def credits(self, request: Request) -> Response:
        """Credit balance (decimal strings)."""
        stamp = "2026-01-01T00:00:00Z"
        return self.json(
            {"balance": "500.00", "total_used": "0", "created_at": stamp, "updated_at": stamp}
        )

    def transactions(self, request: Request) -> Response:
        """Credit transactions (none)."""
        return self.json(
            {"count": 0, "total_pages": 1, "next": None, "previous": None, "results": []}
        )

    # -- jobs -----------------------------------------------------------------------------

    def _target(self, body: dict[str, Any]) -> tuple[str, bool, int | None]:
        """(name, supports_expval, qubit limit) of the job's target."""
        if body.get("qpu_system_name"):
            name = str(body["qpu_system_name"])
            for system in self.systems:
                if system["name"] == name:
                    limit = max(q["q_bits"] for q in system["qpus"])
                    return name, bool(system["supports_expval"]), limit
            raise EmulatorHTTPError(404, f"QPU system '{name}' not found.")
        name = str(body.get("simulator_cluster") or "qoro_maestro")
        for cluster in self.clusters:
            if cluster["name"] == name:
                return name, bool(cluster["supports_expval"]), None
        raise EmulatorHTTPError(404, f"Simulator cluster '{name}' not found.")

    def job_init(self, request: Request) -> Response:
        """Create a PENDING job that waits for circuits."""
        body = self._body(request)
        job_type = body.get("job_type", "EXECUTE")
        if job_type not in ("EXECUTE", "EXPECTATION"):
            raise EmulatorHTTPError(400, f"job_type '{job_type}' is not supported here.")
        target, expval, limit = self._target(body)
        if job_type == "EXPECTATION" and not expval:
            raise EmulatorHTTPError(400, f"'{target}' does not support EXPECTATION jobs.")
        self._counter += 1
        job_id = f"{self._counter:08x}-{uuid.uuid4()}"
        keys = ("maestro_config", "device_config")
        configs: dict[str, Any] = {k: body[k] for k in keys if k in body}
        self.staged[job_id] = StagedJob(
            job_id,
            self._caller(request),
            target,
            job_type,
            str(body.get("tag", "")),
            limit,
            configs=configs,
        )
        return self.json({"job_id": job_id, "status": "PENDING"}, 201)

    def _body(self, request: Request) -> dict[str, Any]:
        if (request.content_length or 0) > self.max_body:
            raise EmulatorHTTPError(413, f"Request body exceeds {self.max_body} bytes.")
        body = self.body(request)
        if not isinstance(body, dict):
            raise EmulatorHTTPError(400, "Request body must be a JSON object.")
        return body

    def _staged(self, request: Request, job_id: str) -> StagedJob:
        staged = self.staged.get(job_id)
        if staged is None:
            if self.jobs.get(job_id) is not None:
                raise EmulatorHTTPError(409, "Job is already finalized; no more circuits accepted.")
            raise EmulatorHTTPError(404, "Not found.")
        if staged.owner != self._caller(request):
            raise EmulatorHTTPError(403, "You do not have permission to modify this job.")
        return staged

    def add_circuits(self, request: Request, job_id: str) -> Response:
        """Append a fragment (bound circuits or a template); the finalizing one queues the job."""
        staged = self._staged(request, job_id)
        body = self._body(request)
        finalized = body.get("finalized", "false")
        if finalized not in ("true", "false"):
            raise EmulatorHTTPError(400, "'finalized' must be the string 'true' or 'false'.")
        if body.get("mode", "append") != "append":
            raise EmulatorHTTPError(400, "Only mode 'append' is supported.")
        labelled = self._fragment_circuits(body)
        first = len(staged.circuits)
        for label, _ in labelled:
            if label in staged.labels:
                raise EmulatorHTTPError(400, f"Duplicate circuit label '{label}'.")
        for label, circuit in labelled:
            if staged.limit is not None and circuit.num_qubits > staged.limit:
                raise EmulatorHTTPError(
                    400,
                    f"Circuit '{label}' uses {circuit.num_qubits} qubits; "
                    f"{staged.target} has {staged.limit}.",
                )
        shots, observables = self._fragment_settings(staged, body, len(labelled), first)
        staged.labels += [label for label, _ in labelled]
        staged.circuits += [c for _, c in labelled]
        staged.shots += shots
        staged.observables += observables
        if finalized == "true":
            self._finalize(staged)
        return self.json({"status": "ok", "job_id": job_id, "circuits_added": len(labelled)})

    def _fragment_circuits(self, body: dict[str, Any]) -> list[tuple[str, QuantumCircuit]]:
        texts: list[tuple[str, str]] = []
        if "circuits" in body:
            circuits = body["circuits"]
            if not isinstance(circuits, dict) or not all(
                isinstance(v, str) for v in circuits.values()
            ):
                raise EmulatorHTTPError(400, "'circuits' must map labels to encoded QASM strings.")
            for label, data in circuits.items():
                texts.append((str(label), self._decode(str(label), data)))
        elif "circuit_template" in body:
            template = self._decode("circuit_template", body["circuit_template"])
            names = [str(name) for name in body.get("parameter_names") or []]
            # One pass over the template per row (not one per name): whole names only.
            pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
            for row in body.get("parameter_sets") or []:
                if not isinstance(row, dict) or not isinstance(row.get("values"), list):
                    raise EmulatorHTTPError(400, "Each parameter set needs 'label' and 'values'.")
                label, values = str(row.get("label")), row["values"]
                if len(values) != len(names):
                    raise EmulatorHTTPError(
                        400,
                        f"Parameter set '{label}' has {len(values)} values for {len(names)} names.",
                    )
                for value in values:
                    if not isinstance(value, int | float) or isinstance(value, bool):
                        raise EmulatorHTTPError(
                            400, f"Parameter set '{label}': value {value!r} is not a number."
                        )
                # The service writes each value as Python str(float(value)).
                text_of = {n: str(float(v)) for n, v in zip(names, values, strict=True)}
                texts.append((label, _substitute(pattern, template, text_of)))
        else:
            raise EmulatorHTTPError(400, "Provide 'circuits' or 'circuit_template'.")
        out = []
        for label, text in texts:
            if not text.lstrip().startswith("OPENQASM 2.0"):
                raise EmulatorHTTPError(400, f"Circuit '{label}' is not OpenQASM 2.0.")
            try:
                out.append((label, _compiled(parse_qasm(text))))
            except ValueError as exc:
                raise EmulatorHTTPError(400, f"Circuit '{label}' is invalid QASM: {exc}") from exc
        return out

    @staticmethod
    def _decode(label: str, data: Any) -> str:
        try:
            return decompress(str(data))
        except ValueError as exc:
            raise EmulatorHTTPError(
                400, f"Circuit '{label}' is not base64(gzip(QASM)): {exc}"
            ) from exc

    def _fragment_settings(
        self, staged: StagedJob, body: dict[str, Any], count: int, first: int
    ) -> tuple[list[int], list[list[str] | None]]:
        """Per-circuit shots and observable terms of one fragment."""
        if staged.job_type == "EXPECTATION":
            wire = body.get("observables")
            if not isinstance(wire, str):
                raise EmulatorHTTPError(400, "EXPECTATION fragments need 'observables'.")
            try:
                groups = decode_ham_ops(wire)
            except ValueError as exc:
                raise EmulatorHTTPError(400, f"Malformed observables: {exc}") from exc
            ham_map = body.get("circuit_ham_map")
            terms: list[list[str] | None] = []
            for index in range(first, first + count):
                chosen = [t for g in groups for t in g]
                for group, rng in zip(groups, ham_map or [], strict=False):
                    if rng[0] <= index < rng[1]:
                        chosen = group
                terms.append(chosen)
            return [1] * count, terms
        if ("shots" in body) == ("shot_groups" in body):
            raise EmulatorHTTPError(400, "Give exactly one of 'shots' and 'shot_groups'.")
        if "shots" in body:
            shots = body["shots"]
            if not isinstance(shots, int) or isinstance(shots, bool) or shots < 1:
                raise EmulatorHTTPError(400, "'shots' must be a positive integer.")
            return [shots] * count, [None] * count
        per = [0] * count
        for group in body["shot_groups"]:
            start, end, value = (int(x) for x in group)
            if not (0 <= start < end <= count) or value < 1:
                raise EmulatorHTTPError(400, f"Invalid shot group {group}.")
            per[start:end] = [value] * (end - start)
        if 0 in per:
            raise EmulatorHTTPError(400, "shot_groups must cover every circuit.")
        return per, [None] * count

    def _finalize(self, staged: StagedJob) -> EmulatedJob:
        del self.staged[staged.job_id]
        fail = self.config.options.get("fail_with")
        if staged.tag.startswith("emulator:fail="):
            fail = staged.tag.split("=", 1)[1]
        failure = f"forced {fail}" if fail in FAILURE_STATUSES else None
        simulate_now = staged.job_type == "EXECUTE" and len(set(staged.shots)) == 1
        job = self.jobs.add(
            staged.target,
            staged.circuits if simulate_now else [],
            staged.shots[0] if staged.shots else 1,
            job_id=staged.job_id,
            owner=staged.owner,
            meta={"staged": staged, "fail_status": fail if failure else None},
            failure=failure,
        )
        if not simulate_now:
            job.outcomes = []  # computed per circuit when results are first read
        return job

    def _job(self, request: Request, job_id: str) -> EmulatedJob | StagedJob:
        job: EmulatedJob | StagedJob | None = self.staged.get(job_id) or self.jobs.get(job_id)
        if job is None:
            raise EmulatorHTTPError(404, "Not found.")
        if job.owner != self._caller(request):
            raise EmulatorHTTPError(403, "You do not have permission to access this job.")
        return job

    def _status(self, job: EmulatedJob | StagedJob) -> str:
        if isinstance(job, StagedJob):
            return "PENDING"
        phase = self.jobs.phase(job)
        if phase is JobPhase.QUEUED:
            early = self.jobs.clock() < job.created + job.queue_delay / 2
            return "PENDING" if early else "SCHEDULED"
        if phase is JobPhase.FAILED:
            return str(job.meta.get("fail_status") or "FAILED")
        return {JobPhase.RUNNING: "RUNNING", JobPhase.DONE: "COMPLETED"}.get(phase, "CANCELLED")

    def job_status(self, request: Request, job_id: str) -> Response:
        """``{"status", "job_id", "run_time"}``."""
        job = self._job(request, job_id)
        status = self._status(job)
        run_time = 0.0
        if isinstance(job, EmulatedJob) and job.ended_at is not None:
            run_time = max(0.0, job.ended_at - job.started_at)
        answer: dict[str, Any] = {"status": status, "job_id": job_id, "run_time": run_time}
        if isinstance(job, EmulatedJob) and status in FAILURE_STATUSES and job.failure:
            answer["error"] = job.failure  # extra field; the SDK reads only status/run_time
        return self.json(answer)

    def job_results(self, request: Request, job_id: str) -> Response:
        """Paginated results, one entry per label; 400 until COMPLETED."""
        job = self._job(request, job_id)
        status = self._status(job)
        if not isinstance(job, EmulatedJob) or status != "COMPLETED":
            raise EmulatorHTTPError(400, f"Job results are not available (status {status}).")
        try:
            limit = int(request.args.get("limit", 100))
            offset = int(request.args.get("offset", 0))
        except ValueError as exc:
            raise EmulatorHTTPError(400, "limit and offset must be integers.") from exc
        if limit < 1 or offset < 0:
            raise EmulatorHTTPError(400, "limit must be positive and offset non-negative.")
        entries = self._entries(job)
        page = entries[offset : offset + limit]
        following = None
        if offset + limit < len(entries):
            query = urlencode({"limit": limit, "offset": offset + limit})
            following = f"{self.base_url}/api/job/{job_id}/resultsV2/?{query}"
        return self.json({"results": page, "next": following})

    def _entries(self, job: EmulatedJob) -> list[dict[str, Any]]:
        cached: list[dict[str, Any]] | None = job.meta.get("entries")
        if cached is not None:
            return cached
        staged: StagedJob = job.meta["staged"]
        noise = self.noise(job.device_id)
        entries = []
        for index, (label, circuit) in enumerate(zip(staged.labels, staged.circuits, strict=True)):
            result: dict[str, Any]
            if staged.job_type == "EXPECTATION":
                terms = staged.observables[index] or []
                result = {
                    t: expectation(circuit, SparsePauliOp(dense_to_qiskit_label(t))) for t in terms
                }
            else:
                if job.outcomes is not None and job.circuits:
                    counts = job.outcomes[index].counts
                else:
                    counts = self.simulator.run([circuit], staged.shots[index], noise)[0].counts
                result = histogram.envelope(counts, circuit.num_clbits)
            entries.append({"label": label, "results": result})
        entries.sort(key=lambda e: str(e["label"]))
        job.meta["entries"] = entries
        return entries

    def job_cancel(self, request: Request, job_id: str) -> Response:
        """Cancel a job that has not ended; 409 when it has."""
        job = self._job(request, job_id)
        if isinstance(job, StagedJob):
            job = self._finalize(job)
            self.jobs.cancel(job)
        elif not self.jobs.cancel(job):
            raise EmulatorHTTPError(
                409, f"Job is already {self._status(job)} and cannot be cancelled."
            )
        staged: StagedJob = job.meta["staged"]
        return self.json(
            {"status": "CANCELLED", "job_id": job_id, "circuits_cancelled": len(staged.circuits)}
        )

    def job_delete(self, request: Request, job_id: str) -> Response:
        """Remove the job."""
        self._job(request, job_id)
        self.staged.pop(job_id, None)
        self.jobs.remove(job_id)
        return Response(status=204)

    def execution_config(self, request: Request, job_id: str) -> Response:
        """Read (both SDK generations' keys) or set (while PENDING) the execution config."""
        job = self._job(request, job_id)
        staged = job if isinstance(job, StagedJob) else job.meta["staged"]
        if request.method == "POST":
            if not isinstance(job, StagedJob):
                raise EmulatorHTTPError(
                    409, "Execution config can only be set while the job is PENDING."
                )
            body = self._body(request)
            unknown = set(body.get("api_meta") or {}) - API_META_KEYS
            if unknown:
                raise EmulatorHTTPError(400, f"Unknown api_meta keys: {sorted(unknown)}.")
            staged.configs["execution_configuration"] = body
            return self.json({"status": "ok", "job_id": job_id, "execution_configuration": body})
        return self.json(
            {
                "execution_configuration": staged.configs.get("execution_configuration"),
                "maestro_config": staged.configs.get("maestro_config"),
                "device_config": staged.configs.get("device_config"),
            }
        )


def _substitute(pattern: re.Pattern[str], template: str, text_of: dict[str, str]) -> str:
    """``template`` with every whole parameter name replaced by its text, in one pass."""
    if not text_of:
        return template
    return pattern.sub(lambda match: text_of[match.group(1)], template)


def _compiled(circuit: QuantumCircuit) -> QuantumCircuit:
    """``circuit`` with the gates of :data:`COMPILED_AWAY` decomposed."""
    if any(inst.operation.name in COMPILED_AWAY for inst in circuit.data):
        return circuit.decompose(gates_to_decompose=list(COMPILED_AWAY))
    return circuit
