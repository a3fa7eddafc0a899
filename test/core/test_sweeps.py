"""Sweeps without re-translation: every vendor's output is byte-identical to binding each
point with ``assign_parameters`` and translating it from scratch.

Random parametrized circuits (transpiled to each vendor's basis, so parameters end up in
expressions), expressions of several parameters (``2*t``, ``t + p``, ``-t``, ``t/2``,
``t*t/q``, ``sin``), shared parameters and special values (0, -0.0, pi, -pi, pi/2, tiny and
huge angles) are compared per point, as text or JSON.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.circuit.library import n_local

from qiskit_multicloud.sweeps import (
    STATS,
    ParameterSweep,
    SweepCircuits,
    format_angles,
    texts,
)
from qiskit_multicloud.transport import DeferredJSON, encode_json
from qiskit_multicloud.vendors.iqm.translate import CircuitTranslator
from qiskit_multicloud.vendors.oqc import translate as oqc
from qiskit_multicloud.vendors.oqtopus import translate as oqtopus
from qiskit_multicloud.vendors.qilimanjaro import translate as qilimanjaro
from qiskit_multicloud.vendors.qoro import translate as qoro
from qiskit_multicloud.vendors.translate import format_angle, json_numbers

T, P, Q = Parameter("t"), Parameter("p"), Parameter("q")
SPECIAL = [0.0, -0.0, math.pi, -math.pi, math.pi / 2, -math.pi / 4, 2 * math.pi, 1e-5, -1e-13,
           1e17, 3.0, 0.5, 1 / math.pi, math.pi**2]

#: vendor -> (basis, OpenQASM version, template writer, normal translation)
TEXT_VENDORS: dict[str, tuple[list[str], int, Callable[..., str | None], Callable[..., str]]] = {
    "oqc": (["rz", "sx", "x", "ecr"], 2, oqc.program_template, oqc.program),
    "oqtopus": (["rz", "sx", "x", "cx"], 3, oqtopus.program_template, oqtopus.to_program),
    "qilimanjaro": (
        ["rz", "rx", "ry", "cz", "u"], 2, qilimanjaro.circuit_template, qilimanjaro.circuit_to_qasm
    ),
    "qoro": (["rz", "sx", "x", "cz", "rzz"], 2, qoro._fast_qasm, qoro.circuit_to_qasm),
}


def expressions_circuit(n: int = 3) -> QuantumCircuit:
    """Every supported and unsupported expression shape, parameters shared across gates."""
    circuit = QuantumCircuit(n, n, name="exprs")
    shapes = [T, 2 * T, T + P, -T, T / 2, P / 3, 3 - T, (T + P) * (T - P), 2 * T - 1.5 * P,
              abs(T), T * T / Q, T.sin(), 2 * T + 3 * P - Q / 7, T - 2 * P, T * P * Q]
    for index, shape in enumerate(shapes):
        circuit.rz(shape, index % n)
        circuit.cx(index % n, (index + 1) % n)
    circuit.rx(T, 0)
    circuit.u(T, P, Q, 1)
    circuit.measure(range(n), range(n))
    return circuit


def random_values(rows: int, columns: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.uniform(-4, 4, (rows, columns))
    specials = np.array(SPECIAL)
    mask = rng.random((rows, columns)) < 0.25
    values[mask] = rng.choice(specials, size=int(mask.sum()))
    return values


def reference(circuit: QuantumCircuit, row: np.ndarray) -> QuantumCircuit | None:
    """``assign_parameters`` of one point; ``None`` where Qiskit refuses the values."""
    try:
        return circuit.assign_parameters(row)
    except ZeroDivisionError:  # an expression evaluates to inf
        return None


def test_values_are_bit_identical_to_assign_parameters() -> None:
    circuit = expressions_circuit()
    values = random_values(300, circuit.num_parameters, seed=1)
    values[:4] = [[0.0, -0.0, 1.0], [-0.0, 0.0, -1.0], [math.pi, -math.pi, 0.5], [1, 2, 0.0]]
    plan = ParameterSweep(circuit, values).plan
    assert plan is not None
    for point, row in enumerate(values):
        bound = reference(circuit, row)
        if bound is None:
            assert not plan.usable[point]
            continue
        expected = [p for inst in bound.data for p in inst.params if inst.name != "measure"]
        got = plan.values[point][plan.columns].tolist()
        assert len(expected) == len(got)
        for want, have in zip(expected, got, strict=True):
            assert type(want) is float
            assert want == have and math.copysign(1, want) == math.copysign(1, have), point


def test_format_angles_matches_format_angle() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([
        rng.uniform(-10, 10, 20000),
        np.array(SPECIAL),
        np.array([n * math.pi / d for n in range(-30, 31) for d in range(1, 40)]),
        np.array([n / (d * math.pi) for n in range(1, 30) for d in range(1, 30)]),
        rng.uniform(-1e-4, 1e-4, 200),
        np.array([1e16, -1e16, 9.999e15, 123456789.0, 7e-5, 1e-4, -1e-4]),
    ])
    for eps in (1e-12, 1e-9):
        assert format_angles(values, eps) == [format_angle(v, eps) for v in values.tolist()]


def test_fraction_table_finds_what_the_search_finds() -> None:
    """The bucket table only pre-selects: its answer equals the plain search everywhere,
    at the fractions, just beside them, past the table's end and for random ratios."""
    from qiskit_multicloud.vendors import translate

    fractions = np.asarray(translate._FRACTION_VALUES)
    rng = np.random.default_rng(4)
    for ratio in (
        np.abs(rng.uniform(-10, 10, 200_000)),
        fractions, fractions + 1e-13, fractions - 1e-13, fractions + 3e-9, fractions - 3e-9,
        fractions * (1 + 2**-52), np.array([0.0, 15.99999999999, 16.0, 17.5, 99.0, 1e20]),
    ):
        for eps in (1e-12, 1e-9, 1e-6):
            found = translate._near_any_fraction(ratio, eps)
            assert (found == translate._near_by_search(ratio, eps)).all()


@pytest.mark.filterwarnings("error::RuntimeWarning")  # no overflow warning for huge angles
def test_format_angles_digits_are_repr_digits_across_the_double_range() -> None:
    """orjson writes the plain values: it must give repr's text for every double it writes
    (random bit patterns cover every exponent; uniform values cover typical angles)."""
    rng = np.random.default_rng(11)
    patterns = rng.integers(0, 2**63, 400_000, dtype=np.uint64).view(np.float64)
    patterns = patterns[np.isfinite(patterns)]
    values = np.concatenate([patterns, -patterns, rng.uniform(-7, 7, 400_000)])
    texts = format_angles(values, 1e-12)
    plain = (np.abs(values) >= 1e-4) & (np.abs(values) < 1e16)
    assert plain.sum() > 400_000
    for value, text, is_plain in zip(values.tolist(), texts, plain.tolist(), strict=True):
        if is_plain and "pi" not in text and text != "0":
            assert text == repr(value)
    sample = values[:: max(1, len(values) // 20000)]
    assert format_angles(sample, 1e-9) == [format_angle(v, 1e-9) for v in sample.tolist()]


def _sweep_of(circuit: QuantumCircuit, points: int, seed: int) -> ParameterSweep:
    values = random_values(points, circuit.num_parameters, seed)
    for row in values:
        if reference(circuit, row) is None:
            row[:] = 0.5  # binding would raise (an expression divides by zero)
    return ParameterSweep(circuit, values, [{"point": i} for i in range(points)])


def _transpiled_cases(basis: list[str]) -> list[QuantumCircuit]:
    ansatz = n_local(4, ["ry", "rz"], "cx", reps=2, entanglement="linear")
    ansatz.measure_all()
    exprs = expressions_circuit()
    cases = [
        transpile(ansatz, basis_gates=basis, optimization_level=1, seed_transpiler=1),
        transpile(exprs, basis_gates=basis, optimization_level=0, seed_transpiler=2),
    ]
    shared = QuantumCircuit(2, 2)
    shared.rz(2 * T, 0)
    shared.rz(2 * T, 1)  # the same expression twice and one sign-flipped
    shared.rz(-2 * T, 1)
    shared.cx(0, 1)
    shared.measure([0, 1], [0, 1])
    cases.append(transpile(shared, basis_gates=basis, optimization_level=0))
    return cases


@pytest.mark.parametrize("vendor", sorted(TEXT_VENDORS))
def test_text_vendors_render_exactly_what_translation_of_each_bound_circuit_gives(
    vendor: str,
) -> None:
    basis, version, template, translate = TEXT_VENDORS[vendor]
    for number, circuit in enumerate(_transpiled_cases(basis)):
        assert circuit.num_parameters
        sweep = _sweep_of(circuit, 60, seed=number)
        STATS.clear()
        found = texts(SweepCircuits([sweep]), vendor, version, template, translate)
        assert STATS["templates"] == 1
        assert STATS["rendered"] >= 1
        for point, text in enumerate(found):
            bound = reference(circuit, sweep.values[point])
            if bound is not None:
                assert text == translate(bound), (vendor, number, point)


def _sent(value: Any) -> str:
    """What the server reads from the request body, written back with ``repr`` floats (so
    -0.0 and 0.0, or two doubles one bit apart, compare different)."""
    return json.dumps(json.loads(encode_json(value)))


def _iqm_cases() -> list[QuantumCircuit]:
    """Transpiled cases, and ``r`` gates whose angles are the parameters themselves."""
    direct = QuantumCircuit(2, 2, name="direct")
    direct.r(T, P, 0)
    direct.r(P, T, 1)
    direct.cz(0, 1)
    direct.r(Q, 2 * T, 1)
    direct.measure([0, 1], [0, 1])
    return [*_transpiled_cases(["r", "cz"]), direct]


def test_iqm_renders_the_instructions_of_each_bound_circuit() -> None:
    names = [f"QB{i + 1}" for i in range(5)]
    translator = CircuitTranslator(names)
    for number, circuit in enumerate(_iqm_cases()):
        sweep = _sweep_of(circuit, 40, seed=10 + number)
        if number == 3:  # every special angle directly in an angle slot
            sweep.values[: len(SPECIAL)] = np.array(SPECIAL)[:, None]
        STATS.clear()
        found = translator.translate_all(SweepCircuits([sweep]))
        assert STATS["templates"] == 1 and STATS["rendered"] >= 30
        for point, entry in enumerate(found):
            bound = reference(circuit, sweep.values[point])
            if bound is None:
                continue
            assert isinstance(entry["instructions"], DeferredJSON)
            bound.name = sweep.point_name(point)
            bound.metadata = {"point": point}
            expected = CircuitTranslator(names).translate(bound)
            assert _sent(entry) == json.dumps(expected), (number, point)
            assert encode_json(entry) == encode_json(expected), (number, point)


def test_iqm_points_that_cannot_be_rendered_fail_before_the_body_is_encoded() -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.r(T / Q, 0.5, 0)
    circuit.measure(0, 0)
    sweep = ParameterSweep(circuit, [[2.0, 1.0], [0.0, 1.0]])  # (q, t): q = 0 divides by zero
    assert sweep.plan is not None and sweep.plan.usable.tolist() == [True, False]
    with pytest.raises(ZeroDivisionError):  # what binding that point raises anyway
        CircuitTranslator(["QB1"]).translate_all(SweepCircuits([sweep]))


def test_json_numbers_parse_back_to_the_same_doubles() -> None:
    """Every double (random bit patterns: all exponents, subnormals) and the special angles."""
    rng = np.random.default_rng(12)
    patterns = rng.integers(0, 2**63, 300_000, dtype=np.uint64).view(np.float64)
    patterns = patterns[np.isfinite(patterns)]
    values = np.concatenate([
        patterns, -patterns, np.array(SPECIAL), rng.uniform(-7, 7, 100_000),
        rng.uniform(-1e-4, 1e-4, 1000), np.array([5e-324, -5e-324, 1.7976931348623157e308]),
    ])
    found = json_numbers(values)
    parsed = np.array(json.loads("[" + ",".join(found) + "]"), dtype=np.float64)
    assert parsed.view(np.uint64).tolist() == values.view(np.uint64).tolist()
    # the same text as the transport writes for a Python float
    assert found[-200_000:] == [orjson.dumps(v).decode() for v in values[-200_000:].tolist()]
    assert json_numbers(np.array([0.0, -0.0, 1e-5, 1e17])) == ["0.0", "-0.0", "0.00001", "1e+17"]
    assert json_numbers(np.empty(0)) == []


def test_qoro_templates_from_a_sweep_equal_those_from_bound_circuits() -> None:
    circuit = _transpiled_cases(TEXT_VENDORS["qoro"][0])[0]
    sweep = _sweep_of(circuit, 30, seed=4)
    bound = [sweep.bound(i) for i in range(len(sweep))]
    STATS.clear()
    fast = qoro.find_sweeps(SweepCircuits([sweep]))
    assert STATS["bound"] <= 2  # the structure and the literal angles come from a point
    assert fast == qoro.find_sweeps(bound)


def test_points_that_cannot_be_rendered_are_bound_and_translated() -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.rz(T / Q, 0)
    circuit.measure(0, 0)
    sweep = ParameterSweep(circuit, [[2.0, 1.0], [0.0, 1.0], [4.0, 0.5]])  # (q, t)
    assert sweep.plan is not None and sweep.plan.usable.tolist() == [True, False, True]
    STATS.clear()
    with pytest.raises(ZeroDivisionError):  # what binding that point raises anyway
        texts(SweepCircuits([sweep]), "oqc", 2, oqc.program_template, oqc.program)


def test_parameters_outside_standard_gates_bind_every_point() -> None:
    inner = QuantumCircuit(1, name="custom")
    inner.rz(T, 0)
    circuit = QuantumCircuit(1, 1)
    circuit.append(inner.to_gate(), [0])
    circuit.measure(0, 0)
    sweep = ParameterSweep(circuit, [[0.1], [0.2]])
    assert sweep.plan is None
    STATS.clear()
    found = texts(SweepCircuits([sweep]), "oqc", 2, oqc.program_template, oqc.program)
    assert STATS["bound"] == 2 and STATS["rendered"] == 0
    assert found == [oqc.program(sweep.bound(i)) for i in range(2)]


def test_sweep_circuits_sequence_slices_and_layouts() -> None:
    plain = QuantumCircuit(1, 1, name="plain")
    plain.measure(0, 0)
    circuit = QuantumCircuit(1, 1, name="swept")
    circuit.rz(T, 0)
    circuit.measure(0, 0)
    sweep = ParameterSweep(circuit, [[0.1], [0.2], [0.3]], [{"i": i} for i in range(3)])
    batch = SweepCircuits([plain, sweep, plain])
    assert len(batch) == 5
    assert batch[0] is plain and batch[4] is plain
    assert batch.name_of(2) == sweep.point_name(1) == batch[2].name
    assert batch[2].data[0].params == [0.2] and batch[2].metadata == {"i": 1}
    middle = batch[1:3]
    assert isinstance(middle, SweepCircuits) and len(middle) == 2
    assert [layout.metadata for layout in middle.layouts()] == [{"i": 0}, {"i": 1}]
    assert [layout.name for layout in batch.layouts()] == [c.name for c in batch]


def test_bound_points_are_named_like_qiskit_bound_copies() -> None:
    circuit = QuantumCircuit(1, 1, name="named")
    circuit.rz(T, 0)
    circuit.measure(0, 0)
    sweep = ParameterSweep(circuit, [[0.1], [0.2]])
    names = [sweep.point_name(0), sweep.point_name(1)]
    assert len(set(names)) == 2 and all(n.startswith("named-") for n in names)
    assert circuit.assign_parameters([0.3]).name.startswith("named-")


def test_random_n_local_sweeps_many_seeds() -> None:
    rng = random.Random(7)
    for seed in range(6):
        blocks = rng.sample(["rx", "ry", "rz"], 2)
        ansatz = n_local(3, blocks, "cz", reps=rng.randint(1, 3))
        ansatz.measure_all()
        for vendor, (basis, version, template, translate) in TEXT_VENDORS.items():
            native = transpile(ansatz, basis_gates=basis, optimization_level=rng.randint(0, 2),
                               seed_transpiler=seed)
            sweep = _sweep_of(native, 20, seed)
            found = texts(SweepCircuits([sweep]), vendor, version, template, translate)
            for point, text in enumerate(found):
                bound = reference(native, sweep.values[point])
                assert bound is not None
                assert text == translate(bound), (vendor, seed, point)


# -- expressions of several parameters: numpy where Qiskit's binding is shown to agree ------

A, B, C, D = Parameter("a"), Parameter("b"), Parameter("c"), Parameter("d")
#: Values where Qiskit's simplifier decides differently (0, 1, -1, equal magnitudes) and
#: where IEEE results are special (signed zeros, tiny and huge values).
SEVERAL_SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.0, 0.5, math.pi, -math.pi, 1e-13, -1e-300, 1e17,
                   -1e17, 3.0, 1 / 3]


def random_expression(rng: random.Random, parameters: list[Parameter], depth: int) -> Any:
    """A random nested expression of ``parameters`` (sums, differences, products, quotients
    by constants and parameters, negations, integer and float constants, abs)."""
    if depth == 0 or rng.random() < 0.2:
        leaf = rng.random()
        if leaf < 0.75:
            return rng.choice(parameters)
        return rng.choice([2, 3, -1, 0.5, 1.5, math.pi, -2.25, 7, 1e-3])
    lhs = random_expression(rng, parameters, depth - 1)
    rhs = random_expression(rng, parameters, depth - 1)
    shape = rng.choice(["+", "-", "*", "/", "/c", "neg", "abs", "*c"])
    if shape == "+":
        return lhs + rhs
    if shape == "-":
        return lhs - rhs
    if shape == "*":
        return lhs * rhs
    if shape == "/":
        return lhs / rng.choice(parameters)
    if shape == "/c":
        return lhs / rng.choice([2, 3, 7, 0.25, 1.5])
    if shape == "neg":
        return -lhs if not isinstance(lhs, int | float) else -lhs * rhs
    if shape == "abs":
        return abs(lhs) if not isinstance(lhs, int | float) else abs(lhs) + rhs
    return rng.choice([2, -3, 0.5, 1.25]) * lhs


#: Expressions whose binding Qiskit does leaf to root (the vectorized path's cases).
PLAIN_SHAPES = [A + B, 2 * A - B / 2, A * B, 3 - A * B, (A + 1) * (B - 2), (A + B) / 3,
                A * B - 1, A + B + C, 2.5 * C - D / 7, (A - D) * (B + C)]


def several_parameters_circuit(count: int, seed: int) -> QuantumCircuit:
    """:data:`PLAIN_SHAPES` and ``count`` rz gates, each angle a random expression of at
    least two parameters."""
    rng = random.Random(seed)
    circuit = QuantumCircuit(3, 3, name="several")
    for index, shape in enumerate(PLAIN_SHAPES):
        circuit.rz(shape, index % 3)
    made = 0
    while made < count:
        expression = random_expression(rng, [A, B, C, D], rng.randint(1, 4))
        if isinstance(expression, int | float) or len(expression.parameters) < 2:
            continue
        circuit.rz(expression, made % 3)
        circuit.cx(made % 3, (made + 1) % 3)
        made += 1
    circuit.measure(range(3), range(3))
    return circuit


def several_values(circuit: QuantumCircuit, rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.uniform(-4, 4, (rows, circuit.num_parameters))
    mask = rng.random(values.shape) < 0.15
    values[mask] = rng.choice(np.array(SEVERAL_SPECIAL), size=int(mask.sum()))
    values[1] = values[0]  # equal values in every column
    values[2] = -values[0]
    for row in values:
        try:
            refused = reference(circuit, row) is None
        except RuntimeError:  # "Binding to NaN": huge values, inf - inf
            refused = True
        if refused:
            row[:] = 0.75  # binding would raise
    return values


def assert_plan_is_assign_parameters(circuit: QuantumCircuit, values: np.ndarray) -> None:
    plan = ParameterSweep(circuit, values).plan
    assert plan is not None
    for point, row in enumerate(values):
        bound = reference(circuit, row)
        assert bound is not None
        expected = [p for inst in bound.data for p in inst.params if inst.name == "rz"]
        got = plan.values[point][plan.columns].tolist()
        for want, have in zip(expected, got, strict=True):
            if isinstance(want, float) and math.isfinite(want):
                assert math.copysign(1, want) == math.copysign(1, have), (point, want, have)
                assert want == have, (point, want, have)
            else:
                assert not plan.usable[point]


@pytest.mark.parametrize("seed", range(8))
def test_random_expressions_of_several_parameters_are_bit_identical(seed: int) -> None:
    circuit = several_parameters_circuit(25, seed)
    values = several_values(circuit, 150, seed)
    STATS.clear()
    assert_plan_is_assign_parameters(circuit, values)
    assert STATS["structure_checks"] > 0 and STATS["vectorized_points"] > 0


def test_every_vendor_renders_sweeps_of_several_parameters_exactly() -> None:
    circuit = several_parameters_circuit(12, seed=21)
    values = several_values(circuit, 50, seed=21)
    for vendor, (basis, version, template, translate) in TEXT_VENDORS.items():
        native = transpile(circuit, basis_gates=basis, optimization_level=0)
        sweep = ParameterSweep(native, values)
        STATS.clear()
        found = texts(SweepCircuits([sweep]), vendor, version, template, translate)
        assert STATS["templates"] == 1 and STATS["vectorized_points"] > 0, vendor
        for point, text in enumerate(found):
            bound = reference(native, values[point])
            assert bound is not None
            assert text == translate(bound), (vendor, point)
    names = [f"QB{i + 1}" for i in range(3)]
    native = transpile(circuit, basis_gates=["r", "cz"], optimization_level=0)
    sweep = ParameterSweep(native, values, [{"point": i} for i in range(len(values))])
    entries = CircuitTranslator(names).translate_all(SweepCircuits([sweep]))  # rz as r: negated
    for point, entry in enumerate(entries):
        bound = reference(native, values[point])
        assert bound is not None
        bound.name = sweep.point_name(point)
        bound.metadata = {"point": point}
        expected = CircuitTranslator(names).translate(bound)
        assert encode_json(entry) == encode_json(expected), point


def test_sums_and_products_of_two_parameters_take_the_vectorized_path() -> None:
    circuit = QuantumCircuit(1)
    shapes = [A + B, 2 * A - B / 2, A * B, 3 - A * B, (A + 1) * (B - 2), (A + B) * (A - B),
              (A + B) / 3, A * B - 1, B - A, -A - B, -(A * B) + 2.5]
    for shape in shapes:
        circuit.rz(shape, 0)
    values = np.random.default_rng(5).uniform(-4, 4, (400, 2))
    STATS.clear()
    plan = ParameterSweep(circuit, values).plan
    assert plan is not None
    assert STATS["qiskit_evaluated"] == 0 and STATS["probe_mismatches"] == 0
    assert STATS["vectorized_points"] == len(values) * len(shapes)
    assert_plan_is_assign_parameters(circuit, values)


@pytest.mark.parametrize("shape", [2 * (A * B), A * (B * C), C * B * A, C + B + A])
def test_where_qiskit_regroups_constants_its_own_binding_gives_the_values(shape: Any) -> None:
    """Binding one parameter at a time, Qiskit regroups a bound value with a constant or
    another bound value (``2*(a*b)`` becomes ``(2*a)*b``, ``b + c + a`` adds ``a`` to ``b``
    first): the check of its trees fails and Qiskit binds every point."""
    circuit = QuantumCircuit(1)
    circuit.rz(shape, 0)
    values = np.random.default_rng(6).uniform(-4, 4, (200, circuit.num_parameters))
    STATS.clear()
    assert_plan_is_assign_parameters(circuit, values)
    assert STATS["vectorized_points"] == 0
    # checked and refused (group by group, or the whole column after too many groups)
    assert STATS["structure_checks"] > 0 or STATS["qiskit_evaluated"] == 1


@pytest.mark.parametrize("shape", [A / B, 2 * A / (A + B), abs(A - B) + B, B - abs(A)])
def test_division_by_parameters_and_abs_are_bound_by_qiskit(shape: Any) -> None:
    """Qiskit divides by a bound value as a product with its reciprocal where that converts
    back exactly and divides otherwise; it keeps ``abs(v)`` unevaluated next to other
    numbers, which it then regroups: not one tree for numpy."""
    circuit = QuantumCircuit(1)
    circuit.rz(shape, 0)
    values = np.random.default_rng(7).uniform(-4, 4, (200, 2))
    STATS.clear()
    assert_plan_is_assign_parameters(circuit, values)
    assert STATS["qiskit_evaluated"] == 1 and STATS["vectorized_points"] == 0


def test_rewrites_the_tree_comparison_ignores_give_the_same_bits() -> None:
    """The rewrites ``_canonical`` treats as equal are exact in IEEE double arithmetic
    (round to nearest is symmetric in sign) wherever no result is zero."""
    rng = np.random.default_rng(9)
    exponents = rng.integers(-1020, 1000, (2, 200_000))
    a, b = rng.uniform(-2, 2, (2, 200_000)) * 2.0 ** exponents
    with np.errstate(all="ignore"):
        pairs = [
            (a + -b, a - b), (a + b, b + a), (a * b, b * a), (-a + -b, -(a + b)),
            (-a * b, -(a * b)), (a / -b, -(a / b)), (a - b, -(b - a)), (a * -1.0, -a),
            (a / -1.0, -a), (abs(-a), abs(a)),
        ]
        for left, right in pairs:
            keep = (left != 0) & np.isfinite(left)
            assert keep.sum() > 100_000
            assert np.array_equal(left[keep].view(np.int64), right[keep].view(np.int64))
