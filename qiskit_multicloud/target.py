"""Build a Qiskit ``Target`` from a vendor-neutral :class:`~qiskit_multicloud.types.DeviceSpec`.

This is the only place ``Target`` objects are made. Vendor adapters register gates Qiskit
does not know by name (e.g. IQM's ``move``) with :func:`register_gate`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from qiskit.circuit import Gate, IfElseOp, Instruction, Parameter
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.transpiler import InstructionDurations, InstructionProperties, QubitProperties, Target
from qiskit.transpiler.exceptions import TranspilerError

from .exceptions import DeviceDataMissingError, MalformedResponseError
from .types import DeviceSpec, InstructionProps, Qargs

log = logging.getLogger(__name__)

_EXTRA_GATES: dict[str, Callable[[], Instruction]] = {}

#: Control-flow operations a ``DeviceSpec`` may list (with qargs ``None``); the Target holds
#: their class, as Qiskit expects, so ``transpile`` keeps them.
CONTROL_FLOW: dict[str, type[Instruction]] = {"if_else": IfElseOp}


def register_gate(name: str, factory: Callable[[], Instruction]) -> None:
    """Make ``name`` usable in ``DeviceSpec.gates`` (``factory`` returns a fresh instance)."""
    _EXTRA_GATES[name] = factory


def instruction_for(name: str) -> Instruction:
    """The Qiskit instruction object for a gate name (standard or registered)."""
    if name in _EXTRA_GATES:
        return _EXTRA_GATES[name]()
    mapping = get_standard_gate_name_mapping()
    if name in mapping:
        return mapping[name]
    raise KeyError(name)


def opaque_gate(name: str, num_qubits: int, num_params: int = 0) -> Callable[[], Gate]:
    """A factory for a vendor gate that Qiskit has no class for."""

    def make() -> Gate:
        params = [Parameter(f"{name}_p{i}") for i in range(num_params)]
        return Gate(name, num_qubits, params)

    return make


def _props(props: InstructionProps) -> InstructionProperties | None:
    if props.error is None and props.duration is None:
        return None
    return InstructionProperties(duration=props.duration, error=props.error)


class PublishedDurations(InstructionDurations):
    """The durations a vendor publishes; asking for one it does not publish says so.

    Qiskit's schedulers turn a missing duration into "Duration of measure on qubits [0] is
    not found". Raising :class:`DeviceDataMissingError` (not a ``TranspilerError``, which
    the scheduler would swallow) tells the user which vendor data is missing and what to do.
    """

    def __init__(
        self,
        durations: Iterable[tuple[str, list[int], float, str]],
        *,
        dt: float | None,
        spec: DeviceSpec,
    ) -> None:
        super().__init__(list(durations), dt=dt)
        self.vendor = spec.vendor
        self.device_id = spec.device_id
        self.simulator = spec.simulator

    def get(
        self,
        inst: str | Instruction,
        qubits: int | list[int],
        unit: str = "dt",
        parameters: list[float] | None = None,
    ) -> float:
        """The duration of ``inst`` on ``qubits`` in ``unit``.

        Raises:
            DeviceDataMissingError: the vendor publishes no duration for it.
        """
        try:
            found: float = super().get(inst, qubits, unit, parameters)
        except TranspilerError as exc:
            name = inst if isinstance(inst, str) else inst.name
            what = "this simulator publishes no instruction durations" if self.simulator else (
                f"{self.vendor} does not publish the duration of {name!r} on qubits {qubits}"
            )
            raise DeviceDataMissingError(
                f"{self.vendor}:{self.device_id}: {what}, and scheduling "
                f"(transpile(..., scheduling_method=...)) needs it. Transpile without "
                f"scheduling, or set durations you trust on a copy of the Target "
                f"(target = copy.deepcopy(backend.target); target.update_instruction_properties"
                f"({name!r}, {tuple(_as_list(qubits))}, InstructionProperties(duration=..., "
                f"error=...))) and transpile(..., target=target); see the docs page "
                f"'Device data and its gaps'"
            ) from exc
        return found


def _as_list(qubits: Any) -> list[int]:
    return [qubits] if isinstance(qubits, int) else list(qubits)


def build_target(spec: DeviceSpec) -> Target:
    """Turn a device description into a ``Target``.

    Unknown gate names are skipped with a logged warning: better a smaller Target than no
    backend at all.

    Raises:
        MalformedResponseError: the spec has no qubits or references qubits out of range.
    """
    if spec.n_qubits <= 0:
        raise MalformedResponseError(
            f"{spec.vendor}: device {spec.device_id!r} reports {spec.n_qubits} qubits",
            vendor=spec.vendor,
        )
    qubit_properties = None
    if spec.t1 or spec.t2:
        qubit_properties = [
            QubitProperties(t1=spec.t1.get(q), t2=spec.t2.get(q)) for q in range(spec.n_qubits)
        ]
    target = Target(
        description=f"{spec.vendor}:{spec.device_id}",
        num_qubits=spec.n_qubits,
        qubit_properties=qubit_properties,
    )
    skipped: list[str] = []
    for name, by_qargs in spec.gates.items():
        if name in CONTROL_FLOW:
            target.add_instruction(CONTROL_FLOW[name], name=name)
            continue
        try:
            instruction = instruction_for(name)
        except KeyError:
            skipped.append(name)
            continue
        properties: dict[Qargs, InstructionProperties | None] = {}
        for qargs, props in by_qargs.items():
            if qargs is not None and any(q < 0 or q >= spec.n_qubits for q in qargs):
                raise MalformedResponseError(
                    f"{spec.vendor}: device {spec.device_id!r} lists {name} on {qargs}, "
                    f"outside its {spec.n_qubits} qubits",
                    vendor=spec.vendor,
                )
            properties[qargs] = _props(props)
        if None in properties:
            properties = {None: None}
        target.add_instruction(instruction, properties, name=name)
    if skipped:
        log.warning(
            "%s: device %s lists gates qiskit-multicloud does not know (%s); they are left "
            "out of the Target",
            spec.vendor,
            spec.device_id,
            ", ".join(sorted(skipped)),
        )
    # Target.durations() returns this cached object (reset by update_instruction_properties).
    target._instruction_durations = PublishedDurations(
        _durations_of(target), dt=target.dt, spec=spec
    )
    return target


def _durations_of(target: Target) -> list[tuple[str, list[int], float, str]]:
    """``(name, qubits, seconds, "s")`` for every instruction with a published duration."""
    found = []
    for name in target.operation_names:
        for qargs, props in target[name].items():
            if qargs is not None and props is not None and props.duration is not None:
                found.append((name, list(qargs), props.duration, "s"))
    return found
