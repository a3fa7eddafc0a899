"""Sweeps without re-translation (#17.4): client time per bound circuit of a Sampler sweep.

One Sampler pub: a parametrized native-basis circuit (20 qubits x depth 50 by default) and
``--points`` parameter sets, run through ``qiskit_multicloud.primitives.Sampler`` on each
vendor's (widened) emulated device. Timed: ``Sampler.run`` up to the HTTP submit, i.e.
option resolution, validation, translation and payload building, plus encoding the request
bodies as the transport does (``transport.encode_json``; the backend's submit is replaced
by a stub that keeps and encodes the payloads; the job store is off). "before" is the run
option ``translate_once=False`` (every point bound with ``assign_parameters`` and translated
from scratch, as before #17.4), "after" the default (structure translated once, values
written per point). Both payloads are compared for equality (Qoro's as the circuits the
service reads from them).

Workloads: ``hea`` gives every rotation angle its own parameter (a hardware-efficient
ansatz: hundreds of distinct values per point); ``qaoa`` uses two parameters per layer in
one-parameter expressions (``2*g``, ``-2*g``, ``2*b``, ``b/2``) shared by many gates;
``mixed`` also uses ``g + b``, an expression of two parameters (computed with numpy where
Qiskit's one-parameter-at-a-time binding is shown to evaluate the same tree; see
:mod:`qiskit_multicloud.sweeps`).

Usage::

    python benchmarks/sweep.py [--vendors oqc,iqm] [--points 1000] [--qubits 20] [--depth 50]
        [--workloads hea,qaoa] [--repeat 3] [--output benchmarks/results/sweep.json]
    python benchmarks/sweep.py --parallel [--circuits 1000]   # distinct circuits, 2 cores
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import pickle
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import orjson
from common import BENCH, VENDORS, native_circuit, table
from overhead import DEVICES, ONE_QUBIT, TWO_QUBIT, widened
from qiskit.circuit import Parameter, ParameterExpression, QuantumCircuit

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.backend import MultiCloudBackend
from qiskit_multicloud.emulators.devices import line_edges
from qiskit_multicloud.primitives import Sampler
from qiskit_multicloud.sweeps import STATS
from qiskit_multicloud.transport import encode_json


def parametrized_circuit(
    n_qubits: int, depth: int, one_qubit: list[str], two_qubit: str,
    edges: list[tuple[int, int]], workload: str, seed: int = 11,
) -> QuantumCircuit:
    """``common.native_circuit`` with every ``rz``/``r`` angle a parameter (``hea``) or an
    expression of two per-layer parameters (``qaoa``, ``mixed``)."""
    rng = random.Random(seed)
    count = 0
    per_layer: dict[int, tuple[Parameter, Parameter]] = {}

    def angle(layer: int) -> ParameterExpression:
        nonlocal count
        if workload == "hea":
            count += 1
            return Parameter(f"t{count:05d}")
        g, b = per_layer.setdefault(layer, (Parameter(f"g{layer:03d}"), Parameter(f"b{layer:03d}")))
        if workload == "qaoa":
            return rng.choice([2 * g, -2 * g, 2 * b, b / 2])
        return rng.choice([2 * g, -b, g + b, b / 2])  # "mixed": g + b has two parameters

    return native_circuit(
        n_qubits, depth, one_qubit, two_qubit, edges, seed=seed, angle=angle,
        name=f"{workload}_q{n_qubits}_d{depth}",
    )


def _gates(backend: MultiCloudBackend) -> tuple[list[str], str, list[tuple[int, int]]]:
    device = backend.device
    one = [g for g in ONE_QUBIT if g in device.gates]
    two = next(g for g in TWO_QUBIT if g in device.gates)
    edges = [tuple(q) for q in device.gates[two] if q is not None and len(q) == 2]
    return one, two, [(int(a), int(b)) for a, b in edges] or line_edges(device.n_qubits)


def measure_vendor(
    backend: MultiCloudBackend, workload: str, n_qubits: int, depth: int, points: int,
    repeat: int,
) -> dict[str, Any]:
    """Time Sampler.run up to the submit, before and after; compare the payloads."""
    one, two, edges = _gates(backend)
    circuit = parametrized_circuit(n_qubits, depth, one, two, edges, workload)
    values = np.random.default_rng(5).uniform(-np.pi, np.pi, (points, circuit.num_parameters))
    payloads: list[Any] = []

    def fake_submit(found: list[Any], *rest: Any) -> list[str]:
        payloads[:] = found
        for payload in found:  # the request bodies' encoding is client time too
            encode_json(payload)
        return [f"bench-{i}" for i in range(len(found))]

    backend._submit_all = fake_submit  # type: ignore[method-assign]
    _ = backend.target

    def run(fast: bool) -> list[Any]:
        sampler = Sampler(backend, options={"run_options": {"translate_once": fast}})
        sampler.run([(circuit, values)], shots=100)
        return list(payloads)

    STATS.clear()
    after_payloads = run(True)
    rendered = STATS["rendered"]
    before_payloads = run(False)
    identical = _same(backend.vendor, before_payloads, after_payloads)
    before = timings(lambda: run(False), repeat)
    after = timings(lambda: run(True), repeat)
    t_before, t_after = statistics.median(before), statistics.median(after)
    size = sum(len(encode_json(p)) for p in after_payloads)
    return {
        "workload": workload, "qubits": n_qubits, "depth": depth, "points": points,
        "instructions": len(circuit.data), "parameters": circuit.num_parameters,
        "slots": sum(isinstance(p, ParameterExpression) for i in circuit.data for p in i.params),
        "before_ms_per_point": t_before / points * 1e3,
        "after_ms_per_point": t_after / points * 1e3,
        "before_min_ms_per_point": min(before) / points * 1e3,
        "after_min_ms_per_point": min(after) / points * 1e3,
        "speedup": t_before / t_after if t_after else None,
        "identical_payloads": identical, "rendered_points": rendered,
        "payload_bytes": size, "vendor_jobs": len(after_payloads),
    }


def timings(func: Callable[[], Any], repeat: int) -> list[float]:
    """Wall seconds of ``repeat`` calls (the table shows the median and the minimum: on a
    shared machine the minimum is the least disturbed run)."""
    out = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        func()
        out.append(time.perf_counter() - start)
    return out


def _same(vendor: str, before: list[Any], after: list[Any]) -> bool:
    """Payloads equal; bound copies get fresh names, so IQM's circuit names are skipped;
    Qoro's uploads are compared as the circuits the service reads from them (a template
    made from bound copies can factor angles differently from one made from the sweep).
    IQM's are compared as the server reads them (sweep points carry their instructions as
    pre-serialized JSON), written back byte for byte (so -0.0 and 0.0 differ)."""
    if vendor == "qoro":
        return _qoro_circuits(before) == _qoro_circuits(after)
    if vendor != "iqm":
        return before == after

    def unnamed(payloads: list[Any]) -> list[bytes]:
        parsed = [orjson.loads(encode_json(p)) for p in payloads]
        return [
            encode_json({**p, "circuits": [{**c, "name": ""} for c in p["circuits"]]})
            for p in parsed
        ]

    return unnamed(before) == unnamed(after)


def _qoro_circuits(payloads: list[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Label -> (gate, exact angles, qubits) of every circuit the Qoro service would run."""
    from qiskit_multicloud.vendors.qoro.emulator import QoroEmulator

    reader = QoroEmulator.__new__(QoroEmulator)  # only its body parser is used
    out = {}
    for payload in payloads:
        for body in payload["fragments"]:
            for label, circuit in reader._fragment_circuits(body):
                out[label] = [
                    (
                        i.operation.name,
                        tuple(float(p).hex() for p in i.operation.params),
                        tuple(circuit.find_bit(q).index for q in i.qubits),
                    )
                    for i in circuit.data
                ]
    return out


def run(
    vendors: tuple[str, ...] = VENDORS, workloads: tuple[str, ...] = ("hea", "qaoa", "mixed"),
    n_qubits: int = 20, depth: int = 50, points: int = 1000, repeat: int = 3,
) -> dict[str, Any]:
    """Every vendor x workload."""
    out: dict[str, Any] = {}
    with MultiCloudProvider.emulated(vendors, job_store=False, noise=False) as provider:
        for vendor in vendors:
            backend = widened(provider.get_backend(DEVICES[vendor], vendor=vendor), 100)
            out[vendor] = {
                "device": backend.name,
                "rows": [
                    measure_vendor(backend, w, n_qubits, depth, points, repeat)
                    for w in workloads
                ],
            }
    return out


# -- distinct circuits: parallel translation ----------------------------------------------


def _translate_chunk(args: tuple[str, list[QuantumCircuit]]) -> int:
    """In a worker: translate circuits for OQTOPUS (QASM 3), return the text size."""
    from qiskit_multicloud.vendors.oqtopus.translate import to_program

    return sum(len(to_program(c)) for c in args[1])


def parallel(circuits: int = 1000, n_qubits: int = 20, depth: int = 50) -> dict[str, Any]:
    """Serial vs 2 threads vs a 2-process pool translating distinct circuits (OQTOPUS)."""
    one, two = ["rz", "sx", "x"], "cz"
    edges = line_edges(n_qubits)
    batch = [native_circuit(n_qubits, depth, one, two, edges, seed=s) for s in range(circuits)]
    halves = [("oqtopus", batch[: circuits // 2]), ("oqtopus", batch[circuits // 2 :])]
    start = time.perf_counter()
    pickled = len(pickle.dumps(batch))
    pickling = time.perf_counter() - start
    start = time.perf_counter()
    _translate_chunk(("oqtopus", batch))
    serial = time.perf_counter() - start
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(_translate_chunk, halves))
    threads = time.perf_counter() - start
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        list(pool.map(_translate_chunk, [("oqtopus", batch[:2])] * 2))  # warm the workers
        start = time.perf_counter()
        list(pool.map(_translate_chunk, halves))
        processes = time.perf_counter() - start
    return {
        "circuits": circuits, "qubits": n_qubits, "depth": depth, "nproc": os.cpu_count(),
        "serial_s": serial, "threads_2_s": threads, "processes_2_s": processes,
        "pickle_s": pickling, "pickle_bytes": pickled,
    }


def markdown(data: dict[str, Any]) -> str:
    """The results table."""
    rows = []
    for vendor, entry in data.items():
        for r in entry["rows"]:
            rows.append([
                vendor, r["workload"], r["instructions"], r["parameters"], r["slots"],
                r["points"], f"{r['before_ms_per_point']:.3f}", f"{r['after_ms_per_point']:.3f}",
                f"{r['after_min_ms_per_point']:.3f}",
                f"{r['speedup']:.1f}x", "yes" if r["identical_payloads"] else "NO",
                r["rendered_points"],
            ])
    return table(
        ["vendor", "workload", "instructions", "parameters", "angle slots", "points",
         "before ms/point", "after ms/point", "after min", "speedup", "payloads identical",
         "points rendered"],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", default=",".join(VENDORS))
    parser.add_argument("--workloads", default="hea,qaoa,mixed")
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--qubits", type=int, default=20)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parallel", action="store_true", help="measure parallel translation")
    parser.add_argument("--circuits", type=int, default=1000, help="circuits for --parallel")
    parser.add_argument("--output", type=Path, default=BENCH / "results" / "sweep.json")
    args = parser.parse_args(argv)
    if args.parallel:
        result = parallel(args.circuits, args.qubits, args.depth)
        print(json.dumps(result, indent=1))
        data: dict[str, Any] = {"parallel": result}
    else:
        vendors = tuple(v for v in args.vendors.split(",") if v)
        workloads = tuple(w for w in args.workloads.split(",") if w)
        found = run(vendors, workloads, args.qubits, args.depth, args.points, args.repeat)
        print(markdown(found))
        data = {"sweep": found}
    if args.output.exists():
        previous = json.loads(args.output.read_text())
        data = {**previous, **data}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
