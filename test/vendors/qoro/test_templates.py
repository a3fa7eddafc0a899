"""Qoro parametric templates: sweeps uploaded as one template plus parameter values."""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import requests_mock
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp, Statevector

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.config import Secret
from qiskit_multicloud.exceptions import CircuitValidationError
from qiskit_multicloud.primitives import Estimator, Sampler
from qiskit_multicloud.sweeps import ParameterSweep, as_run_input
from qiskit_multicloud.vendors.qoro.adapter import (
    MAX_FRAGMENT_BYTES,
    QoroAdapter,
    template_fragments,
    upload_bodies,
    wire_json,
)
from qiskit_multicloud.vendors.qoro.settings import QoroSettings
from qiskit_multicloud.vendors.qoro.translate import (
    PARAMETER_PREFIX,
    Sweep,
    circuit_label,
    circuit_to_qasm,
    decompress,
    find_sweeps,
    scaled_name,
)
from test.conftest import FAST

URL = "https://qoro.example/api"
P0, P1 = f"{PARAMETER_PREFIX}0", f"{PARAMETER_PREFIX}1"


def ansatz() -> QuantumCircuit:
    """Two parameters, each used in two gates; one fixed angle."""
    theta, phi = Parameter("theta"), Parameter("phi")
    qc = QuantumCircuit(2, 2, name="ansatz")
    qc.ry(theta, 0)
    qc.ry(theta, 1)
    qc.rz(0.7, 0)
    qc.cx(0, 1)
    qc.rzz(2 * phi, 0, 1)
    qc.rx(2 * phi, 1)
    qc.measure([0, 1], [0, 1])
    return qc


VALUES = [(0.1, 0.2), (0.3, -0.4), (1e-20, 2.5), (math.pi, 0.2)]


def bound() -> list[QuantumCircuit]:
    return [ansatz().assign_parameters(v) for v in VALUES]


def substitute(template: str, names: list[str], values: list[float]) -> str:
    """What the service does: each name replaced by ``str(float(value))``."""
    for name, value in zip(names, values, strict=True):
        template = re.sub(rf"\b{re.escape(name)}\b", str(float(value)), template)
    return template


def bits(value: float) -> bytes:
    """The IEEE double of ``value``, every last bit; a zero's sign is dropped (``+ 0.0``):
    rz(-0.0) is rz(0.0), and the bound upload writes both as ``0``."""
    return struct.pack("<d", float(value) + 0.0)


def assert_template_restores(
    circuits: Sequence[QuantumCircuit], bound: Sequence[QuantumCircuit] | None = None
) -> Any:
    """The template with each row substituted parses (as the emulator's service parser
    does) to every circuit's exact angles (``bound``: the circuits ``circuits`` stands for),
    bit for bit; returns the sweep."""
    from qiskit_multicloud.emulators.simulator import parse_qasm

    (sweep,), single = find_sweeps(circuits)
    assert single == []
    expected = circuits if bound is None else bound
    for index, values in zip(sweep.indices, sweep.values, strict=True):
        restored = parse_qasm(substitute(sweep.template, sweep.names, values))
        for ours, theirs in zip(restored.data, expected[index].data, strict=True):
            assert ours.operation.name == theirs.operation.name
            assert [bits(p) for p in ours.operation.params] == [
                bits(p) for p in theirs.operation.params
            ]
    return sweep


def test_sweep_has_one_parameter_per_distinct_angle_column() -> None:
    (sweep,), single = find_sweeps(bound())
    assert single == [] and sweep.indices == [0, 1, 2, 3]
    assert sweep.names == [P0, P1]
    assert sweep.template.count(P0) == sweep.template.count(P1) == 2
    assert "rz(0.7) q[0];" in sweep.template  # the fixed angle stays literal
    # one value per circuit for theta (ry) and one for 2*phi (rzz, rx)
    angles = [(c.data[0].operation.params[0], c.data[4].operation.params[0]) for c in bound()]
    assert sorted(map(tuple, sweep.values)) == sorted(angles) or sorted(
        map(tuple, sweep.values)
    ) == sorted((b, a) for a, b in angles)


def test_bound_template_is_exactly_each_circuit() -> None:
    from qiskit_multicloud.emulators.simulator import parse_qasm

    circuits = bound()
    (sweep,), _ = find_sweeps(circuits)
    for index, values in zip(sweep.indices, sweep.values, strict=True):
        restored = parse_qasm(substitute(sweep.template, sweep.names, values))
        original = circuits[index]
        for ours, theirs in zip(restored.data, original.data, strict=True):
            assert ours.operation.name == theirs.operation.name
            assert [float(p) for p in ours.operation.params] == [
                float(p) for p in theirs.operation.params
            ]


def test_what_is_not_a_sweep_goes_bound() -> None:
    bell = QuantumCircuit(2, 2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    lone = ansatz().assign_parameters([0.5, 0.5])
    other = QuantumCircuit(1, 1)
    other.rx(0.25, 0)
    other.measure(0, 0)
    circuits = [bell, bell.copy(), lone, *bound(), other]
    sweeps, single = find_sweeps(circuits)
    assert [s.indices for s in sweeps] == [[2, 3, 4, 5, 6]]  # `lone` joins its structure
    assert single == [0, 1, 7]  # identical circuits and a lone structure stay bound


def test_exact_add_circuits_bodies() -> None:
    adapter = QoroAdapter.from_settings(QoroSettings(url=URL, api_key=Secret("k")))
    from qiskit_multicloud.types import DeviceSpec

    device = DeviceSpec(
        vendor="qoro", device_id="qoro_maestro", n_qubits=8, gates={},
        extra={"kind": "simulator_cluster", "supports_expval": True},
    )
    bell = QuantumCircuit(2, 2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    circuits = [bell, *bound()]
    payload = adapter.build_payload(device, circuits, {"shots": 50})
    bound_body, template_body = payload["fragments"]
    assert bound_body["circuits"].keys() == {"0"} and bound_body["finalized"] == "false"
    assert decompress(bound_body["circuits"]["0"]) == circuit_to_qasm(bell)
    (sweep,), _ = find_sweeps(bound())
    assert set(template_body) == {
        "circuit_template", "parameter_names", "parameter_sets", "mode", "shots", "finalized"
    }
    assert decompress(template_body["circuit_template"]) == sweep.template
    assert template_body["parameter_names"] == [P0, P1]
    assert [row["label"] for row in template_body["parameter_sets"]] == ["1", "2", "3", "4"]
    assert template_body["mode"] == "append" and template_body["shots"] == 50
    assert template_body["finalized"] == "true"
    with requests_mock.Mocker() as m:
        init = m.post(f"{URL}/job/init/", json={"job_id": "j1"}, status_code=201)
        upload = m.post(f"{URL}/job/j1/add_circuits/", json={"status": "ok"})
        assert adapter.submit(device, payload, {"shots": 50}) == "j1"
    assert init.last_request.body == (
        b'{"tag":"qiskit-multicloud","job_type":"EXECUTE","use_packing":false,'
        b'"simulator_cluster":"qoro_maestro"}'
    )
    assert [r.json() for r in upload.request_history] == payload["fragments"]
    sent = [r.body for r in upload.request_history]
    assert sent == [wire_json(f) for f in payload["fragments"]]  # compact JSON
    assert b'"parameter_sets":[{"label":"1","values":[' in sent[1]
    assert {r.headers["Content-Type"] for r in upload.request_history} == {"application/json"}
    off = adapter.build_payload(device, circuits, {"shots": 50, "templates": False})
    assert [sorted(f) for f in off["fragments"]] == [["circuits", "finalized", "mode", "shots"]]
    assert len(off["fragments"][0]["circuits"]) == 5


def test_large_sweeps_split_rows_and_repeat_the_template() -> None:
    circuits = [ansatz().assign_parameters([a, 0.1]) for a in range(1, 80)]
    (sweep,), _ = find_sweeps(circuits)
    bodies = template_fragments(sweep, {"mode": "append", "shots": 10}, limit=900)
    assert len(bodies) > 2
    assert all(len(wire_json(b)) <= 900 for b in bodies)
    assert {b["circuit_template"] for b in bodies} == {bodies[0]["circuit_template"]}
    labels = [row["label"] for b in bodies for row in b["parameter_sets"]]
    assert labels == [circuit_label(i) for i in range(79)]
    assert labels[61:64] == ["Z", "10", "11"]
    finals = [b["finalized"] for b in upload_bodies(circuits[:3], {"mode": "append"}, True)]
    assert finals == ["true"]


def test_a_row_over_the_limit_is_refused_and_the_sweep_goes_bound() -> None:
    """Template plus one row over the limit: template_fragments refuses it (no body over
    the limit is ever sent) and upload_bodies sends those circuits bound instead."""
    circuits = bound()
    (sweep,), _ = find_sweeps(circuits)
    envelope = {"mode": "append", "shots": 10}
    (whole,) = template_fragments(sweep, envelope)
    head = len(wire_json({**whole, "parameter_sets": []}))
    row = max(len(wire_json(r)) for r in whole["parameter_sets"]) + 1
    one_bound = max(len(wire_json(upload_bodies([c], envelope, False)[0])) for c in circuits)
    limit = max(head + row - 1, one_bound)
    assert head + row > limit  # the template fits alone, not with a row
    with pytest.raises(CircuitValidationError, match="one row of values"):
        template_fragments(sweep, envelope, limit)
    bodies = upload_bodies(circuits, envelope, True, limit)
    assert all("circuits" in b and len(wire_json(b)) <= limit for b in bodies)
    assert sorted(label for b in bodies for label in b["circuits"]) == sorted(
        circuit_label(i) for i in range(len(circuits))
    )


def test_labels_are_short_unique_and_need_no_escaping() -> None:
    labels = [circuit_label(i) for i in range(4000)]
    assert labels[:11] == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a"]
    assert len(set(labels)) == 4000
    assert max(len(label) for label in labels[:3844]) == 2 and len(labels[3844]) == 3
    assert all(json.dumps(label) == f'"{label}"' and label.isalnum() for label in labels)


def test_fragments_are_compact_and_fill_bodies_up_to_095_mib() -> None:
    """30000 rows: compact JSON, every body under 0.95 MiB and as full as the next row
    allows, each repeating the template, labels in order across bodies."""
    (sweep,), _ = find_sweeps(bound())
    values = np.random.default_rng(2).uniform(-4, 4, size=(30000, 2)).tolist()
    big = Sweep(sweep.template, sweep.names, list(range(1, 30001)), values)
    bodies = template_fragments(big, {"mode": "append", "shots": 7})
    texts = [wire_json(b) for b in bodies]
    assert len(bodies) == 2
    assert all(len(t) <= MAX_FRAGMENT_BYTES for t in texts)
    assert all(b", " not in t and b'": ' not in t for t in texts)
    assert texts[0].startswith(b'{"circuit_template":"H4sI')
    assert bodies[0]["circuit_template"] == bodies[1]["circuit_template"]
    rows = [r for b in bodies for r in b["parameter_sets"]]
    assert [r["label"] for r in rows] == [circuit_label(i) for i in range(1, 30001)]
    assert [r["values"] for r in rows] == values  # repr round-trips: exact
    first, second = values[69]
    assert wire_json(rows[69]) == f'{{"label":"18","values":[{first!r},{second!r}]}}'.encode()
    next_row = wire_json(bodies[1]["parameter_sets"][0])
    assert len(texts[0]) + len(next_row) + 1 > MAX_FRAGMENT_BYTES


def test_job_bodies_bound_first_then_templates_only_the_last_finalizes() -> None:
    bell = QuantumCircuit(2, 2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    sweep = [ansatz().assign_parameters([0.01 * k + 0.5, -0.3 - 0.02 * k]) for k in range(70)]
    bodies = upload_bodies([bell, *sweep, bell], {"mode": "append", "shots": 7}, True, 1000)
    assert [sorted(b["circuits"]) for b in bodies[:1]] == [["0", "19"]]  # 71 in base 62
    assert all("circuit_template" in b for b in bodies[1:]) and len(bodies) > 3
    assert [b["finalized"] for b in bodies] == ["false"] * (len(bodies) - 1) + ["true"]
    assert all(len(wire_json(b)) <= 1000 for b in bodies)
    labels = [r["label"] for b in bodies[1:] for r in b["parameter_sets"]]
    assert labels == [circuit_label(i) for i in range(1, 71)]


def test_shared_and_proportional_slots_travel_once_and_restore_bit_for_bit() -> None:
    """rz(gamma), rzz(2*gamma), rzz(-2*gamma), rx(2*beta), ry(beta/4): two values per row;
    the server's parser evaluates ``qmc_k*f`` to the bound circuit's float, bit for bit."""
    gamma, beta = Parameter("gamma"), Parameter("beta")
    qc = QuantumCircuit(3, 3)
    qc.h(range(3))
    qc.rz(gamma, 0)
    qc.rzz(2 * gamma, 0, 1)
    qc.rzz(-2 * gamma, 1, 2)
    qc.rzz(2 * gamma, 0, 2)
    qc.rx(2 * beta, range(3))
    qc.ry(beta / 4, 1)
    qc.measure(range(3), range(3))
    rng = np.random.default_rng(7)
    rows = [*rng.uniform(-7, 7, size=(300, 2)), (0.0, 1.0), (1e-3, 3e10),
            (math.pi, -math.pi / 2), (0.1, 0.2)]
    circuits = [qc.assign_parameters(list(map(float, row))) for row in rows]
    sweep = assert_template_restores(circuits)
    assert len(sweep.names) == 2 and "*(-" in sweep.template
    # Qiskit binds 2*beta at beta=1e-20 to 1e-20 (not 2e-20): the check is bit for bit, so
    # such a column travels on its own, and every angle is still exact. A zero's sign does
    # not count (Qiskit binds -2*gamma at gamma=+-0.0 to 0.0 or -0.0).
    sweep = assert_template_restores([*circuits, qc.assign_parameters([1e-20, 1.0])])
    assert len(sweep.names) == 3
    for zero in (0.0, -0.0):
        sweep = assert_template_restores([*circuits, qc.assign_parameters([1.0, zero])])
        assert len(sweep.names) == 2


def test_scaled_name_parses_back_to_the_factor() -> None:
    assert scaled_name("a", 1.0) == "a"
    assert scaled_name("a", 2.0) == "a*2.0"
    assert scaled_name("a", -0.5) == "a*(-0.5)"
    assert scaled_name("a", 1e-5) == "a*1.0e-05"
    assert scaled_name("a", -3e22) == "a*(-3.0e+22)"


def test_weighted_angles_that_are_not_exact_multiples_travel_separately() -> None:
    """rzz(2*w*gamma) for different weights w: not bit-exact multiples of each other, so
    each keeps its own value (still restored bit for bit); with a bare rz(gamma) they
    follow from it exactly."""
    gamma = Parameter("gamma")
    weights = [0.7310585786300049, -1.3, 0.3, 2.2]
    qc = QuantumCircuit(4, 4)
    for k, w in enumerate(weights):
        qc.rzz(2 * w * gamma, k, (k + 1) % 4)
    qc.measure(range(4), range(4))
    values = np.random.default_rng(3).uniform(-3, 3, size=200)
    circuits = [qc.assign_parameters([float(v)]) for v in values]
    separate = assert_template_restores(circuits)
    with_bare = qc.copy()
    with_bare.rz(gamma, 0)
    follows = assert_template_restores([with_bare.assign_parameters([float(v)]) for v in values])
    assert len(follows.names) == 1
    assert 1 < len(separate.names) <= len(weights)
    # Given as a parameter sweep (what the Sampler passes), gamma's own values are known:
    # every rzz(2*w*gamma) is gamma times one factor, so one value per point travels.
    sweep = as_run_input([ParameterSweep(qc, values.reshape(-1, 1))])
    from_sweep = assert_template_restores(sweep, circuits)
    assert len(from_sweep.names) == 1 and from_sweep.values == [[float(v)] for v in values]


def test_a_sweep_goes_bound_when_that_is_smaller() -> None:
    """Many angles per point that the bound text writes short (Clifford angles: ``pi/2``)
    cost less bound than as JSON rows: such a sweep goes bound, never more bytes than
    without templates. Random angles cost about the same either way (digits)."""
    thetas = [Parameter(f"t{k:02d}") for k in range(40)]
    qc = QuantumCircuit(4, 4)
    for k, theta in enumerate(thetas):
        qc.ry(theta, k % 4)
        qc.cx(k % 4, (k + 1) % 4)
    qc.measure(range(4), range(4))
    rng = np.random.default_rng(1)
    envelope = {"mode": "append", "shots": 5}
    clifford = [qc.assign_parameters(rng.integers(0, 4, size=40) * math.pi / 2)
                for _ in range(50)]
    on, off = upload_bodies(clifford, envelope, True), upload_bodies(clifford, envelope, False)
    assert on == off and "circuits" in on[0]
    (sweep,), _ = find_sweeps(clifford)
    template_bytes = sum(len(wire_json(b)) for b in template_fragments(sweep, envelope))
    assert template_bytes > len(wire_json(off[0]))
    random = [qc.assign_parameters(rng.uniform(0, 6, size=40)) for _ in range(50)]
    on, off = upload_bodies(random, envelope, True), upload_bodies(random, envelope, False)
    size_on, size_off = (sum(len(wire_json(b)) for b in x) for x in (on, off))
    assert 0.8 * size_off < size_on <= size_off


# -- end to end against the Qoro emulator ----------------------------------------------------


@pytest.fixture
def backend(emulator_factory: Any) -> Any:
    emu = emulator_factory("qoro", seed=3)
    provider = MultiCloudProvider(credentials={"qoro": emu.settings()}, vendors=["qoro"],
                                  job_store=False)
    return provider.get_backend("qoro_maestro")


def sk_model() -> QuantumCircuit:
    """QAOA p=1 on a 5-qubit SK model with +-1 couplings and a field: rzz(+-2*gamma),
    rz(gamma), rx(2*beta) -- three angle columns, two free parameters."""
    gamma, beta = Parameter("gamma"), Parameter("beta")
    qc = QuantumCircuit(5, name="sk5")
    qc.h(range(5))
    signs = np.random.default_rng(5).choice([-1.0, 1.0], size=10)
    pairs = [(a, b) for a in range(5) for b in range(a + 1, 5)]
    for sign, (a, b) in zip(signs, pairs, strict=True):
        qc.rzz(2 * float(sign) * gamma, a, b)
    qc.rz(gamma, range(5))
    qc.rx(2 * beta, range(5))
    qc.measure_all()
    return qc


def weighted_ring() -> QuantumCircuit:
    """QAOA p=1 on a 5-qubit ring with random weights: rzz(2*w*gamma), rx(2*beta)."""
    gamma, beta = Parameter("gamma"), Parameter("beta")
    qc = QuantumCircuit(5, name="weighted5")
    qc.h(range(5))
    for k, w in enumerate(np.random.default_rng(6).normal(size=5)):
        qc.rzz(2 * float(w) * gamma, k, (k + 1) % 5)
    qc.rx(2 * beta, range(5))
    qc.measure_all()
    return qc


@pytest.mark.emulator
@pytest.mark.parametrize("build", [ansatz, sk_model, weighted_ring])
def test_sampler_sweep_same_counts_with_and_without_templates(backend: Any, build: Any) -> None:
    """Seeded emulator: identical counts with templates on and off, over 70 points (labels
    past "Z"); with templates each point's upload is one compact row of 2 values."""
    circuit = transpile(build(), backend, seed_transpiler=1)
    values = np.random.default_rng(4).uniform(-np.pi, np.pi, size=(70, 2))
    values[:4] = VALUES
    counts = {}
    sent: dict[bool, list[bytes]] = {}
    for templates in (False, True):
        bodies: list[bytes] = []
        session = backend.adapter.transport._session
        def hook(r: Any, *args: Any, sink: list[bytes] = bodies, **kwargs: Any) -> None:
            sink.append(r.request.body or b"")

        session.hooks["response"] = [hook]
        sampler = Sampler(backend, options={"run_options": {"templates": templates, **FAST}})
        result = sampler.run([(circuit, values)], shots=300).result()
        register = result[0].data.c if build is ansatz else result[0].data.meas
        counts[templates] = [register.get_counts(i) for i in range(len(values))]
        sent[templates] = [b for b in bodies if b.startswith(b'{"circuit')]
    assert counts[True] == counts[False]  # the emulator is seeded: identical circuits
    (upload,) = sent[True]
    body = json.loads(upload)
    assert len(body["parameter_names"]) == 2 and len(body["parameter_sets"]) == 70
    assert sum(map(len, sent[True])) < sum(map(len, sent[False]))
    if build is sk_model:  # rzz(-2*gamma) and rz(gamma) follow from rzz(2*gamma)
        assert "*(-" in decompress(body["circuit_template"])


@pytest.mark.emulator
def test_estimator_sweep_is_exact_with_templates(backend: Any) -> None:
    circuit = ansatz().remove_final_measurements(inplace=False)
    observable = SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5)])
    values = np.array(VALUES)
    estimator = Estimator(backend, options={"run_options": dict(FAST)})
    bodies: list[bytes] = []
    hook = lambda r, *a, **k: bodies.append(r.request.body or b"")  # noqa: E731
    backend.adapter.transport._session.hooks["response"] = [hook]
    result = estimator.run([(circuit, observable, values)]).result()
    uploads = [json.loads(b) for b in bodies if b"parameter_sets" in b]
    assert len(uploads) == 1 and "circuit_ham_map" not in uploads[0]
    expected = [
        Statevector(circuit.assign_parameters(v)).expectation_value(observable).real
        for v in values
    ]
    assert np.allclose(result[0].data.evs, expected)


@pytest.mark.emulator
def test_emulator_refuses_malformed_parameter_sets(backend: Any) -> None:
    import requests

    from qiskit_multicloud.vendors.qoro.translate import compress

    settings = backend.adapter.settings
    headers = {"Authorization": f"Bearer {settings.api_key.reveal()}"}
    job = requests.post(f"{settings.url}/job/init/", json={"job_type": "EXECUTE"},
                        headers=headers, timeout=10).json()["job_id"]
    template = compress('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\n'
                        "rx(a) q[0];\nmeasure q[0] -> c[0];")
    for rows, message in [
        ([{"label": "0", "values": ["x"]}], "is not a number"),
        ([{"label": "0", "values": [0.1, 0.2]}], "2 values for 1 names"),
        (["nope"], "needs 'label' and 'values'"),
    ]:
        body = {"circuit_template": template, "parameter_names": ["a"], "parameter_sets": rows,
                "mode": "append", "shots": 5, "finalized": "false"}
        answer = requests.post(f"{settings.url}/job/{job}/add_circuits/", json=body,
                               headers=headers, timeout=10)
        assert answer.status_code == 400 and message in answer.json()["detail"]
