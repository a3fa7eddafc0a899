"""Qoro parametric sweep: bytes uploaded and wall time with and without templates.

One Sampler pub = one parametrised circuit (QAOA p=1 MaxCut on a ring or a complete graph
of ``--qubits`` qubits, parameters gamma and beta) over a ``--points`` grid of values, run on
``qoro_maestro`` of a Qoro emulator in a separate process. ``templates=False`` uploads every
bound circuit (the behaviour before #15.3); ``templates=True`` uploads one parametric
template plus the values. Bytes = request bodies the client sent (job/init/ and every
add_circuits/ fragment), counted by a response hook on the adapter's HTTP session.

    python benchmarks/qoro_sweep.py [--points 1000] [--qubits 4,8,12] [--graphs ring,complete]
                                    [--shots 100]

Wall time is the Sampler run end to end (upload, emulator simulation, polling every 0.05 s,
results), median of ``--repeat`` runs; ``build_payload_s`` times the client's translation
alone. Prints a markdown table and writes ``benchmarks/results/qoro_sweep.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import BENCH, EmulatorProcess, request_delta
from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.emulators import settings_for
from qiskit_multicloud.primitives import Sampler


def qaoa(n_qubits: int, graph: str = "ring") -> QuantumCircuit:
    """QAOA p=1 for MaxCut: H layer, rzz(2*gamma) per edge, rx(2*beta) per qubit.

    ``graph`` is ``ring`` (n edges) or ``complete`` (n(n-1)/2 edges, e.g. an SK model).
    """
    gamma, beta = Parameter("gamma"), Parameter("beta")
    circuit = QuantumCircuit(n_qubits, name=f"qaoa_{graph}_{n_qubits}")
    circuit.h(range(n_qubits))
    if graph == "ring":
        edges = [(q, (q + 1) % n_qubits) for q in range(n_qubits)]
    else:
        edges = [(a, b) for a in range(n_qubits) for b in range(a + 1, n_qubits)]
    for a, b in edges:
        circuit.rzz(2 * gamma, a, b)
    circuit.rx(2 * beta, range(n_qubits))
    circuit.measure_all()
    return circuit


def grid(points: int) -> np.ndarray:
    """``points`` (gamma, beta) pairs on a near-square grid over [0, pi] x [0, pi/2]."""
    rows = max(1, round(points**0.5))
    cols = -(-points // rows)
    pairs = [(g, b) for g in np.linspace(0, np.pi, rows) for b in np.linspace(0, np.pi / 2, cols)]
    return np.array(pairs[:points])


def measure(
    emu: EmulatorProcess, n_qubits: int, graph: str, points: int, shots: int, templates: bool
) -> dict[str, Any]:
    """One Sampler run of the sweep; bytes, requests and wall time."""
    provider = MultiCloudProvider(
        {"qoro": settings_for("qoro", emu.url, emu.token)}, vendors=["qoro"], job_store=False
    )
    backend = provider.get_backend("qoro_maestro")
    circuit = transpile(qaoa(n_qubits, graph), backend, seed_transpiler=1)
    values = grid(points)
    sent: list[int] = []
    session = backend.adapter.transport._session
    session.hooks["response"].append(
        lambda response, *args, **kwargs: sent.append(len(response.request.body or b""))
    )
    sampler = Sampler(
        backend, options={"run_options": {"templates": templates, "poll_interval": 0.05}}
    )
    before = emu.stats()
    start = time.perf_counter()
    result = sampler.run([(circuit, values)], shots=shots).result()
    wall = time.perf_counter() - start
    delta = request_delta(before, emu.stats())
    assert result[0].data.meas.num_shots == shots
    circuits = [circuit.assign_parameters(v) for v in values]
    options = {"shots": shots, "templates": templates}
    start = time.perf_counter()
    backend.adapter.build_payload(backend.device, circuits, options)
    build = time.perf_counter() - start
    return {
        "qubits": n_qubits,
        "graph": graph,
        "points": points,
        "shots": shots,
        "templates": templates,
        "bytes_uploaded": sum(sent),
        "upload_requests": sum(
            count for route, count in delta["by_route"].items() if "add_circuits" in route
        ),
        "requests": delta["requests"],
        "wall_s": round(wall, 3),
        "build_payload_s": round(build, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--qubits", default="4,8,12")
    parser.add_argument("--graphs", default="ring,complete", help="ring and/or complete")
    parser.add_argument("--shots", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; medians")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "qoro_sweep.json")
    args = parser.parse_args(argv)
    rows = []
    with EmulatorProcess.start("qoro") as emu:
        for graph in args.graphs.split(","):
            for n_qubits in (int(q) for q in args.qubits.split(",")):
                for templates in (False, True):
                    runs = [
                        measure(emu, n_qubits, graph, args.points, args.shots, templates)
                        for _ in range(args.repeat)
                    ]
                    row = dict(runs[0])
                    for key in ("wall_s", "build_payload_s"):
                        row[key] = statistics.median(run[key] for run in runs)
                    rows.append(row)
    print("| graph | qubits | points | bytes before | bytes after | ratio | wall before s | "
          "wall after s | build_payload before s | after s | upload requests before/after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for before, after in zip(rows[::2], rows[1::2], strict=True):
        print(
            f"| {before['graph']} | {before['qubits']} | {before['points']} | "
            f"{before['bytes_uploaded']} | "
            f"{after['bytes_uploaded']} | "
            f"{after['bytes_uploaded'] / before['bytes_uploaded']:.3f} | {before['wall_s']} | "
            f"{after['wall_s']} | {before['build_payload_s']} | {after['build_payload_s']} | "
            f"{before['upload_requests']}/{after['upload_requests']} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
