"""Run N Bell circuits through IQM's own SDK (iqm-client 36) against an IQM Server URL.

Standalone: needs only ``iqm-client==36.*`` (not qiskit_multicloud). Prints one JSON line::

    {"vendor": "iqm", "sdk": "iqm-client 36.0.0", "circuits": N, "wall_s": ..., "ok": true}

Example (against the qiskit-multicloud emulator)::

    python iqm_sdk.py --url http://127.0.0.1:PORT --token TOKEN --qc emerald-20
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from importlib.metadata import version


def bell(index: int, a: str, b: str) -> object:
    """A Bell pair on components ``a``, ``b`` in IQM's native gates (prx, cz, measure)."""
    from iqm.iqm_client import Circuit, CircuitOperation

    half = math.pi / 2
    return Circuit(
        name=f"bell_{index}",
        instructions=(
            CircuitOperation("prx", (a,), {"angle": half, "phase": half}),
            CircuitOperation("prx", (b,), {"angle": half, "phase": half}),
            CircuitOperation("cz", (a, b), {}),
            CircuitOperation("prx", (b,), {"angle": half, "phase": -half}),
            CircuitOperation("measure", (a, b), {"key": "m"}),
        ),
        metadata={"index": index},
    )


def main(argv: list[str] | None = None) -> int:
    """Submit one batch of Bell circuits, wait, check the counts, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="IQM Server root URL")
    parser.add_argument("--token", default=None, help="bearer token")
    parser.add_argument("--qc", default="emerald-20", help="quantum computer alias")
    parser.add_argument("--qubits", default="QB1,QB2", help="two coupled qubits")
    parser.add_argument("--circuits", type=int, default=100)
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)

    from iqm.iqm_client import IQMClient
    from iqm.station_control.interface.models.jobs_new import JobStatus

    a, b = args.qubits.split(",")
    start = time.perf_counter()
    client = IQMClient.from_url(args.url, quantum_computer=args.qc, token=args.token)
    circuits = [bell(i, a, b) for i in range(args.circuits)]
    job = client.submit_circuits(circuits, shots=args.shots)
    status = job.wait_for_completion(timeout_secs=args.timeout, polling_interval=0.2,
                                     progress_callback=lambda *_: None)
    ok = status == JobStatus.COMPLETED
    problems: list[str] = []
    if ok:
        counts = job.result_counts() or []
        raw = job.result() or []
        ok = len(counts) == args.circuits == len(raw)
        for item in counts:
            hist = item.counts
            if set(hist) - {"00", "11"} or sum(hist.values()) != args.shots or len(hist) != 2:
                ok = False
                problems.append(f"unexpected counts {hist}")
                break
    else:
        problems.append(f"job ended {status}")
    wall = time.perf_counter() - start
    record = {"vendor": "iqm", "sdk": f"iqm-client {version('iqm-client')}",
              "circuits": args.circuits, "wall_s": round(wall, 3), "ok": ok}
    if problems:
        record["problems"] = problems[:3]
    print(json.dumps(record))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
