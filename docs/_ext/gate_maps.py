"""Sphinx extension: draw each vendor's gate map while the docs build (no Graphviz needed).

At ``builder-inited`` it starts the five local emulators
(``MultiCloudProvider.emulated(job_store=False)``), picks one QPU-like backend per vendor
(:func:`pick_backend`), draws it with :func:`qiskit_multicloud.visualization.plot_device` on
matplotlib's Agg canvas and saves ``docs/_generated/gate_map_<vendor>.png``, which
``vendors/gate_maps.rst`` includes with ``.. image::``. It also writes
``docs/_generated/gate_maps_table.rst`` (which backend each picture shows).

``plot_device`` needs only matplotlib and rustworkx (no Graphviz), so every build shows real
pictures; a failure to draw one fails the build instead of leaving a placeholder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Largest device drawn (bigger ones make unreadable pictures).
MAX_QUBITS = 40


def _is_complete(backend: Any) -> bool:
    coupling = backend.coupling_map
    if coupling is None:
        return True
    n = backend.num_qubits
    return len(set(coupling.get_edges())) >= n * (n - 1)


def pick_backend(backends: list[Any]) -> Any:
    """The most QPU-like backend: online, not all-to-all, largest up to :data:`MAX_QUBITS`."""
    candidates = [
        b for b in backends if b.online and b.num_qubits <= MAX_QUBITS and not _is_complete(b)
    ]
    if not candidates:
        candidates = [b for b in backends if b.num_qubits <= MAX_QUBITS] or list(backends)
    return max(candidates, key=lambda b: b.num_qubits)


def generate(out_dir: Path) -> list[tuple[str, str, int, str]]:
    """Draw one gate map per vendor into ``out_dir``; return (vendor, backend, qubits, file)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qiskit_multicloud import MultiCloudProvider
    from qiskit_multicloud.visualization import plot_device

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    with MultiCloudProvider.emulated(job_store=False) as provider:
        for vendor in provider.vendors:
            backend = pick_backend(provider.backends(vendor=vendor))
            path = out_dir / f"gate_map_{vendor}.png"
            title = f"{vendor}: {backend.name} ({backend.num_qubits} qubits)"
            figure = plot_device(backend, title=title)
            figure.savefig(path, dpi=80, bbox_inches="tight")
            plt.close(figure)
            rows.append((vendor, backend.name, backend.num_qubits, path.name))
    return rows


def _write_table(out_dir: Path, rows: list[tuple[str, str, int, str]]) -> None:
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - Vendor",
        "     - Backend",
        "     - Qubits",
    ]
    for vendor, name, qubits, _ in rows:
        lines += [f"   * - {vendor}", f"     - ``{name}``", f"     - {qubits}"]
    target = out_dir / "gate_maps_table.rst"
    text = "\n".join(lines) + "\n"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


def _on_builder_inited(app: Any) -> None:
    out_dir = Path(app.srcdir) / "_generated"
    rows = generate(out_dir)
    _write_table(out_dir, rows)


def setup(app: Any) -> dict[str, Any]:
    """Register the gate-map generator."""
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
