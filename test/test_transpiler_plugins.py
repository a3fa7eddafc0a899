"""Each vendor's translation-stage plugin is registered and used by ``transpile``."""

from __future__ import annotations

from typing import Any

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import QFTGate
from qiskit.transpiler import generate_preset_pass_manager
from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins

from qiskit_multicloud.transpiler_plugins import plugin_name
from qiskit_multicloud.vendors import VENDOR_KEYS

from .conftest import FAST

#: Largest device transpiled here (keeps the test quick).
MAX_QUBITS = 40
#: Directives that are not device instructions.
DIRECTIVES = {"barrier"}


def sample_circuit() -> QuantumCircuit:
    """Gates outside every native basis: h, t, ry, swap, ccx, a QFT."""
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.t(1)
    circuit.ry(0.3, 2)
    circuit.swap(0, 2)
    circuit.ccx(0, 1, 2)
    circuit.append(QFTGate(3), [0, 1, 2])
    circuit.measure_all()
    return circuit


def backends_of(provider: Any, vendor: str) -> list[Any]:
    found = [b for b in provider.backends(vendor=vendor) if b.num_qubits <= MAX_QUBITS]
    assert found, f"{vendor}: no backend with at most {MAX_QUBITS} qubits"
    return found


def assert_native(circuit: QuantumCircuit, backend: Any) -> None:
    target = backend.target
    for instruction in circuit.data:
        name = instruction.operation.name
        if name in DIRECTIVES:
            continue
        qargs = tuple(circuit.find_bit(q).index for q in instruction.qubits)
        assert target.instruction_supported(name, qargs), (
            f"{backend.vendor}:{backend.name}: {name} on {qargs} is not in the Target"
        )


def test_every_plugin_is_registered() -> None:
    installed = list_stage_plugins("translation")
    for vendor in VENDOR_KEYS:
        assert plugin_name(vendor) in installed


@pytest.mark.parametrize("vendor", VENDOR_KEYS)
def test_backends_name_their_plugin_and_transpile_to_target(
    emulated_provider: Any, vendor: str
) -> None:
    for backend in backends_of(emulated_provider, vendor):
        assert backend.get_translation_stage_plugin() == f"multicloud_{vendor}"
        transpiled = transpile(sample_circuit(), backend, seed_transpiler=7)
        assert_native(transpiled, backend)


@pytest.mark.parametrize("vendor", VENDOR_KEYS)
def test_preset_pass_manager_level_2(emulated_provider: Any, vendor: str) -> None:
    backend = min(backends_of(emulated_provider, vendor), key=lambda b: b.num_qubits)
    manager = generate_preset_pass_manager(backend=backend, optimization_level=2, seed_transpiler=1)
    assert manager.translation is not None
    transpiled = manager.run(sample_circuit())
    assert_native(transpiled, backend)
    counts = backend.run(transpiled, shots=50, **FAST).result().get_counts()
    assert sum(counts.values()) == 50
