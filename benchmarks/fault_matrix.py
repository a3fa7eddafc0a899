"""Fault matrix: every vendor emulator x every fault mode, audited for duplicates and loss.

Runs a small batch of one-circuit jobs per (vendor, fault) cell through seeded fault rates
plus faults forced on the submit requests (see ``test/reliability/harness.py``) and prints
an reStructuredText table: jobs completed, failed with a clear qiskit_multicloud error
(of which submissions reported uncertain), duplicate submissions seen by the emulator,
emulator jobs unknown to the client's job store, and for the time faults (frozen server,
trickled body, ``Retry-After: 30``) the longest a bounded call ran past its timeout.

Usage::

    python benchmarks/fault_matrix.py [--jobs 6] [--timeout 1.0] [--vendor oqc ...]
        [--fault frozen ...] [--output FILE]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from test.reliability.harness import (  # noqa: E402
    CRASH_JOBS,
    FAULTS,
    VENDORS,
    WAIT_TIMEOUT,
    CellResult,
    run_matrix,
)

COLUMNS = (
    "Vendor",
    "Fault",
    "Completed",
    "Failed clearly",
    "of which uncertain",
    "Duplicates",
    "Lost",
    "Raw errors",
    "Secrets leaked",
    "Longest overrun s",
)


def rst_table(rows: list[list[str]]) -> str:
    """A reStructuredText simple table with ``COLUMNS`` as header."""
    widths = [max(len(str(r[i])) for r in [list(COLUMNS), *rows]) for i in range(len(COLUMNS))]
    rule = "  ".join("=" * w for w in widths)

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([rule, line(list(COLUMNS)), rule, *(line(r) for r in rows), rule])


def summarise(results: list[CellResult]) -> str:
    """The table for ``results``, one row per cell."""
    rows = [
        [
            r.vendor,
            r.fault,
            f"{r.completed}/{r.jobs}",
            str(r.failed_clearly),
            str(r.uncertain),
            str(r.duplicates),
            str(r.lost),
            str(len(r.raw_errors)),
            str(len(r.leaked_secrets)),
            "-" if r.overrun is None else f"{r.overrun:+.2f}",
        ]
        for r in results
    ]
    return rst_table(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the matrix, print the table, optionally write it into an .rst page.

    Returns:
        0 when no cell shows a raw error, a duplicate, a lost id or a leaked secret.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=6, help="jobs per cell (default 6)")
    parser.add_argument("--vendor", action="append", choices=VENDORS, help="repeatable")
    parser.add_argument("--fault", action="append", choices=FAULTS, help="repeatable")
    parser.add_argument(
        "--timeout",
        type=float,
        default=WAIT_TIMEOUT,
        help=f"timeout the time faults are measured against, s (default {WAIT_TIMEOUT})",
    )
    parser.add_argument("--output", type=Path, help="also write an .rst page here")
    args = parser.parse_args(argv)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        os.environ["QISKIT_MULTICLOUD_HOME"] = workdir
        results = run_matrix(
            Path(workdir),
            tuple(args.vendor or VENDORS),
            tuple(args.fault or FAULTS),
            args.jobs,
            args.timeout,
        )
    elapsed = time.perf_counter() - began
    table = summarise(results)
    print(table)
    print(f"\n{len(results)} cells, {sum(r.jobs for r in results)} jobs, {elapsed:.1f} s")
    print(summary(results, args.timeout))
    if args.output:
        args.output.write_text(
            page(table, argv, elapsed, args.timeout, summary(results, args.timeout)),
            encoding="utf-8",
        )
    bad = [r for r in results if r.raw_errors or r.duplicates or r.lost or r.leaked_secrets]
    for r in bad:
        print(f"PROBLEM {r.vendor}/{r.fault}: {r.raw_errors[:3]}", file=sys.stderr)
    return 1 if bad else 0


def summary(results: list[CellResult], timeout: float) -> str:
    """One line: jobs lost, raw exceptions, and the longest overrun over every cell."""
    overruns = [r.overrun for r in results if r.overrun is not None]
    longest = f"{max(overruns):+.2f} s" if overruns else "not measured"
    return (
        f"Jobs lost: {sum(r.lost for r in results)}; raw exceptions: "
        f"{sum(len(r.raw_errors) for r in results)}; duplicates: "
        f"{sum(r.duplicates for r in results)}; longest overrun past timeout={timeout:g} s: "
        f"{longest}."
    )


def page(
    table: str, argv: list[str] | None, elapsed: float, timeout: float, totals: str
) -> str:
    """The docs page holding the latest table, the command and the date."""
    crash_jobs = CRASH_JOBS
    command = " ".join(["python benchmarks/fault_matrix.py", *(argv or sys.argv[1:])])
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f""":orphan:

Reliability results
===================

Latest output of the fault matrix (every vendor emulator x every fault kind), produced by::

    {command}

on {today} ({elapsed:.1f} s on 2 cores). Each cell runs a batch of one-circuit jobs against
the vendor's emulator with seeded fault rates on every request plus the same fault forced on
the first POST of every third job and on the final, billable submit request of every third
job. Retries wait milliseconds (``Retry-After`` 1 ms) and polling is near-instant.

* **Completed**: jobs whose ``result()`` returned counts.
* **Failed clearly**: ``run()`` or ``result()`` raised a ``qiskit_multicloud`` error
  (for example ``AuthenticationError`` for an expired static token, or a refused submit
  whose message says nothing was submitted).
* **of which uncertain**: ``SubmissionUncertainError``: the vendor protocol gives no way to
  find the job (IQM has no job list; a Qilimanjaro 5xx before any job exists; a submit whose
  time bound ran out), so the local record stays ``SUBMISSION_UNCERTAIN`` (or ``SUBMITTING``
  after a crash) and the submit is not repeated.
* **Duplicates**: emulator jobs beyond one per run (each run uses its own shot count).
* **Lost**: emulator jobs whose id is neither in the job store nor in an uncertain record.
* **Raw errors**: exceptions that are not ``qiskit_multicloud`` errors.
* **Secrets leaked**: tokens found in DEBUG logs (urllib3 included), error messages or the
  job store file.
* **Longest overrun s**: time faults only (``frozen``: the server processes the request and
  never answers; ``trickle``: the answer arrives one byte every 0.5 s; ``retry_later``:
  ``503`` with ``Retry-After: 30``). Job *i* meets the fault on its status poll (*i* mod 3 =
  0), its result download (1) or its billable submit (2), with ``result(timeout={timeout:g})``
  or ``submit_timeout={timeout:g}``, the default retry policy and real sleeps; the column is the
  longest such call's duration minus {timeout:g} s (negative: every call ended early). The goal
  is under 1 s beyond one connect timeout; connects to the local emulator are instant.
  OQC's final status poll already carries the results, so its result download makes no
  request.
* **hostile_counts**: every other job's results hold one shot more than asked (in each
  vendor's own result format); they must fail with ``MalformedResponseError``.
* **locked_store**: another process holds the job store's exclusive sqlite lock before the
  submit (job *i* mod 3 = 0: must fail with ``JobStoreError`` and send nothing), right after
  the vendor accepted the job (1: ``run()`` returns the job with a ``JobStoreWarning``, the id
  goes to the store's journal and is replayed) or while ``result()`` runs (2: results are
  still returned).
* **crash_during_submit** ({crash_jobs} jobs per vendor): a child process submits and is killed
  with SIGKILL while the server holds the billable request; this process then calls
  ``provider.retrieve_job(record_id)`` and reads the results. Reconciled with idempotent
  requests where the protocol allows (OQC, OQTOPUS, Qoro, Qilimanjaro); IQM cannot tell, so
  ``retrieve_job`` raises ``SubmissionUncertainError`` saying what to check, and the record
  stays ``SUBMITTING`` (counted as uncertain, not lost).

{totals}

{table}
"""


if __name__ == "__main__":
    raise SystemExit(main())
