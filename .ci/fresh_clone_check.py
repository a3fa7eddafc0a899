#!/usr/bin/env python3
"""Run the README's two set-up commands, verbatim, in fresh clones, as a new user would.

The commands are read from README.rst's "Set-up on a fresh machine" section (its two
``.. code-block:: bash`` blocks), so the check cannot drift from what users copy. Each runs
with ``bash -c`` in its own fresh ``git clone`` of this repository (committed state only),
with

* a minimal PATH: the directory of the base ``python3``, ``/usr/bin`` and ``/bin``, leaving
  out every directory that holds a Graphviz ``dot`` (so it proves the commands pass without
  Graphviz), and no root-only steps;
* an empty HOME (so nothing from the real one leaks in), but pip's own settings and cache
  (package index, wheel directories) kept, and no vendor credentials in the environment.

It checks that the demo printed counts from every vendor, and that the tests passed (at
least one; pytest's "no tests collected" fails) with the Graphviz-only tests skipped under
a reason that names Graphviz.

Usage: ``python3 .ci/fresh_clone_check.py`` (from anywhere in the repository);
``--print-path`` only prints the minimal PATH (``.ci/run`` builds the docs with it).
Standard library only.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECTION = "Set-up on a fresh machine"
#: Longest a single README command may take (a full install plus the whole test suite).
COMMAND_TIMEOUT = 20 * 60
#: Environment passed through: pip's configuration and network settings, locale, CI flag.
PASSED_THROUGH = re.compile(r"^(PIP_.*|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY|LANG|LC_.*|CI)$")


class CheckFailed(Exception):
    """The README commands did not behave as a new user needs."""


def readme_commands(readme: Path) -> tuple[str, str]:
    """The (demo, test) commands: the bash blocks of the README's set-up section."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    try:
        start = lines.index(SECTION)
    except ValueError:
        raise CheckFailed(f"{readme}: no section titled {SECTION!r}") from None
    end = next(
        (
            i - 1
            for i in range(start + 2, len(lines))
            if re.fullmatch(r"([=\-~^])\1{2,}", lines[i]) and lines[i - 1].strip()
        ),
        len(lines),
    )
    commands = []
    section = lines[start:end]
    for index, line in enumerate(section):
        if line.strip() != ".. code-block:: bash":
            continue
        body = []
        for text in section[index + 1 :]:
            if text.strip() and not text.startswith((" ", "\t")):
                break
            body.append(text.strip())
        commands.append(" ".join(t for t in body if t))
    demos = [c for c in commands if c.endswith(" demo")]
    tests = [c for c in commands if "pytest" in c]
    if len(commands) != 2 or len(demos) != 1 or len(tests) != 1:
        raise CheckFailed(
            f"{readme}: section {SECTION!r} must hold exactly two bash commands, the demo and "
            f"the tests; found {commands!r}"
        )
    return demos[0], tests[0]


def base_python() -> Path:
    """The interpreter ``python3`` on PATH runs, outside any virtual environment."""
    found = shutil.which("python3")
    if found is None:
        raise CheckFailed("no python3 on PATH")
    code = "import sys; print(getattr(sys, '_base_executable', '') or sys.executable)"
    answer = subprocess.run([found, "-c", code], capture_output=True, text=True, check=True)
    return Path(answer.stdout.strip())


def minimal_path(scratch: Path) -> str:
    """PATH = base python3's directory + /usr/bin + /bin, minus directories holding ``dot``."""
    python = base_python()
    dirs: list[str] = []
    for directory in (str(python.parent), "/usr/bin", "/bin"):
        if directory not in dirs and not os.access(Path(directory) / "dot", os.X_OK):
            dirs.append(directory)
    if str(python.parent) not in dirs:
        # python3 lives next to a Graphviz 'dot': offer it alone from a directory of its own.
        own = scratch / "python-bin"
        own.mkdir(parents=True, exist_ok=True)
        (own / "python3").symlink_to(python.resolve())
        dirs.insert(0, str(own))
    path = os.pathsep.join(dirs)
    if shutil.which("dot", path=path) is not None:  # pragma: no cover - guarded above
        raise CheckFailed(f"Graphviz 'dot' is still reachable on {path}")
    return path


def clean_environment(path: str, home: Path) -> dict[str, str]:
    """A new user's environment: minimal PATH, empty HOME, pip settings kept."""
    env = {key: value for key, value in os.environ.items() if PASSED_THROUGH.match(key)}
    real_home = Path.home()
    config = os.environ.get("XDG_CONFIG_HOME") or str(real_home / ".config")
    for candidate in (Path(config) / "pip" / "pip.conf", real_home / ".pip" / "pip.conf"):
        if candidate.is_file() and "PIP_CONFIG_FILE" not in env:
            env["PIP_CONFIG_FILE"] = str(candidate)  # the machine's package index settings
    cache = os.environ.get("XDG_CACHE_HOME") or str(real_home / ".cache")
    env.setdefault("PIP_CACHE_DIR", str(Path(cache) / "pip"))
    home.mkdir(parents=True, exist_ok=True)
    env.update(PATH=path, HOME=str(home), TMPDIR=str(home), LANG=env.get("LANG", "C.UTF-8"))
    return env


def run_verbatim(command: str, clone: Path, env: dict[str, str]) -> tuple[str, float]:
    """Run one README command with bash in the clone; return its output and duration."""
    print(f"\n$ {command}    # in {clone}", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(
        ["/bin/bash", "-c", command],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = []
    for line in process.stdout:
        output.append(line)
        if not line.startswith("WARNING: Location 'file:"):  # pip noise about local indexes
            print(line, end="", flush=True)
    code = process.wait(timeout=COMMAND_TIMEOUT)
    took = time.monotonic() - started
    text = "".join(output)
    print(f"[exit {code} after {took:.0f} s]", flush=True)
    if code != 0:
        raise CheckFailed(f"README command failed with exit code {code}: {command}")
    return text, took


def fresh_clone(into: Path) -> Path:
    """A new clone of this repository's committed state."""
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(into)], check=True)
    return into


def vendor_keys(clone: Path) -> list[str]:
    """The vendor keys, from the package as installed in the clone."""
    code = "from qiskit_multicloud.vendors import VENDOR_KEYS; print(' '.join(VENDOR_KEYS))"
    answer = subprocess.run(
        [str(clone / ".venv" / "bin" / "python"), "-c", code],
        capture_output=True, text=True, check=True,
    )
    return answer.stdout.split()


def check_demo(output: str, vendors: list[str]) -> None:
    """Every vendor printed a line ``<vendor> <backend> {counts}`` with shots counted, and the
    demo printed no warning or traceback (pip's own upper-case ``WARNING:`` lines aside)."""
    noise = [t for t in output.splitlines() if t.startswith(("warning:", "error:", "Traceback"))]
    if noise:
        raise CheckFailed(f"demo printed warnings or errors: {noise!r}")
    for vendor in vendors:
        line = next((t for t in output.splitlines() if t.split()[:1] == [vendor]), None)
        if line is None or "{" not in line:
            raise CheckFailed(f"demo printed no counts for {vendor!r}")
        counts = ast.literal_eval(line[line.index("{") :])
        if not isinstance(counts, dict) or sum(counts.values()) <= 0:
            raise CheckFailed(f"demo line for {vendor!r} has no counts: {line!r}")


def check_tests(output: str) -> None:
    """Tests passed, none failed, and Graphviz-only tests say why they skipped."""
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    passed = re.search(r"(\d+) passed", summary)
    if not passed or int(passed.group(1)) == 0 or re.search(r"\d+ (failed|error)", summary):
        raise CheckFailed(f"test summary is not a pass: {summary!r}")
    skips = [t for t in output.splitlines() if t.startswith("SKIPPED")]
    if not any("Graphviz" in t for t in skips):
        raise CheckFailed(
            "without Graphviz the gate-map tests must skip with a reason naming Graphviz; "
            f"skip reasons seen: {skips!r}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print-path", action="store_true", help="print the minimal PATH")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="fresh-clone-check-"))
    try:
        path = minimal_path(scratch)
        if args.print_path:
            print(path)
            return 0
        if subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True
        ).stdout.strip():
            print("note: uncommitted changes are not part of the clone", flush=True)
        demo, tests = readme_commands(REPO / "README.rst")
        print(f"minimal PATH (no Graphviz): {path}", flush=True)
        timings = {}
        demo_clone = fresh_clone(scratch / "demo" / "qiskit-multicloud")
        output, timings["demo"] = run_verbatim(demo, demo_clone, clean_environment(
            path, scratch / "demo" / "home"))
        check_demo(output, vendor_keys(demo_clone))
        test_clone = fresh_clone(scratch / "tests" / "qiskit-multicloud")
        output, timings["tests"] = run_verbatim(tests, test_clone, clean_environment(
            path, scratch / "tests" / "home"))
        check_tests(output)
    except CheckFailed as failure:
        print(f"\nfresh-clone check FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {scratch}")
        elif args.print_path and (scratch / "python-bin").exists():
            pass  # the printed PATH points into it
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(
        "\nfresh-clone check passed: README demo "
        f"({timings['demo']:.0f} s) and tests ({timings['tests']:.0f} s) without Graphviz"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
