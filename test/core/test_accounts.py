"""Saved accounts: the private file, named and default accounts, resolution order, CLI."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from qiskit import QuantumCircuit

from qiskit_multicloud import MultiCloudProvider, accounts, cli
from qiskit_multicloud.exceptions import ConfigurationError
from qiskit_multicloud.vendors import resolve_settings

from ..conftest import FAST


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# -- the file -------------------------------------------------------------------------------


def test_save_list_delete_round_trip() -> None:
    saved = MultiCloudProvider.save_account("iqm", url="https://lab1.example", token="tok-1")
    assert saved.name == "default" and saved.default
    assert saved.settings == {"token": "***", "url": "https://lab1.example"}
    listed = MultiCloudProvider.saved_accounts()
    assert listed == [saved]
    assert "tok-1" not in repr(listed) and "tok-1" not in str(listed)
    assert MultiCloudProvider.delete_account("iqm") is True
    assert MultiCloudProvider.saved_accounts() == []
    assert MultiCloudProvider.delete_account("iqm") is False


def test_file_is_private_and_atomically_replaced() -> None:
    MultiCloudProvider.save_account("qoro", api_key="key-1")
    path = accounts.accounts_path()
    assert path == Path(os.environ["QISKIT_MULTICLOUD_HOME"]) / "accounts.json"
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    inode = os.stat(path).st_ino
    MultiCloudProvider.save_account("qoro", name="second", api_key="key-2")
    assert os.stat(path).st_ino != inode  # a new file renamed over the old one
    assert mode(path) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    data = json.loads(path.read_text())
    assert data["vendors"]["qoro"]["accounts"]["second"] == {"api_key": "key-2"}


def test_xdg_location_without_home_override(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("QISKIT_MULTICLOUD_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert accounts.accounts_path() == tmp_path / "xdg" / "qiskit-multicloud" / "accounts.json"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    expected = Path(os.environ["HOME"]) / ".config" / "qiskit-multicloud" / "accounts.json"
    assert accounts.accounts_path() == expected


def test_symlinked_file_is_refused(tmp_path: Path) -> None:
    path = accounts.accounts_path()
    path.parent.mkdir(mode=0o700, parents=True)
    target = tmp_path / "elsewhere.json"
    target.write_text('{"vendors": {}}')
    target.chmod(0o600)
    path.symlink_to(target)
    with pytest.raises(ConfigurationError, match="symbolic link"):
        MultiCloudProvider.saved_accounts()
    with pytest.raises(ConfigurationError, match="symbolic link"):
        MultiCloudProvider.save_account("qoro", api_key="key-1")
    assert target.read_text() == '{"vendors": {}}'


def test_file_readable_by_others_is_refused() -> None:
    MultiCloudProvider.save_account("qoro", api_key="key-1")
    path = accounts.accounts_path()
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        MultiCloudProvider.saved_accounts()


def test_corrupt_file_is_a_clear_error() -> None:
    path = accounts.accounts_path()
    path.parent.mkdir(mode=0o700, parents=True)
    path.write_text("{not json")
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        MultiCloudProvider.saved_accounts()


def test_overwrite_and_validation() -> None:
    MultiCloudProvider.save_account("oqc", url="https://oqc.example", token="tok-1")
    with pytest.raises(ConfigurationError, match="overwrite=True"):
        MultiCloudProvider.save_account("oqc", token="tok-2")
    MultiCloudProvider.save_account("oqc", token="tok-2", overwrite=True)
    assert accounts.load_account("oqc") == {"name": "default", "values": {"token": "tok-2"}}
    with pytest.raises(ConfigurationError, match="unknown vendor 'ibm'"):
        MultiCloudProvider.save_account("ibm", token="x")
    with pytest.raises(ConfigurationError, match="unknown setting"):
        MultiCloudProvider.save_account("oqc", name="x", token="t", colour="red")
    with pytest.raises(ConfigurationError, match="not an http") as info:
        MultiCloudProvider.save_account("oqc", name="x", url="garbage", token="secret-777")
    assert "secret-777" not in str(info.value)
    with pytest.raises(ConfigurationError, match="nothing to save"):
        MultiCloudProvider.save_account("oqc", name="x")


# -- named accounts, defaults and resolution order ----------------------------------------


def test_named_accounts_and_default() -> None:
    MultiCloudProvider.save_account("iqm", name="lab1", url="https://lab1.example", token="t1")
    MultiCloudProvider.save_account("iqm", name="lab2", url="https://lab2.example", token="t2")
    listed = {a.name: a.default for a in MultiCloudProvider.saved_accounts("iqm")}
    assert listed == {"lab1": True, "lab2": False}  # the first saved is the default

    default = resolve_settings("iqm", None)
    assert default is not None and default.url == "https://lab1.example"
    assert default.source == "saved account iqm:lab1"
    chosen = MultiCloudProvider(accounts={"iqm": "lab2"}).adapters["iqm"].settings
    assert chosen.url == "https://lab2.example"

    MultiCloudProvider.save_account(
        "iqm", name="lab2", url="https://lab2.example", token="t2", overwrite=True,
        set_as_default=True,
    )
    assert [a.name for a in MultiCloudProvider.saved_accounts("iqm") if a.default] == ["lab2"]

    with pytest.raises(ConfigurationError, match="no saved iqm account named 'lab9'"):
        resolve_settings("iqm", None, "lab9")
    with pytest.raises(ConfigurationError, match="only one"):
        resolve_settings("iqm", {"url": "https://x.example"}, "lab1")

    MultiCloudProvider.delete_account("iqm", "lab2")  # the default: none is left
    assert resolve_settings("iqm", None) is None
    assert resolve_settings("iqm", None, "lab1") is not None


def test_order_explicit_environment_saved_files(monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path(os.environ["HOME"])
    (home / ".oqtopus").write_text(
        "[default]\nurl = https://file.example\napi_token = from-file\n"
    )
    assert resolve_settings("oqtopus", None).url == "https://file.example"  # type: ignore[union-attr]

    MultiCloudProvider.save_account("oqtopus", url="https://saved.example", api_token="s")
    found = resolve_settings("oqtopus", None)
    assert found is not None and found.url == "https://saved.example"  # saved > files

    monkeypatch.setenv("OQTOPUS_URL", "https://env.example")
    monkeypatch.setenv("OQTOPUS_API_TOKEN", "from-env")
    found = resolve_settings("oqtopus", None)
    assert found is not None and found.url == "https://env.example"  # environment > saved

    found = resolve_settings("oqtopus", {"url": "https://arg.example", "api_token": "a"})
    assert found is not None and found.url == "https://arg.example"  # arguments > all
    found = resolve_settings("oqtopus", None, "default")
    assert found is not None and found.url == "https://saved.example"  # named: as explicit


def test_saved_account_reaches_the_emulator(emulator_factory: Any) -> None:
    emulator = emulator_factory("oqc")
    MultiCloudProvider.save_account("oqc", url=emulator.settings().url, token=emulator.token)
    circuit = QuantumCircuit(1, 1)
    circuit.x(0)
    circuit.measure(0, 0)
    with MultiCloudProvider(vendors=["oqc"]) as provider:
        backend = provider.get_backend("qpu:uk:2")
        assert backend.adapter.settings.source == "saved account oqc:default"
        counts = backend.run(circuit, shots=20, **FAST).result().get_counts()
    assert counts == {"1": 20}
    assert emulator.token not in repr(provider) and emulator.token not in repr(backend.adapter)


# -- command line ---------------------------------------------------------------------------


def test_cli_login_from_stdin_list_and_logout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("lab-secret-1\n"))
    code = cli.main(
        ["login", "iqm", "--name", "lab1", "--url", "https://lab1.example", "--token-stdin"]
    )
    _, err = capsys.readouterr()
    assert code == 0 and "saved iqm account 'lab1' (default)" in err
    assert "lab-secret-1" not in err

    code = cli.main(["accounts"])
    out, _ = capsys.readouterr()
    assert code == 0 and "lab-secret-1" not in out
    header, row = out.splitlines()
    assert header.split() == ["vendor", "name", "default", "settings"]
    assert row.split()[:3] == ["iqm", "lab1", "yes"] and "token=***" in row

    code = cli.main(["logout", "iqm", "--name", "nope"])
    _, err = capsys.readouterr()
    assert code == 1 and err.startswith("error: no saved iqm account named 'nope'")
    assert cli.main(["logout", "iqm", "--name", "lab1"]) == 0
    assert MultiCloudProvider.saved_accounts() == []


def test_cli_login_asks_without_echo(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "pw-secret"

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    assert cli.main(["login", "oqc", "--email", "me@example.com"]) == 0
    assert prompts == ["oqc password (input hidden; Enter for none): "]
    assert accounts.load_account("oqc") == {
        "name": "default",
        "values": {"email": "me@example.com", "password": "pw-secret"},
    }
    assert cli.main(["login", "qoro", "--name", "q"]) == 0
    assert prompts[-1].startswith("qoro api_key ")
    capsys.readouterr()


def test_cli_login_without_terminal_needs_token_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert cli.main(["login", "qoro"]) == 1
    assert "--token-stdin" in capsys.readouterr().err


def test_cli_account_option_selects_a_named_account(
    capsys: pytest.CaptureFixture[str], emulator_factory: Any
) -> None:
    emulator = emulator_factory("qoro")
    MultiCloudProvider.save_account("qoro", name="broken", url="http://127.0.0.1:9", api_key="k")
    url = emulator.settings().url
    MultiCloudProvider.save_account("qoro", name="emu", url=url, api_key=emulator.token)
    code = cli.main(["backends", "--vendor", "qoro", "--account", "qoro=emu"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "qoro_emulated_qpu" in out
    assert cli.main(["backends", "--account", "ibm=x"]) == 1
    assert "bad --account" in capsys.readouterr().err


def test_concurrent_saves_keep_every_account() -> None:
    def save(index: int) -> None:
        MultiCloudProvider.save_account("qoro", name=f"n{index}", api_key=f"key-{index}")

    threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.name for a in MultiCloudProvider.saved_accounts("qoro")) == [
        f"n{i}" for i in range(8)
    ]
