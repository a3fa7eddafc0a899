"""Smoke test: every benchmark part runs on tiny sizes (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "run.py"

pytestmark = pytest.mark.skipif(
    not SCRIPT.exists(), reason="benchmarks/ is not shipped in the sdist"
)


def run_benchmark(script: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """``python benchmarks/<script> args...`` from the repository root; it must succeed."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def test_benchmark_script_runs_every_part_on_tiny_sizes(tmp_path: Path) -> None:
    pytest.importorskip("werkzeug")
    output = tmp_path / "latest.json"
    proc = run_benchmark(
        "run.py", "all", "--skip-sdk", "--vendors", "oqc,iqm",
        "--circuits", "2", "--shots", "20", "--rtt", "0,0.01", "--e2e-repeat", "2",
        "--large", "3", "--qubits", "5", "--depths", "4", "--repeat", "1",
        "--output", str(output),
    )
    data = json.loads(output.read_text())
    assert set(data) >= {"machine", "overhead", "e2e", "large", "target", "polling"}
    assert data["e2e"]["0ms"]["oqc"]["ours"]["ok"] and data["e2e"]["0ms"]["iqm"]["ours"]["ok"]
    assert data["e2e"]["10ms"]["iqm"]["rtt_s"] == 0.01
    assert data["e2e"]["0ms"]["oqc"]["ours"]["runs"] == 2
    assert len(data["e2e"]["0ms"]["oqc"]["ours"]["wall_s_runs"]) == 2
    # A second process with the on-disk cache skips discovery requests the cold one sends.
    warm = data["e2e"]["0ms"]["iqm"]["ours_warm_cache"]
    assert warm["ok"] and warm["requests"] < data["e2e"]["0ms"]["iqm"]["ours"]["requests"]
    assert data["large"]["oqc"]["circuits"] == 3
    assert data["target"]["iqm"]["qubits"] == 150
    assert {row["duration_s"] for row in data["polling"]["by_duration"]} >= {60}
    assert "| vendor |" in proc.stdout


def test_qoro_sweep_benchmark_runs_on_tiny_sizes(tmp_path: Path) -> None:
    pytest.importorskip("werkzeug")
    output = tmp_path / "qoro_sweep.json"
    proc = run_benchmark(
        "qoro_sweep.py", "--points", "6", "--cases", "ring-3,sk-4,hea-3x2-kall",
        "--e2e", "ring-3", "--shots", "10", "--out", str(output),
    )
    ring, sk, many = json.loads(output.read_text())["rows"]
    assert ring["after"]["bytes_uploaded"] < ring["before"]["bytes_uploaded"]
    assert ring["after"]["wall_s"] > 0 and "wall_s" not in sk["after"]
    assert sk["free_parameters"] == sk["after"]["parameters_sent"] == 2
    assert many["free_parameters"] == 6
    assert "| case |" in proc.stdout


def test_sweep_benchmark_runs_on_tiny_sizes(tmp_path: Path) -> None:
    pytest.importorskip("werkzeug")
    output = tmp_path / "sweep.json"
    run_benchmark(
        "sweep.py", "--vendors", "oqc,iqm", "--points", "3", "--qubits", "4",
        "--depth", "4", "--repeat", "1", "--output", str(output),
    )
    rows = json.loads(output.read_text())["sweep"]["iqm"]["rows"]
    assert {row["workload"] for row in rows} == {"hea", "qaoa", "mixed"}
    assert all(row["identical_payloads"] and row["rendered_points"] == 3 for row in rows)
    run_benchmark(
        "sweep.py", "--parallel", "--circuits", "4", "--qubits", "4", "--depth", "4",
        "--output", str(output),
    )
    assert json.loads(output.read_text())["parallel"]["circuits"] == 4


def test_cli_backends_benchmark_runs_on_tiny_sizes(tmp_path: Path) -> None:
    pytest.importorskip("werkzeug")
    output = tmp_path / "cli_backends.json"
    run_benchmark(
        "cli_backends.py", "--latency", "0", "--runs", "1", "--refresh-runs", "1",
        "--output", str(output), timeout=180,
    )
    data = json.loads(output.read_text())
    assert data["rows"] == 14 and data["repeat_imports_qiskit"] is False
    assert {"first_s", "repeat_median_s", "refresh_median_s", "goal_met"} <= set(data)


def test_e2e_repeats_report_the_median_run_and_paired_ratios(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The median run is shown with the spread; a failed run is never hidden by the median."""
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    try:
        import e2e
    finally:  # benchmarks/ modules are not left behind for other tests
        sys.modules.pop("e2e", None)
        sys.modules.pop("common", None)

    runs = [{"wall_s": w, "ok": True, "requests": 5} for w in (3.0, 1.0, 2.0, 9.0)]
    chosen = e2e.median_run(runs)
    assert chosen["wall_s"] == 2.0 and chosen["wall_s_runs"] == [1.0, 2.0, 3.0, 9.0]
    assert chosen["runs"] == 4
    failed = e2e.median_run([*runs, {"error": "sdk crashed"}])
    assert failed["error"] == "sdk crashed"
    assert e2e._paired([0.9, 0.5, 0.7]) == "0.70 (0.50-0.90)"
    assert e2e._paired([]) == "—"
