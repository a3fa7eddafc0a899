"""OQC QPU objects (``GET /admin/qpu``) to :class:`~qiskit_multicloud.types.DeviceSpec`.

Real OQC feature sets only publish ``qubit_count`` (plus ``simulator``, ``always_on`` and
shot limits). Our emulator adds optional keys, used when present:

* ``native_gates``: list of gate names; qelib1 single-qubit gates listed there join the Target.
* ``coupling_map``: directed ``[control, target]`` pairs; ``cx`` is offered both ways.
* ``gate_errors`` / ``gate_durations``: ``{gate: {"<q>" | "<a>-<b>": value}}`` (seconds).
* ``t1`` / ``t2``: ``{"<q>": seconds}``.

Without them the Target is the documented default: ``rz``, ``sx``, ``x``, ``id``, ``cx``
(all-to-all) and ``measure``, with no errors or durations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...decoding import loads
from ...exceptions import MalformedResponseError
from ...types import DeviceSpec, InstructionProps, Qargs

#: Gates every OQC Target has in the default (QASM 2) flavour.
DEFAULT_ONE_QUBIT = ("rz", "sx", "x", "id")
#: Further qelib1 single-qubit gates accepted when a feature set lists them as native.
OPTIONAL_ONE_QUBIT = frozenset({"h", "y", "z", "s", "sdg", "t", "tdg", "rx", "ry", "p", "u"})
#: Where ``cx`` errors/durations are looked up, in order (the service runs cx as ECR).
CX_SOURCES = ("cx", "ecr")
#: Per-task circuit cap (the async SDK's broadcast limit).
MAX_CIRCUITS = 200
DEFAULT_MAX_SHOTS = 100_000


def feature_set(item: Mapping[str, Any]) -> dict[str, Any]:
    """Decode a QPU's ``feature_set`` (a JSON string in production, an object in mocks).

    Raises:
        MalformedResponseError: it is neither, or not an object.
    """
    raw = item.get("feature_set")
    qpu = item.get("id", "?")
    if raw is None:
        return {}
    if isinstance(raw, str):
        raw = loads(raw, vendor="oqc", what=f"feature_set of QPU {qpu}") if raw.strip() else {}
    if not isinstance(raw, dict):
        raise MalformedResponseError(
            f"oqc: feature_set of QPU {qpu} is a {type(raw).__name__}, expected an object",
            vendor="oqc",
        )
    return raw


def _field(item: Mapping[str, Any], name: str) -> Any:
    if name not in item:
        raise MalformedResponseError(
            f"oqc: QPU object lacks '{name}' ({sorted(item)})", vendor="oqc"
        )
    return item[name]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _lookup(
    table: Any, names: tuple[str, ...], qargs: tuple[int, ...]
) -> float | None:
    """Value for the first of ``names`` that has ``qargs`` (pairs looked up both ways)."""
    if not isinstance(table, Mapping):
        return None
    keys = ["-".join(map(str, qargs))]
    if len(qargs) == 2:
        keys.append(f"{qargs[1]}-{qargs[0]}")
    for name in names:
        per_gate = table.get(name)
        if isinstance(per_gate, Mapping):
            for key in keys:
                found = _number(per_gate.get(key))
                if found is not None:
                    return found
    return None


def _edges(features: Mapping[str, Any], n: int, qpu: str) -> list[tuple[int, int]] | None:
    raw = features.get("coupling_map")
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise MalformedResponseError(
            f"oqc: coupling_map of QPU {qpu} is not a list of pairs", vendor="oqc"
        )
    edges: list[tuple[int, int]] = []
    for pair in raw:
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2
            or not all(isinstance(q, int) and not isinstance(q, bool) for q in pair)
            or not all(0 <= q < n for q in pair)
            or pair[0] == pair[1]
        ):
            raise MalformedResponseError(
                f"oqc: coupling_map of QPU {qpu} has entry {pair!r}; expected [control, "
                f"target] qubit indices below {n}",
                vendor="oqc",
            )
        edges.append((pair[0], pair[1]))
    return edges


def _props(
    features: Mapping[str, Any], names: tuple[str, ...], qargs: tuple[int, ...]
) -> InstructionProps:
    return InstructionProps(
        error=_lookup(features.get("gate_errors"), names, qargs),
        duration=_lookup(features.get("gate_durations"), names, qargs),
    )


def _per_qubit(features: Mapping[str, Any], key: str, n: int) -> dict[int, float]:
    table = features.get(key)
    if not isinstance(table, Mapping):
        return {}
    out: dict[int, float] = {}
    for q in range(n):
        value = _number(table.get(str(q)))
        if value is not None:
            out[q] = value
    return out


def gates(
    features: Mapping[str, Any], n: int, qpu: str
) -> dict[str, dict[Qargs, InstructionProps]]:
    """The default-flavour gate table: 1q gates per qubit, ``cx`` per edge (both ways)."""
    natives = features.get("native_gates")
    one_qubit = list(DEFAULT_ONE_QUBIT)
    if isinstance(natives, list):
        one_qubit += sorted(g for g in natives if g in OPTIONAL_ONE_QUBIT)
    table: dict[str, dict[Qargs, InstructionProps]] = {}
    for name in one_qubit:
        sources = (name, "sx") if name == "x" else (name,)
        table[name] = {(q,): _props(features, sources, (q,)) for q in range(n)}
    edges = _edges(features, n, qpu)
    if edges is None:
        table["cx"] = {None: InstructionProps()}
    else:
        pairs: dict[Qargs, InstructionProps] = {}
        for a, b in edges:
            pairs[(a, b)] = _props(features, CX_SOURCES, (a, b))
            pairs.setdefault((b, a), _props(features, CX_SOURCES, (b, a)))
        table["cx"] = pairs
    table["measure"] = {(q,): _props(features, ("measure",), (q,)) for q in range(n)}
    return table


def absolute_url(entry_url: str, qpu_url: str) -> str:
    """The QPU's task URL; relative values are prefixed with the entry URL (as the SDKs do)."""
    if qpu_url.startswith(("http://", "https://")):
        return qpu_url.rstrip("/")
    return f"{entry_url}/{qpu_url.strip('/')}"


def device_spec(item: Mapping[str, Any], entry_url: str) -> DeviceSpec:
    """One QPU object as a DeviceSpec.

    Raises:
        MalformedResponseError: ``id``, ``url`` or ``feature_set.qubit_count`` is missing.
    """
    if not isinstance(item, Mapping):
        raise MalformedResponseError("oqc: a QPU list item is not an object", vendor="oqc")
    qpu_id = str(_field(item, "id"))
    url = _field(item, "url")
    if not isinstance(url, str) or not url:
        raise MalformedResponseError(f"oqc: QPU {qpu_id} has no usable 'url'", vendor="oqc")
    features = feature_set(item)
    n = features.get("qubit_count")
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise MalformedResponseError(
            f"oqc: feature_set of QPU {qpu_id} lacks a positive 'qubit_count' ({n!r})",
            vendor="oqc",
        )
    max_shots = features.get("Maximum Shots")
    has_topology = "coupling_map" in features
    has_cal = "gate_errors" in features or "gate_durations" in features
    source = "feature_set qubit_count + documented OQC default gates (rz, sx, x, cx)"
    if has_topology or has_cal:
        extras = [k for k in ("coupling_map", "gate_errors", "gate_durations") if k in features]
        source = f"feature_set ({', '.join(['qubit_count', *extras])})"
    name = item.get("name")
    aliases = (str(name),) if name and str(name) != qpu_id else ()
    active = item.get("active")
    return DeviceSpec(
        vendor="oqc",
        device_id=qpu_id,
        n_qubits=n,
        gates=gates(features, n, qpu_id),
        description=str(name or qpu_id),
        aliases=aliases,
        online=bool(active) if active is not None else item.get("status") == "ACTIVE",
        simulator=bool(features.get("simulator", False)),
        max_shots=max_shots if isinstance(max_shots, int) and max_shots > 0 else DEFAULT_MAX_SHOTS,
        max_circuits=MAX_CIRCUITS,
        supports_memory=False,
        t1=_per_qubit(features, "t1", n),
        t2=_per_qubit(features, "t2", n),
        calibrated_at=str(features["calibrated_at"]) if "calibrated_at" in features else None,
        version=str(item.get("generation", "")),
        target_source=source,
        raw=dict(item),
        extra={"url": absolute_url(entry_url, url), "features": features},
    )
