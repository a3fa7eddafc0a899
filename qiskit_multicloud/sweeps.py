"""Parameter sweeps: one parametrized circuit bound to many parameter sets, translated once.

The common large workload (Sampler pubs with parameter arrays, VQE, QAOA) is one circuit
structure with thousands of bindings. Binding each point (``assign_parameters``, ~1 ms at
20 qubits x depth 50) and translating it from scratch repeats the same work per point. A
:class:`ParameterSweep` keeps the parametrized circuit and the values; vendors translate
its structure once, with a placeholder in every parametrized angle, and only write each
point's values into that template.

Exactness: every value is what ``assign_parameters`` puts into the bound circuit, bit for
bit. Plain parameters are copied; expressions of one parameter made of ``+ - * /``,
negation and ``abs`` are evaluated with numpy in the order of Qiskit's own expression tree
(its QPY replay), checked against Qiskit's own binding at :data:`PROBES` points spread over
the sweep and recomputed by Qiskit wherever the result is zero or not finite (signed zeros);
anything else (several parameters, whose value depends on Qiskit's binding order, ``sin``,
``**``, complex constants) is bound by Qiskit per point. A point whose values the fast
path cannot write (non-finite angles) and a circuit whose parameters sit anywhere but in
standard-gate angles are bound and translated the normal way. ``test/core/test_sweeps.py``
compares every vendor's output with the from-scratch translation of each bound circuit.

:class:`SweepCircuits` is the ``Sequence[QuantumCircuit]`` the backend and the adapters see:
indexing it binds that point (so code that does not know sweeps still works, slowly), while
the adapters' payload builders ask it for its parts and render templates.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import dataclasses
import functools
import gc
import math
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeAlias, overload

import numpy as np
from numpy.typing import NDArray
from qiskit.circuit import Parameter, ParameterExpression, QuantumCircuit

from .types import CircuitLayout
from .vendors.translate import _EPS, format_angles, json_numbers

#: Counters of the sweep path (tests use them to see which path ran): ``rendered`` points
#: written from a template, ``bound`` points bound and translated the normal way,
#: ``templates`` structures translated.
STATS: collections.Counter[str] = collections.Counter()

#: Text written in place of each parametrized angle in a text template.
SLOT_MARK = "\x00"

#: ``version`` of :meth:`ParameterSweep.texts` for JSON templates: every value written as
#: a JSON number, orjson's shortest text that parses back to the same double.
JSON = "json"

#: Points at which a vectorized expression is checked against Qiskit's own binding.
PROBES = 4

Placeholders = Mapping[tuple[int, int], str]

_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "ADD": operator.add,
    "SUB": operator.sub,
    "MUL": operator.mul,
    "DIV": operator.truediv,
    "RSUB": lambda a, b: b - a,
    "RDIV": lambda a, b: b / a,
}
_UNARY: dict[str, Callable[[Any], Any]] = {"ABS": np.abs}


class _NotVectorizable(Exception):
    """The expression is evaluated by Qiskit per point instead."""


def _operand(value: Any, columns: Mapping[Parameter, NDArray[np.float64]]) -> Any:
    if isinstance(value, Parameter):
        return columns[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _NotVectorizable(repr(value))
    return value


def _structure(expression: ParameterExpression) -> tuple[Any, ...]:
    """A hashable key equal for expressions built the same way (same value at any point)."""
    return tuple(
        (str(step.op), _operand_key(step.lhs), _operand_key(step.rhs))
        for step in expression._qpy_replay
    )


def _operand_key(value: Any) -> Any:
    return value if isinstance(value, Parameter) else (type(value).__name__, repr(value))


def _vectorized(
    expression: ParameterExpression, columns: Mapping[Parameter, NDArray[np.float64]]
) -> NDArray[np.float64]:
    """Values of ``expression`` for every point, in the order of Qiskit's expression tree."""
    stack: list[Any] = []
    for step in expression._qpy_replay:
        name = str(step.op).rpartition(".")[2]
        if name in _UNARY:
            operand = stack.pop() if step.lhs is None else _operand(step.lhs, columns)
            stack.append(_UNARY[name](operand))
            continue
        function = _BINARY.get(name)
        if function is None:
            raise _NotVectorizable(name)
        rhs = stack.pop() if step.rhs is None else _operand(step.rhs, columns)
        lhs = stack.pop() if step.lhs is None else _operand(step.lhs, columns)
        divisor = rhs if name == "DIV" else lhs if name == "RDIV" else 1
        if isinstance(divisor, np.ndarray):
            # Qiskit does not divide by a symbolic value the way numpy does.
            raise _NotVectorizable(name)
        stack.append(function(lhs, rhs))
    if len(stack) != 1:
        raise _NotVectorizable("replay")
    result = np.asarray(stack[0], dtype=np.float64)
    if result.ndim == 0:
        raise _NotVectorizable("constant")
    return result


@dataclasses.dataclass(frozen=True)
class _Plan:
    """Where the parametrized angles are and their values for every point."""

    #: (instruction position, parameter index) of each parametrized angle, circuit order.
    slots: tuple[tuple[int, int], ...]
    #: Column of :attr:`values` for each slot (slots with the same expression share one).
    columns: NDArray[np.intp]
    #: (points, distinct expressions) values, exactly as the bound circuits hold them.
    values: NDArray[np.float64]
    #: Points whose every value is a finite float (the others are bound and translated).
    usable: NDArray[np.bool_]


class ParameterSweep:
    """A parametrized circuit and the parameter sets it is bound to.

    Args:
        circuit: the circuit with unbound parameters (transpiled for the backend).
        values: one row per point, columns in ``circuit.parameters`` order.
        metadata: each bound circuit's ``metadata`` (default: the circuit's own).

    Point ``i`` stands for ``circuit.assign_parameters(values[i])`` with ``metadata[i]``.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        values: Any,
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self.circuit = circuit
        self.parameters: list[Parameter] = list(circuit.parameters)
        table = np.asarray(values, dtype=np.float64)
        self.values = table.reshape(-1, len(self.parameters)) if self.parameters else table
        if self.values.ndim != 2:
            raise ValueError("a sweep needs a (points, parameters) array of values")
        count = self.values.shape[0]
        if metadata is not None and len(metadata) != count:
            raise ValueError(f"{len(metadata)} metadata entries for {count} points")
        self.metadata = metadata
        self._texts: dict[Any, list[str]] = {}
        # Qiskit names every bound copy "<base name>-<instance number>"; the points take
        # the numbers their copies would have taken, reserved here in one step.
        self._base_name = str(getattr(circuit, "_base_name", None) or circuit.name)
        self._first_instance = QuantumCircuit.instances + 1
        QuantumCircuit.instances += count

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __repr__(self) -> str:
        return f"<ParameterSweep {self.circuit.name!r}: {len(self)} points>"

    def point_metadata(self, point: int) -> dict[str, Any]:
        """The metadata of bound point ``point``."""
        if self.metadata is not None:
            return dict(self.metadata[point])
        own = self.circuit.metadata
        return dict(own) if isinstance(own, dict) else {}

    def point_name(self, point: int) -> str:
        """The name of bound point ``point`` (Qiskit's naming of bound copies)."""
        return f"{self._base_name}-{self._first_instance + point}"

    def bound(self, point: int) -> QuantumCircuit:
        """Point ``point`` as a bound circuit (the slow, reference path)."""
        STATS["bound"] += 1
        circuit = self.circuit.assign_parameters(self.values[point])
        circuit.name = self.point_name(point)
        circuit.metadata = self.point_metadata(point)
        return circuit

    @functools.cached_property
    def layout(self) -> CircuitLayout:
        """Classical layout shared by every point (metadata aside)."""
        return CircuitLayout.from_circuit(self.circuit)

    def point_layout(self, point: int) -> CircuitLayout:
        """The :class:`CircuitLayout` of bound point ``point``."""
        return dataclasses.replace(
            self.layout, name=self.point_name(point), metadata=self.point_metadata(point)
        )

    @functools.cached_property
    def plan(self) -> _Plan | None:
        """Slots and exact values, or ``None`` when points must be bound one by one."""
        slots: list[tuple[int, int]] = []
        expressions: dict[Any, int] = {}
        found: list[ParameterExpression] = []
        columns: list[int] = []
        covered: set[Parameter] = set()
        for position, instruction in enumerate(self.circuit.data):
            params = instruction.params
            symbolic = [i for i, p in enumerate(params) if isinstance(p, ParameterExpression)]
            if not symbolic:
                continue
            if not instruction.is_standard_gate():
                return None  # parameters in control flow, delays, custom gates
            for index in symbolic:
                expression = params[index]
                if not expression.parameters:
                    return None  # a constant expression: let Qiskit bind it
                covered.update(expression.parameters)
                key = expression if isinstance(expression, Parameter) else _structure(expression)
                if key not in expressions:
                    expressions[key] = len(found)
                    found.append(expression)
                slots.append((position, index))
                columns.append(expressions[key])
        phase = self.circuit.global_phase
        if isinstance(phase, ParameterExpression):
            covered.update(phase.parameters)
        if covered != set(self.parameters):
            return None
        values = self._evaluate(found)
        usable: NDArray[np.bool_] = np.asarray(
            np.isfinite(values).all(axis=1) if values.size else np.ones(len(self)), dtype=bool
        )
        return _Plan(tuple(slots), np.asarray(columns, dtype=np.intp), values, usable)

    def _evaluate(self, expressions: Sequence[ParameterExpression]) -> NDArray[np.float64]:
        """(points, expressions) values identical to what binding each point gives."""
        out = np.empty((len(self), len(expressions)), dtype=np.float64)
        columns = {p: self.values[:, i] for i, p in enumerate(self.parameters)}
        for k, expression in enumerate(expressions):
            if isinstance(expression, Parameter):
                out[:, k] = columns[expression]
            elif len(expression.parameters) == 1:
                out[:, k] = self._vectorized_values(expression, columns)
            else:
                # Qiskit binds parameters one after the other and folds constants as it
                # goes, so a product of several parameters depends on the binding order:
                # only Qiskit itself gives the same last bit.
                out[:, k] = self._exact_column(expression)
        return out

    def _vectorized_values(
        self, expression: ParameterExpression, columns: Mapping[Parameter, NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        """A one-parameter expression at every point: numpy, checked against Qiskit."""
        count = len(self)
        try:
            with np.errstate(all="ignore"):
                column = _vectorized(expression, columns)
        except _NotVectorizable:
            return self._exact_column(expression)
        probes = set(np.linspace(0, count - 1, min(count, PROBES)).astype(int).tolist())
        # Signed zeros and non-finite values are where evaluation orders can differ.
        doubtful = set(np.flatnonzero((column == 0) | ~np.isfinite(column)).tolist())
        for point in sorted(probes | doubtful):
            value = self._exact(expression, point)
            if point in probes and value != 0 and math.isfinite(value) and value != column[point]:
                return self._exact_column(expression)
            column[point] = value
        return column

    def _exact_column(
        self, expression: ParameterExpression, points: Sequence[int] | None = None
    ) -> NDArray[np.float64]:
        """Qiskit's own value of ``expression`` at every point (or at ``points``): the slow,
        exact path."""
        STATS["qiskit_evaluated"] += 1
        chosen = range(len(self)) if points is None else points
        used = self._binding_order(expression)
        columns = [self.values[chosen, index].tolist() for _, index in used]
        parameters = [parameter for parameter, _ in used]
        return np.array(
            [_bind_in_order(expression, parameters, row) for row in zip(*columns, strict=True)],
            dtype=np.float64,
        )

    def _binding_order(self, expression: ParameterExpression) -> list[tuple[Parameter, int]]:
        """The parameters of ``expression`` with their columns, in the order
        ``assign_parameters`` binds them (``circuit.parameters`` order)."""
        used = expression.parameters
        return [(p, index) for index, p in enumerate(self.parameters) if p in used]

    def _exact(self, expression: ParameterExpression, point: int) -> float:
        """Qiskit's value of ``expression`` at ``point`` as ``assign_parameters`` computes it
        (one parameter at a time, in ``circuit.parameters`` order); NaN if not a finite
        float."""
        used = self._binding_order(expression)
        row = [float(self.values[point, index]) for _, index in used]
        return _bind_in_order(expression, [parameter for parameter, _ in used], row)

    def texts(
        self,
        key: Any,
        version: int | str,
        template: Callable[[QuantumCircuit, Placeholders], str | None],
        translate: Callable[[QuantumCircuit], str],
    ) -> list[str]:
        """Every point's program text, from one template where possible (cached by ``key``).

        Args:
            key: names the vendor format (the cache key on this sweep).
            version: OpenQASM version 2 or 3, for the angle format (``pi/2`` style), or
                :data:`JSON` for JSON numbers.
            template: writes the circuit with the given text in place of each angle
                (``None`` if it cannot).
            translate: the vendor's normal translation of one bound circuit.
        """
        cached = self._texts.get(key)
        if cached is not None:
            return cached
        plan = self.plan
        pieces: list[str] | None = None
        if plan is not None:
            text = template(self.circuit, dict.fromkeys(plan.slots, SLOT_MARK))
            if text is not None:
                pieces = text.split(SLOT_MARK)
                if len(pieces) != len(plan.slots) + 1:
                    pieces = None
        if plan is None or pieces is None:
            texts = [translate(self.bound(point)) for point in range(len(self))]
        else:
            STATS["templates"] += 1
            texts = _render(plan, pieces, version)
            for point in np.flatnonzero(~plan.usable).tolist():
                texts[point] = translate(self.bound(point))
            STATS["rendered"] += int(plan.usable.sum())
        self._texts[key] = texts
        return texts


def _bind_in_order(
    expression: ParameterExpression, parameters: Sequence[Parameter], values: Sequence[float]
) -> float:
    """``expression`` with ``parameters`` bound one at a time to ``values`` (the way
    ``assign_parameters`` binds); NaN if the result is not a finite float."""
    value: Any = expression
    try:
        for parameter, number in zip(parameters, values, strict=True):
            value = value.bind({parameter: number})
        value = value.numeric()
    except (ValueError, ZeroDivisionError, TypeError, ArithmeticError):
        return math.nan
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return value if type(value) is float and math.isfinite(value) else math.nan


def _render(plan: _Plan, pieces: list[str], version: int | str) -> list[str]:
    """Each point's text: the template pieces with its formatted angles between them."""
    frame: list[str] = [""] * (2 * len(pieces) - 1)
    frame[0::2] = pieces
    texts = []
    for row in _slot_texts(plan, version):
        frame[1::2] = row
        texts.append("".join(frame))
    return texts


def _slot_texts(plan: _Plan, version: int | str) -> Iterator[Sequence[str]]:
    """Per point, the text of the value of each slot (see :meth:`ParameterSweep.texts`).

    QASM angles are formatted for all points at once (numpy finds the ``pi`` fractions);
    JSON numbers one point at a time by orjson, which needs no such search.
    """
    finite = np.where(np.isfinite(plan.values), plan.values, 0.0)
    if version == JSON:
        columns = plan.columns.tolist()
        if columns == list(range(finite.shape[1])):
            yield from map(json_numbers, finite)  # every slot its own value, in order
        elif len(columns) == 1:
            yield from ([json_numbers(row)[columns[0]]] for row in finite)
        else:
            gather = operator.itemgetter(*columns)
            yield from (gather(json_numbers(row)) for row in finite)
        return
    formatted = np.empty(finite.shape, dtype=object)
    if finite.size:
        formatted.reshape(-1)[:] = format_angles(finite.reshape(-1), _EPS[int(version)])
    yield from formatted[:, plan.columns].tolist()


# -- the sequence the backend and adapters see -------------------------------------------


@dataclasses.dataclass(frozen=True)
class SweepPart:
    """Points ``start`` to ``stop`` (exclusive) of one sweep, in a run's circuit order."""

    sweep: ParameterSweep
    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start


Part: TypeAlias = QuantumCircuit | SweepPart


class SweepCircuits(Sequence[QuantumCircuit]):
    """A run's circuits when some of them are sweep points: parts in order, bound lazily.

    Indexing returns a bound circuit (the slow path, so any code still works); slicing
    returns a :class:`SweepCircuits`. Adapters that know sweeps read :meth:`parts`.
    """

    def __init__(self, parts: Sequence[Part | ParameterSweep]) -> None:
        self._parts: list[Part] = []
        for part in parts:
            if isinstance(part, ParameterSweep):
                part = SweepPart(part, 0, len(part))
            if isinstance(part, QuantumCircuit) or len(part):
                self._parts.append(part)
        sizes = [1 if isinstance(p, QuantumCircuit) else len(p) for p in self._parts]
        self._starts = [0]
        for size in sizes:
            self._starts.append(self._starts[-1] + size)

    def parts(self) -> list[Part]:
        """The plain circuits and sweep slices, in order."""
        return list(self._parts)

    def __len__(self) -> int:
        return self._starts[-1]

    def __repr__(self) -> str:
        return f"<SweepCircuits: {len(self)} circuits in {len(self._parts)} parts>"

    def _locate(self, index: int) -> tuple[int, int]:
        part = bisect.bisect_right(self._starts, index) - 1
        return part, index - self._starts[part]

    @overload
    def __getitem__(self, index: int) -> QuantumCircuit: ...

    @overload
    def __getitem__(self, index: slice) -> SweepCircuits: ...

    def __getitem__(self, index: int | slice) -> QuantumCircuit | SweepCircuits:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError("SweepCircuits slices need step 1")
            return SweepCircuits(list(self._slice(start, stop)))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        number, offset = self._locate(index)
        part = self._parts[number]
        if isinstance(part, QuantumCircuit):
            return part
        return part.sweep.bound(part.start + offset)

    def _slice(self, start: int, stop: int) -> Iterator[Part]:
        for number, part in enumerate(self._parts):
            low, high = self._starts[number], self._starts[number + 1]
            a, b = max(start, low), min(stop, high)
            if a >= b:
                continue
            if isinstance(part, QuantumCircuit):
                yield part
            else:
                yield SweepPart(part.sweep, part.start + a - low, part.start + b - low)

    def name_of(self, index: int) -> str:
        """The name of circuit ``index`` (without binding it)."""
        number, offset = self._locate(index)
        part = self._parts[number]
        if isinstance(part, QuantumCircuit):
            return str(part.name)
        return part.sweep.point_name(part.start + offset)

    def __iter__(self) -> Iterator[QuantumCircuit]:
        for index in range(len(self)):
            yield self[index]

    def layouts(self) -> list[CircuitLayout]:
        """Every circuit's :class:`CircuitLayout`, without binding anything."""
        out = []
        for part in self._parts:
            if isinstance(part, QuantumCircuit):
                out.append(CircuitLayout.from_circuit(part))
            else:
                out.extend(part.sweep.point_layout(i) for i in range(part.start, part.stop))
        return out

    def bind_all(self) -> list[QuantumCircuit]:
        """Every circuit bound (what the run would be without the sweep path)."""
        return list(self)


def as_run_input(parts: Sequence[QuantumCircuit | ParameterSweep]) -> Sequence[QuantumCircuit]:
    """What a primitive hands ``backend.run``: a :class:`SweepCircuits` when some parts are
    sweeps, else the plain list of circuits."""
    if any(isinstance(part, ParameterSweep) for part in parts):
        return SweepCircuits(parts)
    return [part for part in parts if isinstance(part, QuantumCircuit)]


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside (building many containers that are not garbage
    makes the collector walk them again and again); restored after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def texts(
    circuits: Sequence[QuantumCircuit],
    key: Any,
    version: int,
    template: Callable[[QuantumCircuit, Placeholders], str | None],
    translate: Callable[[QuantumCircuit], str],
) -> list[str]:
    """Program text of every circuit: sweep points from their template (see
    :meth:`ParameterSweep.texts`), plain circuits by ``translate``."""
    if not isinstance(circuits, SweepCircuits):
        return [translate(circuit) for circuit in circuits]
    out: list[str] = []
    for part in circuits.parts():
        if isinstance(part, QuantumCircuit):
            out.append(translate(part))
        else:
            out.extend(
                part.sweep.texts(key, version, template, translate)[part.start : part.stop]
            )
    return out
