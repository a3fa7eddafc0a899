"""IQM feed-forward: Qiskit ``if_test`` -> ``cc_prx`` (exact payloads, refusals, end to end)."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
import requests_mock as rm
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import IfElseOp
from qiskit.circuit.classical import expr

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.exceptions import CircuitValidationError
from qiskit_multicloud.types import DeviceSpec
from qiskit_multicloud.vendors.iqm.adapter import IQMAdapter, IQMBackend
from test.conftest import FAST
from test.vendors.iqm.test_adapter import CALSET, DQA, JOB, METRICS, QCS, URL, record

PI = math.pi
LOCI = [["QB1"], ["QB2"], ["QB3"]]
DQA_FF = copy.deepcopy(DQA)
DQA_FF["gates"]["cc_prx"] = {
    "implementations": {"prx_composite": {"loci": LOCI}},
    "default_implementation": "prx_composite",
    "override_default_implementation": {},
}


def feed_forward_device(adapter: IQMAdapter, dqa: dict[str, Any] = DQA_FF) -> DeviceSpec:
    with rm.Mocker() as m:
        m.get(f"{URL}/api/v1/quantum-computers", json=QCS)
        m.get(
            f"{URL}/api/v1/calibration-sets/garnet/default/dynamic-quantum-architecture",
            json=dqa,
        )
        m.get(f"{URL}/api/v1/calibration-sets/garnet/default", json=CALSET)
        m.get(f"{URL}/api/v1/calibration-sets/garnet/default/metrics", json=METRICS)
        (device,) = adapter.list_devices()
    return device


def inst(name: str, locus: list[str], **args: Any) -> dict[str, Any]:
    return {"name": name, "locus": locus, "args": args, "implementation": None}


def reset_by_measurement() -> QuantumCircuit:
    """Measure q0; if it read 1, flip it back (an active reset) and flip q1 too."""
    qc = QuantumCircuit(2, 2, name="ff")
    qc.r(PI / 2, PI / 2, 0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(0)
        qc.r(PI, PI / 2, 1)
    qc.measure([0, 1], [0, 1])
    return qc


@pytest.fixture
def adapter() -> IQMAdapter:
    from qiskit_multicloud.config import Secret
    from qiskit_multicloud.vendors.iqm.settings import IQMSettings

    return IQMAdapter.from_settings(IQMSettings(url=URL, token=Secret("t")))


def test_target_has_if_else_only_where_cc_prx_is_calibrated(adapter: IQMAdapter) -> None:
    with_ff = IQMBackend(adapter, feed_forward_device(adapter)).target
    assert "if_else" in with_ff.operation_names and "reset" in with_ff.operation_names
    assert with_ff.operation_from_name("if_else") is IfElseOp
    without = IQMBackend(adapter, feed_forward_device(adapter, DQA)).target
    assert "if_else" not in without.operation_names


def test_exact_cc_prx_payload(adapter: IQMAdapter) -> None:
    device = feed_forward_device(adapter)
    payload = adapter.build_payload(device, [reset_by_measurement()], {"shots": 10})
    feedback = {"feedback_qubit": "QB1", "feedback_key": "c_2_0_0"}
    assert payload["circuits"][0]["instructions"] == [
        inst("prx", ["QB1"], angle=PI / 2, phase=PI / 2),
        inst("measure", ["QB1"], key="c_2_0_0", feedback_key="c_2_0_0"),
        inst("cc_prx", ["QB1"], angle=PI, phase=0.0, **feedback),
        inst("cc_prx", ["QB2"], angle=PI, phase=PI / 2, **feedback),
        inst("measure", ["QB1"], key="r1__c_2_0_0"),
        inst("measure", ["QB2"], key="c_2_0_1"),
    ]
    with rm.Mocker() as m:
        m.post(f"{URL}/api/v1/jobs/garnet/circuit", json=record("waiting"))
        assert adapter.submit(device, payload, {"shots": 10}) == JOB
        assert m.request_history[0].json() == payload


def test_one_bit_register_and_rotations(adapter: IQMAdapter) -> None:
    flag = ClassicalRegister(1, "flag")
    qc = QuantumCircuit(QuantumRegister(2, "q"), flag)
    qc.measure(1, flag[0])
    with qc.if_test((flag, 1)):
        qc.rx(0.5, 0)
        qc.ry(0.25, 0)
        qc.y(0)
    qc.measure(0, flag[0])
    payload = IQMAdapter.build_payload(adapter, feed_forward_device(adapter), [qc], {"shots": 1})
    conditional = [i for i in payload["circuits"][0]["instructions"] if i["name"] == "cc_prx"]
    assert [(i["args"]["angle"], i["args"]["phase"]) for i in conditional] == [
        (0.5, 0.0), (0.25, PI / 2), (PI, PI / 2)
    ]
    assert {i["args"]["feedback_qubit"] for i in conditional} == {"QB2"}


def _refusal(case: str) -> QuantumCircuit:
    qc = QuantumCircuit(2, 2, name=case)
    qc.measure(0, 0)
    if case == "register":
        with qc.if_test((qc.cregs[0], 3)):
            qc.x(1)
    elif case == "value0":
        with qc.if_test((qc.clbits[0], 0)):
            qc.x(1)
    elif case == "else":
        with qc.if_test((qc.clbits[0], 1)) as orelse:
            qc.x(1)
        with orelse:
            qc.x(0)
    elif case == "expr":
        with qc.if_test(expr.logic_and(qc.clbits[0], qc.clbits[1])):
            qc.x(1)
    elif case == "cz_in_body":
        with qc.if_test((qc.clbits[0], 1)):
            qc.cz(0, 1)
    elif case == "unmeasured":
        with qc.if_test((qc.clbits[1], 1)):
            qc.x(1)
    elif case == "while":
        with qc.while_loop((qc.clbits[0], 1)):
            qc.x(0)
            qc.measure(0, 0)
    elif case == "switch":
        with qc.switch(qc.clbits[0]) as switch, switch(1):
            qc.x(1)
    elif case == "for":
        with qc.for_loop(range(2)):
            qc.x(1)
    qc.measure(1, 1)
    return qc


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("register", "2-bit register 'c'"),
        ("value0", "conditioned on the value 0"),
        ("else", "has an else branch"),
        ("expr", "classical expression"),
        ("cz_in_body", "contains 'cz'"),
        ("unmeasured", "nothing has measured into yet"),
        ("while", "uses 'while_loop', which IQM cannot run"),
        ("switch", "uses 'switch_case', which IQM cannot run"),
        ("for", "uses 'for_loop', which IQM cannot run"),
    ],
)
def test_what_iqm_cannot_run_is_refused(adapter: IQMAdapter, case: str, message: str) -> None:
    device = feed_forward_device(adapter)
    with pytest.raises(CircuitValidationError, match=message) as info:
        adapter.build_payload(device, [_refusal(case)], {"shots": 1})
    assert "if_test((clbit, 1))" in str(info.value)


def test_payload_passes_iqm_clients_own_validation(adapter: IQMAdapter) -> None:
    """Our cc_prx payload, loaded into iqm-client's models and validated by its own code."""
    pulse = pytest.importorskip("iqm.pulse")
    models = pytest.importorskip("iqm.iqm_client.models")
    validation = pytest.importorskip("iqm.iqm_client.validation")
    from iqm.station_control.interface.models import DynamicQuantumArchitecture

    device = feed_forward_device(adapter)
    payload = adapter.build_payload(device, [reset_by_measurement()], {"shots": 10})
    architecture = DynamicQuantumArchitecture.model_validate(DQA_FF)
    circuits = [
        pulse.Circuit(
            name=c["name"],
            metadata=c["metadata"],
            instructions=tuple(
                pulse.CircuitOperation(
                    name=i["name"], locus=tuple(i["locus"]), args=i["args"],
                    implementation=i["implementation"],
                )
                for i in c["instructions"]
            ),
        )
        for c in payload["circuits"]
    ]
    for circuit in circuits:
        models.validate_circuit(circuit)
    validation.validate_circuit_instructions(architecture, circuits)
    with pytest.raises(Exception, match=r"feedback|cc_prx|locus"):  # its checks do bite
        bad = copy.deepcopy(circuits[0].instructions[2].args)
        bad.pop("feedback_key")
        broken = pulse.CircuitOperation(name="cc_prx", locus=("QB1",), args=bad)
        models.validate_circuit(pulse.Circuit(name="bad", instructions=(broken,)))


# -- end to end against the IQM emulator ---------------------------------------------------


@pytest.fixture(scope="module")
def provider() -> Any:
    from qiskit_multicloud.emulators import start

    handle = start("iqm", seed=7, noise=False)
    yield MultiCloudProvider(credentials={"iqm": handle.settings()}, vendors=["iqm"],
                             job_store=False)
    handle.stop()


@pytest.mark.emulator
def test_reset_by_measurement_end_to_end(provider: Any) -> None:
    backend = provider.get_backend("crystal-150")
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(0)  # reset q0 to |0> by measurement and feed-forward
        qc.x(1)  # and copy the outcome onto q1
    qc.measure([0, 1], [0, 1])
    compiled = transpile(qc, backend, seed_transpiler=1)
    assert "if_else" in compiled.count_ops()
    counts = backend.run(compiled, shots=400, **FAST).result().get_counts()
    assert set(counts) == {"00", "10"} and min(counts.values()) > 120


@pytest.mark.emulator
def test_device_without_cc_prx_refuses_clearly(provider: Any) -> None:
    backend = provider.get_backend("sirius-6")
    qc = reset_by_measurement()
    with pytest.raises(CircuitValidationError, match="control flow"):
        backend.run(qc, shots=10, **FAST)


@pytest.mark.emulator
@pytest.mark.parametrize("vendor", ["oqc", "oqtopus", "qoro", "qilimanjaro"])
def test_other_vendors_refuse_dynamic_circuits_clearly(emulator_factory: Any, vendor: str) -> None:
    handle = emulator_factory(vendor)
    provider = MultiCloudProvider(credentials={vendor: handle.settings()}, vendors=[vendor],
                                  job_store=False)
    backend = provider.backends()[0]
    qc = QuantumCircuit(2, 2)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    qc.measure(1, 1)
    with pytest.raises(CircuitValidationError, match=r"control flow \('if_else'\).*only IQM"):
        backend.run(qc, shots=10, **FAST)
    assert "if_else" not in backend.target.operation_names
