"""Run Bell circuits through Qoro's own SDK (``QoroService`` from ``qoro-divi``).

Standalone: runs in the SDK's virtualenv and does not import qiskit_multicloud. The SDK
has no base-URL argument (the URL is the module constant ``API_URL`` of its runners
module), so the script sets that constant before creating the service -- exactly what a
user pointing the SDK at another deployment does. Everything else is the SDK unchanged.

Example::

    /work/sdk-venvs/qoro/bin/python benchmarks/vendor_sdks/qoro_sdk.py \\
        --url http://127.0.0.1:PORT/api --token TOKEN --circuits 100 --shots 1000

Prints one JSON line: {"vendor", "sdk", "circuits", "wall_s", "ok"}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import metadata

BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0],q[1];
measure q[0] -> c[0];
measure q[1] -> c[1];
"""


def looks_like_bell(counts: dict[str, int], shots: int) -> bool:
    """Only 00 and 11, all shots accounted for, both seen often enough."""
    if set(counts) - {"00", "11"} or sum(counts.values()) != shots:
        return False
    return shots < 20 or min(counts.get("00", 0), counts.get("11", 0)) > shots // 5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="API base URL, e.g. http://127.0.0.1:8000/api")
    parser.add_argument("--token", required=True, help="API key (sent as Bearer)")
    parser.add_argument("--circuits", type=int, default=100)
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--target", default="qoro_maestro", help="simulator cluster name")
    parser.add_argument("--poll", type=float, default=0.05, help="SDK polling interval, s")
    args = parser.parse_args()

    from divi.backends import JobConfig, QoroService
    from divi.backends.runners import _qoro as runners

    runners.API_URL = args.url.rstrip("/")
    start = time.perf_counter()
    service = QoroService(
        auth_token=args.token,
        job_config=JobConfig(simulator_cluster=args.target, shots=args.shots, tag="sdk-bench"),
        polling_interval=args.poll,
    )
    service.test_connection()
    circuits = {str(i): BELL for i in range(args.circuits)}
    submitted = service.submit_circuits(circuits)
    service.poll_job_status(submitted, loop_until_complete=True, verbose=False)
    finished = service.get_job_results(submitted)
    wall = time.perf_counter() - start

    results = {entry["label"]: entry["results"] for entry in finished.results or []}
    ok = set(results) == set(circuits) and all(
        looks_like_bell(results[label], args.shots) for label in circuits
    )
    print(
        json.dumps(
            {
                "vendor": "qoro",
                "sdk": f"qoro-divi {metadata.version('qoro-divi')}",
                "circuits": args.circuits,
                "wall_s": round(wall, 3),
                "ok": ok,
            }
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
