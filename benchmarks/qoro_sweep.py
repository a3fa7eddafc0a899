"""Qoro parametric sweep: bytes uploaded (and wall time) with and without templates.

One Sampler pub = one parametrised circuit over ``--points`` parameter sets, passed to ONE
``backend.run`` the way the Sampler passes it (a parameter sweep, #17.4: translated once,
each point's values written, nothing bound), on ``qoro_maestro`` of a Qoro emulator in a
separate process. ``templates=False`` uploads every bound circuit (the
behaviour before #15.3); ``templates=True`` (the default) uploads one parametric template
plus one row of values per point. Bytes = request bodies the client sent (``job/init/`` and
every ``add_circuits/`` body), counted by a response hook on the adapter's HTTP session.

Cases (``--cases``, comma-separated; default all):

* ``ring-N`` / ``complete-N``: QAOA p=1 MaxCut (``rzz(2*gamma)`` per edge, ``rx(2*beta)``
  per qubit) on a ring or complete graph of N qubits; a near-square grid of (gamma, beta).
* ``ring-N-pP``: QAOA with P layers on a ring (2P parameters), random values.
* ``wring-N`` / ``wcomplete-N``: QAOA p=1 with seeded normal edge weights
  (``rzz(2*w*gamma)``: one angle column per edge, all exact multiples of gamma).
* ``sk-N``: QAOA p=1 on an SK model with +-1 couplings (``rzz(+-2*gamma)``): three angle
  columns, two free parameters (the ``-2*gamma`` slots follow from ``2*gamma`` exactly).
* ``hea-NxD-kK``: hardware-efficient ansatz, N qubits x D layers of ``ry`` on every qubit +
  a ``cx`` ladder, the layers cycling through K parameters (``kall``: every ``ry`` its own
  parameter, N*D of them -- the opposite case). Random values.

Bytes are measured by submitting the sweep as a job the emulator is told to fail (run
option ``tag="emulator:fail=FAILED"``, 3 bytes longer than the default tag in both
columns), so it parses the upload but never simulates: cheap for 20-qubit circuits.
``--e2e CASES`` also runs those cases through the Sampler end to end (upload, emulator
simulation, polling every 0.05 s, results) for wall time, median of ``--repeat`` runs.
Where the adapter chose the bound upload (its template would be larger),
``template_bytes_if_forced`` says how large the template upload would have been.

    python benchmarks/qoro_sweep.py [--points 1000] [--cases ring-4,hea-20x50-k4]
                                    [--e2e ring-4,ring-12] [--shots 100] [--repeat 1]

Prints a markdown table and writes ``benchmarks/results/qoro_sweep.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter, ParameterVector
from qiskit.primitives.containers.sampler_pub import SamplerPub

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import BENCH, EmulatorProcess, request_delta
from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.emulators import settings_for
from qiskit_multicloud.primitives import Sampler
from qiskit_multicloud.primitives.sampler import _pub_circuits
from qiskit_multicloud.sweeps import as_run_input
from qiskit_multicloud.vendors.qoro.adapter import template_fragments, wire_json
from qiskit_multicloud.vendors.qoro.translate import find_sweeps

#: Job tag that makes the Qoro emulator fail the job instead of simulating it.
NOT_SIMULATED = "emulator:fail=FAILED"
DEFAULT_CASES = (
    "ring-4,ring-12,complete-12,complete-16,complete-20,ring-20-p2,ring-20-p3,sk-16,"
    "wring-20,wcomplete-16,hea-20x50-k4,hea-20x10-kall"
)


def edges(n_qubits: int, graph: str) -> list[tuple[int, int]]:
    """A ring (n edges) or the complete graph (n(n-1)/2 edges)."""
    if graph == "ring":
        return [(q, (q + 1) % n_qubits) for q in range(n_qubits)]
    return [(a, b) for a in range(n_qubits) for b in range(a + 1, n_qubits)]


def qaoa(
    n_qubits: int, graph: str = "ring", layers: int = 1, weighted: bool = False
) -> QuantumCircuit:
    """QAOA for MaxCut: H layer, then per layer rzz(2*w*gamma) per edge (w = 1, or seeded
    normal weights), rx(2*beta) per qubit."""
    gammas, betas = ParameterVector("gamma", layers), ParameterVector("beta", layers)
    circuit = QuantumCircuit(n_qubits, name=f"qaoa_{graph}_{n_qubits}_p{layers}")
    circuit.h(range(n_qubits))
    pairs = edges(n_qubits, graph)
    weights = np.random.default_rng(2).normal(size=len(pairs)) if weighted else [1.0] * len(pairs)
    for gamma, beta in zip(gammas, betas, strict=True):
        for weight, (a, b) in zip(weights, pairs, strict=True):
            circuit.rzz(2 * float(weight) * gamma, a, b)
        circuit.rx(2 * beta, range(n_qubits))
    circuit.measure_all()
    return circuit


def sk_model(n_qubits: int) -> QuantumCircuit:
    """QAOA p=1 on an SK model with random +-1 couplings (seeded): rzz(+-2*gamma)."""
    gamma, beta = Parameter("gamma"), Parameter("beta")
    pairs = edges(n_qubits, "complete")
    signs = np.random.default_rng(1).choice([-1.0, 1.0], size=len(pairs))
    circuit = QuantumCircuit(n_qubits, name=f"sk_{n_qubits}")
    circuit.h(range(n_qubits))
    for sign, (a, b) in zip(signs, pairs, strict=True):
        circuit.rzz(2 * float(sign) * gamma, a, b)
    circuit.rx(2 * beta, range(n_qubits))
    circuit.measure_all()
    return circuit


def hardware_efficient(n_qubits: int, depth: int, n_params: int | None) -> QuantumCircuit:
    """``depth`` layers of ry on every qubit + a cx ladder; ``n_params`` parameters cycled
    over the layers (``None``: one parameter per ry)."""
    count = n_qubits * depth if n_params is None else n_params
    thetas = ParameterVector("theta", count)
    circuit = QuantumCircuit(n_qubits, name=f"hea_{n_qubits}x{depth}_{count}")
    for layer in range(depth):
        for qubit in range(n_qubits):
            index = layer * n_qubits + qubit if n_params is None else layer % n_params
            circuit.ry(thetas[index], qubit)
        for qubit in range(n_qubits - 1):
            circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


def case_circuit(name: str) -> QuantumCircuit:
    """The circuit of a case name (see the module docstring)."""
    builders: list[tuple[str, Callable[..., QuantumCircuit]]] = [
        (r"(ring|complete)-(\d+)", lambda g, n: qaoa(int(n), g)),
        (r"(ring|complete)-(\d+)-p(\d+)", lambda g, n, p: qaoa(int(n), g, int(p))),
        (r"w(ring|complete)-(\d+)", lambda g, n: qaoa(int(n), g, weighted=True)),
        (r"sk-(\d+)", lambda n: sk_model(int(n))),
        (r"hea-(\d+)x(\d+)-k(\d+|all)",
         lambda n, d, k: hardware_efficient(int(n), int(d), None if k == "all" else int(k))),
    ]
    for pattern, build in builders:
        match = re.fullmatch(pattern, name)
        if match:
            return build(*match.groups())
    raise SystemExit(f"unknown case {name!r}")


def grid(points: int) -> np.ndarray:
    """``points`` (gamma, beta) pairs on a near-square grid over [0, pi] x [0, pi/2]."""
    rows = max(1, round(points**0.5))
    cols = -(-points // rows)
    pairs = [(g, b) for g in np.linspace(0, np.pi, rows) for b in np.linspace(0, np.pi / 2, cols)]
    return np.array(pairs[:points])


def case_values(circuit: QuantumCircuit, points: int) -> np.ndarray:
    """A 2-parameter grid, or seeded uniform values in [0, 2 pi) for more parameters."""
    if circuit.num_parameters == 2:
        return grid(points)
    return np.random.default_rng(1).uniform(0, 2 * np.pi, size=(points, circuit.num_parameters))


class Uploads:
    """Request bodies sent by one backend's adapter (a response hook on its session)."""

    def __init__(self, backend: Any) -> None:
        self.bodies: list[bytes] = []
        backend.adapter.transport._session.hooks["response"].append(self._record)

    def _record(self, response: Any, *args: Any, **kwargs: Any) -> None:
        body = response.request.body or b""
        self.bodies.append(body.encode() if isinstance(body, str) else body)

    def take(self) -> list[bytes]:
        bodies, self.bodies = self.bodies, []
        return bodies


def measure_bytes(
    backend: Any, uploads: Uploads, circuit: QuantumCircuit, values: np.ndarray, shots: int,
    templates: bool,
) -> dict[str, Any]:
    """Submit what the Sampler submits (one run), never simulated: bytes, requests."""
    circuits = as_run_input(_pub_circuits(0, SamplerPub.coerce((circuit, values), shots), 1))
    options = {"shots": shots, "templates": templates}
    start = time.perf_counter()
    backend.adapter.build_payload(backend.device, circuits, options)
    build = time.perf_counter() - start
    uploads.take()
    start = time.perf_counter()
    backend.run(circuits, shots=shots, templates=templates, tag=NOT_SIMULATED)
    submit = time.perf_counter() - start
    bodies = uploads.take()
    templated = [json.loads(b) for b in bodies if b.startswith(b'{"circuit_template"')]
    rejected = None  # bytes of the template the adapter found larger than the bound upload
    if templates and not templated:
        envelope = {"mode": "append", "shots": shots}
        rejected = sum(
            len(wire_json(body))
            for sweep in find_sweeps(circuits)[0]
            for body in template_fragments(sweep, envelope)
        )
    return {
        "templates": templates,
        "bytes_uploaded": sum(map(len, bodies)),
        "upload_requests": len(bodies) - 1,
        "parameters_sent": len(templated[0]["parameter_names"]) if templated else 0,
        "template_bytes_if_forced": rejected,
        "submit_s": round(submit, 3),
        "build_payload_s": round(build, 3),
    }


def measure_e2e(
    emu: EmulatorProcess, backend: Any, circuit: QuantumCircuit, values: np.ndarray,
    shots: int, templates: bool,
) -> dict[str, Any]:
    """One Sampler run end to end: wall time and requests."""
    sampler = Sampler(
        backend, options={"run_options": {"templates": templates, "poll_interval": 0.05}}
    )
    before = emu.stats()
    start = time.perf_counter()
    result = sampler.run([(circuit, values)], shots=shots).result()
    wall = time.perf_counter() - start
    assert result[0].data.meas.num_shots == shots
    return {"wall_s": round(wall, 3), "requests": request_delta(before, emu.stats())["requests"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--cases", default=DEFAULT_CASES)
    parser.add_argument("--e2e", default="", help="cases also run end to end for wall time")
    parser.add_argument("--shots", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1, help="e2e runs per case; medians")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "qoro_sweep.json")
    args = parser.parse_args(argv)
    rows = []
    with EmulatorProcess.start("qoro") as emu:
        provider = MultiCloudProvider(
            {"qoro": settings_for("qoro", emu.url, emu.token)}, vendors=["qoro"],
            job_store=False,
        )
        backend = provider.get_backend("qoro_maestro")
        uploads = Uploads(backend)
        e2e = [c for c in args.e2e.split(",") if c]
        for name in [c for c in args.cases.split(",") if c]:
            circuit = transpile(case_circuit(name), backend, seed_transpiler=1)
            values = case_values(circuit, args.points)
            row: dict[str, Any] = {
                "case": name,
                "qubits": circuit.num_qubits,
                "ops": len(circuit.data),
                "free_parameters": circuit.num_parameters,
                "points": args.points,
                "shots": args.shots,
            }
            for templates in (False, True):
                key = "after" if templates else "before"
                row[key] = measure_bytes(
                    backend, uploads, circuit, values, args.shots, templates
                )
                if name in e2e:
                    runs = [
                        measure_e2e(emu, backend, circuit, values, args.shots, templates)
                        for _ in range(args.repeat)
                    ]
                    row[key]["wall_s"] = statistics.median(r["wall_s"] for r in runs)
                    row[key]["requests"] = runs[0]["requests"]
            after, before = row["after"]["bytes_uploaded"], row["before"]["bytes_uploaded"]
            row["ratio"] = round(after / before, 4)
            row["after_bytes_per_point"] = round(after / args.points, 1)
            rows.append(row)
            print(f"{name}: {before} -> {after} bytes ({row['ratio']:.3f})", file=sys.stderr)
        provider.close()
    print(
        "| case | qubits | ops | free params | params sent | points | bytes before | "
        "bytes after | ratio | after B/point | <= 1/10 | submit before s | after s | "
        "wall before s | after s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        before, after = row["before"], row["after"]
        print(
            f"| {row['case']} | {row['qubits']} | {row['ops']} | {row['free_parameters']} | "
            f"{after['parameters_sent'] or 'bound'} | {row['points']} | "
            f"{before['bytes_uploaded']} | {after['bytes_uploaded']} | {row['ratio']:.3f} | "
            f"{row['after_bytes_per_point']} | {'yes' if row['ratio'] <= 0.1 else 'no'} | "
            f"{before['submit_s']} | {after['submit_s']} | {before.get('wall_s', '-')} | "
            f"{after.get('wall_s', '-')} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
