"""Device records -> :class:`DeviceSpec`, with documented defaults for what is not published.

The service publishes no gate set or coupling map in a documented field. The Target is
therefore built from, in order of preference:

* ``static_features`` keys ``number_qubits``, ``native_gates`` and ``connectivity`` (a list of
  pairs or ``"all-to-all"``) when present (our emulator publishes them);
* a small catalogue of publicly described chips (Soprano: 5 qubits, star on qubit 2);
* defaults: QPUs get ``rz sx x cz measure`` (CZ symmetric), simulators the whole gate list the
  Qibo QASM importer accepts under Qiskit names (except the 3-qubit ``ccx``), all-to-all.

Calibration numbers, when a device publishes them in ``dynamic_features`` (our emulator's
convention, see :func:`_calibration`), become instruction errors/durations and T1/T2.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ...exceptions import MalformedResponseError
from ...types import DeviceSpec, InstructionProps, Qargs, uniform_gates
from .settings import VENDOR, QilimanjaroSettings

log = logging.getLogger(__name__)

QPU_ONE_QUBIT = ("rz", "sx", "x")
QPU_TWO_QUBIT = ("cz",)
SIMULATOR_ONE_QUBIT = (
    "id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "sxdg", "rx", "ry", "rz",
    "u1", "u2", "u3",
)
SIMULATOR_TWO_QUBIT = (
    "cx", "cy", "cz", "csx", "crx", "cry", "crz", "cu1", "cu3", "swap", "rxx", "rzz",
)
SIMULATOR_THREE_QUBIT = ("ccx",)
#: Every gate name the Qibo dialect and Qiskit share (what ``native_gates`` may list).
ACCEPTED = frozenset(SIMULATOR_ONE_QUBIT + SIMULATOR_TWO_QUBIT + SIMULATOR_THREE_QUBIT)
ARITY = {**{g: 1 for g in SIMULATOR_ONE_QUBIT}, **{g: 2 for g in SIMULATOR_TWO_QUBIT},
         "ccx": 3}

#: Publicly described chips: name -> (qubits, edges).
CATALOGUE: dict[str, tuple[int, list[tuple[int, int]]]] = {
    "soprano": (5, [(0, 2), (1, 2), (2, 3), (2, 4)]),
}
DEFAULT_QPU = "soprano"


def device_spec(item: Any, settings: QilimanjaroSettings) -> DeviceSpec | None:
    """One device record as a :class:`DeviceSpec` (``None`` for non-circuit devices).

    Raises:
        MalformedResponseError: the record lacks ``id``/``name`` or has malformed features.
    """
    if not isinstance(item, Mapping):
        raise MalformedResponseError(f"{VENDOR}: a device record is not an object",
                                     vendor=VENDOR)
    device_id = item.get("id", item.get("device_id"))
    name = item.get("name", item.get("device_name"))
    if isinstance(device_id, bool) or not isinstance(device_id, int | str):
        raise MalformedResponseError(f"{VENDOR}: a device record lacks 'id'", vendor=VENDOR)
    if not isinstance(name, str) or not name:
        raise MalformedResponseError(
            f"{VENDOR}: device {device_id} lacks the string field 'name'", vendor=VENDOR
        )
    kind = str(item.get("type") or item.get("device_type") or "")
    if kind == "quantum_analog_device":
        log.info("%s: skipping analog device %s (no gate circuits)", VENDOR, name)
        return None
    status = str(item.get("status") or "")
    simulator = "simulator" in kind
    static = _mapping(item.get("static_features"), name, "static_features")
    dynamic = _mapping(item.get("dynamic_features"), name, "dynamic_features")
    n_qubits, edges, source = _topology(name, simulator, static, settings)
    gates, t1, t2 = _gates(name, simulator, n_qubits, edges, static, dynamic)
    pending = item.get("number_pending_jobs")
    max_shots = static.get("max_shots")
    return DeviceSpec(
        vendor=VENDOR,
        device_id=name,
        n_qubits=n_qubits,
        gates=gates,
        description=f"Qilimanjaro {'simulator' if simulator else 'QPU'} {name} ({status})",
        aliases=(f"qilimanjaro_{name}",),
        online=status == "online",
        simulator=simulator,
        queue_length=pending if isinstance(pending, int) else None,
        max_shots=max_shots if isinstance(max_shots, int) and max_shots > 0 else 100_000,
        max_circuits=settings.max_circuits,
        supports_memory=True,
        t1=t1,
        t2=t2,
        calibrated_at=_text(dynamic.get("last_calibration_time")),
        target_source=source,
        raw=dict(item),
        extra={"id": device_id, "name": name, "status": status, "type": kind},
    )


def _mapping(value: Any, name: str, member: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedResponseError(f"{VENDOR}: device {name}: '{member}' is not an object",
                                     vendor=VENDOR)
    return value


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _topology(
    name: str, simulator: bool, static: Mapping[str, Any], settings: QilimanjaroSettings
) -> tuple[int, list[tuple[int, int]] | None, str]:
    """(qubits, edges or None for all-to-all, where it came from)."""
    catalogue = CATALOGUE.get(name.lower())
    number = static.get("number_qubits")
    if number is not None and (isinstance(number, bool) or not isinstance(number, int)
                               or number < 1):
        raise MalformedResponseError(
            f"{VENDOR}: device {name}: static_features.number_qubits is {number!r}",
            vendor=VENDOR,
        )
    connectivity = static.get("connectivity")
    if number is not None:
        source = "static_features"
    elif simulator:
        number, source = settings.simulator_qubits, "documented defaults (simulator)"
    elif catalogue is not None:
        number, source = catalogue[0], f"catalogue ({name})"
    else:
        log.warning("%s: device %s publishes no qubit count or coupling; assuming the "
                    "documented Soprano layout", VENDOR, name)
        number, source = CATALOGUE[DEFAULT_QPU][0], "documented defaults (Soprano layout)"
    edges: list[tuple[int, int]] | None
    if connectivity == "all-to-all" or (connectivity is None and simulator):
        edges = None
    elif connectivity is None:
        edges = list((catalogue or CATALOGUE[DEFAULT_QPU])[1])
        if number != len({q for e in edges for q in e}):
            edges = None if number == 1 else [(i, i + 1) for i in range(number - 1)]
    elif isinstance(connectivity, list):
        edges = []
        for pair in connectivity:
            if (not isinstance(pair, list | tuple) or len(pair) != 2
                    or not all(isinstance(q, int) and 0 <= q < number for q in pair)):
                raise MalformedResponseError(
                    f"{VENDOR}: device {name}: connectivity entry {pair!r} is not a pair of "
                    f"qubit indices below {number}",
                    vendor=VENDOR,
                )
            edges.append((int(pair[0]), int(pair[1])))
    else:
        raise MalformedResponseError(
            f"{VENDOR}: device {name}: connectivity {connectivity!r} is neither a list of "
            "pairs nor 'all-to-all'",
            vendor=VENDOR,
        )
    return number, edges, source


def _gates(
    name: str,
    simulator: bool,
    n_qubits: int,
    edges: list[tuple[int, int]] | None,
    static: Mapping[str, Any],
    dynamic: Mapping[str, Any],
) -> tuple[dict[str, dict[Qargs, InstructionProps]], dict[int, float], dict[int, float]]:
    native = static.get("native_gates")
    if isinstance(native, list) and all(isinstance(g, str) for g in native):
        names = [g for g in native if g in ACCEPTED]
        ignored = sorted(set(native) - ACCEPTED - {"measure"})
        if ignored:
            log.info("%s: device %s lists gates outside the Qibo dialect: %s", VENDOR, name,
                     ", ".join(ignored))
        one = [g for g in names if ARITY[g] == 1]
        two = [g for g in names if ARITY[g] == 2]
        three = [g for g in names if ARITY[g] == 3]
    elif simulator:
        one, two, three = (list(SIMULATOR_ONE_QUBIT), list(SIMULATOR_TWO_QUBIT),
                           list(SIMULATOR_THREE_QUBIT))
    else:
        one, two, three = list(QPU_ONE_QUBIT), list(QPU_TWO_QUBIT), []
    q_props, e_props, m_props, t1, t2 = _calibration(dynamic, n_qubits)
    gates = uniform_gates(
        n_qubits, one, two, edges=edges, symmetric=True,
        one_qubit_props=q_props, two_qubit_props=e_props, measure_props=m_props,
    )
    if "rz" in gates:  # virtual Z: no error, no duration
        gates["rz"] = {q: InstructionProps(0.0, 0.0) for q in gates["rz"]}
    if three:
        # Qiskit's transpile(backend) refuses 3-qubit basis gates together with the full
        # coupling map MultiCloudBackend reports for all-to-all devices; the transpiler
        # decomposes ccx into the remaining gates instead.
        log.debug("%s: %s left out of %s's Target", VENDOR, ", ".join(three), name)
    return gates, t1, t2


def _calibration(
    dynamic: Mapping[str, Any], n_qubits: int
) -> tuple[
    dict[int, InstructionProps],
    dict[tuple[int, int], InstructionProps],
    dict[int, InstructionProps],
    dict[int, float],
    dict[int, float],
]:
    """Read our emulator's calibration convention (all optional)::

        {"qubits": [{"id": 0, "t1": s, "t2": s, "gate_error": p, "readout_error": p}],
         "couplers": [{"qubits": [0, 2], "cz_error": p}],
         "gate_duration": s, "cz_duration": s, "readout_duration": s}
    """
    q_props: dict[int, InstructionProps] = {}
    e_props: dict[tuple[int, int], InstructionProps] = {}
    m_props: dict[int, InstructionProps] = {}
    t1: dict[int, float] = {}
    t2: dict[int, float] = {}
    gate_time = _number(dynamic.get("gate_duration"))
    cz_time = _number(dynamic.get("cz_duration"))
    readout_time = _number(dynamic.get("readout_duration"))
    qubits = dynamic.get("qubits")
    for entry in qubits if isinstance(qubits, list) else []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), int):
            continue
        q = entry["id"]
        if not 0 <= q < n_qubits:
            continue
        q_props[q] = InstructionProps(_number(entry.get("gate_error")), gate_time)
        m_props[q] = InstructionProps(_number(entry.get("readout_error")), readout_time)
        if (value := _number(entry.get("t1"))) is not None:
            t1[q] = value
        if (value := _number(entry.get("t2"))) is not None:
            t2[q] = value
    couplers = dynamic.get("couplers")
    for entry in couplers if isinstance(couplers, list) else []:
        pair = entry.get("qubits") if isinstance(entry, Mapping) else None
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(q, int) for q in pair):
            e_props[(pair[0], pair[1])] = InstructionProps(_number(entry.get("cz_error")),
                                                           cz_time)
    return q_props, e_props, m_props, t1, t2


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
