"""IQM dynamic quantum architecture + calibration observations -> :class:`DeviceSpec`.

* Qubits are the DQA ``qubits`` (in DQA order) that have both ``prx`` and ``measure``;
  they get indices 0..n-1. Computational resonators are not Target qubits.
* ``prx`` -> Qiskit ``r`` (same definition, radians), ``measure``, ``cz`` on qubit pairs in
  both orientations, ``id`` and ``delay`` everywhere, ``reset`` where ``cc_prx`` is calibrated,
  and ``if_else`` (feed-forward) when it is.
* Star architectures: ``cz`` between qubits ``a`` and ``b`` also exists when ``cz(a, r)`` and
  ``move(b, r)`` share a resonator ``r``; it runs as ``move(b, r) cz(a, r) move(b, r)``.
* Errors (1 - fidelity) and durations come from the calibration set and quality-metric
  observations of the locus' default implementation; T1/T2 from the characterisation model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...exceptions import MalformedResponseError
from ...types import DeviceSpec, InstructionProps, Qargs


def _require(data: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(data, Mapping) or key not in data:
        raise MalformedResponseError(f"iqm: {where} has no field {key!r}", vendor="iqm")
    return data[key]


def observation_values(*observation_sets: Any) -> dict[str, float]:
    """``dut_field`` (suffix after ``:`` dropped) -> numeric value, from observation sets."""
    values: dict[str, float] = {}
    for obs_set in observation_sets:
        if not isinstance(obs_set, Mapping):
            continue
        for obs in obs_set.get("observations") or ():
            if not isinstance(obs, Mapping) or obs.get("invalid"):
                continue
            field = str(obs.get("dut_field", "")).split(":", 1)[0]
            value = obs.get("value")
            if field and isinstance(value, int | float) and not isinstance(value, bool):
                values.setdefault(field, float(value))
    return values


class GateInfo:
    """One DQA gate entry: loci per implementation and default implementations."""

    def __init__(self, name: str, data: Any) -> None:
        where = f"dynamic-quantum-architecture gates[{name!r}]"
        impls = _require(data, "implementations", where)
        if not isinstance(impls, Mapping):
            raise MalformedResponseError(
                f"iqm: {where}.implementations is not an object", vendor="iqm"
            )
        self.name = name
        self.loci: list[tuple[str, ...]] = []
        for impl in impls.values():
            for locus in _require(impl, "loci", where):
                loc = tuple(str(c) for c in locus)
                if loc not in self.loci:
                    self.loci.append(loc)
        self.default = str(data.get("default_implementation") or next(iter(impls), ""))
        self.overrides = {
            str(k): str(v) for k, v in (data.get("override_default_implementation") or {}).items()
        }

    def implementation(self, locus: Sequence[str]) -> str:
        """Default implementation for ``locus`` (per-locus override first)."""
        return self.overrides.get(",".join(locus), self.default)


def _error(values: Mapping[str, float], *names: str) -> float | None:
    for name in names:
        if name in values:
            return min(1.0, max(0.0, 1.0 - values[name]))
    return None


def _duration(values: Mapping[str, float], *names: str) -> float | None:
    return next((values[n] for n in names if n in values), None)


def pair_properties(
    values: Mapping[str, float], gate: str, impl: str, a: str, b: str
) -> InstructionProps:
    """Error (1 - IRB fidelity) and duration of a 2-component gate, locus in either order."""
    names = [f"{a}__{b}", f"{b}__{a}"]
    return InstructionProps(
        error=_error(values, *(f"metrics.irb.{gate}.{impl}.{n}.fidelity" for n in names)),
        duration=_duration(values, *(f"gates.{gate}.{impl}.{n}.duration" for n in names)),
    )


def _names(qc: Mapping[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    """(alias, device id, other names) of a quantum computer entry."""
    alias = str(_require(qc, "alias", "quantum computer"))
    name = str(qc.get("display_name") or alias) if alias == "default" else alias
    aliases = tuple(a for a in {alias, str(qc.get("display_name") or alias)} if a != name)
    return alias, name, aliases


def partial_device(qc: Mapping[str, Any]) -> DeviceSpec:
    """A device known from its ``GET /api/v1/quantum-computers`` entry only.

    Names and description are final; gates, qubits and calibration are filled in by
    ``IQMAdapter.complete_device`` (the backend does so on first use).
    """
    alias, name, aliases = _names(qc)
    return DeviceSpec(
        vendor="iqm",
        device_id=name,
        n_qubits=0,
        gates={},
        description=str(qc.get("display_name") or alias),
        aliases=aliases,
        max_circuits=None,
        supports_memory=True,
        target_source="not fetched yet",
        raw={"quantum_computer": dict(qc)},
        extra={"alias": alias, "qc_id": str(qc.get("id", "")), "partial": True},
    )


def device_from_dqa(
    qc: Mapping[str, Any],
    dqa: Mapping[str, Any],
    calibration: Any = None,
    metrics: Any = None,
) -> DeviceSpec:
    """Build the neutral device description of one quantum computer.

    Args:
        qc: the entry of ``GET /api/v1/quantum-computers``.
        dqa: the dynamic quantum architecture.
        calibration: the calibration set (observation set) or ``None``.
        metrics: the quality-metric set or ``None``.

    Raises:
        MalformedResponseError: required fields are missing.
    """
    alias, name, aliases = _names(qc)
    cs_id = str(_require(dqa, "calibration_set_id", "dynamic-quantum-architecture"))
    raw_gates = _require(dqa, "gates", "dynamic-quantum-architecture")
    if not isinstance(raw_gates, Mapping):
        raise MalformedResponseError("iqm: DQA gates is not an object", vendor="iqm")
    gates = {str(n): GateInfo(str(n), g) for n, g in raw_gates.items()}
    resonators = [str(r) for r in dqa.get("computational_resonators") or ()]
    one = {g: {loc[0] for loc in gates[g].loci if len(loc) == 1} for g in ("prx", "measure")
           if g in gates}
    qubits = [
        str(q)
        for q in _require(dqa, "qubits", "dynamic-quantum-architecture")
        if str(q) in one.get("prx", set()) and str(q) in one.get("measure", set())
    ]
    index = {q: i for i, q in enumerate(qubits)}
    values = observation_values(calibration, metrics)

    def one_qubit(gate: str, metric: str) -> dict[Qargs, InstructionProps]:
        info = gates[gate]
        out: dict[Qargs, InstructionProps] = {}
        for q in qubits:
            impl = info.implementation([q])
            out[(index[q],)] = InstructionProps(
                error=_error(values, f"metrics.{metric}.{gate}.{impl}.{q}.fidelity"),
                duration=_duration(values, f"gates.{gate}.{impl}.{q}.duration"),
            )
        return out

    def pair_props(gate: str, a: str, b: str) -> InstructionProps:
        return pair_properties(values, gate, gates[gate].implementation([a, b]), a, b)

    spec_gates: dict[str, dict[Qargs, InstructionProps]] = {}
    if qubits:
        spec_gates["r"] = one_qubit("prx", "rb")
        spec_gates["measure"] = one_qubit("measure", "ssro")
        spec_gates["id"] = {(i,): InstructionProps() for i in range(len(qubits))}
        spec_gates["delay"] = {(i,): InstructionProps() for i in range(len(qubits))}
    cz: dict[Qargs, InstructionProps] = {}
    real_cz: list[list[int]] = []
    cz_loci = gates["cz"].loci if "cz" in gates else []
    for locus in cz_loci:
        if len(locus) == 2 and all(c in index for c in locus):
            a, b = locus
            props = pair_props("cz", a, b)
            cz[(index[a], index[b])] = props
            cz.setdefault((index[b], index[a]), props)
            real_cz.append([index[a], index[b]])
    routes = _move_routes(gates, index, resonators)
    for (stayer, resonator, mover) in routes:
        key = (index[stayer], index[mover])
        if key in cz or (key[1], key[0]) in cz:
            continue
        cz_p = pair_props("cz", stayer, resonator)
        mv_p = pair_props("move", mover, resonator)
        error = None
        if cz_p.error is not None and mv_p.error is not None:
            error = 1 - (1 - mv_p.error) ** 2 * (1 - cz_p.error)
        duration = None
        if cz_p.duration is not None and mv_p.duration is not None:
            duration = 2 * mv_p.duration + cz_p.duration
        props = InstructionProps(error=error, duration=duration)
        cz[key] = props
        cz[(key[1], key[0])] = props
    if cz:
        spec_gates["cz"] = cz
    if "cc_prx" in gates:
        reset = {
            (index[loc[0]],) for loc in gates["cc_prx"].loci if len(loc) == 1 and loc[0] in index
        }
        if reset:
            spec_gates["reset"] = {q: InstructionProps() for q in sorted(reset)}
            # feed-forward: transpile keeps if_test blocks, translated into cc_prx
            spec_gates["if_else"] = {None: InstructionProps()}
    t1 = {index[q]: values[f"characterization.model.{q}.t1_time"] for q in qubits
          if f"characterization.model.{q}.t1_time" in values}
    t2 = {index[q]: values[f"characterization.model.{q}.t2_time"] for q in qubits
          if f"characterization.model.{q}.t2_time" in values}
    cz_routes = {
        f"{index[s]},{index[m]}": [m, r, s] for (s, r, m) in routes
        if [index[s], index[m]] not in real_cz and [index[m], index[s]] not in real_cz
    }
    return DeviceSpec(
        vendor="iqm",
        device_id=name,
        n_qubits=len(qubits),
        gates=spec_gates,
        description=str(qc.get("display_name") or alias),
        aliases=aliases,
        max_circuits=None,
        supports_memory=True,
        t1=t1,
        t2=t2,
        calibration_id=cs_id,
        calibrated_at=(
            str(calibration.get("created_timestamp"))
            if isinstance(calibration, Mapping) and calibration.get("created_timestamp")
            else None
        ),
        target_source="dynamic-quantum-architecture" + (" + calibration metrics" if values else ""),
        raw={"quantum_computer": dict(qc), "dqa": dict(dqa)},
        extra={
            "alias": alias,
            "qc_id": str(qc.get("id", "")),
            "qubit_names": qubits,
            "resonators": resonators,
            "real_cz": real_cz,
            "cz_routes": cz_routes,
        },
    )


def _move_routes(
    gates: Mapping[str, GateInfo], index: Mapping[str, int], resonators: Sequence[str]
) -> list[tuple[str, str, str]]:
    """(stayer, resonator, mover) triples giving a fictional CZ stayer-mover."""
    if "move" not in gates or "cz" not in gates or not resonators:
        return []
    res = set(resonators)
    cz_to: dict[str, set[str]] = {}
    for locus in gates["cz"].loci:
        if len(locus) == 2:
            a, b = locus
            if a in index and b in res:
                cz_to.setdefault(b, set()).add(a)
            elif b in index and a in res:
                cz_to.setdefault(a, set()).add(b)
    routes: list[tuple[str, str, str]] = []
    for locus in gates["move"].loci:
        if len(locus) != 2 or locus[0] not in index or locus[1] not in res:
            continue
        mover, resonator = locus
        for stayer in sorted(cz_to.get(resonator, ()), key=lambda q: index[q]):
            if stayer != mover:
                routes.append((stayer, resonator, mover))
    return routes
