"""Every fault kind on every emulator, over real HTTP, set every supported way."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from qiskit_multicloud.deadline import bounded
from qiskit_multicloud.emulators import start
from qiskit_multicloud.emulators.faults import FAULT_KINDS, FaultConfig, FaultInjector
from qiskit_multicloud.exceptions import DeadlineExceededError, VendorConnectionError
from qiskit_multicloud.transport import NO_RETRY, Transport
from qiskit_multicloud.vendors import plugin

from .harness import VENDORS

#: An authenticated GET of each vendor, relative to the adapter's base URL.
PROBES = {
    "oqc": "/admin/qpu",
    "oqtopus": "/devices",
    "iqm": "/api/v1/quantum-computers",
    "qoro": "qpusystem/",
    "qilimanjaro": "devices",
}


def _transport(emu: Any) -> Transport:
    adapter = plugin(emu.vendor).adapter.from_settings(emu.settings())
    transport: Transport = adapter.transport
    transport.retry = NO_RETRY
    if emu.vendor == "qilimanjaro":
        transport.json("GET", PROBES["qilimanjaro"])  # log in before faults start
    return transport


def _get(transport: Transport, vendor: str) -> requests.Response:
    return transport.request("GET", PROBES[vendor], ok=range(100, 600))


@pytest.fixture(scope="module", params=VENDORS)
def emu(request: pytest.FixtureRequest) -> Any:
    handle = start(request.param, faults=FaultConfig(latency_spike=0.05))
    yield handle
    handle.stop()


def test_every_forced_kind_over_http(emu: Any) -> None:
    transport = _transport(emu)
    vendor = emu.vendor
    assert _get(transport, vendor).status_code == 200

    emu.faults.force("error")
    assert _get(transport, vendor).status_code in (500, 502, 503)

    emu.faults.force("rate_limit")
    limited = _get(transport, vendor)
    assert limited.status_code == 429
    assert float(limited.headers["Retry-After"]) == pytest.approx(0.01)

    emu.faults.force("expired_token")
    expired = _get(transport, vendor)
    assert expired.status_code == 401 and "expired" in expired.text.lower()

    emu.faults.force("malformed")
    garbled = _get(transport, vendor)
    assert garbled.status_code == 200
    with pytest.raises(ValueError):
        json.loads(garbled.content)

    created = emu.jobs.created_count
    emu.faults.force("drop_after")
    with pytest.raises(VendorConnectionError):
        _get(transport, vendor)
    assert emu.jobs.created_count == created

    emu.faults.force("latency")
    began = time.perf_counter()
    assert _get(transport, vendor).status_code == 200
    assert time.perf_counter() - began >= 0.05

    emu.faults.configure(FaultConfig(latency_spike=0.05, trickle_interval=0.2, hold_limit=5))
    emu.faults.force("frozen")
    began = time.perf_counter()
    with bounded(0.2), pytest.raises(DeadlineExceededError):
        _get(transport, vendor)
    emu.faults.force("trickle")
    with bounded(0.2), pytest.raises(DeadlineExceededError):
        _get(transport, vendor)
    assert time.perf_counter() - began < 2.0
    emu.faults.force("retry_later")
    later = _get(transport, vendor)
    assert later.status_code == 503 and later.headers["Retry-After"] == "30"
    emu.faults.force("hostile_counts")
    assert _get(transport, vendor).status_code == 200
    emu.faults.release()

    fired = emu.faults.fired
    assert all(fired[kind] >= 1 for kind in FAULT_KINDS)
    assert _get(transport, vendor).status_code == 200  # forced faults are used up


def test_admin_routes_set_rates_and_forced_faults(emu: Any) -> None:
    transport = _transport(emu)
    admin = f"{emu.url}/_emulator"
    answer = requests.post(f"{admin}/faults", json={"error_rate": 1.0, "seed": 3}, timeout=5)
    assert answer.json()["faults"]["error_rate"] == 1.0
    assert _get(transport, emu.vendor).status_code >= 500
    requests.post(f"{admin}/faults", json={}, timeout=5)  # back to no faults
    assert _get(transport, emu.vendor).status_code == 200
    requests.post(
        f"{admin}/faults", json={"force": [{"kind": "rate_limit", "method": "GET"}]}, timeout=5
    )
    assert _get(transport, emu.vendor).status_code == 429
    assert _get(transport, emu.vendor).status_code == 200
    bad = requests.post(f"{admin}/faults", json={"force": [{"kind": "nope"}]}, timeout=5)
    assert bad.status_code == 400
    stats = requests.get(f"{admin}/stats", timeout=5).json()
    assert stats["faults_fired"]["rate_limit"] >= 1
    assert stats["requests"]["total"] >= 4
    assert "jobs_created" in stats


def test_python_handle_configures_rates(emu: Any) -> None:
    transport = _transport(emu)
    emu.faults.configure(FaultConfig(rate_limit_rate=1.0, methods=("POST",)))
    assert _get(transport, emu.vendor).status_code == 200  # GET not eligible
    emu.faults.configure(FaultConfig(rate_limit_rate=1.0))
    assert _get(transport, emu.vendor).status_code == 429
    emu.faults.clear()
    assert _get(transport, emu.vendor).status_code == 200


def test_start_option_sets_faults() -> None:
    faults = FaultConfig(error_rate=1.0, error_statuses=(502,))
    with start("qoro", noise=False, faults=faults) as emu:
        transport = _transport(emu)
        assert _get(transport, "qoro").status_code == 502


def test_seeded_rates_are_reproducible() -> None:
    def draws() -> list[str | None]:
        injector = FaultInjector(FaultConfig(error_rate=0.2, drop_rate=0.2, seed=11))
        return [injector.draw("GET", "/x") for _ in range(50)]

    assert draws() == draws()
    assert {"error", "drop_after", None} <= set(draws())


def test_unknown_forced_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultInjector().force("boom")  # type: ignore[arg-type]
