"""Run Bell circuits through Qilimanjaro's own SDK (qiboconnection 0.23) against a service URL.

Standalone: runs in a venv with ``qiboconnection==0.23.*`` installed and does NOT import
qiskit_multicloud. Example against the emulator::

    python benchmarks/vendor_sdks/qilimanjaro_sdk.py --url http://127.0.0.1:8123 \
        --token <api key> --username qiskit --circuits 100 --shots 1000

Prints one JSON line: {"vendor", "sdk", "circuits", "wall_s", "ok", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="service root, e.g. http://127.0.0.1:8123")
    parser.add_argument("--token", required=True, help="the account's API key")
    parser.add_argument("--username", default="qiskit", help="the account name")
    parser.add_argument("--device", default="qibo_simulator", help="device name or id")
    parser.add_argument("--circuits", type=int, default=100)
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between polls")
    return parser.parse_args()


def bell_counts_ok(counts: dict[str, Any], shots: int) -> bool:
    """Only 00/11, both present, summing to ``shots``."""
    total = sum(int(v) for v in counts.values())
    return (
        total == shots
        and set(counts) <= {"00", "11"}
        and min(int(counts.get("00", 0)), int(counts.get("11", 0))) > 0.3 * shots
    )


def main() -> int:
    """Run the benchmark and print the JSON line."""
    args = parse_args()
    # qiboconnection reads the service root from the environment at import time.
    os.environ["QUANTUM_SERVICE_URL"] = args.url.rstrip("/")
    from qibo import Circuit, gates
    from qibo import __version__ as qibo_version
    from qiboconnection import __version__ as sdk_version
    from qiboconnection.api import API

    start = time.perf_counter()
    api = API.login(username=args.username, api_key=args.token)
    if api.ping() != "OK":
        raise SystemExit("ping did not answer OK")
    devices = api.list_devices()
    device_id = None
    for device in devices._devices:  # the SDK has no public iterator
        if str(device.id) == args.device or device.name == args.device:
            device_id = device.id
    if device_id is None:
        raise SystemExit(f"device {args.device!r} not found")

    circuits = []
    for _ in range(args.circuits):
        circuit = Circuit(2)
        circuit.add(gates.H(0))
        circuit.add(gates.CNOT(0, 1))
        circuit.add(gates.M(0, 1))
        circuits.append(circuit)
    job_id = api.execute(circuit=circuits, nshots=args.shots, device_id=device_id,
                         name="sdk-bell-benchmark")
    deadline = time.monotonic() + args.timeout
    while True:
        job = api.get_job(job_id)
        if job.status in ("completed", "error", "cancelled"):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job_id} still {job.status} after {args.timeout}s")
        time.sleep(args.interval)
    wall = time.perf_counter() - start
    results = job.result if isinstance(job.result, list) else []
    ok = (
        job.status == "completed"
        and len(results) == args.circuits
        and all(bell_counts_ok(r.get("counts", {}), args.shots) for r in results)
    )
    print(json.dumps({
        "vendor": "qilimanjaro",
        "sdk": f"qiboconnection {sdk_version}",
        "qibo": qibo_version,
        "circuits": args.circuits,
        "shots": args.shots,
        "job_id": job_id,
        "status": str(job.status),
        "wall_s": round(wall, 3),
        "ok": ok,
    }))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
