"""qiskit-experiments on every vendor's emulated QPU, with no sampler argument.

qiskit-experiments then wraps the backend in qiskit-ibm-runtime's local-mode SamplerV2, which
deep-copies it. Sizes are small: these check that the experiments run and analyse, not how
accurate they are (that is measured in ``benchmarks/``).
"""

from __future__ import annotations

import warnings

import pytest

from qiskit_multicloud import MultiCloudBackend
from qiskit_multicloud.exceptions import MultiCloudWarning

from .conftest import VENDORS

experiments = pytest.importorskip("qiskit_experiments.library")
framework = pytest.importorskip("qiskit_experiments.framework")

pytestmark = [
    pytest.mark.emulator,
    # qiskit-experiments' own deprecation noise (its use of the legacy runtime SamplerV2)
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def finished(data: object) -> list[object]:
    """Block for the experiment and return its analysis results, asserting success."""
    data.block_for_results(timeout=120)  # type: ignore[attr-defined]
    assert data.status() is framework.ExperimentStatus.DONE, data.errors()  # type: ignore[attr-defined]
    results: list[object] = data.analysis_results(dataframe=False)  # type: ignore[attr-defined]
    return results


def run_quietly(experiment: object, backend: MultiCloudBackend) -> list[object]:
    """Run with no sampler; our backend must not warn about the options passed to it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", MultiCloudWarning)
        data = experiment.run(backend)  # type: ignore[attr-defined]
        return finished(data)


@pytest.mark.parametrize("vendor", VENDORS)
def test_local_readout_error(qpus: dict[str, MultiCloudBackend], vendor: str) -> None:
    experiment = experiments.LocalReadoutError([0, 1])
    experiment.set_run_options(shots=400)
    (result,) = run_quietly(experiment, qpus[vendor])
    matrix = result.value.assignment_matrix(0)  # type: ignore[attr-defined]
    assert matrix.shape == (2, 2) and matrix[0, 0] > 0.8 and matrix[1, 1] > 0.8


@pytest.mark.parametrize("vendor", VENDORS)
def test_standard_rb(qpus: dict[str, MultiCloudBackend], vendor: str) -> None:
    backend = qpus[vendor]
    experiment = experiments.StandardRB([0], lengths=[1, 8, 24], num_samples=2, seed=7)
    experiment.set_run_options(shots=200)
    if "r" in backend.target:
        # qiskit-experiments' table of gate-error ratios has no entry for IQM's PRX gate 'r'
        # (one physical pulse, like 'sx'); without this its EPG step fails with a TypeError.
        experiment.analysis.set_options(gate_error_ratio={"r": 1.0})
    results = {r.name: r.value for r in run_quietly(experiment, backend)}  # type: ignore[attr-defined]
    assert 0 <= results["EPC"].nominal_value < 0.2


@pytest.mark.parametrize("vendor", VENDORS)
def test_t1_where_delay_exists(
    qpus: dict[str, MultiCloudBackend], noisy: dict[str, bool], vendor: str
) -> None:
    backend = qpus[vendor]
    if "delay" not in backend.target:
        pytest.skip(f"{vendor}: {backend.name} lists no delay instruction, so T1 cannot run")
    published = backend.target.qubit_properties[0].t1
    experiment = experiments.T1([0], delays=[d * published for d in (0, 0.3, 0.7, 1.2, 2, 3)])
    experiment.set_run_options(shots=400)
    results = {r.name: r.value for r in run_quietly(experiment, backend)}  # type: ignore[attr-defined]
    if noisy[vendor]:  # the emulator relaxes qubits with the published T1
        assert 0.5 < results["T1"].nominal_value / published < 2
    else:
        assert "T1" in results
