"""``qiskit-multicloud rank`` and ``compare`` against in-process emulators."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from qiskit_multicloud import cli
from qiskit_multicloud.cli_select import DeviceProgress
from qiskit_multicloud.selection import DeviceRun
from test.core.fakes import FakeAdapter, FakeBackend

GHZ = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
h q[0];
cx q[0], q[1];
cx q[1], q[2];
measure q -> c;
"""


@pytest.fixture
def ghz_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv(cli.EMULATORS_ENV, raising=False)
    path = tmp_path / "ghz.qasm"
    path.write_text(GHZ, encoding="utf-8")
    return str(path)


def test_rank_prints_the_best_devices(ghz_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["rank", ghz_file, "--emulated", "--vendors", "oqtopus,qilimanjaro",
                     "--top", "2", "--seed", "3"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["#", "backend", "estimate"]
    assert len(lines) == 3 and lines[1].startswith("1  ") and lines[2].startswith("2  ")
    assert "qoro" not in out and "qibo_simulator" not in out


def test_rank_rejects_unknown_vendors(ghz_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["rank", ghz_file, "--emulated", "--vendors", "oqc,nope"])
    assert stop.value.code == 2
    assert "unknown vendor nope" in capsys.readouterr().err


def test_compare_prints_a_table_progress_and_a_plot(
    ghz_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    plot = tmp_path / "out.png"
    code = cli.main(["compare", ghz_file, "--emulated", "--backends", "anemone,radagast,galadriel",
                     "--shots", "100", "--timeout", "0.2", "--poll-interval", "0.001",
                     "--allow-offline", "--plot", str(plot), "--noise", "off"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("ghz: 100 shots, fidelity vs ideal (statevector)")
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[2:5]}
    assert rows == {"oqtopus:anemone": "DONE", "qilimanjaro:radagast": "DONE",
                    "qilimanjaro:galadriel": "TIMEOUT"}
    # not a terminal: one progress line per status change, per device
    assert "oqtopus:anemone: SUBMITTING" in err
    assert "qilimanjaro:galadriel: TIMEOUT after" in err
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_compare_exits_1_when_no_device_returns_counts(
    ghz_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["compare", ghz_file, "--emulated", "--vendors", "qilimanjaro",
                     "--backends", "galadriel", "--shots", "10", "--timeout", "0.05",
                     "--poll-interval", "0.001", "--allow-offline"])
    assert code == 1
    assert "TIMEOUT" in capsys.readouterr().out


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_one_line_per_device_on_a_terminal() -> None:
    adapter = FakeAdapter()
    stream = FakeTerminal()
    progress = DeviceProgress(stream, tick=60)
    first = DeviceRun(FakeBackend(adapter, adapter.devices[0]), None, None, status="SUBMITTING")
    progress(first)
    first.status, first.submitted_at = "QUEUED", time.monotonic()
    progress(first)
    text = stream.getvalue()
    assert text.count("\033[1F") == 1  # moved up over the one line drawn before
    assert text.rstrip().endswith("QUEUED, 0.0s")
