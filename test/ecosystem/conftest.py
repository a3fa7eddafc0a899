"""One QPU-like emulated device per vendor, shared by the ecosystem tests of a module.

The libraries under test (qiskit-experiments, qiskit-algorithms, qiskit-aer) come from the
``ecosystem`` extra; each module skips cleanly with ``pytest.importorskip`` when it is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qiskit_multicloud import MultiCloudBackend, MultiCloudProvider
from test.conftest import FAST

#: The QPU-like (not simulator) device used per vendor: the smallest online one.
VENDORS = ["oqc", "oqtopus", "iqm", "qoro", "qilimanjaro"]


@pytest.fixture(scope="module")
def qpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, MultiCloudBackend]]:
    """``vendor -> backend`` of one emulated QPU each (emulators stopped after the module)."""
    from qiskit_multicloud.emulators import start

    handles = [start(vendor, seed=11) for vendor in VENDORS]
    try:
        store: Path = tmp_path_factory.mktemp("eco") / "jobs.sqlite"
        provider = MultiCloudProvider(
            {h.vendor: h.settings() for h in handles}, vendors=VENDORS, job_store=store
        )
        found = {}
        for vendor in VENDORS:
            devices = [
                b
                for b in provider.backends(vendor=vendor)
                if b.online and not b.device.simulator
            ]
            backend = min(devices, key=lambda b: b.num_qubits)
            backend.set_options(**FAST)
            found[vendor] = backend
        yield found
    finally:
        for handle in handles:
            handle.stop()
