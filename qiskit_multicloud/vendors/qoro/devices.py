"""Qoro discovery documents (``qpusystem/``, ``simulatorcluster/``) -> :class:`DeviceSpec`.

The public service publishes only sizes: ``qpus[*].q_bits`` for QPU systems and nothing
for simulator clusters. It compiles the submitted OpenQASM 2.0 itself, so by default the
Target says what the *service* accepts: the ``qelib1.inc`` gate set with all-to-all
connectivity, and no invented errors or durations.

Where a QPU entry also carries ``basis_gates``, ``coupling_map`` and/or ``calibration``
(our emulator publishes them; the SDK ignores unknown fields), the Target uses them::

    "basis_gates": ["rz", "sx", "x", "cx"],
    "coupling_map": [[0, 1], [1, 2]],
    "calibration": {"id": "...", "calibrated_at": "...",
                    "qubits": [{"qubit": 0, "t1": 1e-4, "t2": 6e-5, "gate_error": 1e-3,
                                "gate_duration": 3.2e-8, "readout_error": 0.02,
                                "readout_duration": 1.5e-6}],
                    "couplers": [{"qubits": [0, 1], "error": 0.01, "duration": 2.5e-7}]}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from qiskit.circuit.library import get_standard_gate_name_mapping

from ...exceptions import MalformedResponseError
from ...types import DeviceSpec, InstructionProps, Qargs, uniform_gates

log = logging.getLogger(__name__)

VENDOR = "qoro"

#: OpenQASM 2 ``qelib1.inc`` single-qubit gates the service accepts (Qiskit names).
QELIB_1Q = (
    "id",
    "x",
    "y",
    "z",
    "h",
    "s",
    "sdg",
    "t",
    "tdg",
    "sx",
    "sxdg",
    "rx",
    "ry",
    "rz",
    "p",
    "u1",
    "u2",
    "u3",
    "u",
)
#: ... two-qubit gates.
QELIB_2Q = ("cx", "cy", "cz", "ch", "swap", "crx", "cry", "crz", "cp", "cu1", "cu3", "rxx", "rzz")
#: ... three-qubit gates.
QELIB_3Q = ("ccx", "cswap")
DEFAULT_SOURCE = "documented defaults (OpenQASM 2 qelib1.inc gate set, all-to-all)"


def malformed(message: str) -> MalformedResponseError:
    """A :class:`MalformedResponseError` for the Qoro vendor."""
    return MalformedResponseError(f"qoro: {message}", vendor=VENDOR)


def require(obj: Any, name: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``obj[name]`` checked to be of ``kind``, else :class:`MalformedResponseError`."""
    if not isinstance(obj, Mapping):
        raise malformed(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if name not in obj:
        raise malformed(f"{where}: field {name!r} is missing")
    value = obj[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise malformed(f"{where}: field {name!r} has unexpected type {type(value).__name__}")
    return value


def default_gates(n_qubits: int) -> dict[str, dict[Qargs, InstructionProps]]:
    """The service-wide gate set on ``n_qubits`` all-to-all qubits (plus measure, reset)."""
    gates = uniform_gates(n_qubits, QELIB_1Q, QELIB_2Q, edges=None, reset=True)
    for name in QELIB_3Q:
        gates[name] = {None: InstructionProps()}
    return gates


def _arity(name: str) -> int | None:
    gate = get_standard_gate_name_mapping().get(name)
    return None if gate is None else int(gate.num_qubits)


def _number(entry: Mapping[str, Any], key: str) -> float | None:
    value = entry.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _published_gates(
    name: str, qpu: Mapping[str, Any], n_qubits: int
) -> tuple[
    dict[str, dict[Qargs, InstructionProps]], dict[int, float], dict[int, float], dict[str, Any]
]:
    """Gates, T1, T2 and calibration facts from a QPU entry that publishes them."""
    where = f"qpusystem {name!r}"
    basis = qpu.get("basis_gates")
    if basis is not None and not (
        isinstance(basis, list) and all(isinstance(g, str) for g in basis)
    ):
        raise malformed(f"{where}: 'basis_gates' must be a list of gate names")
    coupling = qpu.get("coupling_map")
    edges: list[tuple[int, int]] | None = None
    if coupling is not None:
        try:
            edges = [(int(a), int(b)) for a, b in coupling]
        except (TypeError, ValueError) as exc:
            raise malformed(f"{where}: 'coupling_map' must be a list of [a, b] pairs") from exc
    calibration = qpu.get("calibration") or {}
    if not isinstance(calibration, Mapping):
        raise malformed(f"{where}: 'calibration' must be an object")
    one_props: dict[int, InstructionProps] = {}
    measure_props: dict[int, InstructionProps] = {}
    t1: dict[int, float] = {}
    t2: dict[int, float] = {}
    for entry in calibration.get("qubits") or []:
        qubit = require(entry, "qubit", int, f"{where} calibration")
        one_props[qubit] = InstructionProps(
            _number(entry, "gate_error"), _number(entry, "gate_duration")
        )
        measure_props[qubit] = InstructionProps(
            _number(entry, "readout_error"), _number(entry, "readout_duration")
        )
        if _number(entry, "t1") is not None:
            t1[qubit] = float(entry["t1"])
        if _number(entry, "t2") is not None:
            t2[qubit] = float(entry["t2"])
    two_props: dict[tuple[int, int], InstructionProps] = {}
    for entry in calibration.get("couplers") or []:
        pair = require(entry, "qubits", list, f"{where} calibration coupler")
        if len(pair) != 2:
            raise malformed(f"{where}: coupler {pair!r} must name two qubits")
        two_props[(int(pair[0]), int(pair[1]))] = InstructionProps(
            _number(entry, "error"), _number(entry, "duration")
        )
    names = list(basis) if basis is not None else [*QELIB_1Q, *QELIB_2Q, *QELIB_3Q]
    one = [g for g in names if _arity(g) == 1]
    two = [g for g in names if _arity(g) == 2]
    ignored = [g for g in names if g not in one and g not in two and g not in ("measure", "reset")]
    gates = uniform_gates(
        n_qubits,
        one,
        two,
        edges=edges,
        symmetric=True,
        reset="reset" in names or basis is None,
        one_qubit_props=one_props,
        two_qubit_props=two_props,
        measure_props=measure_props,
    )
    if edges is None:
        for gate in ignored:
            if _arity(gate) is not None:
                gates[gate] = {None: InstructionProps()}
    elif ignored:
        log.info("qoro: %s: gates %s left out of the coupled Target", where, ignored)
    facts = {k: calibration[k] for k in ("id", "calibrated_at") if k in calibration}
    return gates, t1, t2, facts


def qpu_system_spec(entry: Any) -> DeviceSpec | None:
    """One QPU system as a device; ``None`` (logged) when it lists no QPUs.

    Raises:
        MalformedResponseError: required fields missing or of the wrong type.
    """
    name = require(entry, "name", str, "qpusystem entry")
    qpus = entry.get("qpus") or []
    if not isinstance(qpus, list):
        raise malformed(f"qpusystem {name!r}: 'qpus' must be a list")
    if not qpus:
        log.info("qoro: QPU system %s lists no QPUs; skipped", name)
        return None
    for qpu in qpus:
        require(qpu, "q_bits", int, f"qpusystem {name!r} qpu")
    largest = max(qpus, key=lambda q: q["q_bits"])
    n_qubits = int(largest["q_bits"])
    online = any(str(q.get("status", "")).upper() == "ONLINE" for q in qpus)
    publishes = any(k in largest for k in ("basis_gates", "coupling_map", "calibration"))
    t1: dict[int, float] = {}
    t2: dict[int, float] = {}
    facts: dict[str, Any] = {}
    if publishes:
        gates, t1, t2, facts = _published_gates(name, largest, n_qubits)
        source = "qpusystem/ (basis_gates, coupling_map, calibration of the largest QPU)"
    else:
        gates, source = default_gates(n_qubits), DEFAULT_SOURCE
    nicknames = tuple(str(q["nickname"]) for q in qpus if isinstance(q.get("nickname"), str))
    kind = largest.get("system_kind") or "QPU"
    return DeviceSpec(
        vendor=VENDOR,
        device_id=name,
        n_qubits=n_qubits,
        gates=gates,
        description=f"Qoro QPU system {name} ({kind}, {n_qubits} qubits)",
        aliases=tuple(n for n in nicknames if n != name),
        online=online,
        simulator=False,
        t1=t1,
        t2=t2,
        calibration_id=str(facts["id"]) if "id" in facts else None,
        calibrated_at=str(facts["calibrated_at"]) if "calibrated_at" in facts else None,
        target_source=source,
        raw=dict(entry),
        extra={
            "kind": "qpu_system",
            "supports_expval": bool(entry.get("supports_expval", False)) or name == "qoro_maestro",
            "vendor_type": largest.get("vendor_type"),
        },
    )


def simulator_cluster_spec(entry: Any, n_qubits: int) -> DeviceSpec:
    """One simulator cluster as an all-to-all device of ``n_qubits`` (nothing is published).

    Raises:
        MalformedResponseError: ``name`` missing.
    """
    name = require(entry, "name", str, "simulatorcluster entry")
    return DeviceSpec(
        vendor=VENDOR,
        device_id=name,
        n_qubits=n_qubits,
        gates=default_gates(n_qubits),
        description=f"Qoro simulator cluster {name} (assumed {n_qubits} qubits)",
        online=True,
        simulator=True,
        target_source=DEFAULT_SOURCE + f"; {n_qubits} qubits is the simulator_qubits setting",
        raw=dict(entry),
        extra={
            "kind": "simulator_cluster",
            "supports_expval": bool(entry.get("supports_expval", True)),
        },
    )
