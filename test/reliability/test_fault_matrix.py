"""Every vendor, every fault mode: jobs end cleanly, no duplicates, no lost ids, no secrets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from qiskit_multicloud.emulators import start

from .harness import FAULTS, SEED, VENDORS, captured_logs, run_cell


@pytest.mark.parametrize("vendor", VENDORS)
def test_fault_matrix(vendor: str, tmp_path: Path) -> None:
    with start(vendor, seed=SEED) as emu:
        for fault in FAULTS:
            cell = run_cell(emu, fault, tmp_path / f"{fault}.sqlite", n_jobs=6)
            where = f"{vendor}/{fault}"
            assert cell.raw_errors == [], f"{where}: non-qiskit_multicloud errors"
            assert cell.completed + cell.failed_clearly == cell.jobs, where
            assert cell.duplicates == 0, f"{where}: duplicate submissions"
            assert cell.lost == 0, f"{where}: jobs unknown to the job store"
            assert cell.leaked_secrets == [], f"{where}: secret in logs/store/messages"
            assert cell.saw_urllib3, f"{where}: urllib3 DEBUG logs were not captured"
            if fault in ("rate_limit", "latency"):
                assert cell.completed == cell.jobs, f"{where}: {cell.messages}"


def test_log_capture_would_see_a_leak() -> None:
    with captured_logs() as logs:
        logging.getLogger("urllib3.connectionpool").debug("GET /x?token=%s", "leaky-token")
    assert "leaky-token" in logs.getvalue()
