"""Submitting to a device its vendor reports offline is refused before any request, unless
``allow_offline=True``; emulator tokens never look like command-line options."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from qiskit import QuantumCircuit, transpile

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.emulators import app as emulator_app
from qiskit_multicloud.exceptions import CircuitValidationError, MultiCloudError

from ..conftest import FAST


def bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("vendor", "options", "device"),
    [
        ("oqc", {}, "qpu:jp:3"),  # the emulator's inactive QPU
        ("oqtopus", {"unavailable": ["anemone"]}, "anemone"),
        ("qilimanjaro", {"device_status": {"galadriel": "offline"}}, "galadriel"),
    ],
)
def test_offline_device_refused_before_any_request(
    emulator_factory: Any, vendor: str, options: dict[str, Any], device: str
) -> None:
    emulator = emulator_factory(vendor, options=options, queue_delay=60)
    with MultiCloudProvider({vendor: emulator.settings()}, vendors=[vendor]) as provider:
        backend = provider.get_backend(device)
        assert backend.online is False
        circuit = transpile(bell(), backend)
        before = emulator.app.stats.total
        with pytest.raises(CircuitValidationError, match=r"offline.*allow_offline=True"):
            backend.run(circuit, shots=10, **FAST)
        assert emulator.app.stats.total == before  # nothing was sent
        assert provider.jobs() == []  # and nothing recorded
        with contextlib.suppress(MultiCloudError):  # the vendor may refuse; it was asked
            backend.run(circuit, shots=10, allow_offline=True, **FAST)
        assert emulator.app.stats.total > before


def test_allow_offline_is_a_typed_option(emulator_factory: Any) -> None:
    emulator = emulator_factory("oqc")
    with MultiCloudProvider({"oqc": emulator.settings()}, vendors=["oqc"]) as provider:
        backend = provider.get_backend("qpu:uk:2")
        assert backend.options.allow_offline is False
        with pytest.raises(CircuitValidationError, match="allow_offline"):
            backend.run(transpile(bell(), backend), allow_offline="yes")


def test_emulator_tokens_never_start_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter(["-ykXdash", "Ok_token"])
    monkeypatch.setattr(emulator_app.secrets, "token_urlsafe", lambda n: next(drawn))
    assert emulator_app.EmulatorConfig().token == "Ok_token"
    monkeypatch.undo()
    assert not any(emulator_app.new_token().startswith("-") for _ in range(500))
