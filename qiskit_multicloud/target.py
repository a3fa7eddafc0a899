"""Build a Qiskit ``Target`` from a vendor-neutral :class:`~qiskit_multicloud.types.DeviceSpec`.

This is the only place ``Target`` objects are made. Vendor adapters register gates Qiskit
does not know by name (e.g. IQM's ``move``) with :func:`register_gate`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from qiskit.circuit import Gate, IfElseOp, Instruction, Parameter
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.transpiler import InstructionProperties, QubitProperties, Target

from .exceptions import MalformedResponseError
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
    return target
