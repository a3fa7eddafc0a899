"""Run Bell circuits through OQC's async SDK (``oqc-qcaas-sdk``) in v4 mode against the emulator.

Standalone: runs in the SDK's virtualenv and does not import qiskit_multicloud. The SDK is
used unchanged with ``OQC_QCAAS_V4=1`` (set here unless already set): ``OqcSdk(url,
authentication_token=...)``, ``list_qpus``, ``get_features``, ``get_calibration``
(benchmarks), a composite job of ``--circuits`` Bell programs (reserves ids with
``POST /tasks``), a single job (server-created id), and a cancelled job. Serve the v4
gateway with ``qiskit-multicloud emulate oqc --api v4 --queue-delay 1`` (the delay makes
the cancel observable) and block outbound traffic (the SDK probes OQC's status page on
errors)::

    HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost \\
    /tmp/oqcv4sdk/bin/python benchmarks/vendor_sdks/oqc_v4_sdk.py \\
        --url http://127.0.0.1:PORT --token TOKEN --circuits 5 --shots 100

Prints one JSON line: {"vendor", "sdk", "api", "circuits", "wall_s", "ok", "checks"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from importlib import metadata
from typing import Any

# The v3 script's Bell program and checks (it imports the sync client only inside main()).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oqc_sdk import BELL, looks_like_bell, register_counts


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from compiler_config.config import CompilerConfig, QuantumResultsFormat
    from oqc_qcaas_sdk import JobState, OqcSdk

    def config() -> CompilerConfig:
        return CompilerConfig(
            repeats=args.shots, results_format=QuantumResultsFormat().binary_count()
        )

    checks: dict[str, Any] = {}
    async with OqcSdk(url=args.url, authentication_token=args.token) as sdk:
        qpus = await sdk.list_qpus()
        checks["qpus"] = sorted(q["id"] for q in qpus)
        features = await sdk.get_features(args.qpu_id)
        checks["features_qubit_count"] = features.get("qubit_count")
        calibration = await sdk.get_calibration("qpu:uk:3:9829a5504f")
        data = calibration.get("data", calibration)
        checks["benchmarks_have_gate_errors"] = "gate_errors" in data

        composite = sdk.create_job(program=[BELL] * args.circuits, qpu_id=args.qpu_id,
                                   config=[config() for _ in range(args.circuits)])
        outputs = await composite.execute(timeout_s=args.timeout)
        results = [o.data for o in outputs if o.ok]
        checks["composite_bell"] = len(results) == args.circuits and all(
            looks_like_bell(register_counts(r), args.shots) for r in results)

        single = sdk.create_job(program=BELL, qpu_id=args.qpu_id, config=config())
        out = await single.execute(timeout_s=args.timeout)
        checks["single_bell"] = bool(out) and all(
            o.ok and looks_like_bell(register_counts(o.data), args.shots) for o in out)

        doomed = sdk.create_job(program=BELL, qpu_id=args.qpu_id, config=config())
        await doomed.submit()
        await doomed.cancel()
        await doomed.refresh()
        checks["cancelled"] = doomed.state == JobState.CANCELLED
    checks["ok"] = (checks["composite_bell"] and checks["single_bell"] and checks["cancelled"]
                    and checks["benchmarks_have_gate_errors"] and bool(checks["qpus"]))
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True, help="gateway base URL, http://127.0.0.1:PORT")
    parser.add_argument("--token", required=True, help="access token (Authentication-Token)")
    parser.add_argument("--qpu-id", default="qpu:uk:2:d865b5a184", help="QPU id to run on")
    parser.add_argument("--circuits", type=int, default=5)
    parser.add_argument("--shots", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per execute")
    args = parser.parse_args()
    os.environ.setdefault("OQC_QCAAS_V4", "1")

    start = time.perf_counter()
    checks = asyncio.run(run(args))
    line = {
        "vendor": "oqc",
        "sdk": f"oqc-qcaas-sdk {metadata.version('oqc-qcaas-sdk')}",
        "api": "v4",
        "circuits": args.circuits,
        "wall_s": round(time.perf_counter() - start, 3),
        "ok": checks.pop("ok"),
        "checks": checks,
    }
    print(json.dumps(line))
    return 0 if line["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
