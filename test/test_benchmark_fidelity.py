"""Smoke test: the estimated-vs-measured fidelity benchmark runs on tiny sizes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "fidelity.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fidelity_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not SCRIPT.exists(), reason="benchmarks/ is not shipped in the sdist")
def test_fidelity_benchmark_writes_its_page_and_json(tmp_path: Path) -> None:
    pytest.importorskip("werkzeug")
    fidelity = load()
    page, raw = tmp_path / "page.rst", tmp_path / "raw.json"
    assert fidelity.main(["--shots", "50", "--vendors", "qilimanjaro,qoro",
                          "--output", str(page), "--json", str(raw)]) == 0
    data = json.loads(raw.read_text())
    devices = {row["device"] for row in data["rows"]}
    assert devices == {"qilimanjaro:radagast", "qoro:qoro_emulated_qpu"}
    assert {row["circuit"] for row in data["rows"]} == {"Bell", "GHZ-5", "QV-4"}
    assert all(row["status"] == "DONE" and 0 < row["estimate"] < 1 for row in data["rows"])
    text = page.read_text()
    assert "Estimated vs measured fidelity" in text and "qilimanjaro:galadriel" in text
    assert fidelity.spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert fidelity.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
