"""Every vendor, every fault mode: jobs end cleanly, no duplicates, no lost ids, no secrets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from qiskit_multicloud.emulators import start

from .harness import FAULTS, SEED, TIME_FAULTS, VENDORS, captured_logs, run_cell

#: Requested timeout of the time-fault cells here (the benchmark uses harness.WAIT_TIMEOUT).
TIMEOUT = 0.3
#: Allowed overrun past TIMEOUT: connects to 127.0.0.1 are instant; scheduling slack on a
#: shared 2-core machine.
OVERRUN = 0.8


@pytest.mark.parametrize("vendor", VENDORS)
def test_fault_matrix(vendor: str, tmp_path: Path) -> None:
    with start(vendor, seed=SEED, noise=False) as emu:
        for fault in FAULTS:
            if fault == "crash_during_submit":
                continue  # child processes: covered by test_crash_recovery.py and the benchmark
            jobs = 3 if fault in TIME_FAULTS else 6
            cell = run_cell(emu, fault, tmp_path / f"{fault}.sqlite", jobs, TIMEOUT)
            where = f"{vendor}/{fault}"
            assert cell.raw_errors == [], f"{where}: non-qiskit_multicloud errors"
            assert cell.completed + cell.failed_clearly == cell.jobs, where
            assert cell.duplicates == 0, f"{where}: duplicate submissions"
            assert cell.lost == 0, f"{where}: jobs unknown to the job store"
            assert cell.leaked_secrets == [], f"{where}: secret in logs/store/messages"
            assert cell.saw_urllib3, f"{where}: urllib3 DEBUG logs were not captured"
            if fault in ("rate_limit", "latency"):
                assert cell.completed == cell.jobs, f"{where}: {cell.messages}"
            if fault in TIME_FAULTS:
                assert cell.overrun is not None and cell.overrun < OVERRUN, where
            if fault == "locked_store":  # locked before the submit: refused, nothing sent
                assert cell.errors["JobStoreError"] == 2 and cell.completed == 4, cell.messages
            if fault == "hostile_counts":
                assert cell.errors["MalformedResponseError"] == 3, f"{where}: {cell.messages}"
                assert cell.completed == 3, where


def test_log_capture_would_see_a_leak() -> None:
    with captured_logs() as logs:
        logging.getLogger("urllib3.connectionpool").debug("GET /x token=%s", "leaky-token")
    assert "leaky-token" in logs.getvalue()
