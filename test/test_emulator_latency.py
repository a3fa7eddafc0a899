"""The emulators' added latency as an option of ``emulators.start`` and ``emulate``."""

from __future__ import annotations

import pytest

from qiskit_multicloud import cli, emulators
from qiskit_multicloud.emulators import start
from qiskit_multicloud.emulators.faults import FaultConfig
from qiskit_multicloud.exceptions import ConfigurationError


def test_start_latency_sets_the_fault_latency_and_keeps_other_faults() -> None:
    with start("qoro", latency=0.25, faults=FaultConfig(error_rate=0.5)) as emu:
        assert emu.faults.config.latency == 0.25
        assert emu.faults.config.error_rate == 0.5
    with start("qoro") as emu:
        assert emu.faults.config.latency == 0.0


def test_start_refuses_negative_latency() -> None:
    with pytest.raises(ConfigurationError, match="latency must be >= 0"):
        start("qoro", latency=-1)


class _Started(Exception):
    pass


def test_emulate_passes_latency(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake_start(vendor: str, **kwargs: object) -> None:
        seen.update(kwargs, vendor=vendor)
        raise _Started

    monkeypatch.setattr(emulators, "start", fake_start)
    args = cli.build_parser().parse_args(["emulate", "iqm", "--latency", "0.05"])
    with pytest.raises(_Started):
        args.func(args)
    assert seen["vendor"] == "iqm" and seen["latency"] == 0.05
    assert cli.build_parser().parse_args(["emulate", "iqm"]).latency == 0.0
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["emulate", "iqm", "--latency", "-1"])
