"""The QPUs our OQC emulator serves, with feature sets in OQC's format.

Public feature-set keys (``qubit_count``, ``simulator``, ``always_on``, ``Maximum Shots``,
...) plus our optional topology/calibration keys (``native_gates``, ``coupling_map``,
``gate_errors``, ``gate_durations``, ``t1``, ``t2``, ``calibrated_at``).
"""

from __future__ import annotations

from typing import Any

from ...emulators.devices import calibration, grid_edges, ring_edges

CREATED_AT = "2024-04-09T14:24:50.918020+00:00"
OWNER = "6a1d0c52-3d0e-4a3b-9c55-0c1a2f9e7d11"


def _qpu(qpu_id: str, name: str, n: int, *, simulator: bool, active: bool = True,
         edges: list[tuple[int, int]] | None = None, seed: int = 7) -> dict[str, Any]:
    """One emulated QPU: the public feature-set keys plus our optional topology keys."""
    features: dict[str, Any] = {
        "always_on": True,
        "qubit_count": n,
        "simulator": simulator,
        "Maximum Shots": 100_000,
        "Maximum Repetition Period": "1 second",
        "Maximum Shots x Repetition Period": "600 seconds",
    }
    if simulator:
        features["native_gates"] = ["rz", "sx", "x", "cx", "measure"]
    else:
        cal = calibration(n, edges or [], seed=seed)
        qubits = range(n)
        features.update(
            native_gates=["rz", "sx", "x", "ecr", "measure"],
            coupling_map=[[a, b] for a, b in cal.edges],
            gate_errors={
                "rz": {str(q): 0.0 for q in qubits},
                "sx": {str(q): cal.single_qubit_error[q] for q in qubits},
                "x": {str(q): round(2 * cal.single_qubit_error[q], 6) for q in qubits},
                "ecr": {f"{a}-{b}": e for (a, b), e in cal.two_qubit_error.items()},
                "measure": {str(q): cal.readout_error[q] for q in qubits},
            },
            gate_durations={
                "rz": {str(q): 0.0 for q in qubits},
                "sx": {str(q): cal.single_qubit_duration for q in qubits},
                "x": {str(q): 2 * cal.single_qubit_duration for q in qubits},
                "ecr": {f"{a}-{b}": cal.two_qubit_duration for a, b in cal.edges},
                "measure": {str(q): cal.readout_duration for q in qubits},
            },
            t1={str(q): cal.t1[q] for q in qubits},
            t2={str(q): cal.t2[q] for q in qubits},
            calibrated_at="2026-01-05T06:00:00Z",
        )
    region, generation, _ = qpu_id.split(":")[1:]
    return {
        "id": qpu_id,
        "name": name,
        "active": active,
        "status": "ACTIVE" if active else "INACTIVE",
        "region": region,
        "generation": int(generation),
        "feature_set": features,
        "price_per_shot": "0" if simulator else "0.00035",
        "price_per_task": "0" if simulator else "0.3",
        "created_at": CREATED_AT,
        "created_by": OWNER,
        "updated_at": "2024-07-29T14:54:46.948951+00:00",
        "updated_by": OWNER,
    }


def default_qpus() -> list[dict[str, Any]]:
    """Lucy Simulator (8 qubits, all-to-all), Toshiko (32, 4x8 grid) and an inactive QPU."""
    return [
        _qpu("qpu:uk:2:d865b5a184", "Lucy Simulator", 8, simulator=True),
        _qpu("qpu:uk:3:9829a5504f", "Toshiko", 32, simulator=False, edges=grid_edges(4, 8)),
        _qpu("qpu:jp:3:673b1ad43c", "Toshiko Tokyo", 32, simulator=False, active=False,
             edges=ring_edges(32), seed=11),
    ]
