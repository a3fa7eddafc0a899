"""Run Bell circuits through OQC's own sync SDK (``oqc-qcaas-client``, import ``qcaas_client``).

Standalone: runs in the SDK's virtualenv and does not import qiskit_multicloud. The SDK is
used unchanged: ``OQCClient(url, authentication_token=...)``, ``QPUTask`` with a
``CompilerConfig(binary_count)``, ``execute_tasks``. The client refuses POST bodies over
128 KiB and has no chunking of its own, so tasks are sent in batches of ``--batch``.

Block outbound traffic while running it: the SDK probes OQC's public status page on
errors::

    HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost \\
    /work/sdk-venvs/oqc/bin/python benchmarks/vendor_sdks/oqc_sdk.py \\
        --url http://127.0.0.1:PORT --token TOKEN --circuits 100 --shots 1000

Prints one JSON line: {"vendor", "sdk", "circuits", "wall_s", "ok"}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import metadata
from typing import Any

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


def register_counts(result: Any) -> dict[str, int]:
    """The histogram of register ``c`` (or the flat histogram if the layer was dropped)."""
    if isinstance(result, dict) and isinstance(result.get("c"), dict):
        return {str(k): int(v) for k, v in result["c"].items()}
    if isinstance(result, dict) and all(isinstance(v, int) for v in result.values()):
        return {str(k): int(v) for k, v in result.items()}
    return {}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True, help="entry URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", help="access token (Authentication-Token)")
    parser.add_argument("--email", help="account e-mail (instead of --token)")
    parser.add_argument("--password", help="account password (with --email)")
    parser.add_argument("--qpu-id", default="qpu:uk:2:d865b5a184", help="QPU id to run on")
    parser.add_argument("--circuits", type=int, default=100)
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50, help="tasks per submit call")
    args = parser.parse_args()

    from compiler_config.config import CompilerConfig, QuantumResultsFormat
    from qcaas_client.client import OQCClient, QPUTask

    start = time.perf_counter()
    if args.token:
        client = OQCClient(url=args.url, authentication_token=args.token)
    else:
        client = OQCClient(url=args.url, email=args.email, password=args.password)
    if not client.is_client_initialized:
        print(json.dumps({"vendor": "oqc", "ok": False, "error": "client not initialised"}))
        return 1

    results: list[Any] = []
    remaining = args.circuits
    while remaining > 0:
        size = min(args.batch, remaining)
        config = CompilerConfig(
            repeats=args.shots, results_format=QuantumResultsFormat().binary_count()
        )
        tasks = [QPUTask(program=BELL, config=config, qpu_id=args.qpu_id) for _ in range(size)]
        results.extend(client.execute_tasks(tasks, qpu_id=args.qpu_id))
        remaining -= size
    wall = time.perf_counter() - start

    errors = [r.error_details.error_message for r in results if r.has_errored()]
    ok = (
        len(results) == args.circuits
        and not errors
        and all(looks_like_bell(register_counts(r.result), args.shots) for r in results)
    )
    line = {
        "vendor": "oqc",
        "sdk": f"oqc-qcaas-client {metadata.version('oqc-qcaas-client')}",
        "circuits": args.circuits,
        "wall_s": round(wall, 3),
        "ok": ok,
    }
    if errors:
        line["errors"] = errors[:3]
    print(json.dumps(line))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
