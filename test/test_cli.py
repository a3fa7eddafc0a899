"""The ``qiskit-multicloud`` command line, driven through ``cli.main`` and as a process."""

from __future__ import annotations

import ast
import io
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.providers import JobStatus

from qiskit_multicloud import MultiCloudProvider, cli
from qiskit_multicloud.emulators import settings_for

QASM2 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
"""

QASM3 = """OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
bit[3] c;
h q[0];
cx q[0], q[1];
cx q[1], q[2];
c = measure q;
"""


@pytest.fixture(autouse=True)
def no_emulator_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their emulators explicitly."""
    monkeypatch.delenv(cli.EMULATORS_ENV, raising=False)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``cli.main(argv)`` and what it printed."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def counts_line(out: str) -> dict[str, int]:
    """The counts dict ``run`` prints on its first line."""
    first = out.splitlines()[0]
    parsed = ast.literal_eval(first)
    assert isinstance(parsed, dict)
    return parsed


@pytest.mark.parametrize(
    ("source", "outcomes"), [(QASM2, {"00", "11"}), (QASM3, {"000", "111"})], ids=["qasm2", "qasm3"]
)
def test_run_qasm_file_on_emulated_oqc(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, source: str, outcomes: set[str]
) -> None:
    path = tmp_path / "circuit.qasm"
    path.write_text(source, encoding="utf-8")
    code, out, err = run_cli(
        capsys,
        "run",
        str(path),
        "--backend",
        "qpu:uk:2",
        "--shots",
        "200",
        "--emulated",
        "--vendor",
        "oqc",
    )
    assert code == 0, err
    counts = counts_line(out)
    assert set(counts) <= outcomes and sum(counts.values()) == 200
    histogram = out.splitlines()[1:]
    assert len(histogram) == len(counts)
    assert all("|" in line and "#" in line and "%" in line for line in histogram)
    assert "job " in err and "oqc:qpu:uk:2" in err
    assert "\r" not in err  # stderr is not a terminal: no progress line


def test_backends_emulated_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "backends", "--emulated", "--vendor", "oqc")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["vendor", "name", "qubits", "online", "queue"]
    rows = [line.split() for line in lines[1:]]
    assert rows and all(row[0] == "oqc" for row in rows)
    assert any(row[1].startswith("qpu:uk:2") and row[3] in ("yes", "no") for row in rows)


def test_demo_one_vendor(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "demo", "--vendor", "qoro", "--shots", "50")
    assert code == 0
    assert out.startswith("qoro") and "'00'" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "does-not-exist.qasm", "--backend", "x", "--emulated", "--vendor", "oqc"],
        ["status", "no-such-job", "--emulator", "oqc=not-a-spec"],
        ["status", "no-such-job", "--emulator", "nosuchvendor=http://127.0.0.1:1,token"],
        ["backends"],  # no credentials anywhere
        ["jobs", "--limit", "1"],  # not an error: empty store, note on stderr
    ],
    ids=["missing-file", "bad-spec", "bad-vendor", "no-credentials", "empty-jobs"],
)
def test_errors_are_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert err.count("\n") == 1 and "Traceback" not in err
    if argv[0] == "jobs":
        assert code == 0 and out == "" and "no jobs" in err
    else:
        assert code == 1 and err.startswith("error: ")


def test_bad_qasm_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.qasm"
    path.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nfoo q[0];\n')
    code, _, err = run_cli(
        capsys, "run", str(path), "--backend", "x", "--emulated", "--vendor", "oqc"
    )
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1
    assert "foo" in err


def test_unknown_backend_lists_candidates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bell.qasm"
    path.write_text(QASM2)
    code, _, err = run_cli(
        capsys, "run", str(path), "--backend", "qpu:uk:9", "--emulated", "--vendor", "oqc"
    )
    assert code == 1 and "qpu:uk" in err and err.count("\n") == 1


def test_parse_emulators_accepts_both_forms() -> None:
    parsed = cli.parse_emulators(
        [
            "oqc=http://127.0.0.1:1234,tok1",
            "iqm http://127.0.0.1:5678 tok2;qoro=http://127.0.0.1:9,t",
        ]
    )
    assert sorted(parsed) == ["iqm", "oqc", "qoro"]
    assert parsed["oqc"].url.startswith("http://127.0.0.1:1234")
    assert "tok1" not in repr(parsed["oqc"])


def test_histogram_and_progress() -> None:
    text = cli.histogram({"11": 25, "00": 75}, width=8)
    assert text.splitlines() == ["00 | ######## 75 (75.0%)", "11 | ### 25 (25.0%)"]
    assert cli.histogram({}) == "(no counts)"

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    class FakeJob:
        queue_position = 3

    quiet = io.StringIO()
    cli.Progress(quiet)("job-1", JobStatus.QUEUED, FakeJob())  # type: ignore[arg-type]
    assert quiet.getvalue() == ""
    terminal = Terminal()
    progress = cli.Progress(terminal)
    progress("job-1", JobStatus.QUEUED, FakeJob())  # type: ignore[arg-type]
    progress("job-1", JobStatus.DONE, FakeJob())  # type: ignore[arg-type]
    shown = terminal.getvalue()
    assert "\rjob-1: QUEUED, queue position 3, " in shown and shown.endswith("\n")
    assert "s   " in shown  # elapsed seconds


# -- emulate in another process -------------------------------------------------------------


@pytest.fixture(scope="module")
def emulate_process() -> Iterator[tuple[str, str]]:
    """``python -m qiskit_multicloud emulate oqc --port 0`` as a real process; (url, token)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qiskit_multicloud",
            "emulate",
            "oqc",
            "--port",
            "0",
            "--queue-delay",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
    )
    assert process.stdout is not None
    try:
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        line = ""
        while not line and time.monotonic() < deadline:
            if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                line = process.stdout.readline()
                break
        assert line, "emulate printed nothing"
        vendor, url, token = line.split()
        assert vendor == "oqc" and url.startswith("http://127.0.0.1:") and token
        yield url, token
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_emulate_subprocess_serves_and_cli_reaches_it(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    emulate_process: tuple[str, str],
) -> None:
    url, token = emulate_process
    spec = f"oqc={url},{token}"
    code, out, err = run_cli(capsys, "backends", "--emulator", spec)
    assert code == 0, err
    assert "qpu:uk:2" in out and "iqm" not in out

    # Submit through the Python API (recorded in the shared job store), then let the CLI
    # find the job, as a second process would.
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    with MultiCloudProvider({"oqc": settings_for("oqc", url, token)}, vendors=["oqc"]) as p:
        backend = p.get_backend("qpu:uk:2")
        job_id = backend.run(transpile(circuit, backend), shots=10).job_id()

    code, out, _ = run_cli(capsys, "jobs")
    assert code == 0 and job_id in out and "oqc" in out

    code, out, err = run_cli(capsys, "status", job_id, "--emulator", spec)
    assert code == 0, err
    assert out.startswith("QUEUED")

    monkeypatch.setenv(cli.EMULATORS_ENV, f"oqc {url} {token}")  # emulate's own line works too
    code, out, err = run_cli(capsys, "cancel", job_id)
    assert code == 0, err
    assert out.strip() == "CANCELLED"
    code, out, _ = run_cli(capsys, "cancel", job_id)
    assert code == 0 and "already final" in out

    monkeypatch.delenv(cli.EMULATORS_ENV)
    code, _, err = run_cli(capsys, "status", job_id)  # no credentials for oqc now
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1
