"""pytest plugin: the local emulators as fixtures, so users can test Qiskit code offline.

Installed automatically with qiskit-multicloud (``pytest11`` entry point). Fixtures:

* ``emulated_provider`` - a :class:`~qiskit_multicloud.MultiCloudProvider` bound to all five
  emulators (one per test session);
* ``oqc_emulator``, ``oqtopus_emulator``, ``iqm_emulator``, ``qoro_emulator``,
  ``qilimanjaro_emulator`` - one running emulator each
  (:class:`~qiskit_multicloud.emulators.EmulatorHandle`: ``url``, ``token``, ``settings()``).

Needs the ``emulator`` extra.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def emulated_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A provider bound to freshly started emulators of every vendor."""
    from qiskit_multicloud import MultiCloudProvider

    store = tmp_path_factory.mktemp("multicloud") / "jobs.sqlite"
    with MultiCloudProvider.emulated(job_store=store) as provider:
        yield provider


def _emulator(vendor: str) -> Any:
    @pytest.fixture(scope="session")
    def fixture() -> Iterator[Any]:
        from qiskit_multicloud.emulators import start

        with start(vendor) as handle:
            yield handle

    fixture.__doc__ = f"A running {vendor} emulator (EmulatorHandle)."
    return fixture


oqc_emulator = _emulator("oqc")
oqtopus_emulator = _emulator("oqtopus")
iqm_emulator = _emulator("iqm")
qoro_emulator = _emulator("qoro")
qilimanjaro_emulator = _emulator("qilimanjaro")
