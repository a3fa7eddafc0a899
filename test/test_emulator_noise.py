"""Emulated QPUs simulate the noise their own published calibration describes.

The accuracy against independent tools (qiskit-experiments) is measured in
``benchmarks/noise_fidelity.py``; these tests check the model is built from the published
numbers, is reproducible by seed, can be turned off, and that ``AerSimulator.from_backend``
on a client backend agrees with the emulator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.quantum_info import average_gate_fidelity, hellinger_fidelity

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.cli import build_parser
from qiskit_multicloud.emulators import start
from qiskit_multicloud.emulators.app import EmulatorApp, EmulatorConfig
from qiskit_multicloud.emulators.noise import restrict
from qiskit_multicloud.target import build_target
from qiskit_multicloud.vendors import plugin
from test.conftest import FAST

pytestmark = pytest.mark.emulator

#: One QPU per vendor: (device id the emulator's jobs carry, backend name).
QPUS = {
    "oqc": ("qpu:uk:3:9829a5504f", "qpu:uk:3:9829a5504f"),
    "oqtopus": ("anemone", "anemone"),
    "iqm": ("sirius-6", "sirius-6"),
    "qoro": ("qoro_emulated_qpu", "qoro_emulated_qpu"),
    "qilimanjaro": ("9", "radagast"),
}
SIMULATORS = {
    "oqc": "qpu:uk:2:d865b5a184",
    "oqtopus": "qulacs",
    "qoro": "qoro_maestro",
    "qilimanjaro": "1",
}


def published_readout(vendor: str, app: Any) -> Callable[[int], float]:
    """Qubit k's readout error as written in the emulator's own payload."""
    if vendor == "oqc":
        measure = app.qpus[QPUS["oqc"][0]]["feature_set"]["gate_errors"]["measure"]
        return lambda k: float(measure[str(k)])
    if vendor == "oqtopus":
        qubits = app.devices["anemone"].info["qubits"]
        return lambda k: float(qubits[k]["meas_error"]["readout_assignment_error"])
    if vendor == "iqm":
        observations = app.qcs["sirius-6"].metrics()["observations"]
        fidelity = {o["dut_field"]: o["value"] for o in observations}
        return lambda k: 1 - fidelity[f"metrics.ssro.measure.constant.QB{k + 1}.fidelity"]
    if vendor == "qoro":
        qubits = app.systems[0]["qpus"][0]["calibration"]["qubits"]
        return lambda k: float(qubits[k]["readout_error"])
    qubits = app.devices[9]["dynamic_features"]["qubits"]
    return lambda k: float(qubits[k]["readout_error"])


def emulator_app(vendor: str, **config: Any) -> EmulatorApp:
    app: EmulatorApp = plugin(vendor).emulator(EmulatorConfig(**config))
    app.base_url = "http://127.0.0.1:1"
    return app


def readout_errors(model: Any) -> dict[tuple[int, ...], float]:
    """Qubits -> P(read 1 | prepared 0) of every readout error in an Aer noise model."""
    out = {}
    for error in model.to_dict()["errors"]:
        if error["type"] == "roerror":
            out[tuple(error["gate_qubits"][0])] = float(error["probabilities"][0][1])
    return out


@pytest.mark.parametrize("vendor", list(QPUS))
def test_readout_error_of_each_qubit_is_the_published_one(vendor: str) -> None:
    app = emulator_app(vendor)
    noise = app.noise(QPUS[vendor][0])
    assert noise is not None
    published = published_readout(vendor, app)
    # Qubits 1 and 3 only: the model is renumbered to the qubits in use (1 -> 0, 3 -> 1).
    errors = readout_errors(noise.model([1, 3]))
    assert errors == pytest.approx({(0,): published(1), (1,): published(3)}, abs=1e-12)


def relaxation_infidelity(target: Any, qargs: tuple[int, ...], duration: float) -> float:
    """Average gate infidelity of T1/T2 relaxation alone over ``duration`` on ``qargs``."""
    from qiskit_aer.noise import thermal_relaxation_error

    error = None
    for q in qargs:
        props = target.qubit_properties[q]
        t2 = min(props.t2, 2 * props.t1)
        single = thermal_relaxation_error(props.t1, t2, duration)
        error = single if error is None else error.expand(single)
    return 1 - average_gate_fidelity(error) if error is not None else 0.0


@pytest.mark.parametrize("vendor", list(QPUS))
def test_every_published_gate_error_has_a_channel_of_that_total_error(vendor: str) -> None:
    """Depolarizing + relaxation add up to the published error (Aer's rule: relaxation alone
    where it already exceeds the published error, i.e. T1/T2 too short for the gate time)."""
    app = emulator_app(vendor)
    noise = app.noise(QPUS[vendor][0])
    assert noise is not None
    qubits = [0, 1, 2]
    target = build_target(restrict(noise.spec, qubits))
    model = noise.model(qubits)
    checked = 0
    for name, by_qargs in target.items():
        if name == "measure" or not by_qargs:
            continue
        for qargs, props in by_qargs.items():
            if props is None or not props.error:
                continue
            error = model._local_quantum_errors[name][qargs]  # Aer's own table
            infidelity = 1 - average_gate_fidelity(error)
            relaxation = relaxation_infidelity(target, qargs, props.duration or 0.0)
            expected = max(props.error, relaxation)
            assert infidelity == pytest.approx(expected, rel=1e-6), (name, qargs)
            checked += 1
    assert checked >= 4


def test_simulators_stay_ideal_and_noise_can_be_turned_off() -> None:
    for vendor, device in SIMULATORS.items():
        assert emulator_app(vendor).noise(device) is None
    for vendor, (device, _) in QPUS.items():
        assert emulator_app(vendor, noise=False).noise(device) is None


def ghz() -> QuantumCircuit:
    circuit = QuantumCircuit(3, name="ghz")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure_all()
    return circuit


@pytest.fixture(scope="module")
def noisy() -> Iterator[MultiCloudProvider]:
    with MultiCloudProvider.emulated(job_store=False, seed=11) as provider:
        yield provider


@pytest.mark.parametrize("vendor", list(QPUS))
def test_aer_from_backend_agrees_with_the_emulator(vendor: str, noisy: Any) -> None:
    from qiskit_aer import AerSimulator

    backend = noisy.get_backend(QPUS[vendor][1], vendor=vendor)
    circuit = transpile(ghz(), backend, seed_transpiler=3, optimization_level=1)
    emulated = backend.run(circuit, shots=4000, **FAST).result().get_counts()
    local = AerSimulator.from_backend(backend).run(circuit, shots=4000, seed_simulator=4)
    simulated = local.result().get_counts()
    assert sum(v for k, v in emulated.items() if k not in ("000", "111")) > 40  # noisy
    assert hellinger_fidelity(emulated, simulated) > 0.99


def test_same_seed_same_noisy_counts_and_noise_off_is_exact() -> None:
    def counts(**config: Any) -> dict[str, int]:
        with MultiCloudProvider.emulated(["qoro"], job_store=False, **config) as provider:
            backend = provider.get_backend("qoro_emulated_qpu")
            circuit = transpile(ghz(), backend, seed_transpiler=1)
            return dict(backend.run(circuit, shots=500, **FAST).result().get_counts())

    first, again = counts(seed=5), counts(seed=5)
    assert first == again and set(first) > {"000", "111"}
    assert set(counts(seed=5, noise=False)) == {"000", "111"}


def test_iqm_delay_relaxes_with_the_published_t1() -> None:
    with start("iqm", seed=2, options={"devices": ["emerald-20"]}) as emu:
        qc = emu.app.qcs["emerald-20"]
        t1 = next(
            o["value"]
            for o in qc.metrics()["observations"]
            if o["dut_field"] == "characterization.model.QB1.t1_time"
        )
        provider = MultiCloudProvider({"iqm": emu.settings()}, vendors=["iqm"], job_store=False)
        backend = provider.get_backend("emerald-20")
        assert "delay" in backend.target.operation_names
        circuit = QuantumCircuit(1, 1)
        circuit.x(0)
        circuit.delay(t1, 0, unit="s")
        circuit.measure(0, 0)
        physical = transpile(circuit, backend, initial_layout=[0], optimization_level=0)
        counts = backend.run(physical, shots=3000, **FAST).result().get_counts()
    excited = counts.get("1", 0) / 3000
    # exp(-1) = 0.37 survives one T1, give or take readout error and sampling.
    assert abs(excited - math.exp(-1)) < 0.06


def test_oqtopus_qpus_offer_delay() -> None:
    with start("oqtopus", noise=False) as emu:
        provider = MultiCloudProvider(
            {"oqtopus": emu.settings()}, vendors=["oqtopus"], job_store=False
        )
        assert "delay" in provider.get_backend("anemone").target.operation_names


def test_cli_noise_switch() -> None:
    parser = build_parser()
    assert parser.parse_args(["emulate", "oqc", "--noise", "off"]).noise is False
    assert parser.parse_args(["emulate", "oqc"]).noise is True
    assert parser.parse_args(["demo", "--noise", "ON"]).noise is True
