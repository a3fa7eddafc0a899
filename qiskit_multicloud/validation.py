"""Checks run before any request is sent, so a bad circuit never costs a job."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from qiskit.circuit import CONTROL_FLOW_OP_NAMES, QuantumCircuit
from qiskit.transpiler import Target

from .exceptions import CircuitValidationError
from .sweeps import SweepCircuits

#: Directives that every vendor accepts (or that translators drop) regardless of the Target.
DIRECTIVES = frozenset({"barrier"})

#: Where dynamic circuits run, for the refusal message on every other backend.
DYNAMIC_CIRCUITS = (
    "only IQM devices that calibrate cc_prx run dynamic circuits (if_test on one measured "
    "bit, no else branch, no loops or switch); see 'Dynamic circuits' in the IQM vendor "
    "docs"
)


def validate_circuits(
    circuits: Sequence[QuantumCircuit],
    target: Target,
    backend_name: str,
    *,
    max_circuits: int | None = None,
) -> None:
    """Raise :class:`CircuitValidationError` for anything ``target`` cannot run.

    Checks: at least one circuit; each circuit fits the device, measures something, and uses
    only instructions the Target has on the qubits it applies them to. The points of a
    sweep (:class:`~qiskit_multicloud.sweeps.SweepCircuits`) share one structure, checked
    once, and bind every parameter by construction.
    """
    if not circuits:
        raise CircuitValidationError("run() needs at least one circuit")
    if max_circuits is not None and len(circuits) > max_circuits:
        raise CircuitValidationError(
            f"{len(circuits)} circuits exceed {backend_name}'s limit of {max_circuits} per job"
        )
    for index, circuit, swept in _structures(circuits):
        if not isinstance(circuit, QuantumCircuit):
            raise CircuitValidationError(
                f"run() item {index} is a {type(circuit).__name__}, not a QuantumCircuit"
            )
        label = f"circuit {index} ({circuit.name!r})"
        if circuit.num_qubits > target.num_qubits:
            raise CircuitValidationError(
                f"{label} uses {circuit.num_qubits} qubits but {backend_name} has "
                f"{target.num_qubits}; use a smaller circuit or a larger backend"
            )
        if circuit.parameters and not swept:
            names = ", ".join(sorted(p.name for p in circuit.parameters))
            raise CircuitValidationError(
                f"{label} has unbound parameter(s) {names}; bind them first with "
                "circuit.assign_parameters({...}) or use a Sampler/Estimator primitive"
            )
        _check_instructions(circuit, target, backend_name, label)


def _structures(
    circuits: Sequence[QuantumCircuit],
) -> Iterator[tuple[int, QuantumCircuit, bool]]:
    """(index of the first circuit, circuit to check, whether it is a sweep's template)."""
    if not isinstance(circuits, SweepCircuits):
        yield from ((index, circuit, False) for index, circuit in enumerate(circuits))
        return
    seen: set[int] = set()
    for index, part in circuits.indexed_parts():
        if isinstance(part, QuantumCircuit):
            yield index, part, False
        elif id(part.sweep) not in seen:
            seen.add(id(part.sweep))
            yield index, part.sweep.circuit, True


_Supported = tuple[frozenset[str], frozenset[str], set[tuple[str, tuple[int, ...]]]]
#: id(target) -> (target, what it supports); instructions added to a Target later are
#: still accepted through the Target's own checks below.
_SUPPORTED: dict[int, tuple[Target, _Supported]] = {}


def _supported(target: Target) -> _Supported:
    """(names, names allowed on any qubits, allowed (name, qargs)) of ``target``, cached."""
    entry = _SUPPORTED.get(id(target))
    if entry is not None and entry[0] is target:
        return entry[1]
    names = frozenset(target.operation_names)
    anywhere = set()
    pairs: set[tuple[str, tuple[int, ...]]] = set()
    for name in names:
        qargs = target.qargs_for_operation_name(name)
        if qargs is None:
            anywhere.add(name)
        else:
            pairs.update((name, tuple(q)) for q in qargs)
    found: _Supported = (names, frozenset(anywhere), pairs)
    if len(_SUPPORTED) >= 64:
        _SUPPORTED.clear()
    _SUPPORTED[id(target)] = (target, found)
    return found


def _check_instructions(
    circuit: QuantumCircuit, target: Target, backend_name: str, label: str
) -> None:
    measured = False
    index_of = {bit: i for i, bit in enumerate(circuit.qubits)}
    _, anywhere, pairs = _supported(target)
    for instruction in circuit.data:
        name = instruction.name
        if name in DIRECTIVES:
            continue
        if name == "measure":
            measured = True
        qargs = tuple([index_of[q] for q in instruction.qubits])
        if name in anywhere or (name, qargs) in pairs:
            continue
        if name in CONTROL_FLOW_OP_NAMES and name not in target.operation_names:
            raise CircuitValidationError(
                f"{label} uses control flow ('{name}'), which {backend_name} cannot run: "
                f"{DYNAMIC_CIRCUITS}"
            )
        if name not in target.operation_names:
            raise CircuitValidationError(
                f"{label} uses '{name}', which {backend_name} does not support "
                f"(native: {', '.join(sorted(target.operation_names))}). "
                "Run transpile(circuit, backend) first"
            )
        if not target.instruction_supported(name, qargs):
            raise CircuitValidationError(
                f"{label} applies '{name}' to qubits {qargs}, which are not coupled for it "
                f"on {backend_name}. Run transpile(circuit, backend) first"
            )
    if not measured:
        raise CircuitValidationError(
            f"{label} has no measurements, so it would return no counts; add "
            "circuit.measure_all() or measure into classical bits"
        )
