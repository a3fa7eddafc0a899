"""Every Python example in README.rst and docs/ runs, against the local emulators.

The ``.. code-block:: python`` blocks of one file run in order in one namespace (a page may
build on its earlier examples). A block that needs a real vendor account is skipped when

* the directive is preceded by the comment ``.. real-credentials``, or
* the block contains a line ``# needs credentials``.

A block with a line ``# needs Graphviz`` (Qiskit's ``plot_gate_map`` and friends call the
Graphviz ``dot`` program) runs only where ``dot`` is on PATH; elsewhere the page's other
examples still run and the test is then reported as skipped, naming Graphviz.

The imports of a skipped block still run, so later examples on the page may rely on them.
Everything else must run as written. Providers and emulators a page leaves open are closed
after it.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_COMMENT = ".. real-credentials"
SKIP_LINE = "# needs credentials"
GRAPHVIZ_LINE = "# needs Graphviz"
_DIRECTIVE = re.compile(r"^(\s*)\.\. code-block:: python3?\s*$")


@dataclasses.dataclass(frozen=True)
class Block:
    """One ``.. code-block:: python`` example."""

    path: Path
    line: int
    code: str
    needs_credentials: bool
    needs_graphviz: bool


def doc_files() -> list[Path]:
    """README.rst and every page of the docs (not build output)."""
    pages = sorted(
        p
        for p in (ROOT / "docs").rglob("*.rst")
        if not {"_build", "_generated"} & set(p.relative_to(ROOT / "docs").parts)
    )
    return [ROOT / "README.rst", *pages]


def _previous_nonblank(lines: list[str], index: int) -> str:
    for previous in reversed(lines[:index]):
        if previous.strip():
            return previous.strip()
    return ""


def python_blocks(path: Path) -> list[Block]:
    """The Python code blocks of one reStructuredText file, dedented."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    for index, line in enumerate(lines):
        match = _DIRECTIVE.match(line)
        if not match:
            continue
        indent = len(match.group(1))
        body: list[str] = []
        cursor = index + 1
        while cursor < len(lines):  # options (":caption: ...") then the indented body
            text = lines[cursor]
            if text.strip() and len(text) - len(text.lstrip()) <= indent:
                break
            body.append(text)
            cursor += 1
        code_lines = [t for t in body if not t.strip().startswith(":")] if body else []
        widths = [len(t) - len(t.lstrip()) for t in code_lines if t.strip()]
        cut = min(widths, default=0)
        code = "\n".join(t[cut:] for t in code_lines).strip("\n") + "\n"
        marked = _previous_nonblank(lines, index) == SKIP_COMMENT or any(
            t.strip() == SKIP_LINE for t in code_lines
        )
        graphviz = any(t.strip() == GRAPHVIZ_LINE for t in code_lines)
        blocks.append(Block(path, index + 1, code, marked, graphviz))
    return blocks


def _imports_only(code: str) -> ast.Module:
    """The top-level import statements of a block (they need no account)."""
    tree = ast.parse(code)
    body: list[ast.stmt] = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return ast.Module(body=body, type_ignores=[])


def _close_leftovers(namespace: dict[str, Any]) -> None:
    from qiskit_multicloud import MultiCloudProvider
    from qiskit_multicloud.emulators import EmulatorHandle

    for value in namespace.values():
        if isinstance(value, (MultiCloudProvider, EmulatorHandle)):
            value.close() if isinstance(value, MultiCloudProvider) else value.stop()


FILES = [p for p in doc_files() if python_blocks(p)]


def test_some_examples_are_found() -> None:
    assert ROOT / "README.rst" in FILES
    assert any(p.name == "quickstart.rst" for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_examples_run(path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__doc_example__"}
    ran = 0
    without_graphviz = []
    have_graphviz = shutil.which("dot") is not None
    try:
        for block in python_blocks(path):
            where = f"{path.relative_to(ROOT)}:{block.line}"
            if block.needs_credentials or (block.needs_graphviz and not have_graphviz):
                exec(compile(_imports_only(block.code), where, "exec"), namespace)
                if not block.needs_credentials:
                    without_graphviz.append(where)
                continue
            failure = None
            try:
                exec(compile(block.code, where, "exec"), namespace)
            except Exception as exc:
                failure = f"{type(exc).__name__}: {exc}"
            if failure is not None:
                pytest.fail(
                    f"example at {where} failed: {failure}\n"
                    f"(mark examples that need a real account with '{SKIP_COMMENT}' before "
                    f"the directive or a '{SKIP_LINE}' line, examples that need Graphviz "
                    f"with a '{GRAPHVIZ_LINE}' line)\n{block.code}",
                    pytrace=False,
                )
            ran += 1
    finally:
        _close_leftovers(namespace)
    if without_graphviz:
        pytest.skip(
            f"ran {ran} example(s); not run: {', '.join(without_graphviz)}, which need "
            "Graphviz ('dot' is not on PATH; Qiskit's plot_gate_map draws with it)"
        )
    if not ran:
        pytest.skip("every example on this page needs real credentials")
