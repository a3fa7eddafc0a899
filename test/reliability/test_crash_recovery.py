"""A client killed (SIGKILL) while its submit request is in flight loses no job (issue #12.1).

The child process runs ``backend.run`` against an emulator started here, whose submit
request is slowed by a forced latency fault; it is killed while the request is in flight.
The server finishes the request (the job exists), the child never learns the id. A new
provider in this process then recovers the record with idempotent requests only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest
import requests_mock as rm

from qiskit_multicloud import MultiCloudProvider, SubmissionUncertainError
from qiskit_multicloud.cli import main as cli_main
from qiskit_multicloud.emulators.faults import FaultConfig
from qiskit_multicloud.exceptions import JobStoreError, MultiCloudError
from qiskit_multicloud.jobstore import SUBMIT_FAILED, SUBMITTED, SUBMITTING, JobStore

from .harness import DEVICES, FAST, SUBMIT_PATHS

CHILD = textwrap.dedent(
    """
    import sys
    from qiskit import QuantumCircuit, transpile
    from qiskit_multicloud import MultiCloudProvider
    from qiskit_multicloud.emulators import settings_for
    vendor, url, token, device = sys.argv[1:5]
    provider = MultiCloudProvider({vendor: settings_for(vendor, url, token)}, vendors=[vendor])
    backend = provider.get_backend(device, vendor=vendor)
    qc = QuantumCircuit(2, 2)
    qc.x(0)
    qc.measure([0, 1], [0, 1])
    circuit = transpile(qc, backend, seed_transpiler=1)
    print("submitting", flush=True)
    backend.run(circuit, shots=12)
    print("returned", flush=True)
    """
)

#: Seconds the forced latency holds the submit request (the child is killed meanwhile).
IN_FLIGHT = 1.0
#: Seconds between the server seeing the request line and the kill: the client sends the
#: body after the headers, and a body cut short is (rightly) never acted on.
BODY_SENT = 0.2


def _wait_for(condition: Any, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _crash_during_submit(emu: Any) -> None:
    """Run the child, kill it with SIGKILL while the submit is in flight, let the server act."""
    emu.faults.configure(FaultConfig(latency_spike=IN_FLIGHT))
    emu.faults.force("latency", method="POST", path=SUBMIT_PATHS[emu.vendor])
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, emu.vendor, emu.url, emu.token, DEVICES[emu.vendor]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    try:
        _wait_for(lambda: emu.faults.fired["latency"] >= 1 or child.poll() is not None,
                  "the submit request to reach the emulator")
        assert child.poll() is None, child.communicate()
        time.sleep(BODY_SENT)
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert "returned" not in out  # run() never came back with the id
    _wait_for(lambda: len(emu.jobs.all()) == 1, "the emulator to create the job")


def _only_record() -> Any:
    records = JobStore().list()
    assert len(records) == 1
    return records[0]


@pytest.mark.parametrize("vendor", ["oqc", "oqtopus"])
def test_killed_during_submit_is_recovered_by_retrieve_job(
    vendor: str, emulator_factory: Any
) -> None:
    emu = emulator_factory(vendor)
    _crash_during_submit(emu)
    record = _only_record()
    assert record.status == SUBMITTING and not record.chunk_refs
    reserved = record.reserved["0"]
    assert reserved  # written before the billable request
    with MultiCloudProvider({vendor: emu.settings()}, vendors=[vendor]) as provider:
        job = provider.retrieve_job(record.record_id)
        assert job.result(timeout=30, **{}).get_counts() == {"01": 12}
    after = JobStore().get(record.record_id)
    assert after is not None and after.status in (SUBMITTED, "DONE")
    assert after.job_id == job.job_id()
    assert len(emu.jobs.all()) == 1  # nothing was resubmitted
    if vendor == "oqc":
        assert job.job_id() == ",".join(reserved["task_ids"])
    else:
        assert job.job_id() == reserved["job_id"]


def test_cli_status_reconciles_a_crashed_submit(
    emulator_factory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = emulator_factory("oqtopus")
    _crash_during_submit(emu)
    record = _only_record()
    spec = f"oqtopus={emu.url},{emu.token}"
    assert cli_main(["status", record.record_id, "--emulator", spec]) == 0
    printed = capsys.readouterr().out
    assert any(word in printed for word in ("QUEUED", "RUNNING", "DONE", "INITIALIZING"))
    after = JobStore().get(record.record_id)
    assert after is not None and after.job_id == record.reserved["0"]["job_id"]
    assert len(emu.jobs.all()) == 1


def test_iqm_crash_says_it_cannot_tell_and_what_to_check(emulator_factory: Any) -> None:
    emu = emulator_factory("iqm")
    _crash_during_submit(emu)
    record = _only_record()
    with (
        MultiCloudProvider({"iqm": emu.settings()}, vendors=["iqm"]) as provider,
        pytest.raises(SubmissionUncertainError) as info,
    ):
        provider.retrieve_job(record.record_id)
    message = str(info.value)
    assert "cannot tell" in message and "Nothing was resubmitted" in message
    assert f"qmc-{record.record_id}-0" in message and "job list" in message
    assert record.created_at[:19] in message and "12 shots" in message
    assert info.value.record_id == record.record_id
    assert len(emu.jobs.all()) == 1  # still only the job the crashed run made
    assert JobStore().get(record.record_id).status == SUBMITTING  # type: ignore[union-attr]


def test_crash_before_the_billable_request_cancels_the_reserved_ids(
    emulator_factory: Any,
) -> None:
    """Reserved but never submitted (process died in between): released, safe to rerun."""
    emu = emulator_factory("oqc")
    with MultiCloudProvider({"oqc": emu.settings()}, vendors=["oqc"]) as provider:
        backend = provider.get_backend(DEVICES["oqc"])
        from qiskit import QuantumCircuit, transpile

        qc = QuantumCircuit(1, 1)
        qc.measure(0, 0)

        class Killed(BaseException):
            pass

        def die(*args: Any, **kwargs: Any) -> Any:
            raise Killed  # the process "dies" right before the billable request

        original = backend.adapter.transport.json

        def json_or_die(method: str, path: str, **kwargs: Any) -> Any:
            if path.endswith("/tasks/submit"):
                die()
            return original(method, path, **kwargs)

        backend.adapter.transport.json = json_or_die  # type: ignore[method-assign]
        with pytest.raises(Killed):
            backend.run(transpile(qc, backend), shots=5, **FAST)
        backend.adapter.transport.json = original  # type: ignore[method-assign]
    record = _only_record()
    ids = record.reserved["0"]["task_ids"]
    with (
        MultiCloudProvider({"oqc": emu.settings()}, vendors=["oqc"]) as provider,
        pytest.raises(MultiCloudError, match="safe to run the circuits again"),
    ):
        provider.retrieve_job(record.record_id)
    assert JobStore().get(record.record_id).status == SUBMIT_FAILED  # type: ignore[union-attr]
    assert emu.jobs.all() == []
    assert all(emu.app.reserved[i].get("cancelled") for i in ids)


def test_reserved_ids_not_stored_means_nothing_is_sent(emulator_factory: Any) -> None:
    emu = emulator_factory("oqtopus")
    with MultiCloudProvider({"oqtopus": emu.settings()}, vendors=["oqtopus"]) as provider:
        backend = provider.get_backend(DEVICES["oqtopus"])
        store = provider.job_store
        assert store is not None

        def refuse(*args: Any) -> None:
            raise JobStoreError(f"job store {store.path} is locked", path=store.path,
                                locked=True)

        store.note_reserved = refuse  # type: ignore[method-assign]
        from qiskit import QuantumCircuit, transpile

        qc = QuantumCircuit(1, 1)
        qc.measure(0, 0)
        with pytest.raises(JobStoreError, match="locked"):
            backend.run(transpile(qc, backend), shots=5, **FAST)
    assert emu.jobs.all() == []
    statuses = [r["status"] for r in emu.app.records.values()]
    assert statuses == ["cancelled"]


OQC_QPU = "https://qpu.example.com/lucy"
TASKS = ["t-1", "t-2"]


@pytest.mark.parametrize(
    ("states", "expect"),
    [(["COMPLETED", "RUNNING"], "job"), (["CREATED", "CREATED"], "none"),
     (["QUEUED", "CREATED"], "job")],
)
def test_oqc_recover_exact_requests(states: list[str], expect: str) -> None:
    from qiskit_multicloud.config import Secret
    from qiskit_multicloud.exceptions import VendorAPIError
    from qiskit_multicloud.types import DeviceSpec
    from qiskit_multicloud.vendors.oqc.adapter import OQCAdapter
    from qiskit_multicloud.vendors.oqc.settings import OQCSettings

    adapter = OQCAdapter.from_settings(
        OQCSettings(url="https://cloud.example.com", token=Secret("tok"))
    )
    adapter.transport.trust_origin(OQC_QPU)
    device = DeviceSpec(
        vendor="oqc", device_id="lucy", n_qubits=1, gates={}, extra={"url": OQC_QPU}
    )
    with rm.Mocker() as mock:
        for task, state in zip(TASKS, states, strict=True):
            mock.get(f"{OQC_QPU}/tasks/{task}/status", json={"status": state})
        cancel = mock.post(f"{OQC_QPU}/tasks/cancel_many", text="OK")
        reserved = {"qpu_url": OQC_QPU, "task_ids": TASKS}
        if expect == "job":
            assert adapter.recover(device, reserved, {}) == "t-1,t-2"
        else:
            with pytest.raises(VendorAPIError, match="never submitted"):
                adapter.recover(device, reserved, {})
        created = [t for t, s in zip(TASKS, states, strict=True) if s == "CREATED"]
        assert cancel.call_count == (1 if created else 0)
        if created:
            assert cancel.last_request.json() == {"tasks": created}
        assert not [r for r in mock.request_history if r.path.endswith("/submit")]


def test_oqtopus_recover_exact_requests() -> None:
    from qiskit_multicloud.config import Secret
    from qiskit_multicloud.exceptions import VendorAPIError
    from qiskit_multicloud.types import DeviceSpec
    from qiskit_multicloud.vendors.oqtopus.adapter import OqtopusAdapter
    from qiskit_multicloud.vendors.oqtopus.settings import OqtopusSettings

    url = "https://api.example.com"
    adapter = OqtopusAdapter.from_settings(OqtopusSettings(url=url, api_token=Secret("tok")))
    device = DeviceSpec(vendor="oqtopus", device_id="qulacs", n_qubits=1, gates={})
    with rm.Mocker() as mock:
        mock.get(f"{url}/jobs/j-1/status", json={"job_id": "j-1", "status": "ready"})
        assert adapter.recover(device, {"job_id": "j-1"}, {}) == "j-1"
        mock.get(f"{url}/jobs/j-2/status", json={"job_id": "j-2", "status": "registered"})
        cancel = mock.post(f"{url}/jobs/j-2/cancel", json={"message": "ok"})
        with pytest.raises(VendorAPIError, match="never submitted"):
            adapter.recover(device, {"job_id": "j-2"}, {})
        assert cancel.called
        with pytest.raises(VendorAPIError, match="before a job id was registered"):
            adapter.recover(device, {}, {})
        methods = [(r.method, r.path) for r in mock.request_history]
        assert methods == [("GET", "/jobs/j-1/status"), ("GET", "/jobs/j-2/status"),
                           ("POST", "/jobs/j-2/cancel")]


def test_partly_submitted_multi_chunk_run_names_the_chunks_that_exist(
    emulator_factory: Any,
) -> None:
    """OQTOPUS runs one job per circuit: the process dies before the second billable submit."""
    from qiskit import QuantumCircuit, transpile

    emu = emulator_factory("oqtopus")

    class Killed(BaseException):
        pass

    with MultiCloudProvider({"oqtopus": emu.settings()}, vendors=["oqtopus"]) as provider:
        backend = provider.get_backend(DEVICES["oqtopus"])
        backend.submit_concurrency = 1  # type: ignore[misc]  # chunks in order
        original = backend.adapter.transport.json
        submits: list[str] = []

        def json_or_die(method: str, path: str, **kwargs: Any) -> Any:
            if path.endswith("/submit"):
                submits.append(path)
                if len(submits) == 2:
                    raise Killed
            return original(method, path, **kwargs)

        backend.adapter.transport.json = json_or_die  # type: ignore[method-assign]
        qc = QuantumCircuit(1, 1)
        qc.measure(0, 0)
        with pytest.raises(Killed):
            backend.run(transpile([qc, qc], backend), shots=5, **FAST)
    record = _only_record()
    first = record.reserved["0"]["job_id"]
    with (
        MultiCloudProvider({"oqtopus": emu.settings()}, vendors=["oqtopus"]) as provider,
        pytest.raises(MultiCloudError, match="1 of 2 chunk") as info,
    ):
        provider.retrieve_job(record.record_id)
    assert first in str(info.value) and "Nothing was resubmitted" in str(info.value)
    after = JobStore().get(record.record_id)
    assert after is not None and after.chunk_refs == (first,)
    assert len(emu.jobs.all()) == 1
    second = record.reserved["1"]["job_id"]
    assert emu.app.records[second]["status"] == "cancelled"


def test_qoro_recover_exact_requests() -> None:
    from qiskit_multicloud.config import Secret
    from qiskit_multicloud.exceptions import VendorAPIError
    from qiskit_multicloud.types import DeviceSpec
    from qiskit_multicloud.vendors.qoro.adapter import QoroAdapter
    from qiskit_multicloud.vendors.qoro.settings import QoroSettings

    settings = QoroSettings(url="https://qoro.example.com/api", api_key=Secret("k"))
    adapter = QoroAdapter.from_settings(settings)
    device = DeviceSpec(vendor="qoro", device_id="sim", n_qubits=1, gates={})
    base = "https://qoro.example.com/api"
    with rm.Mocker() as mock:
        mock.get(f"{base}/job/j1/status/", json={"status": "RUNNING", "job_id": "j1"})
        assert adapter.recover(device, {"job_id": "j1"}, {}) == "j1"
        mock.get(f"{base}/job/j2/status/", json={"status": "PENDING", "job_id": "j2"})
        assert adapter.recover(device, {"job_id": "j2"}, {}) is None  # cannot tell
        with pytest.raises(VendorAPIError, match="before a job was initialised"):
            adapter.recover(device, {}, {})
        assert [(r.method, r.path) for r in mock.request_history] == [
            ("GET", "/api/job/j1/status/"), ("GET", "/api/job/j2/status/")]
