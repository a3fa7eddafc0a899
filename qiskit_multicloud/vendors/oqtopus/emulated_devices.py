"""The devices the OQTOPUS emulator offers, with ``device_info`` in the topology format.

* ``qulacs`` - a 16-qubit state-vector simulator, all-to-all, rich basis, no ``device_info``.
* ``anemone`` - a 16-qubit (4x4 grid) superconducting-style QPU, basis ``sx rz x cx id``,
  calibrated **directed** couplings (one direction per grid edge).
* ``kawasaki150`` - a 150-qubit (10x15 grid) QPU with the same basis, for Target-construction
  benchmarks.

Numbers come from :func:`qiskit_multicloud.emulators.devices.calibration` (seconds) and are
published as OQTOPUS does: T1/T2 in microseconds, gate durations in nanoseconds, fidelities.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ...emulators.devices import calibration, grid_edges

SIMULATOR_BASIS = [
    "x",
    "y",
    "z",
    "h",
    "s",
    "sdg",
    "t",
    "tdg",
    "rx",
    "ry",
    "rz",
    "cx",
    "cz",
    "swap",
    "u1",
    "u2",
    "u3",
    "u",
    "p",
    "id",
    "sx",
    "sxdg",
]
QPU_BASIS = ["sx", "rz", "x", "cx", "id"]
CALIBRATED_AT = "2025-04-20T10:03:16.755183Z"


@dataclasses.dataclass
class EmulatedDevice:
    """One device: its API object (without the ``device_info`` URL) and topology document."""

    device: dict[str, Any]
    info: dict[str, Any] | None


def topology(device_id: str, rows: int, cols: int, seed: int) -> dict[str, Any]:
    """A ``device_info`` topology document for a rows x cols grid."""
    n = rows * cols
    edges = grid_edges(rows, cols)
    cal = calibration(n, edges, seed=seed)
    qubits = []
    for q in range(n):
        readout = cal.readout_error[q]
        qubits.append(
            {
                "id": q,
                "physical_id": q,
                "position": {"x": float(q % cols), "y": float(q // cols)},
                "fidelity": round(1.0 - cal.single_qubit_error[q], 6),
                "meas_error": {
                    "prob_meas1_prep0": round(readout * 0.9, 5),
                    "prob_meas0_prep1": round(readout * 1.1, 5),
                    "readout_assignment_error": readout,
                },
                "qubit_lifetime": {
                    "t1": round(cal.t1[q] * 1e6, 3),
                    "t2": round(cal.t2[q] * 1e6, 3),
                },
                "gate_duration": {
                    "rz": 0,
                    "sx": round(cal.single_qubit_duration * 1e9),
                    "x": 2 * round(cal.single_qubit_duration * 1e9),
                },
            }
        )
    couplings = [
        {
            # Alternate the calibrated direction so the Target really is directed.
            "control": a if (a + b) % 4 else b,
            "target": b if (a + b) % 4 else a,
            "fidelity": round(1.0 - cal.two_qubit_error[(a, b)], 6),
            "gate_duration": {"cx": round(cal.two_qubit_duration * 1e9)},
        }
        for a, b in edges
    ]
    return {
        "name": device_id,
        "device_id": device_id,
        "qubits": qubits,
        "couplings": couplings,
        "calibrated_at": CALIBRATED_AT,
    }


def _qpu(device_id: str, rows: int, cols: int, seed: int, description: str) -> EmulatedDevice:
    return EmulatedDevice(
        device={
            "device_id": device_id,
            "device_type": "QPU",
            "status": "available",
            "available_at": None,
            "n_pending_jobs": 0,
            "n_qubits": rows * cols,
            "basis_gates": list(QPU_BASIS),
            "supported_instructions": ["measure", "barrier", "reset", "delay"],
            "device_info": None,
            "calibrated_at": CALIBRATED_AT,
            "description": description,
        },
        info=topology(device_id, rows, cols, seed),
    )


def default_devices() -> dict[str, EmulatedDevice]:
    """Fresh copies of the emulator's devices, by id."""
    qulacs = EmulatedDevice(
        device={
            "device_id": "qulacs",
            "device_type": "simulator",
            "status": "available",
            "available_at": None,
            "n_pending_jobs": 0,
            "n_qubits": 16,
            "basis_gates": list(SIMULATOR_BASIS),
            "supported_instructions": ["measure", "barrier", "reset"],
            "device_info": None,
            "calibrated_at": None,
            "description": "State vector simulator (emulated)",
        },
        info=None,
    )
    devices = [
        qulacs,
        _qpu("anemone", 4, 4, 11, "Superconducting quantum computer, 4x4 grid (emulated)"),
        _qpu("kawasaki150", 10, 15, 23, "150-qubit superconducting quantum computer (emulated)"),
    ]
    return {d.device["device_id"]: d for d in devices}
