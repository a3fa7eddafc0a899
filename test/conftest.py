"""Shared test set-up: an isolated job store and no stray vendor credentials."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

VENDOR_ENV = (
    "OQC_URL",
    "OQC_TOKEN",
    "OQC_AUTH_TOKEN",
    "OQC_EMAIL",
    "OQC_PASSWORD",
    "OQC_QCAAS_V4",
    "OQC_ENTRA_ENABLED",
    "OQTOPUS_URL",
    "OQTOPUS_API_TOKEN",
    "OQTOPUS_PROXY",
    "OQTOPUS_ENV",
    "IQM_TOKEN",
    "IQM_TOKENS_FILE",
    "IQM_SERVER_URL",
    "IQM_URL",
    "IQM_QUANTUM_COMPUTER",
    "QORO_API_KEY",
    "QORO_URL",
    "QORO_BASE_URL",
    "QILIMANJARO_USERNAME",
    "QILIMANJARO_API_KEY",
    "QUANTUM_SERVICE_URL",
    "PUBLIC_API_URL",
)


@pytest.fixture(autouse=True)
def isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Every test gets an empty HOME, its own job store and cache, no vendor variables."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("QISKIT_MULTICLOUD_HOME", str(home / ".qiskit-multicloud"))
    # The on-disk cache (qiskit_multicloud.cache) lives in this test's HOME, never the user's.
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    for name in ("QISKIT_MULTICLOUD_CACHE_DIR", "QISKIT_MULTICLOUD_CACHE",
                 "QISKIT_MULTICLOUD_CACHE_TTL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for name in VENDOR_ENV:
        monkeypatch.delenv(name, raising=False)
    # Retry backoff is real behaviour but not worth real seconds in tests.
    monkeypatch.setattr(
        "qiskit_multicloud.transport.default_sleep", lambda s: time.sleep(min(s, 0.002))
    )
    yield


#: Run options that make polling instant in tests (no real sleeping).
FAST = {"poll_interval": 0.001, "max_poll_interval": 0.005}


@pytest.fixture
def emulator_factory() -> Iterator[object]:
    """``make(vendor, **EmulatorConfig fields)`` starts an emulator, stopped after the test.

    Noise is off unless asked for (``noise=True``): most tests assert exact outcomes.
    """
    from qiskit_multicloud.emulators import EmulatorHandle, start

    handles: list[EmulatorHandle] = []

    def make(vendor: str, **config: object) -> EmulatorHandle:
        config.setdefault("noise", False)
        handle = start(vendor, **config)  # type: ignore[arg-type]
        handles.append(handle)
        return handle

    yield make
    for handle in handles:
        handle.stop()
