"""The ``qiskit-multicloud`` command line, driven through ``cli.main`` and as a process."""

from __future__ import annotations

import argparse
import ast
import io
import logging
import os
import selectors
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from qiskit import QuantumCircuit, transpile
from qiskit.providers import JobStatus

from qiskit_multicloud import MultiCloudJob, MultiCloudProvider, MultiCloudWarning, cli
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
    assert lines[0].split() == ["vendor", "name", "qubits", "online", "queue", "aliases"]
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


def test_emulate_oqc_api_v4_is_reached_with_the_sdk_switch(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``emulate oqc --api v4`` serves the v4 gateway; OQC_QCAAS_V4=1 makes the CLI speak it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "qiskit_multicloud", "emulate", "oqc", "--api", "v4"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
    )
    assert process.stdout is not None
    try:
        line = process.stdout.readline()
        _, url, token = line.split()
        assert requests.get(f"{url}/healthz", timeout=10).status_code == 200
        monkeypatch.setenv("OQC_QCAAS_V4", "1")
        code, out, err = run_cli(capsys, "backends", "--emulator", f"oqc={url},{token}")
        assert code == 0, err
        assert "qpu:uk:3:9829a5504f" in out
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


# -- the parser explains itself -------------------------------------------------------------


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _all_parsers(
    parser: argparse.ArgumentParser, path: str = ""
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser reachable from ``parser`` (sub-subcommands like ``login iqm`` too)."""
    yield path, parser
    for name, sub in _subparsers(parser).items():
        yield from _all_parsers(sub, f"{path} {name}".strip())


def test_every_option_of_every_subcommand_has_help() -> None:
    parsers = dict(_all_parsers(cli.build_parser()))
    expected = {"demo", "emulate", "backends", "run", "jobs", "status", "cancel", "login",
                "login iqm", "accounts", "logout"}
    assert expected <= set(parsers)
    missing = [
        f"{name}: {action.dest}"
        for name, sub in parsers.items()
        for action in sub._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert missing == []
    for sub in parsers.values():
        text = sub.format_help()
        assert "``" not in text and ":class:" not in text and ":func:" not in text
        assert sub.description


def test_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "``" not in out and "--emulated" in out and "login" in out


@pytest.mark.parametrize(
    ("argv", "listed"),
    [
        (["jobs", "--status", "bogus"], "SUBMITTED"),
        (["jobs", "--vendor", "nope"], "qilimanjaro"),
        (["backends", "--vendor", "ibm"], "oqtopus"),
        (["emulate", "oqc", "--queue-delay", "-3"], "must be >= 0"),
        (["run", "x.qasm", "--backend", "b", "--shots", "0"], "must be > 0"),
        (["run", "x.qasm", "--backend", "b", "--timeout", "-1"], "must be > 0"),
    ],
    ids=["status", "vendor", "backends-vendor", "queue-delay", "shots", "timeout"],
)
def test_bad_option_values_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], listed: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and listed in err


def test_jobs_status_filter_is_case_insensitive(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "jobs", "--status", "done", "--vendor", "IQM")
    assert code == 0 and out == "" and "no jobs" in err


def test_backends_shows_aliases(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "backends", "--emulated", "--vendor", "qilimanjaro")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split()[-1] == "aliases"
    radagast = [row for row in rows if row.split()[1] == "radagast"]
    assert radagast and radagast[0].endswith("qilimanjaro_radagast")


class Terminal(io.StringIO):
    """A StringIO that says it is a terminal (so progress lines are drawn)."""

    def isatty(self) -> bool:
        return True


def test_contacting_line_on_a_terminal_only() -> None:
    terminal = Terminal()
    with cli.contacting(["oqc", "iqm"], terminal):
        assert terminal.getvalue() == "contacting oqc, iqm ..."
    assert terminal.getvalue().endswith("\r\033[K")
    quiet = io.StringIO()
    with cli.contacting(["oqc"], quiet):
        pass
    assert quiet.getvalue() == ""


def test_warning_erases_the_progress_line_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with cli.contacting(["oqc", "iqm"], terminal):
        cli.note("warning", "iqm skipped:\n no answer")
    assert terminal.getvalue() == (
        "contacting oqc, iqm ...\r\033[Kwarning: iqm skipped: no answer\n\r\033[K"
    )


def test_backends_prints_contacting_line_on_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code, out, _ = run_cli(capsys, "backends", "--emulated", "--vendor", "qoro")
    assert code == 0 and "qoro" in out
    assert "contacting qoro ..." in terminal.getvalue()


@pytest.fixture
def oqc_spec(emulator_factory: Any) -> str:
    emulator = emulator_factory("oqc", queue_delay=60)
    return f"oqc={emulator.url},{emulator.token}"


def test_run_timeout_names_the_status_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, oqc_spec: str
) -> None:
    path = tmp_path / "bell.qasm"
    path.write_text(QASM2)
    code, _, err = run_cli(
        capsys, "run", str(path), "--backend", "qpu:uk:2", "--timeout", "0.01",
        "--emulator", oqc_spec,
    )
    job_line, error = err.splitlines()
    job_id = job_line.split()[1]
    assert code == 1 and error.startswith("error: ")
    assert f"qiskit-multicloud status {job_id} --emulator" in error
    assert f"provider.retrieve_job('{job_id}')" in error and "keeps running" in error


def test_ctrl_c_during_run_says_how_to_follow_the_job(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    oqc_spec: str,
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(MultiCloudJob, "wait_for_final_state", interrupted)
    path = tmp_path / "bell.qasm"
    path.write_text(QASM2)
    code, out, err = run_cli(
        capsys, "run", str(path), "--backend", "qpu:uk:2", "--emulator", oqc_spec
    )
    job_id = err.split()[1]
    assert code == 130 and out == ""
    assert f"job {job_id} is still running" in err
    assert f"qiskit-multicloud status {job_id}" in err
    assert f"qiskit-multicloud cancel {job_id}" in err
    assert any(record.job_id == job_id for record in MultiCloudProvider().jobs())  # recorded


def test_library_warnings_are_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def noisy(args: argparse.Namespace) -> int:
        logging.getLogger("qiskit_multicloud.provider").warning("first\nsecond")
        logging.getLogger("qiskit_multicloud.provider").info("not shown")
        warnings.warn("watch out", MultiCloudWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(cli, "register", _register_with(noisy))
    code, _, err = run_cli(capsys, "noisy")
    assert code == 0
    assert err.splitlines() == ["warning: first second", "warning: watch out"]


def _register_with(handler: Any) -> Any:
    original = cli.register

    def register(commands: cli.Commands) -> None:
        original(commands)
        commands.add("noisy", handler, "test command")

    return register


@pytest.mark.parametrize("failure", ["auth", "network"])
def test_auth_and_network_failures_print_one_line(
    capsys: pytest.CaptureFixture[str], emulator_factory: Any, failure: str
) -> None:
    emulator = emulator_factory("oqc")
    spec = (
        f"oqc={emulator.url},wrong-token"
        if failure == "auth"
        else "oqc=http://127.0.0.1:1,some-token"
    )
    code, out, err = run_cli(capsys, "backends", "--emulator", spec)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: oqc: ")
    assert "wrong-token" not in err and "some-token" not in err


def test_one_failing_vendor_among_several_is_one_warning_line(
    capsys: pytest.CaptureFixture[str], emulator_factory: Any
) -> None:
    good, bad = emulator_factory("oqc"), emulator_factory("qoro")
    spec = f"oqc={good.url},{good.token};qoro={bad.url},wrong-token"
    code, out, err = run_cli(capsys, "backends", "--emulator", spec)
    assert code == 0 and "qpu:uk:2" in out and "qoro" not in out
    assert err.count("\n") == 1 and err.startswith("warning: qoro skipped: qoro: ")


def test_verbose_shows_library_info_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bell.qasm"
    path.write_text(QASM2)
    argv = ["run", str(path), "--backend", "qpu:uk:2", "--emulated", "--vendor", "oqc"]
    code, _, err = run_cli(capsys, "-v", *argv)
    assert code == 0 and "info: oqc: submitted job" in err
    code, _, err = run_cli(capsys, *argv)
    assert code == 0 and "info:" not in err
