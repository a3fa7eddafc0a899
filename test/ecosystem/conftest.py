"""One QPU-like emulated device per vendor, shared by the ecosystem tests of a module.

The libraries under test (qiskit-experiments, qiskit-algorithms, mthree) come from the
``ecosystem`` extra; each module skips cleanly with ``pytest.importorskip`` when it is absent.
The emulators run with their defaults, so the QPUs are noisy wherever the emulators simulate
the published calibration; assertions hold with and without that noise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from qiskit_multicloud import MultiCloudBackend, MultiCloudProvider
from test.conftest import FAST

VENDORS = ["oqc", "oqtopus", "iqm", "qoro", "qilimanjaro"]


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, Any]]:
    """``vendor -> EmulatorHandle``, all five, stopped after the module."""
    from qiskit_multicloud.emulators import start

    handles = {vendor: start(vendor, seed=11) for vendor in VENDORS}
    try:
        yield handles
    finally:
        for handle in handles.values():
            handle.stop()


@pytest.fixture(scope="module")
def qpus(
    emulators: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, MultiCloudBackend]:
    """``vendor -> backend`` of the smallest online QPU-like (not simulator) device."""
    provider = MultiCloudProvider(
        {vendor: handle.settings() for vendor, handle in emulators.items()},
        vendors=VENDORS,
        job_store=tmp_path_factory.mktemp("eco") / "jobs.sqlite",
    )
    found = {}
    for vendor in VENDORS:
        devices = [
            b for b in provider.backends(vendor=vendor) if b.online and not b.device.simulator
        ]
        backend = min(devices, key=lambda b: b.num_qubits)
        backend.set_options(**FAST)
        found[vendor] = backend
    return found


@pytest.fixture(scope="module")
def noisy(emulators: dict[str, Any]) -> dict[str, bool]:
    """Whether each vendor's emulator simulates its devices' published noise."""
    return {v: bool(getattr(h.app.config, "noise", False)) for v, h in emulators.items()}
