"""The ``qiskit-multicloud`` command line (entry point :func:`main`).

Each subcommand is added by a ``register(commands)`` function that receives a
:class:`Commands`: this module registers the core commands, and every module named in
:data:`COMMAND_MODULES` registers its own (imported lazily, so those modules may import the
helpers defined here: :func:`add_cloud_options`, :func:`provider_from_args`,
:func:`contacting`, ...). ``--help`` texts are plain text; the reference is ``docs/cli.rst``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from . import cli_cache
from .vendors import VENDOR_KEYS

# Qiskit and the provider are imported where they are used, so 'backends' answered from
# the cache (cli_cache) starts without them.
if TYPE_CHECKING:
    from qiskit import QuantumCircuit
    from qiskit.providers import JobStatus

    from .config import VendorSettings
    from .job import MultiCloudJob
    from .provider import MultiCloudProvider

#: Environment variable naming running emulators (same syntax as ``--emulator``).
EMULATORS_ENV = "QISKIT_MULTICLOUD_EMULATORS"

#: Modules with a ``register(commands: Commands) -> None`` adding further subcommands.
COMMAND_MODULES: tuple[str, ...] = (
    "qiskit_multicloud.cli_accounts",
    "qiskit_multicloud.cli_select",
)

#: Statuses a job-store record can have (``jobs --status`` accepts these).
#: (jobstore's SUBMITTING, SUBMITTED, UNCERTAIN, SUBMIT_FAILED, then Qiskit JobStatus names;
#: spelled out so this module imports neither, test_cli checks they agree).
RECORD_STATUSES: tuple[str, ...] = (
    "SUBMITTING",
    "SUBMITTED",
    "SUBMISSION_UNCERTAIN",
    "SUBMIT_FAILED",
    "DONE",
    "ERROR",
    "CANCELLED",
)

DESCRIPTION = f"""\
Run quantum circuits on OQC, OQTOPUS, IQM, Qoro and Qilimanjaro clouds, or on local
emulators of them.

Commands that talk to a cloud (backends, run, status, cancel) pick it in this order:
  --emulated                   emulators started inside this process (backends, run)
  --emulator VENDOR=URL,TOKEN  emulators already running, e.g. started with
                               'qiskit-multicloud emulate' (or ${EMULATORS_ENV})
  otherwise                    the real clouds, with credentials from the environment,
                               saved accounts ('qiskit-multicloud login') and the
                               vendors' own files

Errors print one line starting with 'error:' and exit with status 1."""

Handler = Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see '{self.prog} --help')\n")


class Commands:
    """Registers subcommands: each gets a one-line summary, a plain-text description and
    its handler (a function ``(args) -> exit status``)."""

    def __init__(self, subparsers: argparse._SubParsersAction[Parser]) -> None:
        self._subparsers = subparsers

    def add(
        self, name: str, handler: Handler, summary: str, description: str | None = None
    ) -> Parser:
        """Add subcommand ``name``; returns its parser for adding options (each with help)."""
        parser = self._subparsers.add_parser(
            name,
            help=summary,
            description=description or summary[:1].upper() + summary[1:] + ".",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.set_defaults(func=handler)
        return parser


# -- argument types -------------------------------------------------------------------------


def _number(kind: type[float] | type[int], low: float, strict: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < low or (strict and value == low):
            relation = ">" if strict else ">="
            raise argparse.ArgumentTypeError(f"{text} must be {relation} {low:g}")
        return value

    parse.__name__ = kind.__name__
    return parse


#: Argument types refusing negative (or zero) values with a clear message.
non_negative_float = _number(float, 0, strict=False)
positive_float = _number(float, 0, strict=True)
positive_int = _number(int, 0, strict=True)


def on_off(text: str) -> bool:
    """``on`` / ``off`` (any case) as a bool."""
    value = {"on": True, "off": False}.get(text.strip().lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is neither 'on' nor 'off'")
    return value


def port_number(text: str) -> int:
    """A TCP port, 0 meaning 'pick a free one'."""
    value = int(_number(int, 0, strict=False)(text))
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port number (0-65535)")
    return value


# -- shared options ---------------------------------------------------------------------------


def add_vendor_option(
    parser: argparse.ArgumentParser, *, default: str | None = None, allow_all: bool = True
) -> None:
    """``--vendor V`` restricted to the known vendor keys (case-insensitive)."""
    choices = [*VENDOR_KEYS, "all"] if allow_all else list(VENDOR_KEYS)
    parser.add_argument(
        "--vendor",
        type=str.lower,
        choices=choices,
        default=default,
        metavar="VENDOR",
        help=f"only this vendor ({', '.join(choices)}; default: {default or 'any'})",
    )


def add_noise_option(parser: argparse.ArgumentParser) -> None:
    """``--noise on|off``: whether emulated QPUs simulate their published noise."""
    parser.add_argument(
        "--noise",
        type=on_off,
        default=True,
        metavar="on|off",
        help="emulated QPUs simulate the noise their calibration publishes (default: on; "
        "the vendors' simulators are always ideal)",
    )


def add_emulator_option(parser: argparse.ArgumentParser) -> None:
    """``--emulator VENDOR=URL,TOKEN`` (repeatable)."""
    parser.add_argument(
        "--emulator",
        action="append",
        metavar="VENDOR=URL,TOKEN",
        help=f"use an emulator started by 'qiskit-multicloud emulate' (repeatable; default "
        f"from ${EMULATORS_ENV})",
    )


def add_account_option(parser: argparse.ArgumentParser) -> None:
    """``--account VENDOR=NAME`` (repeatable): use a saved account other than the default."""
    parser.add_argument(
        "--account",
        action="append",
        metavar="VENDOR=NAME",
        help="use this saved account for VENDOR instead of its default (repeatable; see "
        "'qiskit-multicloud accounts')",
    )


def add_emulated_options(parser: argparse.ArgumentParser) -> None:
    """``--emulated``, ``--noise`` and ``--emulator``: run against local emulators."""
    parser.add_argument(
        "--emulated",
        action="store_true",
        help="start local emulators inside this process (nothing is recorded)",
    )
    add_noise_option(parser)
    add_emulator_option(parser)


def add_cloud_options(parser: argparse.ArgumentParser, *, vendor_default: str | None) -> None:
    """``--vendor``, ``--emulated``, ``--emulator`` and ``--account``: which clouds a command
    talks to."""
    from .provider import DEFAULT_DISCOVERY_TIMEOUT

    add_vendor_option(parser, default=vendor_default)
    add_emulated_options(parser)
    add_account_option(parser)
    parser.add_argument(
        "--discovery-timeout",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="wait this long for the vendors' device lists; later vendors are skipped with "
        f"a warning (default: {DEFAULT_DISCOVERY_TIMEOUT:g})",
    )


def parse_accounts(specs: Sequence[str]) -> dict[str, str]:
    """``{vendor: account name}`` from ``VENDOR=NAME`` specs.

    Raises:
        ConfigurationError: a spec is malformed or names an unknown vendor.
    """
    from .exceptions import ConfigurationError

    chosen: dict[str, str] = {}
    for spec in specs:
        vendor, _, name = spec.partition("=")
        vendor, name = vendor.strip().lower(), name.strip()
        if vendor not in VENDOR_KEYS or not name:
            raise ConfigurationError(
                f"bad --account {spec!r}; expected VENDOR=NAME with VENDOR one of "
                f"{', '.join(VENDOR_KEYS)}"
            )
        chosen[vendor] = name
    return chosen


def parse_emulators(specs: Sequence[str]) -> dict[str, VendorSettings]:
    """Settings for emulators running elsewhere, from ``VENDOR=URL,TOKEN`` specs.

    Each spec may hold several entries separated by ``;`` or newlines, and an entry may
    also be a ``VENDOR URL TOKEN`` line exactly as ``qiskit-multicloud emulate`` prints it.

    Raises:
        ConfigurationError: an entry is malformed or names an unknown vendor.
    """
    from .emulators import settings_for
    from .exceptions import ConfigurationError

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


def vendor_keys(choice: str | None) -> tuple[str, ...]:
    """The vendor keys a ``--vendor`` value stands for."""
    return VENDOR_KEYS if choice in (None, "all") else (str(choice),)


def vendor_filter(args: argparse.Namespace) -> str | None:
    """``--vendor`` as a filter for ``provider.backends(vendor=...)`` (``None``: all)."""
    vendor: str | None = getattr(args, "vendor", None)
    return None if vendor in (None, "all") else vendor


def provider_from_args(args: argparse.Namespace) -> MultiCloudProvider:
    """The provider a command should use (``--emulated``, ``--emulator``, else the clouds)."""
    from .provider import MultiCloudProvider

    vendor = getattr(args, "vendor", None)
    if getattr(args, "emulated", False):
        noise = getattr(args, "noise", True)
        provider = MultiCloudProvider.emulated(vendor_keys(vendor), job_store=False, noise=noise)
    else:
        specs = list(getattr(args, "emulator", None) or [])
        if not specs and os.environ.get(EMULATORS_ENV):
            specs = [os.environ[EMULATORS_ENV]]
        if specs:
            settings = parse_emulators(specs)
            provider = MultiCloudProvider(settings, vendors=tuple(settings))
        else:
            chosen = parse_accounts(getattr(args, "account", None) or [])
            provider = MultiCloudProvider(accounts=chosen)
    timeout = getattr(args, "discovery_timeout", None)
    if timeout is not None:
        provider.discovery_timeout = timeout
    return provider


def require_vendors(provider: MultiCloudProvider) -> None:
    """Fail with a hint when no vendor at all is configured.

    Raises:
        ConfigurationError: no vendor has credentials.
    """
    from .exceptions import ConfigurationError

    if not provider.vendors:
        raise ConfigurationError(
            "no vendor is configured: run 'qiskit-multicloud login VENDOR', set a vendor's "
            "environment variables (see the docs' vendor pages), or use --emulated, or "
            "--emulator VENDOR=URL,TOKEN for emulators started with 'qiskit-multicloud emulate'"
        )


@contextlib.contextmanager
def contacting(vendors: Sequence[str], stream: TextIO | None = None) -> Iterator[None]:
    """Show 'contacting VENDORS ...' on a terminal while the block runs, then erase it."""
    stream = stream if stream is not None else sys.stderr
    shown = stream.isatty() and bool(vendors)
    if shown:
        stream.write(f"contacting {', '.join(vendors)} ...")
        stream.flush()
    try:
        yield
    finally:
        if shown:
            stream.write("\r\033[K")
            stream.flush()


# -- output helpers -------------------------------------------------------------------------


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


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


class Progress:
    """One self-rewriting status line on a terminal; silent otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.start = time.monotonic()

    def __call__(self, job_id: str, status: JobStatus, job: MultiCloudJob) -> None:
        from qiskit.providers import JobStatus

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
    from qiskit import qasm2, qasm3

    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("OPENQASM 3"):
        return qasm3.loads(text)
    return qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)


def bell() -> QuantumCircuit:
    """The demo circuit."""
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(2, name="bell")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


# -- commands -------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """Run a Bell circuit on an emulated QPU of each vendor cloud and print the counts.

    The QPUs simulate the noise their calibration publishes (``--noise off``: ideal).
    """
    from qiskit import transpile

    from .provider import MultiCloudProvider

    vendors = vendor_keys(args.vendor)
    with MultiCloudProvider.emulated(vendors, job_store=False, noise=args.noise) as provider:
        for vendor in provider.vendors:
            found = provider.backends(vendor=vendor)
            backend = next((b for b in found if not b.device.simulator), found[0])
            counts = backend.run(transpile(bell(), backend), shots=args.shots).result().get_counts()
            print(f"{vendor:12} {backend.name:28} {dict(sorted(counts.items()))}")
    return 0


def cmd_emulate(args: argparse.Namespace) -> int:
    """Start emulators and serve until interrupted."""
    from .emulators import start

    port = args.port
    handles = []
    for vendor in vendor_keys(args.vendor):
        api = {"api": args.api} if args.api and vendor == "oqc" else {}
        handles.append(
            start(
                vendor, port=port, queue_delay=args.queue_delay, seed=args.seed, noise=args.noise,
                latency=args.latency, **api,
            )
        )
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


#: Columns of the ``backends`` table.
BACKENDS_HEADER = ("vendor", "name", "qubits", "online", "queue", "aliases")


def configuration_files(provider: MultiCloudProvider) -> list[Path]:
    """Every file the provider's configuration may have come from (saved accounts, the
    vendors' own files, the settings' sources), present or not."""
    from .accounts import accounts_path
    from .vendors import plugin

    files = [accounts_path()]
    for key in VENDOR_KEYS:
        files += plugin(key).settings.config_files()
    for adapter in provider.adapters.values():
        if os.path.isabs(adapter.settings.source):
            files.append(Path(adapter.settings.source))
    return files


def cmd_backends(args: argparse.Namespace) -> int:
    """Print a table of backends (a repeat with the same configuration is answered from the
    cache; see cli_cache)."""
    with provider_from_args(args) as provider:
        require_vendors(provider)
        if args.refresh:
            provider.refresh()
        with contacting(provider.vendors if vendor_filter(args) is None else [args.vendor]):
            found = provider.backends(vendor=vendor_filter(args))
        rows = [
            (
                b.vendor,
                b.name,
                str(b.num_qubits),
                "yes" if b.online else "no",
                "-" if b.queue_length is None else str(b.queue_length),
                ", ".join(b.names[1:]) or "-",
            )
            for b in found
        ]
        complete = not provider.unavailable
        files = configuration_files(provider) if complete and not args.emulated else []
    print(table(BACKENDS_HEADER, rows))
    if files:
        chosen = cli_cache.options(args.vendor, args.emulator or [], args.account or [])
        cli_cache.remember_rows(chosen, rows, files)
    return 0


def _follow_hint(job_id: str, args: argparse.Namespace) -> str:
    if getattr(args, "emulated", False):
        return "the in-process emulators stop with this command, so the job ends with it"
    emulator = " --emulator VENDOR=URL,TOKEN" if getattr(args, "emulator", None) else ""
    return (
        f"follow it with 'qiskit-multicloud status {job_id}{emulator}' "
        f"(or provider.retrieve_job({job_id!r}) in Python)"
    )


def cmd_run(args: argparse.Namespace) -> int:
    """Run a QASM file and print counts and a histogram."""
    from qiskit import transpile

    from .exceptions import JobTimeoutError

    circuit = load_circuit(Path(args.file))
    with provider_from_args(args) as provider:
        require_vendors(provider)
        with contacting(provider.vendors if vendor_filter(args) is None else [args.vendor]):
            backend = provider.get_backend(args.backend, vendor=vendor_filter(args))
        job = backend.run(transpile(circuit, backend), shots=args.shots)
        job_id = job.job_id()
        print(f"job {job_id} on {backend.vendor}:{backend.name}", file=sys.stderr)
        try:
            job.wait_for_final_state(timeout=args.timeout, callback=Progress(sys.stderr))
        except JobTimeoutError as exc:
            raise JobTimeoutError(
                f"job {job_id} is not finished after {args.timeout:g}s (--timeout) and keeps "
                f"running; {_follow_hint(job_id, args)}"
            ) from exc
        except KeyboardInterrupt:
            print(
                f"\ninterrupted: job {job_id} is still running on {backend.vendor}; "
                f"{_follow_hint(job_id, args)}, or cancel it with "
                f"'qiskit-multicloud cancel {job_id}'",
                file=sys.stderr,
            )
            return 130
        counts = job.result().get_counts()
    assert isinstance(counts, dict)
    print(dict(sorted(counts.items())))
    print(histogram(counts))
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    """List locally recorded jobs, newest first."""
    from .provider import MultiCloudProvider

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
    with provider_from_args(args) as provider:
        job = provider.retrieve_job(args.job_id)
        print(_describe(job, job.status()))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    """Cancel a recorded job and print its status afterwards."""
    from qiskit.providers import JobStatus

    with provider_from_args(args) as provider:
        job = provider.retrieve_job(args.job_id)
        status = job.status()
        if status in (JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED):
            print(f"{_describe(job, status)} (already final; nothing to cancel)")
        else:
            job.cancel()
            print(_describe(job, job.status()))
    return 0


def register(commands: Commands) -> None:
    """The core subcommands."""
    demo = commands.add("demo", cmd_demo, "run a Bell circuit on emulated vendor clouds")
    add_vendor_option(demo, default="all")
    demo.add_argument("--shots", type=positive_int, default=1000, help="shots (default: 1000)")
    add_noise_option(demo)

    emulate = commands.add(
        "emulate",
        cmd_emulate,
        "serve vendor emulators on 127.0.0.1",
        "Serve vendor emulators on 127.0.0.1 until interrupted; prints one line\n"
        "'VENDOR URL TOKEN' per emulator on stdout.",
    )
    emulate.add_argument(
        "vendor", type=str.lower, choices=[*VENDOR_KEYS, "all"], help="which emulator(s)"
    )
    emulate.add_argument(
        "--port",
        type=port_number,
        default=0,
        help="first port; later vendors get the next ones (default 0: free ports)",
    )
    emulate.add_argument(
        "--queue-delay",
        type=non_negative_float,
        default=0.0,
        metavar="SECONDS",
        help="keep each job queued this long, to try status and cancel (default: 0)",
    )
    emulate.add_argument(
        "--seed", type=int, default=None, help="seed of the emulated shot noise (default: random)"
    )
    add_noise_option(emulate)
    emulate.add_argument(
        "--latency",
        type=non_negative_float,
        default=0.0,
        metavar="SECONDS",
        help="add this to every request, like a cloud's round trip (e.g. 0.05; default: 0)",
    )
    emulate.add_argument(
        "--api",
        choices=("v3", "v4"),
        default=None,
        help="OQC API generation to serve: v3 (default) or the v4 gateway "
        "(what oqc-qcaas-sdk speaks with OQC_QCAAS_V4=1); other vendors ignore it",
    )

    backends = commands.add(
        "backends", cmd_backends, "list backends with their aliases, size and availability"
    )
    add_cloud_options(backends, vendor_default="all")
    backends.add_argument(
        "--refresh",
        action="store_true",
        help="ask the clouds again instead of using the cache, and rewrite it (without it, a "
        "repeat of the same command within the cache TTL is answered from the cache)",
    )

    run = commands.add(
        "run",
        cmd_run,
        "run an OpenQASM 2/3 file",
        "Run an OpenQASM 2 or 3 file on a backend, wait, and print the counts and a\n"
        "histogram. The job keeps running if the wait ends early (--timeout, Ctrl-C).",
    )
    run.add_argument("file", help="OpenQASM 2 or 3 file")
    run.add_argument(
        "--backend", required=True, help="backend id, alias or unique prefix (see 'backends')"
    )
    run.add_argument("--shots", type=positive_int, default=1000, help="shots (default: 1000)")
    run.add_argument(
        "--timeout",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="stop waiting after this long; the job keeps running (default: wait)",
    )
    add_cloud_options(run, vendor_default=None)

    jobs = commands.add(
        "jobs", cmd_jobs, "list locally recorded jobs, newest first (no network)"
    )
    add_vendor_option(jobs, allow_all=False)
    jobs.add_argument(
        "--status",
        type=str.upper,
        choices=RECORD_STATUSES,
        default=None,
        help=f"only jobs with this recorded status ({', '.join(RECORD_STATUSES)})",
    )
    jobs.add_argument(
        "--limit", type=positive_int, default=20, help="at most this many jobs (default: 20)"
    )

    status = commands.add("status", cmd_status, "ask the vendor for a recorded job's status")
    status.add_argument("job_id", metavar="JOB", help="job id or local record id (see 'jobs')")
    add_emulator_option(status)
    add_account_option(status)

    cancel = commands.add("cancel", cmd_cancel, "cancel a recorded job")
    cancel.add_argument("job_id", metavar="JOB", help="job id or local record id (see 'jobs')")
    add_emulator_option(cancel)
    add_account_option(cancel)


def build_parser() -> Parser:
    """The argument parser (exposed for tests and docs)."""
    parser = Parser(
        prog="qiskit-multicloud",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also show what the library logs (INFO)"
    )
    commands = Commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    register(commands)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (Qiskit errors without their quotes)."""
    message = getattr(exc, "message", None)
    if not isinstance(message, str):
        message = str(exc)
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        message = f"{exc.strerror}: {exc.filename}"
    return " ".join(message.split()) or type(exc).__name__


def note(level: str, message: str) -> None:
    """One ``level: message`` line on stderr; on a terminal it first erases a progress line
    being drawn (``contacting ...``, a job's status), which redraws itself afterwards."""
    erase = "\r\033[K" if sys.stderr.isatty() else ""
    sys.stderr.write(f"{erase}{level}: {' '.join(message.split())}\n")


class _OneLineHandler(logging.Handler):
    """Library log records as ``warning: ...`` lines on stderr (stream looked up late)."""

    def emit(self, record: logging.LogRecord) -> None:
        note("warning" if record.levelno >= logging.WARNING else "info", self.format(record))


def _show_warning(message: Warning | str, *_: object, **__: object) -> None:
    note("warning", str(message))


@contextlib.contextmanager
def _one_line_reporting(verbose: bool) -> Iterator[None]:
    """Route library logs and Python warnings to one ``warning:`` line each."""
    logger = logging.getLogger("qiskit_multicloud")
    handler = _OneLineHandler()
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; errors print one clear line (no traceback) and return 1.

    ``backends`` repeated with the same configuration within the cache TTL is answered
    from the cache before anything heavy is imported (see :mod:`qiskit_multicloud.cli_cache`).
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    cached = cli_cache.cached_rows(arguments)
    if cached is not None:
        rows, age = cached
        print(table(BACKENDS_HEADER, rows))
        if sys.stderr.isatty():
            note("info", f"listed from the cache ({age:.0f} s old); --refresh asks the clouds")
        return 0
    from qiskit.exceptions import QiskitError

    args = build_parser().parse_args(arguments)
    with _one_line_reporting(args.verbose):
        try:
            code: int = args.func(args)
            return code
        except (QiskitError, OSError, ValueError) as exc:  # MultiCloudError is a QiskitError
            note("error", one_line(exc))
            return 1
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
