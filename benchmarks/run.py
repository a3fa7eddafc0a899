"""Benchmarks of qiskit-multicloud against the local vendor emulators.

Usage::

    python benchmarks/run.py all                 # everything, results/latest.json + tables
    python benchmarks/run.py overhead|e2e|large|target|polling [--skip-sdk] [...]

See benchmarks/README.md for what each part measures.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import e2e
import overhead
import qiskit
import target_poll
from common import BENCH, VENDORS

PARTS = ("overhead", "e2e", "large", "target", "polling")


def machine() -> dict[str, Any]:
    """nproc, CPU model, Python and Qiskit versions, date."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "qiskit": qiskit.__version__,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x)


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="qiskit-multicloud benchmarks")
    parser.add_argument("part", choices=("all", *PARTS))
    parser.add_argument("--vendors", default=",".join(VENDORS))
    parser.add_argument("--skip-sdk", action="store_true", help="no vendor-SDK runs in e2e")
    parser.add_argument("--circuits", type=int, default=100, help="circuits in e2e")
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument(
        "--rtt", type=_floats, default=(0.0,),
        help="seconds the emulators add to every request, comma-separated (e2e runs once "
        "per value; e.g. 0,0.05 for localhost and a 50 ms cloud round trip)",
    )
    parser.add_argument(
        "--e2e-repeat", type=int, default=1,
        help="e2e: runs of ours and of the SDK per vendor and latency, alternating which "
        "goes first; the table shows the median run and the min-max",
    )
    parser.add_argument("--large", type=int, default=1000, help="circuits in the large run")
    parser.add_argument("--qubits", type=_ints, default=(5, 20, 50, 100))
    parser.add_argument("--depths", type=_ints, default=(10, 50, 200))
    parser.add_argument("--repeat", type=int, default=5, help="timings are medians of this")
    parser.add_argument(
        "--output", type=Path, default=BENCH / "results" / "latest.json", help="JSON results"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen part(s), write JSON, print markdown tables."""
    args = parse(argv)
    vendors = tuple(v for v in args.vendors.split(",") if v)
    parts = PARTS if args.part == "all" else (args.part,)
    results: dict[str, Any] = {"machine": machine(), "args": {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
    }}
    if "overhead" in parts:
        results["overhead"] = overhead.run(vendors, args.qubits, args.depths, args.repeat)
        print(overhead.markdown(results["overhead"]), end="\n\n", flush=True)
    if "e2e" in parts or "large" in parts:
        shown: dict[str, Any] = {"e2e": {}, "large": {}}
        # The large run goes with the first latency only (at 50 ms it is thousands of RTTs).
        for index, rtt in enumerate(args.rtt if "e2e" in parts else args.rtt[:1]):
            data = e2e.run(
                vendors,
                circuits=args.circuits,
                shots=args.shots,
                large=args.large if "large" in parts and index == 0 else None,
                skip_sdk=args.skip_sdk or "e2e" not in parts,
                rtt=rtt,
                repeat=args.e2e_repeat if "e2e" in parts else 1,
            )
            if "e2e" in parts:
                shown["e2e"][e2e.rtt_label(rtt)] = data["e2e"]
            shown["large"].update(data["large"])
        if "e2e" in parts:
            results["e2e"] = shown["e2e"]
        if "large" in parts:
            results["large"] = shown["large"]
        print(e2e.markdown(shown), end="\n\n", flush=True)
    target: dict[str, Any] = {}
    poll: dict[str, Any] = {}
    if "target" in parts:
        big = tuple(v for v in vendors if v in target_poll.BIG_DEVICES)
        target = results["target"] = target_poll.target_run(big, args.repeat)
    if "polling" in parts:
        poll = results["polling"] = target_poll.poll_run()
    if target or poll:
        print(target_poll.markdown(target, poll), end="\n\n")
    m = results["machine"]
    print(f"Machine: {m['nproc']} x {m['cpu']}, Python {m['python']}, Qiskit {m['qiskit']}, "
          f"{m['date']}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
