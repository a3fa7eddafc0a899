"""``qiskit-multicloud backends`` repeated: answered from the cache without Qiskit, and only
while the configuration (options, environment, files) is the same; lazy package imports."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from qiskit.providers import JobStatus

import qiskit_multicloud
from qiskit_multicloud import cli, cli_cache, jobstore

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_emulator_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cli.EMULATORS_ENV, raising=False)


def backends(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli.main(["backends", *argv]) == 0
    out, _ = capsys.readouterr()
    return out


def requests(emu: Any) -> int:
    return int(emu.stats.snapshot()["total"])


def test_repeat_is_answered_from_the_cache(
    capsys: pytest.CaptureFixture[str], emulator_factory: Any
) -> None:
    qoro, iqm = emulator_factory("qoro"), emulator_factory("iqm")
    specs = ("--emulator", f"qoro={qoro.url},{qoro.token}",
             "--emulator", f"iqm={iqm.url},{iqm.token}")
    first = backends(capsys, *specs)
    sent = requests(qoro), requests(iqm)
    assert "emerald-20" in first and "qoro_maestro" in first
    assert backends(capsys, *specs) == first
    assert (requests(qoro), requests(iqm)) == sent  # nothing asked
    assert backends(capsys, *specs, "--refresh") == first
    assert requests(qoro) > sent[0] and requests(iqm) > sent[1]
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "qiskit-multicloud"
    stored = [p.read_bytes() for p in cache.iterdir()]
    assert any(p.name.startswith("cli-") for p in cache.iterdir())
    assert all(qoro.token.encode() not in b and iqm.token.encode() not in b for b in stored)


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """True per ``main`` call answered from the cache, False per full run."""
    found: list[bool] = []
    real = cli_cache.cached_rows

    def spy(argv: Any) -> Any:
        rows = real(argv)
        found.append(rows is not None)
        return rows

    monkeypatch.setattr(cli_cache, "cached_rows", spy)
    return found


def test_other_options_environment_or_files_take_the_full_path(
    capsys: pytest.CaptureFixture[str], emulator_factory: Any,
    monkeypatch: pytest.MonkeyPatch, answered: list[bool],
) -> None:
    qoro = emulator_factory("qoro")
    spec = f"qoro={qoro.url},{qoro.token}"
    backends(capsys, "--emulator", spec)
    backends(capsys, f"--emulator={spec}")  # same options, other spelling
    backends(capsys, "--emulator", spec, "--vendor", "qoro")  # other options
    monkeypatch.setenv("SOME_UNRELATED_SETTING", "1")  # another environment
    backends(capsys, "--emulator", spec)
    backends(capsys, "--emulator", spec)
    (Path(os.environ["HOME"]) / ".oqtopus").write_text("[default]\n")  # a vendor file
    backends(capsys, "--emulator", spec)
    monkeypatch.chdir(Path(os.environ["HOME"]))  # another working directory
    backends(capsys, "--emulator", spec)
    monkeypatch.setenv("QISKIT_MULTICLOUD_CACHE", "off")
    backends(capsys, "--emulator", spec)
    backends(capsys, "--emulator", spec)
    assert answered == [False, True, False, False, True, False, False, False, False]


def test_a_failed_vendor_is_never_answered_from_the_cache(
    capsys: pytest.CaptureFixture[str], emulator_factory: Any, answered: list[bool]
) -> None:
    qoro = emulator_factory("qoro")
    specs = ("--emulator", f"qoro={qoro.url},{qoro.token}",
             "--emulator", "oqc=http://127.0.0.1:9,token")  # nothing listens there
    for _ in range(2):
        assert cli.main(["backends", *specs, "--discovery-timeout", "2"]) == 0
        out, err = capsys.readouterr()
        assert "qoro_maestro" in out and "warning: oqc skipped" in err
    assert answered == [False, False]


def test_options_parsing() -> None:
    assert cli_cache.options_from_argv(["backends"]) == cli_cache.options(None, [], [])
    assert cli_cache.options_from_argv(
        ["backends", "--vendor=IQM", "--account", "iqm=lab", "--discovery-timeout", "3"]
    ) == cli_cache.options("iqm", [], ["iqm=lab"])
    for argv in (["run"], ["backends", "--emulated"], ["backends", "--refresh"],
                 ["backends", "-h"], ["backends", "--vend", "oqc"], ["backends", "--vendor"]):
        assert cli_cache.options_from_argv(argv) is None


def test_warm_backends_in_a_new_process_imports_no_qiskit(
    emulator_factory: Any, tmp_path: Path
) -> None:
    qoro = emulator_factory("qoro")
    script = textwrap.dedent(f"""
        import sys
        from qiskit_multicloud.cli import main
        code = main(["backends", "--emulator", "qoro={qoro.url},{qoro.token}"])
        print("QISKIT" if "qiskit" in sys.modules else "NO-QISKIT", code, file=sys.stderr)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env=env, timeout=120, check=True) for _ in range(2)]
    assert runs[0].stderr.split()[-2:] == ["QISKIT", "0"]
    assert runs[1].stderr.split()[-2:] == ["NO-QISKIT", "0"]
    assert runs[0].stdout == runs[1].stdout and "qoro_maestro" in runs[1].stdout


def test_import_is_lazy_and_public_names_resolve() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, qiskit_multicloud; print('qiskit' in sys.modules)"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60, check=True,
    )
    assert done.stdout.strip() == "False"
    assert set(qiskit_multicloud.__all__) == {*qiskit_multicloud._LAZY, "__version__"}
    for name in qiskit_multicloud.__all__:
        assert getattr(qiskit_multicloud, name) is not None
    assert qiskit_multicloud.emulators.start is not None  # submodules too
    with pytest.raises(AttributeError):
        qiskit_multicloud.no_such_name  # noqa: B018


def test_record_statuses_spelled_out_agree() -> None:
    expected = (
        jobstore.SUBMITTING, jobstore.SUBMITTED, jobstore.UNCERTAIN, jobstore.SUBMIT_FAILED,
        JobStatus.DONE.name, JobStatus.ERROR.name, JobStatus.CANCELLED.name,
    )
    assert expected == cli.RECORD_STATUSES


def test_a_symlinked_cache_dir_warns_once_per_command(
    capsys: pytest.CaptureFixture[str], emulator_factory: Any, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    qoro = emulator_factory("qoro")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.setenv("QISKIT_MULTICLOUD_CACHE_DIR", str(tmp_path / "link"))
    for _ in range(2):
        assert cli.main(["backends", "--emulator", f"qoro={qoro.url},{qoro.token}"]) == 0
        out, err = capsys.readouterr()
        assert "qoro_maestro" in out
        assert err.count("symbolic link") == 1 and err.startswith("warning: ")
    assert list((tmp_path / "real").iterdir()) == []
