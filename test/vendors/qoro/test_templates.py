"""Qoro parametric templates: sweeps uploaded as one template plus parameter values."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
import requests_mock
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp, Statevector

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.config import Secret
from qiskit_multicloud.primitives import Estimator, Sampler
from qiskit_multicloud.vendors.qoro.adapter import (
    QoroAdapter,
    template_fragments,
    upload_bodies,
)
from qiskit_multicloud.vendors.qoro.settings import QoroSettings
from qiskit_multicloud.vendors.qoro.translate import (
    PARAMETER_PREFIX,
    circuit_to_qasm,
    decompress,
    find_sweeps,
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
    for name, value in sorted(zip(names, values, strict=True), key=lambda nv: -len(nv[0])):
        template = template.replace(name, str(float(value)))
    return template


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
        m.post(f"{URL}/job/init/", json={"job_id": "j1"}, status_code=201)
        upload = m.post(f"{URL}/job/j1/add_circuits/", json={"status": "ok"})
        assert adapter.submit(device, payload, {"shots": 50}) == "j1"
    assert [r.json() for r in upload.request_history] == payload["fragments"]
    off = adapter.build_payload(device, circuits, {"shots": 50, "templates": False})
    assert [sorted(f) for f in off["fragments"]] == [["circuits", "finalized", "mode", "shots"]]
    assert len(off["fragments"][0]["circuits"]) == 5


def test_large_sweeps_split_rows_and_repeat_the_template() -> None:
    (sweep,), _ = find_sweeps([ansatz().assign_parameters([a, 0.1]) for a in range(1, 60)])
    bodies = template_fragments(sweep, {"mode": "append", "shots": 10}, limit=1200)
    assert len(bodies) > 2
    assert all(len(json.dumps(b)) <= 1200 for b in bodies)
    assert {b["circuit_template"] for b in bodies} == {bodies[0]["circuit_template"]}
    labels = [row["label"] for b in bodies for row in b["parameter_sets"]]
    assert labels == [str(i) for i in range(59)]
    circuits = [ansatz().assign_parameters([a, 0.1]) for a in range(1, 4)]
    finals = [b["finalized"] for b in upload_bodies(circuits, {"mode": "append"}, True)]
    assert finals == ["true"]


# -- end to end against the Qoro emulator ----------------------------------------------------


@pytest.fixture
def backend(emulator_factory: Any) -> Any:
    emu = emulator_factory("qoro", seed=3)
    provider = MultiCloudProvider(credentials={"qoro": emu.settings()}, vendors=["qoro"],
                                  job_store=False)
    return provider.get_backend("qoro_maestro")


@pytest.mark.emulator
def test_sampler_sweep_same_counts_with_and_without_templates(backend: Any) -> None:
    circuit = transpile(ansatz(), backend, seed_transpiler=1)
    values = np.array(VALUES * 3)
    counts = {}
    sent = {}
    for templates in (False, True):
        bodies: list[int] = []
        session = backend.adapter.transport._session
        def hook(r: Any, *args: Any, sink: list[int] = bodies, **kwargs: Any) -> None:
            sink.append(len(r.request.body or b""))

        session.hooks["response"] = [hook]
        sampler = Sampler(backend, options={"run_options": {"templates": templates, **FAST}})
        result = sampler.run([(circuit, values)], shots=300).result()
        counts[templates] = [result[0].data.c.get_counts(i) for i in range(len(values))]
        sent[templates] = sum(bodies)
    assert counts[True] == counts[False]  # the emulator is seeded: identical circuits
    assert sent[True] < sent[False]


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
