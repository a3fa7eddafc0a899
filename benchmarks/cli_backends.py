"""Wall time of ``qiskit-multicloud backends`` for all five vendors, first vs repeated (#17.3).

Starts the five emulators in this process with ``--latency`` seconds added to every
request, points the command at them (``QISKIT_MULTICLOUD_EMULATORS``) with a fresh cache
directory, and times whole ``python -m qiskit_multicloud.cli backends`` processes: the first
(cold cache: every vendor's discovery), then ``--runs`` repeats (answered from the cache),
then ``--refresh`` runs (ask the clouds again). Also checks that every run printed the same
table and whether a warm run imported Qiskit (``-X importtime``).

    python benchmarks/cli_backends.py --latency 0.05 --runs 10
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qiskit_multicloud.emulators import start  # noqa: E402
from qiskit_multicloud.vendors import VENDOR_KEYS  # noqa: E402

GOAL_S = 0.3


def _run(command: list[str], env: dict[str, str]) -> tuple[float, str, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - started, done.stdout, done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="added seconds/request")
    parser.add_argument("--runs", type=int, default=10, help="repeated (warm) runs")
    parser.add_argument("--refresh-runs", type=int, default=2, help="--refresh runs")
    parser.add_argument("--output", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args()

    handles = [start(vendor, latency=args.latency, noise=False) for vendor in VENDOR_KEYS]
    try:
        with tempfile.TemporaryDirectory(prefix="qmc-cli-bench-") as scratch:
            env = {
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "HOME": scratch,
                "XDG_CACHE_HOME": str(Path(scratch) / "cache"),
                "XDG_CONFIG_HOME": str(Path(scratch) / "config"),
                "QISKIT_MULTICLOUD_EMULATORS": ";".join(
                    f"{h.vendor}={h.url},{h.token}" for h in handles
                ),
            }
            env.pop("QISKIT_MULTICLOUD_CACHE", None)
            env.pop("QISKIT_MULTICLOUD_CACHE_DIR", None)
            command = [sys.executable, "-m", "qiskit_multicloud.cli", "backends"]
            cold, table, _ = _run(command, env)
            warm = []
            for _ in range(args.runs):
                seconds, out, _ = _run(command, env)
                assert out == table, "a cached run printed another table"
                warm.append(seconds)
            _, _, imports = _run([sys.executable, "-X", "importtime", *command[1:]], env)
            refresh = []
            for _ in range(args.refresh_runs):
                seconds, out, _ = _run([*command, "--refresh"], env)
                assert out == table, "--refresh printed another table"
                refresh.append(seconds)
    finally:
        for handle in handles:
            handle.stop()
    figures = {
        "latency_s": args.latency,
        "rows": len(table.splitlines()) - 1,
        "first_s": round(cold, 3),
        "repeat_median_s": round(statistics.median(warm), 3),
        "repeat_min_s": round(min(warm), 3),
        "repeat_max_s": round(max(warm), 3),
        "refresh_median_s": round(statistics.median(refresh), 3) if refresh else None,
        "repeat_imports_qiskit": any(
            re.search(r"\|\s+qiskit$", line.rstrip()) for line in imports.splitlines()
        ),
        "goal_s": GOAL_S,
    }
    figures["goal_met"] = figures["repeat_median_s"] < GOAL_S
    print(json.dumps(figures, indent=2))
    if args.output:
        args.output.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
