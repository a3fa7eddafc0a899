"""pytest plugin: the local emulators as fixtures, so users can test Qiskit code offline.

Installed automatically with qiskit-multicloud (``pytest11`` entry point). Fixtures:

* ``emulated_provider`` - a :class:`~qiskit_multicloud.MultiCloudProvider` bound to all five
  emulators (one per test session);
* ``oqc_emulator``, ``oqtopus_emulator``, ``iqm_emulator``, ``qoro_emulator``,
  ``qilimanjaro_emulator`` - one running emulator each
  (:class:`~qiskit_multicloud.emulators.EmulatorHandle`: ``url``, ``token``, ``settings()``).

The emulated QPUs simulate the noise their calibration publishes. For exact results
(e.g. a Bell circuit giving only ``00`` and ``11``) turn it off with ``pytest
--emulator-noise=off`` or ``emulator_noise = off`` in the pytest ini options.

Needs the ``emulator`` extra.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--emulator-noise on|off`` and the ``emulator_noise`` ini option."""
    parser.getgroup("qiskit-multicloud").addoption(
        "--emulator-noise",
        choices=("on", "off"),
        default=None,
        help="emulated QPUs simulate their published noise (default: the ini option, 'on')",
    )
    parser.addini(
        "emulator_noise", "emulated QPUs simulate their published noise (on/off)", default="on"
    )


def _noise(config: pytest.Config) -> bool:
    value = config.getoption("emulator_noise") or config.getini("emulator_noise")
    return str(value).strip().lower() != "off"


@pytest.fixture(scope="session")
def emulated_provider(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[Any]:
    """A provider bound to freshly started emulators of every vendor."""
    from qiskit_multicloud import MultiCloudProvider

    store = tmp_path_factory.mktemp("multicloud") / "jobs.sqlite"
    with MultiCloudProvider.emulated(job_store=store, noise=_noise(pytestconfig)) as provider:
        yield provider


def _emulator(vendor: str) -> Any:
    @pytest.fixture(scope="session")
    def fixture(pytestconfig: pytest.Config) -> Iterator[Any]:
        from qiskit_multicloud.emulators import start

        with start(vendor, noise=_noise(pytestconfig)) as handle:
            yield handle

    fixture.__doc__ = f"A running {vendor} emulator (EmulatorHandle)."
    return fixture


oqc_emulator = _emulator("oqc")
oqtopus_emulator = _emulator("oqtopus")
iqm_emulator = _emulator("iqm")
qoro_emulator = _emulator("qoro")
qilimanjaro_emulator = _emulator("qilimanjaro")
