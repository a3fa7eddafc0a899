"""(a) Client overhead per circuit: validation + translation + result building, no HTTP."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from common import VENDORS, best_of, native_circuit, table

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.backend import MultiCloudBackend
from qiskit_multicloud.emulators.devices import line_edges
from qiskit_multicloud.exceptions import CircuitValidationError
from qiskit_multicloud.results import build_result
from qiskit_multicloud.types import CircuitCounts, CircuitLayout, uniform_gates

#: The emulated device each vendor is measured on (the largest real-device style one).
DEVICES = {
    "oqc": "qpu:uk:3:9829a5504f",
    "oqtopus": "kawasaki150",
    "iqm": "crystal-150",
    "qoro": "qoro_emulated_qpu",
    "qilimanjaro": "radagast",
}
ONE_QUBIT = ("sx", "x", "rz", "r")
TWO_QUBIT = ("cz", "cx", "ecr")
MIN_QUBITS = 100


def widened(backend: MultiCloudBackend, n_qubits: int) -> MultiCloudBackend:
    """The backend itself if big enough, else a copy of its device grown to ``n_qubits``.

    The copy keeps the device's native gate names on a line topology.
    """
    device = backend.device
    if device.n_qubits >= n_qubits:
        return backend
    one = [g for g in device.gates if g in ONE_QUBIT or g == "id"]
    two = [g for g in device.gates if g in TWO_QUBIT]
    gates = uniform_gates(n_qubits, one, two, edges=line_edges(n_qubits))
    bigger = dataclasses.replace(device, n_qubits=n_qubits, gates=gates)
    return type(backend)(backend.adapter, bigger, provider=None, job_store=None)


def synthetic_counts(n_bits: int, shots: int, rng: random.Random) -> dict[str, int]:
    """A 1000-shot style histogram over ``n_bits`` (many distinct keys for wide circuits)."""
    counts: dict[str, int] = {}
    for _ in range(shots):
        key = format(rng.getrandbits(n_bits), f"0{n_bits}b")
        counts[key] = counts.get(key, 0) + 1
    return counts


def measure_one(
    backend: MultiCloudBackend, n_qubits: int, depth: int, repeat: int, shots: int = 1000
) -> dict[str, Any]:
    """Time the three client-side stages for one circuit size on one backend."""
    device = backend.device
    one = [g for g in ONE_QUBIT if g in device.gates]
    two = next(g for g in TWO_QUBIT if g in device.gates)
    edges = [q for q in device.gates[two] if q is not None and len(q) == 2]
    if not edges:
        edges = line_edges(device.n_qubits)
    circuit = native_circuit(n_qubits, depth, one, two, edges)
    _ = backend.target  # built once, outside the timing (see part d)
    base = {"qubits": n_qubits, "depth": depth, "instructions": len(circuit.data)}
    try:
        backend._prepare([circuit], {})
    except CircuitValidationError as exc:  # e.g. OQC's 128 KiB request limit
        return {**base, "refused": str(exc).split(";")[0]}
    t_validate, (circuits, resolved) = best_of(lambda: backend._prepare([circuit], {}), repeat)
    t_payload, _ = best_of(
        lambda: backend.adapter.build_payload(device, circuits, resolved), repeat
    )
    counts = synthetic_counts(circuit.num_clbits, shots, random.Random(5))

    def result() -> Any:
        layouts = [CircuitLayout.from_circuit(circuit)]
        return build_result(
            vendor=backend.vendor,
            backend_name=backend.name,
            job_id="bench",
            layouts=layouts,
            outcomes=[CircuitCounts(counts=dict(counts), shots=shots)],
            shots=shots,
        )

    t_result, _ = best_of(result, repeat)
    return {
        **base,
        "validate_ms": t_validate * 1e3,
        "payload_ms": t_payload * 1e3,
        "result_ms": t_result * 1e3,
        "total_ms": (t_validate + t_payload + t_result) * 1e3,
    }


def run(
    vendors: tuple[str, ...] = VENDORS,
    qubits: tuple[int, ...] = (5, 20, 50, 100),
    depths: tuple[int, ...] = (10, 50, 200),
    repeat: int = 5,
) -> dict[str, Any]:
    """Every (qubits, depth) size on every vendor's (widened) device."""
    out: dict[str, Any] = {}
    with MultiCloudProvider.emulated(vendors, job_store=False, noise=False) as provider:
        for vendor in vendors:
            backend = widened(
                provider.get_backend(DEVICES[vendor], vendor=vendor),
                max(MIN_QUBITS, *qubits),
            )
            rows = [measure_one(backend, n, d, repeat) for n in qubits for d in depths]
            out[vendor] = {
                "device": backend.name,
                "device_qubits": backend.num_qubits,
                "widened": backend.device is not provider.get_backend(
                    DEVICES[vendor], vendor=vendor
                ).device,
                "rows": rows,
            }
    return out


def _cell(row: dict[str, Any]) -> str:
    return "refused¹" if "refused" in row else f"{row['total_ms']:.3f}"


def markdown(data: dict[str, Any]) -> str:
    """Total ms per circuit, vendors as columns; then the stage split at 20 qubits x 50."""
    vendors = list(data)
    sizes = [(r["qubits"], r["depth"], r["instructions"]) for r in data[vendors[0]]["rows"]]
    rows = []
    for index, (n, d, ops) in enumerate(sizes):
        rows.append([n, d, ops, *(_cell(data[v]["rows"][index]) for v in vendors)])
    text = "Client overhead per circuit, ms (validate + build_payload + build_result)\n\n"
    text += table(["qubits", "depth", "ops (~)", *vendors], rows)
    refused = {r["refused"] for v in vendors for r in data[v]["rows"] if "refused" in r}
    if refused:
        text += "\n\n¹ " + "; ".join(sorted(refused))
    split = []
    for v in vendors:
        for r in data[v]["rows"]:
            if (r["qubits"], r["depth"]) == (20, 50) and "refused" not in r:
                split.append(
                    [v, data[v]["device"], data[v]["device_qubits"],
                     f"{r['validate_ms']:.3f}", f"{r['payload_ms']:.3f}",
                     f"{r['result_ms']:.3f}", f"{r['total_ms']:.3f}"]
                )
    if split:
        text += "\n\nStages at 20 qubits, depth 50, ms\n\n" + table(
            ["vendor", "device", "device qubits", "validate", "build_payload", "result",
             "total"],
            split,
        )
    return text
