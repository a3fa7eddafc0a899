"""Devices the Qoro emulator publishes (in the service's discovery formats)."""

from __future__ import annotations

from typing import Any

from ...emulators.devices import calibration, line_edges


def qpu_systems() -> list[dict[str, Any]]:
    """One QPU system: a 5-qubit line QPU with basis gates, coupling map and calibration."""
    edges = line_edges(5)
    cal = calibration(5, edges, seed=11)
    qubits = [
        {
            "qubit": q,
            "t1": cal.t1[q],
            "t2": cal.t2[q],
            "gate_error": cal.single_qubit_error[q],
            "gate_duration": cal.single_qubit_duration,
            "readout_error": cal.readout_error[q],
            "readout_duration": cal.readout_duration,
        }
        for q in range(5)
    ]
    couplers = [
        {"qubits": list(e), "error": cal.two_qubit_error[e], "duration": cal.two_qubit_duration}
        for e in edges
    ]
    return [
        {
            "name": "qoro_emulated_qpu",
            "access_level": "PUBLIC",
            "supports_expval": False,
            "qpus": [
                {
                    "nickname": "emu_line5",
                    "q_bits": 5,
                    "status": "ONLINE",
                    "system_kind": "superconducting",
                    "vendor_type": "emulated",
                    "basis_gates": ["rz", "sx", "x", "cx", "measure", "reset"],
                    "coupling_map": [list(e) for e in edges],
                    "calibration": {
                        "id": "emu-cal-1",
                        "calibrated_at": "2026-01-01T00:00:00Z",
                        "qubits": qubits,
                        "couplers": couplers,
                    },
                }
            ],
        }
    ]


SIMULATOR_CLUSTERS = [
    {
        "name": "qoro_maestro",
        "access_level": "PUBLIC",
        "minimum_tier": "FREE",
        "supports_expval": True,
    }
]
BLUEPRINTS = {
    "emulated": {
        "label": "Emulated QPU",
        "credentials": [],
        "device": [
            {
                "name": "TRANSPILE_LEVEL",
                "kind": "number",
                "required": False,
                "secret": False,
                "choices": [],
                "default": 1,
            },
        ],
    }
}
