"""Success estimates from a Target, and ranking on devices whose specs are built here."""

from __future__ import annotations

import dataclasses
import math

import pytest
from qiskit import QuantumCircuit

from qiskit_multicloud.selection import ASSUMED_ERRORS, estimate_success, rank
from qiskit_multicloud.target import build_target
from qiskit_multicloud.types import DeviceSpec, InstructionProps, QueueInfo, uniform_gates
from test.core.fakes import FakeAdapter, FakeBackend, fake_device


def scaled(spec: DeviceSpec, factor: float, device_id: str) -> DeviceSpec:
    """The same device with every published error multiplied by ``factor``."""
    gates = {
        name: {
            qargs: dataclasses.replace(
                props, error=None if props.error is None else min(1.0, props.error * factor)
            )
            for qargs, props in by_qargs.items()
        }
        for name, by_qargs in spec.gates.items()
    }
    return dataclasses.replace(spec, device_id=device_id, gates=gates)


class QueueAdapter(FakeAdapter):
    """A fake vendor whose devices report the queue lengths given here."""

    def __init__(self, devices: list[DeviceSpec], queues: dict[str, QueueInfo]) -> None:
        super().__init__(devices)
        self.queues = queues

    def queue_info(self, device: DeviceSpec) -> QueueInfo:
        return self.queues.get(device.device_id, QueueInfo(source="not published"))


def backends(*specs: DeviceSpec, **queues: QueueInfo) -> list[FakeBackend]:
    adapter = QueueAdapter(list(specs), queues)
    return [FakeBackend(adapter, spec) for spec in specs]


def ghz(n: int = 3) -> QuantumCircuit:
    qc = QuantumCircuit(n, name=f"ghz{n}")
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    qc.measure_all()
    return qc


# -- estimate ---------------------------------------------------------------------------------


def test_estimate_is_the_product_of_published_errors_including_readout() -> None:
    target = build_target(fake_device())
    qc = QuantumCircuit(5, 2)
    qc.sx(0)
    qc.rz(0.3, 1)
    qc.cz(0, 1)
    qc.measure([0, 1], [0, 1])
    estimate = estimate_success(qc, target)
    assert estimate.gate_factor == pytest.approx((1 - 1e-3) ** 2 * (1 - 1e-2))  # sx, rz, cz
    assert estimate.readout_factor == pytest.approx((1 - 2e-2) ** 2)
    assert estimate.idle_factor == 1.0  # qubit 1 starts with the cz: nothing to wait for
    assert estimate.probability == pytest.approx(estimate.gate_factor * estimate.readout_factor)
    assert estimate.missing == () and estimate.assumptions == ()
    assert estimate.duration == pytest.approx(3e-8 + 2e-7 + 1e-6)


def test_idle_time_decays_with_t1_and_t2() -> None:
    target = build_target(fake_device())
    qc = QuantumCircuit(5)
    qc.cz(0, 1)
    for _ in range(3):
        qc.sx(0)
    qc.cz(0, 1)  # qubit 1 waits for three sx on qubit 0
    estimate = estimate_success(qc, target)
    idle = 3 * 3e-8
    assert estimate.idle_factor == pytest.approx(math.exp(-idle * (1 / (2 * 1e-4) + 1 / 5e-5)))
    assert estimate.probability < estimate.gate_factor


def test_explicit_delays_count_as_idle_time() -> None:
    target = build_target(fake_device())
    qc = QuantumCircuit(5)
    qc.sx(0)
    qc.delay(2e-6, 0, unit="s")
    qc.delay(500, 0, unit="ns")
    qc.sx(0)
    estimate = estimate_success(qc, target)
    assert estimate.idle_factor == pytest.approx(math.exp(-2.5e-6 * (1 / 2e-4 + 1 / 5e-5)))
    assert estimate.gate_factor == pytest.approx((1 - 1e-3) ** 2) and not estimate.missing


def test_unpublished_errors_are_assumed_and_marked_never_perfect() -> None:
    spec = dataclasses.replace(
        fake_device(), gates=uniform_gates(5, ["rz", "sx"], ["cz"], edges=[(0, 1)]), t1={}, t2={}
    )
    qc = QuantumCircuit(5, 2)
    qc.sx(0)
    qc.rz(0.1, 0)
    qc.cz(0, 1)
    qc.sx(0)
    qc.cz(0, 1)
    qc.measure([0, 1], [0, 1])
    estimate = estimate_success(qc, build_target(spec))
    expected = (1 - ASSUMED_ERRORS["1q"]) ** 2 * (1 - ASSUMED_ERRORS["2q"]) ** 2 * (
        1 - ASSUMED_ERRORS["measure"]
    ) ** 2
    assert estimate.probability == pytest.approx(expected) and estimate.probability < 1
    assert estimate.assumed
    assert {"error of sx", "error of cz", "error of measure"} <= set(estimate.missing)
    assert "error of rz" not in estimate.missing  # a virtual gate
    assert "durations of some operations" in estimate.missing
    assert any("cz: assumed error 0.01" in a for a in estimate.assumptions)


def test_missing_t1_t2_is_reported_when_qubits_idle() -> None:
    spec = dataclasses.replace(fake_device(), t1={}, t2={})
    qc = QuantumCircuit(5)
    qc.cz(0, 1)
    qc.sx(0)
    qc.cz(0, 1)
    estimate = estimate_success(qc, build_target(spec))
    assert "T1/T2" in estimate.missing and estimate.idle_factor == 1.0


def test_simulators_without_errors_are_ideal_not_assumed() -> None:
    spec = DeviceSpec("fake", "sim", 3, uniform_gates(3, ["h"], ["cx"]), simulator=True)
    estimate = estimate_success(ghz(), build_target(spec), simulator=True)
    assert estimate.probability == 1.0 and not estimate.assumed and estimate.missing == ()


# -- ranking ----------------------------------------------------------------------------------


def test_a_device_publishing_worse_errors_ranks_lower() -> None:
    good = fake_device("good")
    bad = scaled(good, 5.0, "bad")
    ranking = rank(backends(bad, good), [ghz()], seed_transpiler=7)
    assert [e.backend.name for e in ranking] == ["good", "bad"]
    assert ranking[0].estimate > ranking[1].estimate
    assert ranking[0].two_qubit_gates == ranking[1].two_qubit_gates >= 2


def test_entries_carry_isa_circuit_counts_queue_and_missing_inputs() -> None:
    (entry,) = rank(backends(fake_device("line"), line=QueueInfo(pending_jobs=4)), [ghz()],
                    seed_transpiler=7)
    target = entry.backend.target
    for instruction in entry.circuit.data:
        if instruction.operation.name != "barrier":
            qargs = tuple(entry.circuit.find_bit(q).index for q in instruction.qubits)
            assert target.instruction_supported(instruction.operation.name, qargs)
    assert entry.two_qubit_gates == sum(
        1 for i in entry.circuit.data if i.operation.name == "cz"
    )
    assert entry.depth == entry.circuit.depth()
    assert entry.queue.pending_jobs == 4
    assert entry.missing == () and entry.estimates[0].probability == entry.estimate


def test_device_without_errors_is_ranked_with_a_marked_assumption() -> None:
    bare = dataclasses.replace(
        fake_device("bare"), gates=uniform_gates(5, ["rz", "sx", "x"], ["cz"],
                                                edges=[(i, i + 1) for i in range(4)])
    )
    ranking = rank(backends(fake_device("calibrated"), bare), [ghz()], seed_transpiler=7)
    entry = next(e for e in ranking if e.backend.name == "bare")
    assert entry.estimate < 1.0 and entry.assumptions
    assert "error of cz" in entry.missing and "queue length" in entry.missing
    table = ranking.table()
    assert f"{entry.estimate:.3f}*" in table and "assumed values" in table


def test_queue_breaks_ties_unknown_queues_last_and_weight_can_outrank() -> None:
    a, b, c = fake_device("a"), fake_device("b"), fake_device("c")
    ranking = rank(
        backends(a, b, c, b=QueueInfo(pending_jobs=0), c=QueueInfo(pending_jobs=9)),
        [ghz()], seed_transpiler=7,
    )
    assert [e.backend.name for e in ranking] == ["b", "c", "a"]
    better_but_busy = scaled(fake_device("busy"), 0.5, "busy")
    idle = fake_device("idle")
    pair = backends(better_but_busy, idle, busy=QueueInfo(pending_jobs=50),
                    idle=QueueInfo(pending_jobs=0))
    assert rank(pair, [ghz()], seed_transpiler=7)[0].backend.name == "busy"
    weighted = rank(pair, [ghz()], seed_transpiler=7, queue_weight=0.1)
    assert weighted[0].backend.name == "idle"
    assert weighted[1].score == pytest.approx(weighted[1].estimate / (1 + 0.1 * 50))


def test_too_small_and_untranspilable_devices_are_skipped_with_reasons() -> None:
    small = fake_device("small", n=2)
    no_two_qubit = dataclasses.replace(
        fake_device("no2q"), gates=uniform_gates(5, ["rz", "sx", "x"])
    )
    ranking = rank(backends(small, no_two_qubit, fake_device("ok")), [ghz()])
    assert [e.backend.name for e in ranking] == ["ok"]
    reasons = {s.backend.name: s.reason for s in ranking.skipped}
    assert "2 qubits; the circuit needs 3" in reasons["small"]
    assert reasons["no2q"].startswith("cannot transpile")
    assert "skipped fake:small" in ranking.table()


def test_several_circuits_score_by_their_mean() -> None:
    (entry,) = rank(backends(fake_device()), [ghz(2), ghz(4)], seed_transpiler=3)
    assert len(entry.circuits) == 2
    assert entry.estimate == pytest.approx(sum(e.probability for e in entry.estimates) / 2)


def test_worse_readout_alone_ranks_lower() -> None:
    """Worse readout on one device alone (same gates) still ranks it lower."""
    good = fake_device("good")
    gates = dict(good.gates)
    gates["measure"] = {(q,): InstructionProps(0.2, 1e-6) for q in range(5)}
    noisy_readout = dataclasses.replace(good, device_id="noisy", gates=gates)
    ranking = rank(backends(noisy_readout, good), [ghz()], seed_transpiler=7)
    assert [e.backend.name for e in ranking] == ["good", "noisy"]
