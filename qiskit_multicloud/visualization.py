"""Draw a device's qubits and couplings with matplotlib alone (no Graphviz).

Qiskit's :func:`~qiskit.visualization.plot_gate_map` lays every picture out with Graphviz's
``dot``/``neato`` programs, a system package that ``pip`` cannot install. :func:`plot_device`
draws the same information (qubits as numbered circles, couplings as lines) with matplotlib:
qubits sit at coordinates you pass, else at the coordinates the vendor publishes for the
device, else at positions computed by rustworkx (installed with Qiskit). It needs only the
``visualization`` extra: ``pip install "qiskit-multicloud[visualization]"``.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import rustworkx as rx

from .exceptions import ConfigurationError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["device_positions", "plot_device"]

#: Where an adapter records the vendor's published qubit coordinates in ``DeviceSpec.extra``:
#: ``{qubit: (x, y)}`` as the vendor draws them (y grows downwards, like rows).
COORDINATES_KEY = "qubit_coordinates"
#: Qiskit's gate-map blue.
DEFAULT_COLOR = "#648fff"
#: Seed of the force-directed fallback layout, so every build draws the same picture.
LAYOUT_SEED = 7

Point = tuple[float, float]


def _undirected_edges(backend: Any) -> list[tuple[int, int]]:
    """The coupled qubit pairs, each once, smaller index first."""
    coupling = backend.coupling_map
    if coupling is None:
        return []
    return sorted({(min(a, b), max(a, b)) for a, b in coupling.get_edges() if a != b})


def _graph(num_qubits: int, edges: Sequence[tuple[int, int]]) -> Any:
    graph = rx.PyGraph()
    graph.add_nodes_from(range(num_qubits))
    graph.add_edges_from_no_data(list(edges))
    return graph


def _published_coordinates(backend: Any) -> dict[int, Point] | None:
    """The vendor's own qubit coordinates for this device, if its adapter recorded them."""
    device = getattr(backend, "device", None)
    found = getattr(device, "extra", {}).get(COORDINATES_KEY) if device is not None else None
    if not isinstance(found, Mapping) or len(found) != backend.num_qubits:
        return None
    return {int(q): (float(x), -float(y)) for q, (x, y) in found.items()}


def _computed_layout(num_qubits: int, edges: Sequence[tuple[int, int]]) -> dict[int, Point]:
    """Positions from the coupling graph: a circle for rings and complete graphs, else
    Kamada-Kawai (lattices come out as lattices), else a seeded spring layout."""
    if num_qubits == 1:
        return {0: (0.0, 0.0)}
    graph = _graph(num_qubits, edges)
    degrees = [graph.degree(q) for q in range(num_qubits)]
    connected = bool(edges) and rx.is_connected(graph)
    ring = connected and all(d == 2 for d in degrees)
    complete = len(edges) == num_qubits * (num_qubits - 1) // 2
    if ring or complete or not edges:
        # A ring in path order, so neighbours sit next to each other.
        order = [0, *(b for _, b in rx.dfs_edges(graph, 0))] if ring else list(range(num_qubits))
        step = 2 * math.pi / num_qubits
        return {
            q: (math.sin(i * step), math.cos(i * step)) for i, q in enumerate(order)
        }
    kamada_kawai = getattr(rx, "kamada_kawai_layout", None)  # rustworkx >= 0.17
    if kamada_kawai is not None:
        positions = kamada_kawai(graph)
    else:  # pragma: no cover - older rustworkx
        positions = rx.spring_layout(graph, seed=LAYOUT_SEED, num_iter=500)
    return _axis_aligned(
        {q: (float(positions[q][0]), float(positions[q][1])) for q in range(num_qubits)}, edges
    )


def _axis_aligned(positions: Mapping[int, Point], edges: Sequence[tuple[int, int]]) -> dict[
    int, Point
]:
    """Rotate so couplings run as nearly horizontal/vertical as they can (lattices square up)."""
    turn = sum(
        (complex(positions[b][0] - positions[a][0], positions[b][1] - positions[a][1]) ** 4)
        / max(math.dist(positions[a], positions[b]) ** 4, 1e-12)
        for a, b in edges
    )
    if abs(turn) < 1e-9:
        return dict(positions)
    angle = -math.atan2(turn.imag, turn.real) / 4
    cos, sin = math.cos(angle), math.sin(angle)
    turned = {q: (x * cos - y * sin, x * sin + y * cos) for q, (x, y) in positions.items()}
    xs, ys = [x for x, _ in turned.values()], [y for _, y in turned.values()]
    if max(ys) - min(ys) > max(xs) - min(xs) + 1e-9:  # landscape reads better on a page
        turned = {q: (-y, x) for q, (x, y) in turned.items()}
    return turned


def _normalised(positions: Mapping[int, Point], edges: Sequence[tuple[int, int]]) -> dict[
    int, Point
]:
    """Scale so the shortest coupling (or nearest pair) is one unit long."""
    points = list(positions.items())
    pairs = edges or [(a, b) for i, (a, _) in enumerate(points) for b, _ in points[i + 1 :]]
    lengths = [math.dist(positions[a], positions[b]) for a, b in pairs]
    unit = min((d for d in lengths if d > 1e-9), default=1.0)
    return {q: (x / unit, y / unit) for q, (x, y) in positions.items()}


def device_positions(
    backend: Any, qubit_coordinates: Sequence[Sequence[float]] | None = None
) -> dict[int, Point]:
    """Where :func:`plot_device` puts each qubit, as ``{qubit: (x, y)}``.

    Args:
        backend: Any ``BackendV2`` (``num_qubits`` and ``coupling_map`` are used).
        qubit_coordinates: Optional ``[row, column]`` per qubit, as Qiskit's
            ``plot_gate_map`` takes them (row 0 at the top).

    Returns:
        Positions scaled so the shortest coupling is one unit long.
    """
    num_qubits = int(backend.num_qubits)
    edges = _undirected_edges(backend)
    if qubit_coordinates is not None:
        if len(qubit_coordinates) != num_qubits:
            raise ConfigurationError(
                f"qubit_coordinates has {len(qubit_coordinates)} entries but the backend has "
                f"{num_qubits} qubits; give one [row, column] per qubit"
            )
        positions = {q: (float(rc[1]), -float(rc[0])) for q, rc in enumerate(qubit_coordinates)}
    else:
        positions = _published_coordinates(backend) or _computed_layout(num_qubits, edges)
    return _normalised(positions, edges)


def _require_matplotlib() -> None:
    if importlib.util.find_spec("matplotlib") is None:
        raise ConfigurationError(
            "plot_device needs matplotlib: pip install 'qiskit-multicloud[visualization]'"
        )


def plot_device(
    backend: Any,
    *,
    qubit_coordinates: Sequence[Sequence[float]] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
    qubit_color: str | Sequence[str] = DEFAULT_COLOR,
    line_color: str = DEFAULT_COLOR,
    font_size: float | None = None,
) -> Figure:
    """Draw a backend's gate map (qubits and couplings) with matplotlib, without Graphviz.

    A Graphviz-free counterpart of Qiskit's ``plot_gate_map(backend)`` for any ``BackendV2``,
    ours or not. All-to-all devices are drawn as a circle with every coupling.

    Args:
        backend: The device to draw.
        qubit_coordinates: Optional ``[row, column]`` per qubit (Qiskit's convention); by
            default the vendor's published coordinates, else a layout of the coupling graph.
        title: Figure title; by default ``"<name> (<n> qubits)"``. ``""`` for none.
        ax: Draw into these axes instead of a new figure.
        qubit_color: One colour, or one per qubit.
        line_color: Colour of the coupling lines.
        font_size: Size of the qubit numbers; by default fitted to the circles.

    Returns:
        The matplotlib figure (the one holding ``ax`` when given).

    Raises:
        ConfigurationError: matplotlib is not installed, or ``qubit_coordinates`` does not
            have one entry per qubit.
    """
    _require_matplotlib()
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle

    positions = device_positions(backend, qubit_coordinates)
    edges = _undirected_edges(backend)
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    width, height = max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
    figure: Any
    if ax is None:
        scale = min(1.0, 10.0 / max(width, height))  # at most ~10 inches wide or tall
        figure, ax = plt.subplots(figsize=(max(3.0, width * scale), max(2.5, height * scale)))
    else:
        figure = ax.figure
    colors = [qubit_color] * len(positions) if isinstance(qubit_color, str) else qubit_color
    if len(colors) != len(positions):
        raise ConfigurationError(
            f"qubit_color has {len(colors)} entries for {len(positions)} qubits"
        )
    for a, b in edges:
        (xa, ya), (xb, yb) = positions[a], positions[b]
        ax.plot([xa, xb], [ya, yb], color=line_color, linewidth=2, zorder=1)
    radius = 0.3
    for qubit, (x, y) in positions.items():
        ax.add_patch(Circle((x, y), radius, facecolor=colors[qubit], edgecolor="none", zorder=2))
    size = font_size if font_size is not None else _fitted_font_size(figure, width, height)
    for qubit, (x, y) in positions.items():
        ax.text(x, y, str(qubit), ha="center", va="center", color="white", fontsize=size, zorder=3)
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    name = getattr(backend, "name", "backend")
    text = f"{name} ({backend.num_qubits} qubits)" if title is None else title
    if text:
        ax.set_title(text)
    return figure  # type: ignore[no-any-return]


def _fitted_font_size(figure: Any, width: float, height: float) -> float:
    """A font size whose digits fit in a circle of diameter 0.6 units."""
    inches_per_unit = min(figure.get_figwidth() / width, figure.get_figheight() / height)
    return float(max(5.0, min(14.0, 0.6 * inches_per_unit * 72 * 0.45)))
