"""What ecosystem tools need from a backend: deep copies, numpy numbers, their run options."""

from __future__ import annotations

import copy
import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.primitives import BackendSamplerV2

from qiskit_multicloud.config import Secret
from qiskit_multicloud.exceptions import CircuitValidationError
from qiskit_multicloud.jobstore import JobStore
from qiskit_multicloud.options import BASE_OPTIONS

from .fakes import FakeAdapter, FakeBackend


def make_backend(tmp_path: Path) -> FakeBackend:
    adapter = FakeAdapter()
    store = JobStore(tmp_path / "jobs.sqlite")
    return FakeBackend(adapter, adapter.devices[0], job_store=store, sleep=lambda s: None)


def one_x() -> QuantumCircuit:
    qc = QuantumCircuit(1, 1)
    qc.x(0)
    qc.measure(0, 0)
    return qc


def test_secret_copies_are_the_same_object_and_pickling_still_refuses() -> None:
    secret = Secret("tok-123")
    assert copy.copy(secret) is secret
    assert copy.deepcopy({"token": secret})["token"] is secret
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(secret)


def test_deepcopy_shares_the_connection_with_own_options_and_locks(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    backend.set_options(shots=123)
    clone = copy.deepcopy(backend)
    assert clone is not backend and type(clone) is type(backend)
    assert clone.adapter is backend.adapter and clone.job_store is backend.job_store
    assert clone.options is not backend.options and clone.options.shots == 123
    assert clone._device_lock is not backend._device_lock
    clone.set_options(shots=7)
    assert backend.options.shots == 123
    assert clone.run(transpile(one_x(), clone)).result().get_counts() == {"1": 7}
    # a copy inside a container (qiskit-ibm-runtime deep-copies its options dict)
    assert copy.deepcopy({"backend": backend})["backend"].adapter is backend.adapter
    shallow = copy.copy(backend)
    assert shallow.adapter is backend.adapter and shallow.options is not backend.options


def test_pickling_a_backend_refuses_without_showing_the_secret(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    with pytest.raises(TypeError, match="get_backend") as info:
        pickle.dumps(backend)
    assert "tok" not in str(info.value).lower()


@pytest.mark.parametrize("shots", [np.int64(40), np.int32(40), np.uint16(40)])
def test_numpy_integers_are_accepted_and_stored_as_int(tmp_path: Path, shots: object) -> None:
    backend = make_backend(tmp_path)
    job = backend.run(transpile(one_x(), backend), shots=shots, timeout=np.float32(9.5))
    assert job.result().get_counts() == {"1": 40}
    assert type(job.run_options["shots"]) is int and type(job.run_options["timeout"]) is float
    json.dumps(backend.adapter.submitted[-1]["shots"])  # type: ignore[attr-defined]
    pub = BackendSamplerV2(backend=backend).run([transpile(one_x(), backend)], shots=shots)
    assert pub.result()[0].data.c.get_counts() == {"1": 40}


def test_bools_are_not_numbers(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    for bad in (True, np.bool_(True), 40.0):
        with pytest.raises(CircuitValidationError, match="shots"):
            backend.run(one_x(), shots=bad)


def test_options_ecosystem_tools_pass_do_not_warn(tmp_path: Path) -> None:
    backend = make_backend(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        job = backend.run(
            transpile(one_x(), backend),
            shots=10,
            memory=True,
            meas_level=2,
            meas_return="avg",
            init_qubits=True,
            rep_delay=None,
            seed_simulator=None,
            parameter_binds=None,
            noise_model=None,
        )
        assert job.result().get_counts() == {"1": 10}


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"meas_level": 1}, "no IQ data"),
        ({"meas_level": 0}, "no IQ data"),
        ({"meas_return": "sum"}, "meas_return"),
        ({"init_qubits": False}, "cannot be turned off"),
        ({"rep_delay": 250e-6}, "chosen by this vendor"),
        ({"parameter_binds": [{}]}, "assign_parameters"),
        ({"noise_model": object()}, "own noise"),
    ],
)
def test_options_asking_the_impossible_fail_before_any_request(
    tmp_path: Path, option: dict[str, object], message: str
) -> None:
    backend = make_backend(tmp_path)
    with pytest.raises(CircuitValidationError, match=message):
        backend.run(one_x(), **option)
    assert backend.adapter.submitted == []  # type: ignore[attr-defined]


def test_every_base_option_is_documented() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "run_options.rst").read_text(encoding="utf-8")
    missing = [spec.name for spec in BASE_OPTIONS if f"``{spec.name}``" not in docs]
    assert not missing, f"add a row for {missing} to the table in docs/run_options.rst"


def test_scheduling_names_the_duration_the_vendor_does_not_publish() -> None:
    import dataclasses

    from qiskit.transpiler import InstructionProperties

    from qiskit_multicloud.exceptions import DeviceDataMissingError
    from qiskit_multicloud.target import build_target
    from qiskit_multicloud.types import InstructionProps

    from .fakes import fake_device

    device = fake_device()
    unpublished = {(q,): InstructionProps(error=2e-2) for q in range(device.n_qubits)}
    device = dataclasses.replace(device, gates={**device.gates, "measure": unpublished})
    target = build_target(device)
    qc = QuantumCircuit(2, 2)
    qc.sx(0)
    qc.cz(0, 1)
    qc.measure([0, 1], [0, 1])
    with pytest.raises(DeviceDataMissingError, match=r"fake does not publish.*'measure'"):
        transpile(qc, target=target, scheduling_method="alap")
    # copies keep the explanation; durations the user trusts make scheduling work
    mine = copy.deepcopy(target)
    with pytest.raises(DeviceDataMissingError):
        transpile(qc, target=pickle.loads(pickle.dumps(mine)), scheduling_method="asap")
    for q in range(mine.num_qubits):
        mine.update_instruction_properties(
            "measure", (q,), InstructionProperties(duration=1e-6, error=2e-2)
        )
    scheduled = transpile(qc, target=mine, scheduling_method="alap", optimization_level=0)
    assert scheduled.estimate_duration(mine, unit="s") == pytest.approx(3e-8 + 2e-7 + 1e-6)
    # complete data schedules directly
    full = build_target(fake_device())
    assert transpile(qc, target=full, scheduling_method="alap").estimate_duration(full) > 0
