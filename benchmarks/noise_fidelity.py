"""How faithfully each emulated QPU reproduces the calibration it publishes.

Measured with an independent tool (qiskit-experiments), not with our own fits, on one QPU per
vendor through the normal client path (provider -> backend -> ``backend.run``):

* ``LocalReadoutError`` at 8000 shots: each qubit's assignment error
  ``(P(1|0) + P(0|1)) / 2`` against the published readout error (goal: within a factor 1.5);
* ``T1`` (devices whose Target has ``delay``): fitted T1 against the published T1 (goal: +-25%);
* ``StandardRB`` on one qubit: error per Clifford against the one predicted from the
  published 1-qubit gate errors (gate counts per Clifford of the transpiled sequences times
  each gate's published error; goal: within a factor 2).

Usage::

    python benchmarks/noise_fidelity.py [--vendors oqc,iqm] [--seed 1] [--output FILE]

Needs ``qiskit-experiments`` (the ``ecosystem`` extra). Experiments run with
``backend_run=True`` (the backend's own ``run()``, as on hardware).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qiskit_multicloud import MultiCloudProvider  # noqa: E402

#: One QPU-like device per vendor and the qubits measured on it.
DEVICES = {
    "oqc": ("qpu:uk:3:9829a5504f", [0, 1]),
    "oqtopus": ("anemone", [0, 1]),
    "iqm": ("emerald-20", [0, 1]),
    "qoro": ("qoro_emulated_qpu", [0, 1]),
    "qilimanjaro": ("radagast", [0, 1]),
}
READOUT_SHOTS = 8000
T1_SHOTS = 2000
RB_SHOTS = 1000
RB_LENGTHS = [1, 25, 50, 100, 200, 350, 500]
RB_SAMPLES = 6
FAST = {"poll_interval": 0.01, "max_poll_interval": 0.05}


def _value(data: Any, name: str) -> Any:
    return data.analysis_results(name, dataframe=True).iloc[0].value


def readout(backend: Any, qubits: list[int], seed: int) -> list[dict[str, Any]]:
    """LocalReadoutError on ``qubits``: measured vs published assignment error per qubit."""
    from qiskit_experiments.library import LocalReadoutError

    exp = LocalReadoutError(qubits, backend=backend)
    data = exp.run(backend_run=True, shots=READOUT_SHOTS, **FAST).block_for_results()
    mitigator = _value(data, "Local Readout Mitigator")
    rows = []
    for qubit in qubits:
        matrix = mitigator.assignment_matrix(qubit)
        measured = float((matrix[1, 0] + matrix[0, 1]) / 2)
        published = backend.target["measure"][(qubit,)].error
        rows.append(
            {"qubit": qubit, "published": published, "measured": measured,
             "ratio": measured / published if published else None}
        )
    return rows


def t1(backend: Any, qubit: int) -> dict[str, Any] | None:
    """T1 on ``qubit`` (None where the Target has no ``delay``)."""
    from qiskit_experiments.library import T1

    if "delay" not in backend.target.operation_names:
        return None
    published = backend.target.qubit_properties[qubit].t1
    delays = np.linspace(0, 4 * published, 21)
    exp = T1([qubit], delays=delays, backend=backend)
    data = exp.run(backend_run=True, shots=T1_SHOTS, **FAST).block_for_results()
    measured = _value(data, "T1")
    value = float(measured.nominal_value)
    return {"qubit": qubit, "published": published, "measured": value,
            "stderr": float(measured.std_dev), "ratio": value / published}


def rb(backend: Any, qubit: int, seed: int) -> dict[str, Any]:
    """StandardRB on ``qubit``: EPC vs the EPC the published 1-qubit gate errors predict."""
    from qiskit_experiments.library import StandardRB

    exp = StandardRB([qubit], RB_LENGTHS, num_samples=RB_SAMPLES, seed=seed, backend=backend)
    # No per-gate split of the EPC: qiskit-experiments 0.14 fails on Target entries without
    # an error (e.g. IQM's calibration-free ``id``) when it derives the default gate ratio.
    exp.analysis.set_options(gate_error_ratio=None)
    circuits = exp._transpiled_circuits()  # the exact circuits the experiment runs
    cliffords = sum(c.metadata["xval"] + 1 for c in circuits)  # +1: the inverting Clifford
    ops: Counter[str] = Counter()
    for circuit in circuits:
        ops.update(inst.operation.name for inst in circuit.data)
    per_clifford = {name: count / cliffords for name, count in ops.items()
                    if name not in ("measure", "barrier")}
    predicted = sum(
        n * (backend.target[name][(qubit,)].error or 0.0) for name, n in per_clifford.items()
    )
    data = exp.run(backend_run=True, shots=RB_SHOTS, **FAST).block_for_results()
    epc = _value(data, "EPC")
    value = float(epc.nominal_value)
    return {"qubit": qubit, "gates_per_clifford": per_clifford, "predicted": predicted,
            "measured": value, "stderr": float(epc.std_dev),
            "ratio": value / predicted if predicted else None}


def measure(vendor: str, seed: int) -> dict[str, Any]:
    """All three experiments on the vendor's QPU, with wall times."""
    name, qubits = DEVICES[vendor]
    started = time.perf_counter()
    with MultiCloudProvider.emulated([vendor], job_store=False, seed=seed) as provider:
        backend = provider.get_backend(name, vendor=vendor)
        out: dict[str, Any] = {"device": backend.name}
        out["readout"] = readout(backend, qubits, seed)
        out["t1"] = t1(backend, qubits[0])
        out["rb"] = rb(backend, qubits[0], seed)
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def table(results: dict[str, Any]) -> str:
    """The results as a reStructuredText list-table (pasted into docs/emulator_noise.rst)."""
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - vendor / device",
        "     - readout error, published -> measured (ratio)",
        "     - T1 us, published -> measured (ratio)",
        "     - RB error per Clifford, predicted -> measured (ratio)",
    ]
    for vendor, r in results.items():
        ro = "; ".join(
            f"q{row['qubit']}: {_fmt(row['published'])} -> {_fmt(row['measured'])} "
            f"({_fmt(row['ratio'], 3)})"
            for row in r["readout"]
        )
        if r["t1"] is None:
            t1_text = "no ``delay`` in the Target"
        else:
            t = r["t1"]
            t1_text = (f"q{t['qubit']}: {_fmt(t['published'] * 1e6)} -> "
                       f"{_fmt(t['measured'] * 1e6)} ({_fmt(t['ratio'], 3)})")
        b = r["rb"]
        rb_text = (f"q{b['qubit']}: {_fmt(b['predicted'])} -> {_fmt(b['measured'])} "
                   f"({_fmt(b['ratio'], 3)})")
        lines += [f"   * - {vendor} ``{r['device']}``", f"     - {ro}", f"     - {t1_text}",
                  f"     - {rb_text}"]
    return "\n".join(lines)


def verdict(results: dict[str, Any]) -> list[str]:
    """Goals not met (empty when every number is within its tolerance)."""
    misses = []
    for vendor, r in results.items():
        for row in r["readout"]:
            if not 1 / 1.5 <= row["ratio"] <= 1.5:
                misses.append(f"{vendor} readout q{row['qubit']} ratio {row['ratio']:.3f}")
        if r["t1"] is not None and not 0.75 <= r["t1"]["ratio"] <= 1.25:
            misses.append(f"{vendor} T1 ratio {r['t1']['ratio']:.3f}")
        if r["rb"]["ratio"] is None or not 0.5 <= r["rb"]["ratio"] <= 2:
            misses.append(f"{vendor} RB ratio {r['rb']['ratio']}")
    return misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vendors", default=",".join(DEVICES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" /
                                                "noise_fidelity.json"))
    args = parser.parse_args(argv)
    results = {v: measure(v, args.seed) for v in args.vendors.split(",")}
    Path(args.output).write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(table(results))
    misses = verdict(results)
    print("\nall within tolerance" if not misses else "\nNOT within tolerance: " +
          "; ".join(misses))
    return 0 if not misses else 1


if __name__ == "__main__":
    raise SystemExit(main())
