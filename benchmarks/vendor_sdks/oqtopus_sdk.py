"""Run Bell circuits through the official OQTOPUS SDK (quri-parts-oqtopus) against a URL.

Standalone: needs only ``pip install quri-parts-oqtopus`` (it must NOT import
qiskit_multicloud). Used to check that our emulator speaks the real protocol, and as a
baseline in benchmarks::

    python oqtopus_sdk.py --url http://127.0.0.1:PORT --token TOKEN --circuits 100 --shots 1000

All N sampling jobs are submitted first (register, upload input.zip, submit), then each is
waited for. With ``--estimate`` one estimation job (<Z0 Z1> on a Bell state) is also run,
outside the timed part. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib.metadata import version

from quri_parts.core.operator import Operator, pauli_label
from quri_parts_oqtopus.backend import (
    OqtopusConfig,
    OqtopusDeviceBackend,
    OqtopusEstimationBackend,
    OqtopusSamplingBackend,
)

BELL = """OPENQASM 3;
include "stdgates.inc";
qubit[2] q;
bit[2] c;

h q[0];
cx q[0], q[1];
c = measure q;
"""

BELL_STATE = """OPENQASM 3;
include "stdgates.inc";
qubit[2] q;

h q[0];
cx q[0], q[1];
"""


def bell_ok(counts: dict[int, int], shots: int) -> bool:
    """Only 00 and 11 (as integers 0 and 3), summing to shots, both present for shots >= 20."""
    if sum(counts.values()) != shots or set(counts) - {0, 3}:
        return False
    return shots < 20 or (counts.get(0, 0) > 0 and counts.get(3, 0) > 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="OQTOPUS API base URL")
    parser.add_argument("--token", required=True, help="API token (q-api-token)")
    parser.add_argument("--device", default="qulacs", help="device_id to run on")
    parser.add_argument("--circuits", type=int, default=100)
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--wait", type=float, default=0.02, help="poll interval, seconds")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--estimate", action="store_true", help="also run one estimation job")
    args = parser.parse_args()

    config = OqtopusConfig(url=args.url, api_token=args.token)
    devices = OqtopusDeviceBackend(config).get_devices()
    if args.device not in [d.device_id for d in devices]:
        print(f"device {args.device!r} not offered", file=sys.stderr)
        return 2
    sampler = OqtopusSamplingBackend(config)

    start = time.perf_counter()
    jobs = [
        sampler.sample_qasm(BELL, device_id=args.device, shots=args.shots, name=f"bell-{i}")
        for i in range(args.circuits)
    ]
    ok = True
    for job in jobs:
        counts = dict(job.result(timeout=args.timeout, wait=args.wait).counts)
        ok = ok and bell_ok(counts, args.shots)
    wall = time.perf_counter() - start

    report: dict[str, object] = {
        "vendor": "oqtopus",
        "sdk": f"quri-parts-oqtopus {version('quri-parts-oqtopus')}",
        "circuits": args.circuits,
        "wall_s": round(wall, 3),
        "ok": ok,
    }
    if args.estimate:
        estimator = OqtopusEstimationBackend(config)
        operator = Operator({pauli_label("Z0 Z1"): 1.0})
        job = estimator.estimate_qasm(BELL_STATE, operator, device_id=args.device, shots=args.shots)
        result = job.result(timeout=args.timeout, wait=args.wait)
        estimate_ok = result.exp_value is not None and abs(result.exp_value - 1.0) < 1e-6
        report["estimation"] = {"exp_value": result.exp_value, "stds": result.stds}
        report["ok"] = ok and estimate_ok
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
