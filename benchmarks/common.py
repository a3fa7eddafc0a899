"""Helpers shared by the benchmark parts: emulator subprocesses, stats, circuits, timing."""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.circuit.library import CXGate, CZGate, ECRGate, RGate, RZGate, SXGate, XGate

VENDORS = ("oqc", "oqtopus", "iqm", "qoro", "qilimanjaro")
ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"

#: Environment for anything that must not leave the machine.
OFFLINE_ENV = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}


@dataclass
class EmulatorProcess:
    """One vendor emulator served by ``python -m qiskit_multicloud emulate`` in a subprocess."""

    vendor: str
    url: str
    token: str
    process: subprocess.Popen[str] = field(repr=False)

    @classmethod
    def start(
        cls, vendor: str, *, seed: int = 1, timeout: float = 60.0, noise: bool = False,
        latency: float = 0.0,
    ) -> EmulatorProcess:
        """Start it and parse the ``VENDOR URL TOKEN`` line it prints.

        Noise is off by default so client-overhead figures stay comparable across runs.
        ``latency`` seconds are added to every request (``emulate --latency``), like a
        real cloud's round trip.
        """
        env = {**os.environ, **OFFLINE_ENV}
        process = subprocess.Popen(
            [sys.executable, "-m", "qiskit_multicloud", "emulate", vendor, "--port", "0",
             "--seed", str(seed), "--noise", "on" if noise else "off",
             "--latency", str(latency)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=ROOT,
        )
        deadline = time.monotonic() + timeout
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            parts = line.split()
            if len(parts) == 3 and parts[0] == vendor:
                return cls(vendor, parts[1], parts[2], process)
        process.kill()
        raise RuntimeError(f"{vendor} emulator did not print its URL line")

    def stats(self) -> dict[str, Any]:
        """``GET /_emulator/stats`` (not itself counted by the emulator)."""
        with urllib.request.urlopen(f"{self.url}/_emulator/stats", timeout=10) as reply:
            data: dict[str, Any] = json.loads(reply.read())
        return data

    def stop(self) -> None:
        """Terminate the subprocess (only this one)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def request_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Requests (total and per route) and jobs created between two stats snapshots."""
    routes_before = before["requests"]["by_route"]
    by_route = {
        route: count - routes_before.get(route, 0)
        for route, count in after["requests"]["by_route"].items()
        if count - routes_before.get(route, 0)
    }
    return {
        "requests": after["requests"]["total"] - before["requests"]["total"],
        "by_route": by_route,
        "jobs_created": after["jobs_created"] - before["jobs_created"],
    }


def bell(name: str = "bell") -> QuantumCircuit:
    """A two-qubit Bell circuit measuring both qubits."""
    circuit = QuantumCircuit(2, 2, name=name)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


def native_circuit(
    n_qubits: int,
    depth: int,
    one_qubit: Sequence[str],
    two_qubit: str,
    edges: Sequence[tuple[int, int]],
    seed: int = 11,
    angle: Callable[[int], Any] | None = None,
    name: str | None = None,
) -> QuantumCircuit:
    """A random circuit already in a device's native basis, ``depth`` layers deep.

    Odd layers put a random native 1-qubit gate on every qubit; even layers put the native
    2-qubit gate on a random set of disjoint coupled pairs among qubits ``0..n-1``.
    ``angle(layer)``, if given, makes each ``rz``/``r`` angle (e.g. a parameter).
    """
    rng = random.Random(seed)
    circuit = QuantumCircuit(n_qubits, n_qubits, name=name or f"q{n_qubits}_d{depth}")
    local = [(a, b) for a, b in edges if a < n_qubits and b < n_qubits and a != b]
    make_2q = {"cz": CZGate, "cx": CXGate, "ecr": ECRGate}[two_qubit]
    for layer in range(depth):
        if layer % 2 == 0 or not local:
            for q in range(n_qubits):
                gate_name = rng.choice(list(one_qubit))
                value = rng.uniform(-3.14, 3.14)
                gate: Any
                if gate_name == "rz":
                    gate = RZGate(value if angle is None else angle(layer))
                elif gate_name == "r":
                    phase = rng.uniform(-3.14, 3.14)
                    gate = (
                        RGate(value, phase) if angle is None else RGate(angle(layer), angle(layer))
                    )
                else:
                    gate = {"sx": SXGate, "x": XGate}[gate_name]()
                circuit.append(gate, [q])
        else:
            used: set[int] = set()
            for a, b in rng.sample(local, len(local)):
                if a not in used and b not in used:
                    used.update((a, b))
                    circuit.append(make_2q(), [a, b])
    circuit.measure(range(n_qubits), range(n_qubits))
    return circuit


def best_of(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time (seconds) of ``repeat`` calls and the last return value."""
    times = []
    value: Any = None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        value = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
