"""OQTOPUS device objects and ``device_info`` documents -> :class:`DeviceSpec`.

Two ``device_info`` shapes are understood (protocol notes, section 4.4):

* the **topology** format (``qubits[]`` with dense ``id``, ``fidelity``, ``meas_error``,
  ``qubit_lifetime`` in microseconds, ``gate_duration`` in nanoseconds, and directed
  ``couplings[]``);
* the **legacy** format (``calibration_data`` maps keyed by qubit index strings,
  ``qubit_connectivity`` as ``"(a,b)"`` strings), recognised but never emitted.

Without either, the device is all-to-all over ``n_qubits`` (simulators).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from ...exceptions import MalformedResponseError
from ...types import DeviceSpec, InstructionProps, Qargs

log = logging.getLogger(__name__)

VENDOR = "oqtopus"
#: The API's shot limit (hardware gateways may impose lower limits).
MAX_SHOTS = 10_000_000

#: OQTOPUS basis-gate name -> Qiskit instruction name. ``rzx90`` (the native cross-resonance
#: gate) is modelled as ``cx`` on the calibrated couplings, exactly as OQTOPUS's own
#: transpiler does; the server then inserts the native gate itself.
GATE_NAMES: dict[str, str] = {
    "id": "id",
    "x": "x",
    "y": "y",
    "z": "z",
    "h": "h",
    "s": "s",
    "sdg": "sdg",
    "t": "t",
    "tdg": "tdg",
    "sx": "sx",
    "sxdg": "sxdg",
    "rx": "rx",
    "ry": "ry",
    "rz": "rz",
    "p": "p",
    "u": "u",
    "u1": "u1",
    "u2": "u2",
    "u3": "u3",
    "cx": "cx",
    "cz": "cz",
    "cy": "cy",
    "swap": "swap",
    "ecr": "ecr",
    "ccx": "ccx",
    "rzx90": "cx",
}
TWO_QUBIT = frozenset({"cx", "cz", "cy", "swap", "ecr"})
THREE_QUBIT = frozenset({"ccx"})
#: Gates OQTOPUS treats as virtual (no duration, no error).
VIRTUAL = frozenset({"rz", "p", "u1"})
#: ``supported_instructions`` entries that become Target instructions.
NON_GATES = ("measure", "reset", "delay")


def _field(obj: Mapping[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, Mapping) or name not in obj:
        raise MalformedResponseError(f"{VENDOR}: {where} has no '{name}' field", vendor=VENDOR)
    value = obj[name]
    if not isinstance(value, kind):
        raise MalformedResponseError(
            f"{VENDOR}: {where} field '{name}' is {type(value).__name__}, not "
            f"{getattr(kind, '__name__', kind)}",
            vendor=VENDOR,
        )
    return value


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _scaled(value: Any, factor: float) -> float | None:
    number = _num(value)
    return None if number is None else number * factor


def check_device(device: Any) -> None:
    """Raise :class:`MalformedResponseError` if a device object lacks a required field."""
    if not isinstance(device, Mapping):
        raise MalformedResponseError(f"{VENDOR}: a device entry is not an object", vendor=VENDOR)
    where = f"device {_field(device, 'device_id', str, 'device')!r}"
    for name, kind in (("device_type", str), ("status", str), ("basis_gates", list)):
        _field(device, name, kind, where)


def device_spec(device: Mapping[str, Any], info: Mapping[str, Any] | None) -> DeviceSpec | None:
    """Build the neutral spec of one device object (``info`` = its parsed ``device_info``).

    Returns:
        The spec, or ``None`` (with a warning) for a device that states no qubit count at all.

    Raises:
        MalformedResponseError: a required field of the device object is missing or mistyped.
    """
    device_id = _field(device, "device_id", str, "device")
    where = f"device {device_id!r}"
    device_type = _field(device, "device_type", str, where)
    status = _field(device, "status", str, where)
    basis = [str(g) for g in _field(device, "basis_gates", list, where)]
    supported = [str(s) for s in device.get("supported_instructions") or []]
    pending = device.get("n_pending_jobs")
    topology = info if info and isinstance(info.get("qubits"), list) else None
    legacy = info.get("calibration_data") if info else None
    if topology is not None:
        gates, n_qubits, t1, t2 = _from_topology(topology, basis, supported, where)
        source = "device_info (topology)"
    else:
        count = device.get("n_qubits")
        if not isinstance(count, int) or count <= 0:
            log.warning("%s: %s states no qubit count; it is skipped", VENDOR, where)
            return None
        n_qubits = count
        if isinstance(legacy, Mapping):
            gates, t1, t2 = _from_legacy(legacy, n_qubits, basis, supported)
            source = "device_info (legacy calibration_data)"
        else:
            gates, t1, t2 = _all_to_all(basis, supported), {}, {}
            source = "basis_gates (all-to-all, no topology published)"
    calibrated = device.get("calibrated_at") or (info or {}).get("calibrated_at")
    return DeviceSpec(
        vendor=VENDOR,
        device_id=device_id,
        n_qubits=n_qubits,
        gates=gates,
        description=str(device.get("description") or ""),
        online=status == "available",
        simulator=device_type == "simulator",
        queue_length=pending if isinstance(pending, int) else None,
        max_shots=MAX_SHOTS,
        max_circuits=1,
        supports_memory=False,
        t1=t1,
        t2=t2,
        calibration_id=str(calibrated) if calibrated else None,
        calibrated_at=str(calibrated) if calibrated else None,
        target_source=source,
        raw=dict(device),
        extra={
            "device_type": device_type,
            "available_at": device.get("available_at"),
            "basis_gates": basis,
            "supported_instructions": supported,
            # The entangler in the Target is a stand-in for rzx90: the server must translate.
            "needs_server_transpile": "rzx90" in basis and not ({"cx", "cz", "ecr"} & set(basis)),
            # The qubits' published drawing positions, for plot_device.
            "qubit_coordinates": _coordinates(topology) if topology is not None else None,
        },
    )


def _qiskit_basis(basis: list[str]) -> list[str]:
    names = []
    for name in basis:
        mapped = GATE_NAMES.get(
            name, name
        )  # unknown names reach the Target builder, which skips them
        if mapped not in names:
            names.append(mapped)
    return names


def _non_gates(supported: list[str]) -> list[str]:
    return ["measure", *(n for n in NON_GATES[1:] if n in supported)]


def _all_to_all(basis: list[str], supported: list[str]) -> dict[str, dict[Qargs, InstructionProps]]:
    empty = InstructionProps()
    gates: dict[str, dict[Qargs, InstructionProps]] = {
        name: {None: empty} for name in _qiskit_basis(basis)
    }
    for name in _non_gates(supported):
        gates[name] = {None: empty}
    return gates


def _coordinates(topology: Mapping[str, Any]) -> dict[int, tuple[float, float]] | None:
    """``{qubit: (x, y)}`` from ``qubits[].position``, or ``None`` unless every qubit has one."""
    found = {}
    for qubit in topology["qubits"]:
        position = qubit.get("position") if isinstance(qubit, Mapping) else None
        if not isinstance(position, Mapping):
            return None
        x, y = _num(position.get("x")), _num(position.get("y"))
        if x is None or y is None or not isinstance(qubit.get("id"), int):
            return None
        found[int(qubit["id"])] = (x, y)
    return found


def _from_topology(
    info: Mapping[str, Any], basis: list[str], supported: list[str], where: str
) -> tuple[dict[str, dict[Qargs, InstructionProps]], int, dict[int, float], dict[int, float]]:
    qubits = [q for q in info["qubits"] if isinstance(q, Mapping)]
    ids = [q.get("id") for q in qubits]
    if not qubits or sorted(ids) != list(range(len(qubits))):  # type: ignore[type-var]
        raise MalformedResponseError(
            f"{VENDOR}: {where} device_info qubits[].id are not the dense indices 0..N-1",
            vendor=VENDOR,
        )
    n = len(qubits)
    one_q: dict[int, dict[str, InstructionProps]] = {}
    measure: dict[Qargs, InstructionProps] = {}
    t1: dict[int, float] = {}
    t2: dict[int, float] = {}
    for qubit in qubits:
        q = int(qubit["id"])
        fidelity = _num(qubit.get("fidelity"))
        error = None if fidelity is None else max(0.0, 1.0 - fidelity)
        durations = qubit.get("gate_duration") or {}
        one_q[q] = {}
        for name in basis:
            mapped = GATE_NAMES.get(name, name)
            if mapped in TWO_QUBIT or mapped in THREE_QUBIT:
                continue
            if mapped in VIRTUAL:
                one_q[q][mapped] = InstructionProps(error=0.0, duration=0.0)
            else:
                one_q[q][mapped] = InstructionProps(
                    error=error, duration=_scaled(durations.get(name), 1e-9)
                )
        meas = qubit.get("meas_error") or {}
        readout = _num(meas.get("readout_assignment_error"))
        if readout is None:
            p10, p01 = _num(meas.get("prob_meas1_prep0")), _num(meas.get("prob_meas0_prep1"))
            readout = (p10 + p01) / 2 if p10 is not None and p01 is not None else None
        measure[(q,)] = InstructionProps(error=readout)
        life = qubit.get("qubit_lifetime") or {}
        t1_us = _num(life.get("t1"))
        t2_us = next(
            (
                v
                for v in map(_num, (life.get("t2_echo"), life.get("t2"), life.get("t2_star")))
                if v is not None
            ),
            None,
        )
        if t1_us is not None:
            t1[q] = t1_us * 1e-6
        if t2_us is not None:
            t2[q] = t2_us * 1e-6
    gates: dict[str, dict[Qargs, InstructionProps]] = {}
    for name in _qiskit_basis(basis):
        if name in TWO_QUBIT:
            pairs = _couplings(info.get("couplings") or [], name, basis, n, where)
            if pairs:
                gates[name] = pairs
        elif name not in THREE_QUBIT:
            gates[name] = {(q,): one_q[q].get(name, InstructionProps()) for q in range(n)}
    gates["measure"] = measure
    for name in _non_gates(supported)[1:]:
        gates[name] = {(q,): InstructionProps() for q in range(n)}
    return gates, n, t1, t2


def _couplings(
    couplings: list[Any], name: str, basis: list[str], n: int, where: str
) -> dict[Qargs, InstructionProps]:
    """Two-qubit gate ``name`` on each directed coupling, error ``1 - fidelity``."""
    native = [b for b in basis if GATE_NAMES.get(b, b) == name]
    out: dict[Qargs, InstructionProps] = {}
    for coupling in couplings:
        if not isinstance(coupling, Mapping):
            continue
        control, target = coupling.get("control"), coupling.get("target")
        if not isinstance(control, int) or not isinstance(target, int):
            raise MalformedResponseError(
                f"{VENDOR}: {where} device_info coupling {coupling!r} lacks integer "
                "'control'/'target'",
                vendor=VENDOR,
            )
        fidelity = _num(coupling.get("fidelity"))
        durations = coupling.get("gate_duration") or {}
        duration = next(
            (
                d
                for d in (_num(durations.get(k)) for k in (*native, "rzx90", "cx", name))
                if d is not None
            ),
            None,
        )
        out[(control, target)] = InstructionProps(
            error=None if fidelity is None else max(0.0, 1.0 - fidelity),
            duration=None if duration is None else duration * 1e-9,
        )
    return out


_PAIR = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)")


def _from_legacy(
    data: Mapping[str, Any], n: int, basis: list[str], supported: list[str]
) -> tuple[dict[str, dict[Qargs, InstructionProps]], dict[int, float], dict[int, float]]:
    """The old ``calibration_data`` shape: per-gate maps keyed by qubit index strings."""

    def per_qubit(value: Any, factor: float = 1.0) -> dict[int, float]:
        out: dict[int, float] = {}
        if isinstance(value, Mapping):
            for key, number in value.items():
                if str(key).isdigit() and int(key) < n and _num(number) is not None:
                    out[int(key)] = float(number) * factor
        return out

    edges = []
    for text in data.get("qubit_connectivity") or []:
        match = _PAIR.fullmatch(str(text).strip())
        if match and int(match[1]) < n and int(match[2]) < n:
            edges.append((int(match[1]), int(match[2])))
    gate_error = data.get("gate_error") or {}
    gate_duration = data.get("gate_duration") or {}
    readout = per_qubit(data.get("ro_error"))
    gates: dict[str, dict[Qargs, InstructionProps]] = {}
    for name in basis:
        mapped = GATE_NAMES.get(name, name)
        if mapped in TWO_QUBIT:
            gates[mapped] = (
                {edge: InstructionProps() for edge in edges}
                if edges
                else {None: InstructionProps()}
            )
        elif mapped not in THREE_QUBIT:
            errors = per_qubit(gate_error.get(name))
            durations = per_qubit(gate_duration.get(name), 1e-9)
            gates[mapped] = {
                (q,): InstructionProps(error=errors.get(q), duration=durations.get(q))
                for q in range(n)
            }
    gates["measure"] = {(q,): InstructionProps(error=readout.get(q)) for q in range(n)}
    for name in _non_gates(supported)[1:]:
        gates[name] = {(q,): InstructionProps() for q in range(n)}
    return gates, per_qubit(data.get("t1"), 1e-6), per_qubit(data.get("t2"), 1e-6)
