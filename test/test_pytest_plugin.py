"""The installed ``pytest11`` plugin gives other projects' tests the emulators as fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

USER_TESTS = """
from qiskit import QuantumCircuit, transpile

from qiskit_multicloud import MultiCloudProvider


def bell():
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


def test_emulated_provider(emulated_provider):
    assert set(emulated_provider.vendors) == {"oqc", "oqtopus", "iqm", "qoro", "qilimanjaro"}
    backend = emulated_provider.get_backend("qpu:uk:2")
    job = backend.run(transpile(bell(), backend), shots=20, poll_interval=0.001)
    assert sum(job.result().get_counts().values()) == 20


def test_oqc_emulator(oqc_emulator):
    assert oqc_emulator.url.startswith("http://127.0.0.1:")
    with MultiCloudProvider({"oqc": oqc_emulator.settings()}, vendors=["oqc"],
                            job_store=False) as provider:
        backend = provider.backends()[0]
        job = backend.run(transpile(bell(), backend), shots=20, poll_interval=0.001)
        assert sum(job.result().get_counts().values()) == 20
    assert oqc_emulator.stats.total > 0


def test_other_vendor_fixtures(oqtopus_emulator, iqm_emulator, qoro_emulator,
                               qilimanjaro_emulator):
    handles = [oqtopus_emulator, iqm_emulator, qoro_emulator, qilimanjaro_emulator]
    assert [h.vendor for h in handles] == ["oqtopus", "iqm", "qoro", "qilimanjaro"]
    assert len({h.url for h in handles}) == 4
"""


def test_fixtures_from_the_installed_plugin(tmp_path: Path) -> None:
    (tmp_path / "test_user_code.py").write_text(USER_TESTS, encoding="utf-8")
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_PLUGINS", None)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "--rootdir",
            str(tmp_path),
            "test_user_code.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "3 passed" in completed.stdout


def test_plugin_is_registered_by_entry_point() -> None:
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert names.get("qiskit_multicloud") == "qiskit_multicloud.pytest_plugin"
