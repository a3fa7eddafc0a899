"""Sphinx extension: the "Choosing a cloud" page's ranking, comparison and picture.

At ``builder-inited`` it starts the five local emulators (seeded), ranks every emulated QPU
for a 4-qubit GHZ circuit with ``provider.rank_backends``, runs the circuit on the best QPU
of each vendor with ``provider.compare`` and writes into ``docs/_generated/``:

* ``choosing_compare.png``: ``Comparison.plot()``;
* ``choosing_ranking.txt`` and ``choosing_compare.txt``: the ``.table()`` outputs, which
  ``choosing.rst`` shows with ``literalinclude``.

The emulated QPUs simulate the noise their device data publishes where the emulators do so,
which is what makes the measured column meaningful. Needs matplotlib, as the gate-map
pictures do. Kept apart from ``gate_maps`` on purpose.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Seeds of the emulators' shot noise and of the transpiler, so rebuilds agree.
SEED = 2026


def ghz(n: int = 4) -> Any:
    """The circuit of the page."""
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(n, name=f"ghz{n}")
    circuit.h(0)
    for qubit in range(n - 1):
        circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def generate(out_dir: Path) -> None:
    """Rank, compare and draw into ``out_dir``."""
    from qiskit_multicloud import MultiCloudProvider

    out_dir.mkdir(parents=True, exist_ok=True)
    circuit = ghz()
    with MultiCloudProvider.emulated(job_store=False, seed=SEED) as provider:
        ranking = provider.rank_backends(circuit, seed_transpiler=SEED)
        best: dict[str, Any] = {}
        for entry in ranking:
            best.setdefault(entry.backend.vendor, entry)
        comparison = provider.compare(
            circuit, list(best.values()), shots=4000, run_options={"poll_interval": 0.02}
        )
    _write(out_dir / "choosing_ranking.txt", ranking.table() + "\n")
    _write(out_dir / "choosing_compare.txt", comparison.table() + "\n")
    comparison.plot(str(out_dir / "choosing_compare.png"))


def _on_builder_inited(app: Any) -> None:
    generate(Path(app.srcdir) / "_generated")


def setup(app: Any) -> dict[str, Any]:
    """Register the generator."""
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
