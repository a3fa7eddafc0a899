"""The CI's fresh-clone check reads the README right and judges outputs strictly.

The check itself (clones, installs, the whole suite) runs in ``.ci/run``; these tests cover its
logic quickly: which commands it extracts, which PATH it builds and what it accepts.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_check() -> ModuleType:
    script = ROOT / ".ci" / "fresh_clone_check.py"
    spec = importlib.util.spec_from_file_location("fresh_clone_check", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


check = load_check()

DEMO_OUTPUT = """Successfully installed qiskit-multicloud-0.1.0
WARNING: Location 'file:///opt/x/' is ignored: it is neither a file nor a directory.
oqc          qpu:uk:2:d865b5a184          {'00': 487, '11': 513}
iqm          emerald-20                   {'00': 485, '11': 515}
"""


def test_readme_commands_are_the_two_setup_blocks() -> None:
    demo, tests = check.readme_commands(ROOT / "README.rst")
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    assert demo in readme and tests in readme  # verbatim
    assert demo.startswith("python3 -m venv .venv") and demo.endswith("qiskit-multicloud demo")
    assert "pytest" in tests and '".[test]"' in tests


def test_readme_with_a_third_setup_command_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "README.rst").read_text(encoding="utf-8")
    third = ".. code-block:: bash\n\n    make world\n\n"
    extra = text.replace("Using real credentials\n", third + "Using real credentials\n")
    (tmp_path / "README.rst").write_text(extra, encoding="utf-8")
    with pytest.raises(check.CheckFailed, match="exactly two bash commands"):
        check.readme_commands(tmp_path / "README.rst")


def fake_program(directory: Path, name: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    program = directory / name
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)


def test_minimal_path_leaves_out_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python_dir = tmp_path / "py" / "bin"
    fake_program(python_dir, "python3")
    fake_program(python_dir, "dot")  # Graphviz next to python3: python3 must come alone
    monkeypatch.setattr(check, "base_python", lambda: python_dir / "python3")
    path = check.minimal_path(tmp_path / "scratch")
    dirs = path.split(os.pathsep)
    assert str(python_dir) not in dirs
    assert (Path(dirs[0]) / "python3").resolve() == (python_dir / "python3").resolve()
    assert not any(os.access(Path(d) / "dot", os.X_OK) for d in dirs)


def test_environment_is_a_new_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IQM_TOKEN", "secret-token")
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    env = check.clean_environment("/usr/bin:/bin", tmp_path / "home")
    assert env["PATH"] == "/usr/bin:/bin" and env["HOME"] == str(tmp_path / "home")
    assert env["PIP_FIND_LINKS"] == "/opt/wheels" and "PIP_CACHE_DIR" in env
    assert "IQM_TOKEN" not in env and "secret-token" not in env.values()


def test_demo_needs_counts_from_every_vendor() -> None:
    check.check_demo(DEMO_OUTPUT, ["oqc", "iqm"])
    with pytest.raises(check.CheckFailed, match="no counts for 'qoro'"):
        check.check_demo(DEMO_OUTPUT, ["oqc", "iqm", "qoro"])
    with pytest.raises(check.CheckFailed, match="warnings or errors"):
        check.check_demo(DEMO_OUTPUT + "warning: Unclosed file\n", ["oqc"])


@pytest.mark.parametrize(
    ("summary", "ok"),
    [
        ("638 passed, 6 skipped in 147.34s (0:02:27)", True),
        ("1 failed, 637 passed, 6 skipped in 147.34s", False),
        ("637 passed, 1 error in 147.34s", False),
        ("no tests ran in 0.01s", False),
    ],
)
def test_test_summary_must_be_a_pass_with_graphviz_skips_explained(
    summary: str, ok: bool
) -> None:
    skip = "SKIPPED [5] test/test_visualization.py:49: Graphviz 'dot' is not on PATH\n"
    if ok:
        check.check_tests(skip + summary + "\n")
        with pytest.raises(check.CheckFailed, match="naming Graphviz"):
            check.check_tests(summary + "\n")
    else:
        with pytest.raises(check.CheckFailed, match="not a pass"):
            check.check_tests(skip + summary + "\n")
