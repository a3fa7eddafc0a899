"""``qiskit-multicloud`` command line: demo, emulate, backends, run, jobs, status, cancel.

Commands that talk to a cloud (``backends``, ``run``, ``status``, ``cancel``) use, in order:

* ``--emulated``: emulators started inside this process (``backends`` and ``run`` only);
* ``--emulator VENDOR=URL,TOKEN`` (repeatable) or the ``QISKIT_MULTICLOUD_EMULATORS``
  environment variable: emulators already running elsewhere, e.g. started with
  ``qiskit-multicloud emulate``;
* otherwise the real vendor clouds, with credentials from the environment and vendor files.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from qiskit import QuantumCircuit, qasm2, qasm3, transpile
from qiskit.exceptions import QiskitError
from qiskit.providers import JobStatus

from .config import VendorSettings
from .exceptions import ConfigurationError
from .job import MultiCloudJob
from .provider import MultiCloudProvider
from .vendors import VENDOR_KEYS


def _vendors(choice: str) -> tuple[str, ...]:
    return VENDOR_KEYS if choice == "all" else (choice,)


def histogram(counts: dict[str, int], width: int = 40) -> str:
    """A text histogram, most frequent outcome first."""
    if not counts:
        return "(no counts)"
    total = sum(counts.values())
    peak = max(counts.values())
    label = max(len(k) for k in counts)
    lines = []
    for key, value in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        bar = "#" * max(1, round(width * value / peak))
        lines.append(f"{key:>{label}} | {bar} {value} ({value / total:.1%})")
    return "\n".join(lines)


class Progress:
    """One self-rewriting status line on a terminal; silent otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.start = time.monotonic()

    def __call__(self, job_id: str, status: JobStatus, job: MultiCloudJob) -> None:
        if not self.enabled:
            return
        queue = f", queue position {job.queue_position}" if job.queue_position else ""
        elapsed = time.monotonic() - self.start
        self.stream.write(f"\r{job_id[:36]}: {status.name}{queue}, {elapsed:.1f}s   ")
        self.stream.flush()
        if status in (JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED):
            self.stream.write("\n")


def load_circuit(path: Path) -> QuantumCircuit:
    """Read an OpenQASM 2 or 3 file."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("OPENQASM 3"):
        return qasm3.loads(text)
    return qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)


def bell() -> QuantumCircuit:
    """The demo circuit."""
    circuit = QuantumCircuit(2, name="bell")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


#: Environment variable naming running emulators (same syntax as ``--emulator``).
EMULATORS_ENV = "QISKIT_MULTICLOUD_EMULATORS"


def parse_emulators(specs: Sequence[str]) -> dict[str, VendorSettings]:
    """Settings for emulators running elsewhere, from ``VENDOR=URL,TOKEN`` specs.

    Each spec may hold several entries separated by ``;`` or newlines, and an entry may
    also be a ``VENDOR URL TOKEN`` line exactly as ``qiskit-multicloud emulate`` prints it.

    Raises:
        ConfigurationError: an entry is malformed or names an unknown vendor.
    """
    from .emulators import settings_for

    found: dict[str, VendorSettings] = {}
    for spec in specs:
        for entry in spec.replace(";", "\n").splitlines():
            entry = entry.strip()
            if not entry:
                continue
            if "=" in entry:
                vendor, _, rest = entry.partition("=")
                url, _, token = rest.partition(",")
            else:
                parts = entry.split()
                vendor, url, token = parts if len(parts) == 3 else ("", "", "")
            vendor, url, token = vendor.strip().lower(), url.strip(), token.strip()
            if not (vendor and url and token):
                raise ConfigurationError(
                    f"bad emulator spec {entry!r}; expected VENDOR=URL,TOKEN "
                    "(as printed by 'qiskit-multicloud emulate')"
                )
            if vendor not in VENDOR_KEYS:
                raise ConfigurationError(
                    f"unknown vendor {vendor!r} in emulator spec; choose from "
                    f"{', '.join(VENDOR_KEYS)}"
                )
            found[vendor] = settings_for(vendor, url, token)
    return found


def _provider(args: argparse.Namespace) -> MultiCloudProvider:
    """The provider a command should use (see the module docstring for the order)."""
    vendor = getattr(args, "vendor", None)
    if getattr(args, "emulated", False):
        return MultiCloudProvider.emulated(_vendors(vendor or "all"), job_store=False)
    specs = list(getattr(args, "emulator", None) or [])
    if not specs and os.environ.get(EMULATORS_ENV):
        specs = [os.environ[EMULATORS_ENV]]
    if specs:
        settings = parse_emulators(specs)
        return MultiCloudProvider(settings, vendors=tuple(settings))
    return MultiCloudProvider()


def _vendor_filter(args: argparse.Namespace) -> str | None:
    vendor: str | None = getattr(args, "vendor", None)
    return None if vendor in (None, "all") else vendor


def _require_vendors(provider: MultiCloudProvider) -> None:
    if not provider.vendors:
        raise ConfigurationError(
            "no vendor is configured: set a vendor's environment variables (see the docs' "
            "vendor pages), or use --emulated, or --emulator VENDOR=URL,TOKEN for emulators "
            "started with 'qiskit-multicloud emulate'"
        )


def cmd_demo(args: argparse.Namespace) -> int:
    """Run a Bell circuit on each emulated vendor cloud and print the counts."""
    with MultiCloudProvider.emulated(_vendors(args.vendor), job_store=False) as provider:
        for vendor in provider.vendors:
            backend = provider.backends(vendor=vendor)[0]
            counts = backend.run(transpile(bell(), backend), shots=args.shots).result().get_counts()
            print(f"{vendor:12} {backend.name:28} {dict(sorted(counts.items()))}")
    return 0


def cmd_emulate(args: argparse.Namespace) -> int:
    """Start emulators and serve until interrupted."""
    from .emulators import start

    port = args.port
    handles = []
    for vendor in _vendors(args.vendor):
        handles.append(start(vendor, port=port, queue_delay=args.queue_delay, seed=args.seed))
        port = 0 if port == 0 else port + 1
    for handle in handles:
        print(f"{handle.vendor} {handle.url} {handle.token}", flush=True)
    entries = ";".join(f"{h.vendor}={h.url},{h.token}" for h in handles)
    print(
        f"serving until interrupted; in another shell: export {EMULATORS_ENV}='{entries}'",
        file=sys.stderr,
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    for handle in handles:
        handle.stop()
    return 0


def cmd_backends(args: argparse.Namespace) -> int:
    """Print a table of backends."""
    with _provider(args) as provider:
        _require_vendors(provider)
        rows = [
            (
                b.vendor,
                b.name,
                str(b.num_qubits),
                "yes" if b.online else "no",
                "-" if b.queue_length is None else str(b.queue_length),
            )
            for b in provider.backends(vendor=_vendor_filter(args))
        ]
    header = ("vendor", "name", "qubits", "online", "queue")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run a QASM file and print counts and a histogram."""
    circuit = load_circuit(Path(args.file))
    with _provider(args) as provider:
        _require_vendors(provider)
        backend = provider.get_backend(args.backend, vendor=_vendor_filter(args))
        job = backend.run(transpile(circuit, backend), shots=args.shots)
        print(f"job {job.job_id()} on {backend.vendor}:{backend.name}", file=sys.stderr)
        job.wait_for_final_state(timeout=args.timeout, callback=Progress(sys.stderr))
        counts = job.result().get_counts()
    assert isinstance(counts, dict)
    print(dict(sorted(counts.items())))
    print(histogram(counts))
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    """List locally recorded jobs, newest first."""
    records = MultiCloudProvider(job_store=True).jobs(
        vendor=args.vendor, status=args.status, limit=args.limit
    )
    if not records:
        print("no jobs recorded", file=sys.stderr)
    for record in records:
        print(
            f"{record.created_at[:19]}  {record.vendor:11} {record.backend:24} "
            f"{record.status:20} {record.job_id or record.record_id}"
        )
    return 0


def _describe(job: MultiCloudJob, status: JobStatus) -> str:
    queue = job.queue_position
    return str(status.name) + (f" (queue position {queue})" if queue else "")


def cmd_status(args: argparse.Namespace) -> int:
    """Print a recorded job's status."""
    with _provider(args) as provider:
        job = provider.retrieve_job(args.job_id)
        print(_describe(job, job.status()))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    """Cancel a recorded job and print its status afterwards."""
    with _provider(args) as provider:
        job = provider.retrieve_job(args.job_id)
        status = job.status()
        if status in (JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED):
            print(f"{_describe(job, status)} (already final; nothing to cancel)")
        else:
            job.cancel()
            print(_describe(job, job.status()))
    return 0


def _add_emulator_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--emulator",
        action="append",
        metavar="VENDOR=URL,TOKEN",
        help=f"use an emulator started by 'qiskit-multicloud emulate' (repeatable; default "
        f"from ${EMULATORS_ENV})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    vendor_choices = [*VENDOR_KEYS, "all"]
    parser = argparse.ArgumentParser(
        prog="qiskit-multicloud",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run a Bell circuit on emulated vendor clouds")
    demo.add_argument("--vendor", choices=vendor_choices, default="all")
    demo.add_argument("--shots", type=int, default=1000)
    demo.set_defaults(func=cmd_demo)

    emulate = sub.add_parser("emulate", help="serve vendor emulators on 127.0.0.1")
    emulate.add_argument("vendor", choices=vendor_choices)
    emulate.add_argument("--port", type=int, default=0, help="0 picks free ports")
    emulate.add_argument("--queue-delay", type=float, default=0.0)
    emulate.add_argument("--seed", type=int, default=None)
    emulate.set_defaults(func=cmd_emulate)

    backends = sub.add_parser("backends", help="list backends")
    backends.add_argument("--vendor", choices=vendor_choices, default="all")
    backends.add_argument("--emulated", action="store_true", help="use local emulators")
    _add_emulator_option(backends)
    backends.set_defaults(func=cmd_backends)

    run = sub.add_parser("run", help="run an OpenQASM 2/3 file")
    run.add_argument("file")
    run.add_argument("--backend", required=True)
    run.add_argument("--shots", type=int, default=1000)
    run.add_argument("--timeout", type=float, default=None)
    run.add_argument("--emulated", action="store_true", help="use local emulators")
    run.add_argument("--vendor", choices=vendor_choices, default=None)
    _add_emulator_option(run)
    run.set_defaults(func=cmd_run)

    jobs = sub.add_parser("jobs", help="list locally recorded jobs")
    jobs.add_argument("--vendor", default=None)
    jobs.add_argument("--status", default=None)
    jobs.add_argument("--limit", type=int, default=20)
    jobs.set_defaults(func=cmd_jobs)

    status = sub.add_parser("status", help="show a job's status")
    status.add_argument("job_id")
    _add_emulator_option(status)
    status.set_defaults(func=cmd_status)

    cancel = sub.add_parser("cancel", help="cancel a job")
    cancel.add_argument("job_id")
    _add_emulator_option(cancel)
    cancel.set_defaults(func=cmd_cancel)
    return parser


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (Qiskit errors without their quotes)."""
    message = getattr(exc, "message", None)
    if not isinstance(message, str):
        message = str(exc)
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        message = f"{exc.strerror}: {exc.filename}"
    return " ".join(message.split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; errors print one clear line (no traceback) and return 1."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except (QiskitError, OSError, ValueError) as exc:  # MultiCloudError is a QiskitError
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
