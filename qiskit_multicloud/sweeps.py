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
the sweep and recomputed by Qiskit wherever the result is zero or not finite (signed zeros).
Expressions of several parameters made of ``+ - *``, negation and division by a constant
are evaluated the same way where Qiskit's binding (one parameter at a time, simplifying
after each) is shown to evaluate that same tree: its partially bound trees are compared
with the predicted ones (up to rewrites that give the same bits) at two points of every
group of points its simplifier treats alike, and points where it may decide differently
(values near 0, 1 or -1, equal magnitudes, not finite) are bound by Qiskit; see
"expressions of several parameters" below. Anything else (``abs`` or division by a
parameter in an expression of several, expressions Qiskit regroups as it binds, ``sin``,
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
import orjson
from numpy.typing import NDArray
from qiskit.circuit import Parameter, ParameterExpression, QuantumCircuit

from .transport import DeferredJSON
from .types import CircuitLayout
from .vendors.translate import _EPS, format_angles, json_numbers

#: Counters of the sweep path (tests use them to see which path ran): ``rendered`` points
#: written from a template, ``bound`` points bound and translated the normal way,
#: ``templates`` structures translated; for expressions, ``qiskit_evaluated`` columns
#: computed by Qiskit at every point, ``structure_checks`` groups of points at which
#: Qiskit's binding of an expression of several parameters was compared with numpy's tree,
#: ``vectorized_points`` values of such expressions computed by numpy, and
#: ``probe_mismatches`` columns a probe sent back to Qiskit.
STATS: collections.Counter[str] = collections.Counter()

#: Text written in place of each parametrized angle in a text template.
SLOT_MARK = "\x00"

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


class _NotVectorizable(Exception):
    """The expression is evaluated by Qiskit per point instead."""


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
    """Values of a one-parameter expression for every point, in the order of Qiskit's
    expression tree (:func:`_tree`)."""
    result = np.asarray(_evaluate_tree(_tree(expression), columns), dtype=np.float64)
    if result.ndim == 0:
        raise _NotVectorizable("constant")
    return result


def _evaluate_tree(node: _Tree, columns: Mapping[Parameter, NDArray[np.float64]]) -> Any:
    """``node`` evaluated leaf to root on whole columns (``abs`` allowed, as Qiskit
    evaluates it for one parameter; division by a parameter refused)."""
    kind = node[0]
    if kind == "p":
        return columns[node[1]]
    if kind == "c":
        return node[1]
    if kind == "ABS":
        return np.abs(_evaluate_tree(node[1], columns))
    lhs = _evaluate_tree(node[1], columns)
    rhs = _evaluate_tree(node[2], columns)
    if kind == "DIV" and isinstance(rhs, np.ndarray):
        # Qiskit does not divide by a symbolic value the way numpy does.
        raise _NotVectorizable(kind)
    return _BINARY[kind](lhs, rhs)


# -- expressions of several parameters -----------------------------------------------------
#
# Qiskit binds an expression one parameter at a time and simplifies after each step: it
# folds operations whose operands are both numbers, reorders operands, moves signs
# (``a + (-v)`` becomes ``a - v``) and regroups numbers (``2*(v*b)`` becomes ``(2*v)*b``).
# Where, after every step, its partially bound tree is the original tree with the bound
# leaves replaced by their values and the fully bound subtrees folded (up to rewrites that
# give the same bits: operand order of ``+`` and ``*``, signs moved through ``+ - * /``),
# its value is the original tree evaluated leaf to root, which numpy does on whole columns.
# :func:`_canonical` writes a tree modulo those rewrites; :meth:`ParameterSweep._agrees`
# compares Qiskit's trees with the predicted ones at the first and last point of each group
# of points that its simplifier treats alike (same sign of every node value, no node value
# near 0, 1 or -1, no two node magnitudes or a node magnitude and a constant near each
# other: the value tests of its rules). Not vectorized: ``abs`` (Qiskit keeps ``abs(v)``
# unevaluated around a bound value and regroups the numbers next to it where no tree shows
# it; ``-v`` is kept too, but every operation on it folds it with an exact sign move),
# division by anything but a constant, and constants Qiskit would treat as 0 or 1.

#: Qiskit's simplifier calls a value zero, one or minus one, and two values equal, within an
#: absolute 8 machine epsilons (~1.8e-15); points with node values this near are bound by
#: Qiskit itself.
_NEAR = 1e-12

#: Groups of points checked before an expression whose every check failed is left to
#: Qiskit; also the least number of groups allowed (more than one per 16 points otherwise).
_GROUPS = 8

#: An expression tree from Qiskit's QPY replay: ``("p", parameter)``, ``("c", number)``,
#: ``(op, lhs, rhs)`` for ``ADD SUB MUL DIV`` or ``("ABS", operand)``.
_Tree: TypeAlias = tuple[Any, ...]


def _tree(expression: ParameterExpression) -> _Tree:
    """``expression``'s tree, in Qiskit's order (``RSUB``/``RDIV`` turned around)."""
    stack: list[_Tree] = []
    for step in expression._qpy_replay:
        name = str(step.op).rpartition(".")[2]
        if name == "ABS":
            stack.append((name, stack.pop() if step.lhs is None else _leaf(step.lhs)))
            continue
        if name not in _BINARY:
            raise _NotVectorizable(name)
        rhs = stack.pop() if step.rhs is None else _leaf(step.rhs)
        lhs = stack.pop() if step.lhs is None else _leaf(step.lhs)
        if name in ("RSUB", "RDIV"):
            name, lhs, rhs = name[1:], rhs, lhs
        stack.append((name, lhs, rhs))
    if len(stack) != 1:
        raise _NotVectorizable("replay")
    return stack[0]


def _leaf(value: Any) -> _Tree:
    if isinstance(value, Parameter):
        return ("p", value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _NotVectorizable(repr(value))
    return ("c", value)


def _plain_operation(node: _Tree) -> None:
    """Raise unless ``node`` is an operation numpy and Qiskit both do as written: no
    ``abs``, no division by anything but a constant that Qiskit keeps as a divisor."""
    kind = node[0]
    if kind not in ("ADD", "SUB", "MUL", "DIV"):
        raise _NotVectorizable(kind)
    rhs = node[2]
    if kind == "DIV" and (
        rhs[0] != "c" or (isinstance(rhs[1], float) and 1.0 / (1.0 / rhs[1]) == rhs[1])
    ):
        # Qiskit divides by a number as a product with its reciprocal wherever that
        # reciprocal converts back exactly: a choice made per value.
        raise _NotVectorizable(kind)


def _columns_of(
    node: _Tree,
    columns: Mapping[Parameter, NDArray[np.float64]],
    nodes: list[NDArray[np.float64]],
    constants: list[float],
) -> Any:
    """Value of ``node`` at every point, leaf to root; appends every distinct point-dependent
    value to ``nodes`` and the constants' magnitudes to ``constants``."""
    kind = node[0]
    if kind == "p":
        column = columns[node[1]]
        if not any(column is seen for seen in nodes):  # a parameter used twice
            nodes.append(column)
        return column
    if kind == "c":
        size = abs(node[1])
        if not math.isfinite(size) or size < _NEAR or 0 < abs(size - 1) < _NEAR:
            raise _NotVectorizable(repr(node[1]))  # Qiskit rounds such constants to 0 or 1
        constants.append(size)
        return node[1]
    _plain_operation(node)
    lhs = _columns_of(node[1], columns, nodes, constants)
    rhs = _columns_of(node[2], columns, nodes, constants)
    value = _BINARY[kind](lhs, rhs)
    if not isinstance(value, np.ndarray):
        raise _NotVectorizable("constant")  # Qiskit folds those when it builds the tree
    if not _sign_only(node):
        nodes.append(value)
    return value


def _unit(node: _Tree) -> bool:
    """A constant 1 or -1."""
    return bool(node[0] == "c" and abs(node[1]) == 1)


def _sign_only(node: _Tree) -> bool:
    """A product or quotient with 1 or -1 (Qiskit's negation): exact, same magnitude."""
    return (node[0] in ("MUL", "DIV") and _unit(node[2])) or (node[0] == "MUL" and _unit(node[1]))


def _doubtful(nodes: Sequence[NDArray[np.float64]], constants: Sequence[float]) -> Any:
    """Points where a node value is not finite or near 0, 1 or -1, or two magnitudes (or
    one and a constant's) are near each other: where Qiskit's simplifier may decide
    differently."""
    magnitudes = [np.abs(v) for v in nodes]
    doubt = np.zeros(len(nodes[0]), dtype=bool)
    for index, size in enumerate(magnitudes):
        doubt |= ~np.isfinite(size) | (size < _NEAR) | (np.abs(size - 1) < _NEAR)
        for other in [*magnitudes[index + 1 :], *constants]:
            doubt |= np.abs(size - other) < _NEAR
    return doubt


def _canonical(node: _Tree, bound: Mapping[Parameter, float], fold: bool) -> tuple[Any, int, Any]:
    """``(value, sign, key)`` of ``node`` with ``bound`` substituted: ``value`` the number
    if nothing is left unbound, else ``None`` and ``sign * key`` is the node written modulo
    the exact rewrites (commuted ``+``/``*`` operands, signs moved out of ``+ - * /``,
    ``a - b`` as ``-(b - a)``). Operations on two numbers are evaluated (``fold``, the
    prediction) or refused (Qiskit's own trees: it would have folded them)."""
    kind = node[0]
    if (kind == "p" and node[1] in bound) or kind == "c":
        return _constant(bound[node[1]] if kind == "p" else node[1])
    if kind == "p":
        return None, 1, node
    _plain_operation(node)
    lvalue, lsign, lkey = _canonical(node[1], bound, fold)
    rvalue, rsign, rkey = _canonical(node[2], bound, fold)
    if lvalue is not None and rvalue is not None:
        if not fold:
            raise _NotVectorizable("unfolded")
        try:
            return _constant(_BINARY[kind](lvalue, rvalue))
        except ArithmeticError:
            raise _NotVectorizable(kind) from None
    sign = lsign * rsign
    if lvalue is not None and abs(lvalue) == 1 and kind == "MUL":
        return None, sign, rkey
    if rvalue is not None and abs(rvalue) == 1 and kind in ("MUL", "DIV"):
        return None, sign, lkey
    if kind == "MUL":
        return None, sign, ("MUL", *sorted((lkey, rkey), key=repr))
    if kind == "DIV":
        return None, sign, ("DIV", lkey, rkey)
    if kind == "SUB":
        rsign = -rsign
    if lsign == rsign:
        return None, lsign, ("ADD", *sorted((lkey, rkey), key=repr))
    if repr(lkey) <= repr(rkey):
        return None, lsign, ("SUB", lkey, rkey)
    return None, rsign, ("SUB", rkey, lkey)


def _constant(value: Any) -> tuple[Any, int, Any]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _NotVectorizable(repr(value))
    return value, -1 if value < 0 else 1, ("c", abs(value))


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
        self._renderers: dict[Any, Callable[[int], str] | None] = {}
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
                out[:, k] = self._vectorized_several(expression, columns)
        return out

    def _vectorized_several(
        self, expression: ParameterExpression, columns: Mapping[Parameter, NDArray[np.float64]]
    ) -> NDArray[np.float64]:
        """An expression of several parameters at every point: numpy where Qiskit's binding
        is shown to evaluate the same tree (see :func:`_canonical`), Qiskit elsewhere."""
        nodes: list[NDArray[np.float64]] = []
        constants: list[float] = []
        try:
            tree = _tree(expression)
            with np.errstate(all="ignore"):
                column = np.array(_columns_of(tree, columns, nodes, constants), dtype=np.float64)
        except _NotVectorizable:
            return self._exact_column(expression)
        if column.ndim != 1 or len(nodes) > 62:
            return self._exact_column(expression)
        with np.errstate(all="ignore"):
            doubtful = _doubtful(nodes, constants)
        # Points with the same sign of every node value meet the same decisions in Qiskit's
        # simplifier: the first and last point of each group show whether it evaluates the
        # tree as numpy does.
        signs = np.zeros(len(column), dtype=np.int64)
        for bit, values in enumerate(nodes):
            signs |= (values < 0).astype(np.int64) << bit
        candidates = np.flatnonzero(~doubtful)
        _, groups = np.unique(signs[candidates], return_inverse=True)
        groups = groups.reshape(-1)
        count = int(groups.max()) + 1 if groups.size else 0
        if count > max(_GROUPS, len(self) // 16):
            return self._exact_column(expression)  # checks would cost more than they save
        used = self._binding_order(expression)
        refused = 0
        for number in range(count):
            members = candidates[groups == number]
            STATS["structure_checks"] += 1
            ends = dict.fromkeys((int(members[0]), int(members[-1])))
            if not all(self._agrees(expression, tree, used, point) for point in ends):
                doubtful[members] = True
                refused += 1
                if refused == _GROUPS and number + 1 == refused:
                    return self._exact_column(expression)  # Qiskit regroups this one
        exact = np.flatnonzero(doubtful)
        fast = np.flatnonzero(~doubtful)
        if fast.size:
            probes = fast[np.linspace(0, fast.size - 1, min(fast.size, PROBES)).astype(int)]
            checked = self._exact_values(expression, probes.tolist())
            if not np.array_equal(checked, column[probes]):
                STATS["probe_mismatches"] += 1
                return self._exact_column(expression)
            STATS["vectorized_points"] += int(fast.size)
        if exact.size:
            column[exact] = self._exact_values(expression, exact.tolist())
        return column

    def _agrees(
        self,
        expression: ParameterExpression,
        tree: _Tree,
        used: Sequence[tuple[Parameter, int]],
        point: int,
    ) -> bool:
        """Whether, at ``point``, each of Qiskit's binding steps leaves the tree that
        :func:`_canonical` predicts (so its value is ``tree`` evaluated leaf to root)."""
        bound: dict[Parameter, float] = {}
        value: Any = expression
        try:
            for parameter, index in used:
                number = float(self.values[point, index])
                value = value.bind({parameter: number})
                bound[parameter] = number
                expected = _canonical(tree, bound, fold=True)
                if value.parameters:
                    actual = _canonical(_tree(value), {}, fold=False)
                else:
                    actual = _constant(value.numeric())
                if expected[1:] != actual[1:]:
                    return False
        except (_NotVectorizable, ValueError, ZeroDivisionError, TypeError, ArithmeticError):
            return False
        return True

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
        points = sorted(probes | doubtful)
        exact = self._exact_values(expression, points).tolist()
        for point, value in zip(points, exact, strict=True):
            if point in probes and value != 0 and math.isfinite(value) and value != column[point]:
                return self._exact_column(expression)
            column[point] = value
        return column

    def _exact_column(self, expression: ParameterExpression) -> NDArray[np.float64]:
        """Qiskit's own value of ``expression`` at every point (the slow, exact path)."""
        STATS["qiskit_evaluated"] += 1
        return self._exact_values(expression, range(len(self)))

    def _exact_values(
        self, expression: ParameterExpression, points: Sequence[int]
    ) -> NDArray[np.float64]:
        """Qiskit's own values of ``expression`` at ``points``."""
        chosen = list(points)
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

    def texts(
        self,
        key: Any,
        version: int,
        template: Callable[[QuantumCircuit, Placeholders], str | None],
        translate: Callable[[QuantumCircuit], str],
    ) -> list[str]:
        """Every point's program text, from one template where possible (cached by ``key``).

        Args:
            key: names the vendor format (the cache key on this sweep).
            version: OpenQASM version, for the angle format (``pi/2`` style).
            template: writes the circuit with the given text in place of each angle
                (``None`` if it cannot).
            translate: the vendor's normal translation of one bound circuit.
        """
        cached = self._texts.get(key)
        if cached is not None:
            return cached
        plan, pieces = self.plan, self._pieces(template)
        if plan is None or pieces is None:
            texts = [translate(self.bound(point)) for point in range(len(self))]
        else:
            STATS["templates"] += 1
            texts = _render(plan, pieces, _EPS[version])
            for point in np.flatnonzero(~plan.usable).tolist():
                texts[point] = translate(self.bound(point))
            STATS["rendered"] += int(plan.usable.sum())
        self._texts[key] = texts
        return texts

    def json_texts(
        self,
        key: Any,
        template: Callable[[QuantumCircuit, Placeholders], str | None],
        translate: Callable[[QuantumCircuit], str],
        start: int = 0,
        stop: int | None = None,
    ) -> list[DeferredJSON | orjson.Fragment]:
        """Points ``start:stop`` as JSON text: the template with each angle a JSON number
        (orjson's shortest round-trip text, so the server parses the same double).

        Points rendered from the template are :class:`~qiskit_multicloud.transport.DeferredJSON`:
        the transport writes each when it encodes the request body, so a large sweep's
        texts are made, copied into the body and dropped one at a time rather than all
        held at once (for 1000 IQM circuits of 75 KB: 75 MB less memory and fresh pages).
        Points that cannot be rendered are translated now, so their errors come before
        anything is sent. Arguments as for :meth:`texts`.
        """
        stop = len(self) if stop is None else stop
        if key not in self._renderers:
            plan, pieces = self.plan, self._pieces(template)
            self._renderers[key] = None if plan is None or pieces is None else _json_renderer(
                plan, pieces
            )
            STATS["templates"] += self._renderers[key] is not None
        render, plan = self._renderers[key], self.plan
        out: list[DeferredJSON | orjson.Fragment] = []
        for point in range(start, stop):
            if render is not None and plan is not None and plan.usable[point]:
                out.append(_PointJSON(render, point))
                STATS["rendered"] += 1
            else:
                out.append(orjson.Fragment(translate(self.bound(point))))
        return out

    def _pieces(
        self, template: Callable[[QuantumCircuit, Placeholders], str | None]
    ) -> list[str] | None:
        """The template's text cut at each slot (``None`` if there is no usable template)."""
        plan = self.plan
        if plan is None:
            return None
        text = template(self.circuit, dict.fromkeys(plan.slots, SLOT_MARK))
        if text is None:
            return None
        pieces = text.split(SLOT_MARK)
        return pieces if len(pieces) == len(plan.slots) + 1 else None


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


def _render(plan: _Plan, pieces: list[str], eps: float) -> list[str]:
    """Each point's text: the template pieces with its formatted angles between them."""
    values = plan.values
    # points with a non-finite value are translated from their bound circuit instead
    finite = values if plan.usable.all() else np.where(np.isfinite(values), values, 0.0)
    formatted = np.empty(finite.shape, dtype=object)
    if finite.size:
        formatted.reshape(-1)[:] = format_angles(finite.reshape(-1), eps)
    per_slot = formatted[:, plan.columns]
    frame: list[str] = [""] * (2 * len(pieces) - 1)
    frame[0::2] = pieces
    texts = []
    for row in per_slot.tolist():
        frame[1::2] = row
        texts.append("".join(frame))
    return texts


def _json_renderer(plan: _Plan, pieces: list[str]) -> Callable[[int], str]:
    """Writes one (usable) point's JSON text: the pieces with its values as JSON numbers."""
    base: list[str] = [""] * (2 * len(pieces) - 1)
    base[0::2] = pieces
    values = plan.values
    columns = plan.columns.tolist()
    gather: Callable[[list[str]], Sequence[str]] | None
    if columns == list(range(values.shape[1])):
        gather = None  # every slot its own value, in order
    elif len(columns) == 1:
        gather = operator.itemgetter(slice(columns[0], columns[0] + 1))
    else:
        gather = operator.itemgetter(*columns)

    def render(point: int) -> str:
        numbers = json_numbers(values[point])
        frame = base.copy()  # not shared: bodies may be encoded on several threads
        frame[1::2] = numbers if gather is None else gather(numbers)
        return "".join(frame)

    return render


class _PointJSON(DeferredJSON):
    """One sweep point's JSON text, written when the request body is encoded."""

    __slots__ = ("_point", "_render")

    def __init__(self, render: Callable[[int], str], point: int) -> None:
        self._render = render
        self._point = point

    def fragment(self) -> orjson.Fragment:
        return orjson.Fragment(self._render(self._point))


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

    def indexed_parts(self) -> list[tuple[int, Part]]:
        """Each part with the run index of its first circuit."""
        return list(zip(self._starts, self._parts, strict=False))

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
