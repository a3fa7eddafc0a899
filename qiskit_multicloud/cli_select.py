"""``qiskit-multicloud rank`` and ``compare``: choose a device, or run on several at once.

Registered by :mod:`qiskit_multicloud.cli` (see its ``COMMAND_MODULES``); the work is done
by :mod:`qiskit_multicloud.selection` through the provider's ``rank_backends`` and
``compare``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from qiskit import QuantumCircuit

from .cli import (
    Commands,
    add_emulated_options,
    load_circuit,
    non_negative_float,
    positive_float,
    positive_int,
    provider_from_args,
    require_vendors,
)
from .provider import MultiCloudProvider
from .selection.compare import FINAL_PHASES, DeviceRun
from .vendors import VENDOR_KEYS


def vendor_list(text: str) -> list[str]:
    """``oqc,iqm`` -> ``["oqc", "iqm"]``, checked against the known vendor keys."""
    keys = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [key for key in keys if key not in VENDOR_KEYS]
    if unknown or not keys:
        raise argparse.ArgumentTypeError(
            f"unknown vendor {', '.join(unknown) or repr(text)}; choose from "
            f"{', '.join(VENDOR_KEYS)} (comma-separated)"
        )
    return keys


def name_list(text: str) -> list[str]:
    """``A,B,C`` -> ``["A", "B", "C"]``."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected backend names separated by commas")
    return names


def _provider(args: argparse.Namespace) -> MultiCloudProvider:
    if args.emulated:
        vendors = args.vendors or VENDOR_KEYS
        return MultiCloudProvider.emulated(vendors, job_store=False, noise=args.noise)
    return provider_from_args(args)


class DeviceProgress:
    """Per-device status while compare runs: a live block on a terminal, lines otherwise.

    On a terminal, one line per device is redrawn in place (status and elapsed seconds,
    refreshed every ``tick`` seconds); elsewhere each status change prints one line.
    """

    def __init__(self, stream: TextIO, tick: float = 0.5) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.tick = tick
        self.runs: dict[str, DeviceRun] = {}
        self._drawn = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, run: DeviceRun) -> None:
        with self._lock:
            self.runs[run.name] = run
            if not self.live:
                self.stream.write(f"{run.name}: {self._describe(run)}\n")
                self.stream.flush()
                return
        self.redraw()

    def _describe(self, run: DeviceRun) -> str:
        job = f" (job {run.job_id})" if run.job_id else ""
        if run.submitted_at is None:
            return f"{run.status}{job}"
        end = run.finished_at if run.status in FINAL_PHASES else None
        took = f"{(end or time.monotonic()) - run.submitted_at:.1f}s"
        if end is not None:
            return f"{run.status} after {took}{job}"
        queue = run.job.queue_position if run.job is not None else None
        where = f", queue position {queue}" if queue else ""
        return f"{run.status}{where}, {took}{job}"

    def redraw(self) -> None:
        """Rewrite the block of device lines (terminal only)."""
        with self._lock:
            if not self.live or not self.runs:
                return
            width = max(len(name) for name in self.runs)
            lines = [f"{name:<{width}}  {self._describe(run)}" for name, run in self.runs.items()]
            up = f"\033[{self._drawn}F" if self._drawn else ""
            self.stream.write(up + "".join(f"\033[K{line}\n" for line in lines))
            self.stream.flush()
            self._drawn = len(lines)

    def __enter__(self) -> DeviceProgress:
        if self.live:
            self._thread = threading.Thread(target=self._ticker, name="compare-progress",
                                            daemon=True)
            self._thread.start()
        return self

    def _ticker(self) -> None:
        while not self._stop.wait(self.tick):
            self.redraw()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.redraw()


def _circuit(path: str) -> QuantumCircuit:
    circuit = load_circuit(Path(path))
    circuit.name = Path(path).stem
    return circuit


def cmd_rank(args: argparse.Namespace) -> int:
    """Rank devices for a QASM file by estimated success probability."""
    circuit = _circuit(args.file)
    with _provider(args) as provider:
        require_vendors(provider)
        ranking = provider.rank_backends(
            circuit,
            vendors=args.vendors,
            min_qubits=args.min_qubits,
            optimization_level=args.optimization_level,
            seed_transpiler=args.seed,
            queue_weight=args.queue_weight,
            simulators=args.simulators,
        )
        print(ranking.table(top=args.top))
    if not ranking:
        print("no device can run this circuit (see 'skipped' above)", file=sys.stderr)
        return 1
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Run a QASM file on several devices at once and print the comparison."""
    circuit = _circuit(args.file)
    with _provider(args) as provider:
        require_vendors(provider)
        progress = DeviceProgress(sys.stderr)
        try:
            with progress:
                comparison = provider.compare(
                    circuit,
                    args.backends,
                    shots=args.shots,
                    vendors=args.vendors,
                    optimization_level=args.optimization_level,
                    seed_transpiler=args.seed,
                    timeout=args.timeout,
                    run_options={
                        "poll_interval": args.poll_interval,
                        "allow_offline": args.allow_offline,
                    },
                    progress=progress,
                )
        except KeyboardInterrupt:
            submitted = [f"{r.name} {r.job_id}" for r in progress.runs.values() if r.job_id]
            print(
                "\ninterrupted; submitted jobs keep running: "
                + ("; ".join(submitted) or "none")
                + ". Follow them with 'qiskit-multicloud status JOB'.",
                file=sys.stderr,
            )
            return 130
        print(comparison.table())
        if args.plot:
            comparison.plot(args.plot)
            print(f"plot written to {args.plot}", file=sys.stderr)
    return 0 if comparison.succeeded else 1


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="OpenQASM 2 or 3 file")
    parser.add_argument(
        "--vendors",
        type=vendor_list,
        default=None,
        metavar="V1,V2",
        help=f"only these vendors, comma-separated ({', '.join(VENDOR_KEYS)}; default: all)",
    )
    parser.add_argument(
        "--optimization-level",
        type=int,
        choices=(0, 1, 2, 3),
        default=2,
        help="transpiler optimisation level (default: 2)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="transpiler seed, for repeatable results"
    )
    add_emulated_options(parser)


def register(commands: Commands) -> None:
    """Add ``rank`` and ``compare``."""
    rank = commands.add(
        "rank",
        cmd_rank,
        "rank devices for a circuit by estimated success probability",
        "Transpile an OpenQASM file for every online device and rank them by the success\n"
        "probability estimated from each device's published errors, T1/T2 and durations.\n"
        "'*' marks estimates that assume values a vendor does not publish; the queue\n"
        "breaks ties (devices whose vendor publishes no queue come last).",
    )
    _add_common(rank)
    rank.add_argument(
        "--top", type=positive_int, default=None, metavar="N", help="show the best N only"
    )
    rank.add_argument(
        "--min-qubits", type=positive_int, default=None, metavar="N",
        help="only devices with at least N qubits",
    )
    rank.add_argument(
        "--queue-weight", type=non_negative_float, default=0.0, metavar="W",
        help="divide each estimate by 1 + W x pending jobs (default 0: queue breaks ties only)",
    )
    rank.add_argument(
        "--simulators", action="store_true", help="include simulators (ideal: they rank first)"
    )

    compare = commands.add(
        "compare",
        cmd_compare,
        "run a circuit on several devices at once and compare the results",
        "Run an OpenQASM file on several devices at once (one job each) and print, per\n"
        "device, the estimated and measured fidelity (Hellinger, against the ideal\n"
        "distribution for small circuits, else against the other devices), the total\n"
        "variation distance, queue and run times and the vendor job ids. Devices that\n"
        "fail or time out are listed as such; the others still report.",
    )
    _add_common(compare)
    compare.add_argument(
        "--backends",
        type=name_list,
        default=None,
        metavar="A,B,C",
        help="backends to compare, comma-separated (default: every online device that fits)",
    )
    compare.add_argument(
        "--shots", type=positive_int, default=1000, help="shots per device (default: 1000)"
    )
    compare.add_argument(
        "--timeout", type=positive_float, default=None, metavar="SECONDS",
        help="report a device as TIMEOUT after this long; its job keeps running "
        "(default: wait)",
    )
    compare.add_argument(
        "--poll-interval", type=positive_float, default=0.5, metavar="SECONDS",
        help="first wait between status polls; it grows up to 10 s (default: 0.5)",
    )
    compare.add_argument(
        "--allow-offline", action="store_true",
        help="also submit to named devices the vendor reports offline (they may stay queued)",
    )
    compare.add_argument(
        "--plot", default=None, metavar="FILE.png",
        help="also draw histograms and fidelities into this file (needs matplotlib)",
    )
