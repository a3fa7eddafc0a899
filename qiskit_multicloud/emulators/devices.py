"""Topologies and plausible, seeded calibration numbers for emulated devices.

Every emulator publishes these numbers in its own vendor format, so the adapters' Target
builders are exercised with real errors and durations.
"""

from __future__ import annotations

import dataclasses
import random


def line_edges(n: int) -> list[tuple[int, int]]:
    """0-1, 1-2, ..., (n-2)-(n-1)."""
    return [(i, i + 1) for i in range(n - 1)]


def ring_edges(n: int) -> list[tuple[int, int]]:
    """A line closed into a ring."""
    return [*line_edges(n), (n - 1, 0)] if n > 2 else line_edges(n)


def grid_edges(rows: int, cols: int) -> list[tuple[int, int]]:
    """Nearest neighbours on a rows x cols grid (row-major qubit numbering)."""
    edges = []
    for r in range(rows):
        for c in range(cols):
            q = r * cols + c
            if c + 1 < cols:
                edges.append((q, q + 1))
            if r + 1 < rows:
                edges.append((q, q + cols))
    return edges


def all_to_all_edges(n: int) -> list[tuple[int, int]]:
    """Every unordered pair once."""
    return [(a, b) for a in range(n) for b in range(a + 1, n)]


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Per-qubit and per-edge numbers (errors as probabilities, times in seconds)."""

    n_qubits: int
    edges: tuple[tuple[int, int], ...]
    single_qubit_error: dict[int, float]
    two_qubit_error: dict[tuple[int, int], float]
    readout_error: dict[int, float]
    t1: dict[int, float]
    t2: dict[int, float]
    single_qubit_duration: float = 32e-9
    two_qubit_duration: float = 250e-9
    readout_duration: float = 1.5e-6


def calibration(n_qubits: int, edges: list[tuple[int, int]], seed: int = 7) -> Calibration:
    """Plausible superconducting-device numbers, reproducible for a given seed."""
    rng = random.Random(seed)
    return Calibration(
        n_qubits=n_qubits,
        edges=tuple(edges),
        single_qubit_error={q: round(rng.uniform(2e-4, 2e-3), 6) for q in range(n_qubits)},
        two_qubit_error={e: round(rng.uniform(4e-3, 3e-2), 6) for e in edges},
        readout_error={q: round(rng.uniform(1e-2, 4e-2), 5) for q in range(n_qubits)},
        t1={q: round(rng.uniform(40e-6, 120e-6), 9) for q in range(n_qubits)},
        t2={q: round(rng.uniform(20e-6, 90e-6), 9) for q in range(n_qubits)},
    )
