"""mthree 3.0 reads the BackendV1 ``configuration()``; the documented two-line workaround.

We add no BackendV1 shim to the package (see the docs page "Ecosystem tools"); this test
keeps the workaround printed there honest, on a vendor whose Target has ``x`` (mthree
submits its calibration circuits untranspiled, which IQM's ``r``/``cz`` Target refuses).
"""

from __future__ import annotations

import copy
import types

import pytest
from qiskit import QuantumCircuit, transpile

from qiskit_multicloud import MultiCloudBackend
from qiskit_multicloud.exceptions import CircuitValidationError

mthree = pytest.importorskip("mthree")

pytestmark = pytest.mark.emulator


def with_configuration(backend: MultiCloudBackend) -> MultiCloudBackend:
    """The documented workaround: give mthree the four facts it reads from configuration()."""
    backend.configuration = lambda: types.SimpleNamespace(  # type: ignore[attr-defined]
        num_qubits=backend.num_qubits, max_shots=backend.device.max_shots, simulator=False,
        max_experiments=backend.max_circuits or 1,
    )  # fmt: skip
    return backend


def test_mthree_needs_configuration(qpus: dict[str, MultiCloudBackend]) -> None:
    backend = copy.deepcopy(qpus["qoro"])
    with pytest.raises(AttributeError, match="configuration"):
        mthree.M3Mitigation(backend)
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure_all()
    isa = transpile(bell, backend, seed_transpiler=3)
    mapping = mthree.utils.final_measurement_mapping(isa)
    mitigation = mthree.M3Mitigation(with_configuration(backend))
    mitigation.cals_from_system(mapping, shots=200)
    counts = backend.run(isa, shots=300).result().get_counts()
    quasi = mitigation.apply_correction(counts, mapping)
    probabilities = quasi.nearest_probability_distribution()
    assert probabilities.get("00", 0) + probabilities.get("11", 0) > 0.9


def test_mthree_calibration_circuits_are_untranspiled(qpus: dict[str, MultiCloudBackend]) -> None:
    backend = with_configuration(copy.deepcopy(qpus["iqm"]))
    with pytest.raises(CircuitValidationError, match="'x'"):
        mthree.M3Mitigation(backend).cals_from_system([0, 1], shots=100)
