"""Qiskit's plotting works on every vendor's backends (gate maps and count histograms)."""

from __future__ import annotations

import shutil
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from qiskit import QuantumCircuit, transpile
from qiskit.visualization import plot_gate_map, plot_histogram

from qiskit_multicloud.vendors import VENDOR_KEYS

from .conftest import FAST


@pytest.fixture(autouse=True, scope="module")
def agg_backend() -> None:
    """Draw off-screen (no display needed)."""
    matplotlib.use("Agg")


needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz 'dot' is not on PATH; Qiskit's plot_gate_map needs it to lay out devices",
)


def smallest_mapped_backend(provider: Any, vendor: str) -> Any:
    """The vendor's smallest backend that has a coupling map (quick to draw)."""
    backends = [b for b in provider.backends(vendor=vendor) if b.coupling_map is not None]
    assert backends, f"{vendor}: no backend with a coupling map"
    return min(backends, key=lambda b: b.num_qubits)


@needs_dot
@pytest.mark.parametrize("vendor", VENDOR_KEYS)
def test_plot_gate_map(emulated_provider: Any, vendor: str) -> None:
    backend = smallest_mapped_backend(emulated_provider, vendor)
    figure = plot_gate_map(backend)
    try:
        assert isinstance(figure, Figure)
        assert figure.axes
    finally:
        plt.close(figure)


@pytest.mark.parametrize("vendor", VENDOR_KEYS)
def test_plot_histogram_of_counts(emulated_provider: Any, vendor: str) -> None:
    backend = smallest_mapped_backend(emulated_provider, vendor)
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    counts = backend.run(transpile(circuit, backend), shots=100, **FAST).result().get_counts()
    figure = plot_histogram(counts, title=f"{vendor}: {backend.name}")
    try:
        assert isinstance(figure, Figure)
        assert sum(counts.values()) == 100
    finally:
        plt.close(figure)
