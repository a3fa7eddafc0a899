"""Plotting works on every vendor's backends: our Graphviz-free ``plot_device``, and Qiskit's
gate maps (where Graphviz is installed) and count histograms."""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from qiskit import QuantumCircuit, transpile
from qiskit.providers.fake_provider import GenericBackendV2
from qiskit.transpiler import CouplingMap
from qiskit.visualization import plot_gate_map, plot_histogram

from qiskit_multicloud.exceptions import ConfigurationError
from qiskit_multicloud.vendors import VENDOR_KEYS
from qiskit_multicloud.visualization import device_positions, plot_device

from .conftest import FAST


@pytest.fixture(autouse=True, scope="module")
def agg_backend() -> None:
    """Draw off-screen (no display needed)."""
    matplotlib.use("Agg")


needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz 'dot' is not on PATH; Qiskit's plot_gate_map needs it to lay out devices "
    "(qiskit_multicloud.visualization.plot_device does not)",
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


# -- plot_device: our gate map, drawn with matplotlib alone (no Graphviz) ------------------


def drawn_circles(figure: Figure) -> list[Circle]:
    return [p for p in figure.axes[0].patches if isinstance(p, Circle)]


def coupling_lines(figure: Figure) -> list[Any]:
    return list(figure.axes[0].lines)


@pytest.mark.parametrize("vendor", VENDOR_KEYS)
def test_plot_device_draws_every_qubit_and_coupling(
    emulated_provider: Any, vendor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "")  # proves no external program (Graphviz) is needed
    for backend in emulated_provider.backends(vendor=vendor):
        if backend.num_qubits > 40:
            continue  # keep the test quick; layouts scale, pictures of 150 qubits do not
        figure = plot_device(backend)
        try:
            edges = {tuple(sorted(e)) for e in (backend.coupling_map or []) if e[0] != e[1]}
            assert len(drawn_circles(figure)) == backend.num_qubits
            assert len(coupling_lines(figure)) == len(edges)
            assert backend.name in figure.axes[0].get_title()
            texts = sorted(int(t.get_text()) for t in figure.axes[0].texts)
            assert texts == list(range(backend.num_qubits))
        finally:
            plt.close(figure)


def test_plot_device_writes_a_real_png(emulated_provider: Any, tmp_path: Path) -> None:
    figure = plot_device(emulated_provider.get_backend("emerald-20"), title="")
    path = tmp_path / "map.png"
    try:
        figure.savefig(path, dpi=60)
        assert not figure.axes[0].get_title()
    finally:
        plt.close(figure)
    assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 5_000


def test_published_coordinates_place_the_qubits(emulated_provider: Any) -> None:
    """OQTOPUS publishes qubit positions (a 4 x 4 grid for anemone); they are used as given."""
    positions = device_positions(emulated_provider.get_backend("anemone"))
    assert positions[0] == pytest.approx((0.0, 0.0))
    assert positions[1] == pytest.approx((1.0, 0.0))  # x to the right
    assert positions[4] == pytest.approx((0.0, -1.0))  # next row drawn below


def is_axis_aligned(positions: dict[int, tuple[float, float]], edges: Any) -> bool:
    for a, b in edges:
        dx = abs(positions[a][0] - positions[b][0])
        dy = abs(positions[a][1] - positions[b][1])
        if min(dx, dy) > 0.15 * max(dx, dy):
            return False
    return True


def test_lattice_without_coordinates_is_laid_out_as_a_lattice() -> None:
    grid = CouplingMap.from_grid(3, 5)
    backend = GenericBackendV2(15, coupling_map=list(grid.get_edges()), seed=1)
    positions = device_positions(backend)
    assert is_axis_aligned(positions, grid.get_edges())
    lengths = [math.dist(positions[a], positions[b]) for a, b in grid.get_edges()]
    assert min(lengths) == pytest.approx(1.0) and max(lengths) < 1.3
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    assert max(xs) - min(xs) > max(ys) - min(ys)  # landscape


def test_ring_is_drawn_as_a_circle_in_coupling_order() -> None:
    ring = CouplingMap.from_ring(7, bidirectional=False)
    positions = device_positions(GenericBackendV2(7, coupling_map=list(ring.get_edges()), seed=1))
    centre = (sum(x for x, _ in positions.values()) / 7, sum(y for _, y in positions.values()) / 7)
    radii = [math.dist(p, centre) for p in positions.values()]
    assert max(radii) == pytest.approx(min(radii))
    sides = [math.dist(positions[a], positions[b]) for a, b in ring.get_edges()]
    assert sides == pytest.approx([1.0] * 7)  # neighbours sit next to each other


def test_explicit_coordinates_follow_qiskits_row_column_convention() -> None:
    backend = GenericBackendV2(3, coupling_map=[[0, 1], [1, 2]], seed=1)
    positions = device_positions(backend, [[0, 0], [0, 4], [2, 4]])  # scaled: shortest is 1
    assert positions == {0: (0.0, 0.0), 1: (2.0, 0.0), 2: (2.0, -1.0)}
    with pytest.raises(ConfigurationError, match="one \\[row, column\\] per qubit"):
        device_positions(backend, [[0, 0]])


def test_plot_device_into_given_axes_with_colours() -> None:
    backend = GenericBackendV2(2, coupling_map=[[0, 1]], seed=1)
    figure, ax = plt.subplots()
    try:
        assert plot_device(backend, ax=ax, qubit_color=["red", "blue"], font_size=9) is figure
        assert [c.get_facecolor()[:3] for c in drawn_circles(figure)] == [(1, 0, 0), (0, 0, 1)]
        with pytest.raises(ConfigurationError, match="qubit_color has 1 entries for 2 qubits"):
            plot_device(backend, ax=ax, qubit_color=["red"])
    finally:
        plt.close(figure)


def test_plot_device_without_matplotlib_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    backend = GenericBackendV2(2, coupling_map=[[0, 1]], seed=1)
    with pytest.raises(ConfigurationError, match=r"qiskit-multicloud\[visualization\]"):
        plot_device(backend)
