"""Qilimanjaro's gzip envelope of a sweep's program list: time (wall and CPU) and bytes.

The program list is the one ``benchmarks/sweep.py`` sends (the same parametrized 20-qubit x
depth-50 circuits and 1000 random points, rendered through the Qilimanjaro template path);
the whole Sampler run up to the submit is timed too, in wall and CPU time.
Its JSON text is compressed by zlib in one stream (``gzip.compress``, what the envelope
did before) and by :func:`qiskit_multicloud.compression.gzip_compress` (1 MiB pieces on the
cores, one gzip member) at several levels; each result is checked to be one gzip member
that ``gzip.decompress`` reads whole. CPU is the process's CPU time (all threads).

Usage::

    python benchmarks/envelope.py [--workloads hea,qaoa] [--levels 1,3,6] [--repeat 5]
        [--output rows.json]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from overhead import DEVICES, widened
from sweep import _gates, parametrized_circuit

from qiskit_multicloud import MultiCloudProvider, sweeps
from qiskit_multicloud.compression import gzip_compress
from qiskit_multicloud.primitives import Sampler
from qiskit_multicloud.transport import encode_json
from qiskit_multicloud.vendors.qilimanjaro.translate import circuit_template, circuit_to_qasm

VENDOR = "qilimanjaro"


def program_lists(workloads: list[str], points: int, repeat: int) -> dict[str, Any]:
    """Per workload: the JSON text of the program list as the envelope holds it, and the
    median wall and CPU seconds of the Sampler run up to the submit (as ``sweep.py`` times
    it: the backend's submit is a stub)."""
    out = {}
    with MultiCloudProvider.emulated((VENDOR,), job_store=False, noise=False) as provider:
        backend = widened(provider.get_backend(DEVICES[VENDOR], vendor=VENDOR), 100)
        backend._submit_all = lambda found, *rest: [str(i) for i in range(len(found))]
        _ = backend.target
        one, two, edges = _gates(backend)
        for workload in workloads:
            circuit = parametrized_circuit(20, 50, one, two, edges, workload)
            values = np.random.default_rng(5).uniform(
                -np.pi, np.pi, (points, circuit.num_parameters)
            )
            run = sweeps.SweepCircuits([sweeps.ParameterSweep(circuit, values)])
            texts = sweeps.texts(run, VENDOR, 2, circuit_template, circuit_to_qasm)

            def sample(pub: Any = (circuit, values)) -> bytes:
                Sampler(backend).run([pub], shots=100)
                return b""

            sample()
            wall, cpu, _ = timed(sample, repeat)
            out[workload] = (encode_json(texts), wall, cpu)
    return out


def timed(func: Callable[[], bytes], repeat: int) -> tuple[float, float, bytes]:
    """Median wall and CPU seconds of ``repeat`` calls, and the output."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        data = func()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), data


def one_member(data: bytes, raw: bytes) -> bool:
    """``data`` is one gzip member holding ``raw``, nothing after it."""
    reader = zlib.decompressobj(31)
    return gzip.decompress(data) == raw and reader.decompress(data) == raw and (
        reader.eof and not reader.unused_data
    )


def main() -> None:
    """Measure and print a markdown table (and the rows as JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="hea,qaoa")
    parser.add_argument("--levels", default="1,3,6")
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--output", help="also write the rows as JSON to this file")
    args = parser.parse_args()
    lists = program_lists(args.workloads.split(","), args.points, args.repeat)
    rows: list[dict[str, Any]] = []
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    print("| workload | Sampler.run to the submit: wall ms/point | CPU ms/point |")
    print("|---|---|---|")
    for workload, (_, wall, cpu) in lists.items():
        rows.append({"workload": workload, "how": "sampler", "wall_ms_per_point":
                     wall / args.points * 1e3, "cpu_ms_per_point": cpu / args.points * 1e3})
        print(f"| {workload} | {wall / args.points * 1e3:.3f} | {cpu / args.points * 1e3:.3f} |")
    print()
    print("| workload | text MB | level | how | wall ms | CPU ms | gzip MB | one member |")
    print("|---|---|---|---|---|---|---|---|")
    for workload, (raw, _, _) in lists.items():
        for level in (int(x) for x in args.levels.split(",")):
            ways: dict[str, Callable[[], bytes]] = {
                "one stream": functools.partial(gzip.compress, raw, level, mtime=0),
                "pieces": functools.partial(gzip_compress, raw, level),
            }
            for how, func in ways.items():
                wall, cpu, data = timed(func, args.repeat)
                row = {"workload": workload, "text_bytes": len(raw), "level": level,
                       "how": how, "wall_ms": wall * 1e3, "cpu_ms": cpu * 1e3,
                       "gzip_bytes": len(data), "one_member": one_member(data, raw)}
                rows.append(row)
                print(f"| {workload} | {len(raw) / 1e6:.2f} | {level} | {how} | "
                      f"{wall * 1e3:.0f} | {cpu * 1e3:.0f} | {len(data) / 1e6:.3f} | "
                      f"{'yes' if row['one_member'] else 'NO'} |")
    if args.output:
        Path(args.output).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
