"""A submit whose answer is lost is found again (or reported uncertain), never repeated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from qiskit import transpile

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.backend import submission_uncertain
from qiskit_multicloud.emulators import start
from qiskit_multicloud.exceptions import (
    AuthenticationError,
    MalformedResponseError,
    SubmissionUncertainError,
    VendorAPIError,
    VendorConnectionError,
)
from qiskit_multicloud.jobstore import JobStore

from .harness import DEVICES, FAST, FAST_RETRY, SUBMIT_PATHS, circuit

RECONCILING = ("oqc", "oqtopus", "qoro", "qilimanjaro")


def _backend(emu: Any, store: JobStore) -> Any:
    provider = MultiCloudProvider({emu.vendor: emu.settings()}, vendors=[emu.vendor],
                                  job_store=store)
    backend = provider.get_backend(DEVICES[emu.vendor], vendor=emu.vendor)
    backend.adapter.transport.retry = FAST_RETRY
    return backend


@pytest.mark.parametrize("vendor", RECONCILING)
@pytest.mark.parametrize("kind", ["drop_after", "malformed"])
def test_lost_final_submit_answer_is_reconciled(vendor: str, kind: str, tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite")
    with start(vendor, noise=False) as emu:
        backend = _backend(emu, store)
        compiled = transpile(circuit(), backend, seed_transpiler=1)
        emu.faults.force(kind, method="POST", path=SUBMIT_PATHS[vendor])
        job = backend.run(compiled, shots=32, **FAST)
        assert job.result(timeout=10).get_counts() == {"01": 32}
        assert emu.jobs.created_count == 1  # found, not submitted twice
        assert emu.faults.fired[kind] == 1
        record = store.get(job.job_id())
        assert record is not None and record.status in ("SUBMITTED", "DONE")
        assert {j.job_id for j in emu.jobs.all()} == set(job.job_id().split(","))


@pytest.mark.parametrize("vendor", ["oqc", "oqtopus"])
def test_unprocessed_submit_of_a_reserved_id_is_completed_once(
    vendor: str, tmp_path: Path
) -> None:
    """A 500 that did not create the job: the reserved/registered id is submitted once more."""
    with start(vendor, noise=False) as emu:
        backend = _backend(emu, JobStore(tmp_path / "jobs.sqlite"))
        compiled = transpile(circuit(), backend, seed_transpiler=1)
        emu.faults.force("error", method="POST", path=SUBMIT_PATHS[vendor])
        emu.faults.configure(emu.faults.config.__class__(error_statuses=(500,)))
        job = backend.run(compiled, shots=8, **FAST)
        assert job.result(timeout=10).get_counts() == {"01": 8}
        assert emu.jobs.created_count == 1


def test_iqm_lost_submit_is_reported_uncertain_with_its_record(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite")
    with start("iqm", noise=False) as emu:
        backend = _backend(emu, store)
        compiled = transpile(circuit(), backend, seed_transpiler=1)
        emu.faults.force("drop_after", method="POST", path=SUBMIT_PATHS["iqm"])
        with pytest.raises(SubmissionUncertainError, match="NOT retried") as info:
            backend.run(compiled, shots=8, **FAST)
        assert emu.jobs.created_count == 1
        record = store.get(str(info.value.record_id))
        assert record is not None and record.status == "SUBMISSION_UNCERTAIN"
        assert store.list(status="submission_uncertain")[0].record_id == record.record_id
        assert f"retrieve_job({record.record_id!r})" in str(info.value)
        provider = backend.provider
        with pytest.raises(SubmissionUncertainError, match="cannot tell"):
            provider.retrieve_job(record.record_id)
        assert emu.jobs.created_count == 1


def test_uncertain_submit_is_recovered_later_by_retrieve_job(tmp_path: Path) -> None:
    """The answer is lost and the in-process check fails too: a later retrieve_job finds it."""
    store = JobStore(tmp_path / "jobs.sqlite")
    with start("oqtopus", noise=False) as emu:
        backend = _backend(emu, store)
        compiled = transpile(circuit(), backend, seed_transpiler=1)
        emu.faults.force("drop_after", method="POST", path=SUBMIT_PATHS["oqtopus"])
        emu.faults.force("error", count=20, method="GET", path="/status")
        with pytest.raises(SubmissionUncertainError) as info:
            backend.run(compiled, shots=6, **FAST)
        emu.faults.clear()
        record_id = str(info.value.record_id)
        assert store.get(record_id).status == "SUBMISSION_UNCERTAIN"  # type: ignore[union-attr]
        job = backend.provider.retrieve_job(record_id)
        assert job.result(timeout=10).get_counts() == {"01": 6}
        assert emu.jobs.created_count == 1
        assert store.get(record_id).job_id == job.job_id()  # type: ignore[union-attr]


def test_authentication_failure_on_submit_marks_the_record_failed(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite")
    with start("iqm", noise=False) as emu:
        backend = _backend(emu, store)
        compiled = transpile(circuit(), backend, seed_transpiler=1)
        emu.faults.force("expired_token", method="POST")
        with pytest.raises(AuthenticationError):
            backend.run(compiled, shots=8, **FAST)
        (record,) = store.list()
        assert record.status == "SUBMIT_FAILED" and emu.jobs.created_count == 0


def test_oqc_password_login_is_renewed_on_401(tmp_path: Path) -> None:
    from qiskit_multicloud.config import Secret
    from qiskit_multicloud.vendors.oqc.settings import OQCSettings

    with start("oqc", noise=False) as emu:
        settings = OQCSettings(url=emu.url, email="a@b.c", password=Secret("pw-secret-123"))
        provider = MultiCloudProvider({"oqc": settings}, vendors=["oqc"], job_store=False)
        backend = provider.get_backend(DEVICES["oqc"])
        compiled = transpile(circuit(), backend, seed_transpiler=1)
        emu.faults.force("expired_token", method="GET")
        emu.faults.force("expired_token", method="POST")
        assert backend.run(compiled, shots=4, **FAST).result(timeout=10).get_counts() == {
            "01": 4
        }
        assert emu.stats.by_route["POST login"] >= 2


def test_uncertainty_classification() -> None:
    assert submission_uncertain(VendorConnectionError("x", vendor="v"))
    assert submission_uncertain(MalformedResponseError("x", vendor="v", status=200))
    assert submission_uncertain(MalformedResponseError("x", vendor="v"))
    assert submission_uncertain(VendorAPIError("x", vendor="v", status=502))
    assert not submission_uncertain(VendorAPIError("x", vendor="v", status=503))
    assert not submission_uncertain(VendorAPIError("x", vendor="v", status=400))
    assert not submission_uncertain(VendorAPIError("x", vendor="v"))
    assert not submission_uncertain(AuthenticationError("x", vendor="v", status=401))


def test_idempotent_json_is_retried_after_a_garbled_body() -> None:
    with start("qoro", noise=False) as emu:
        provider = MultiCloudProvider({"qoro": emu.settings()}, vendors=["qoro"],
                                      job_store=False)
        transport = provider.adapters["qoro"].transport
        transport.retry = FAST_RETRY
        emu.faults.force("malformed", method="GET")
        assert isinstance(transport.json("GET", "qpusystem/"), list | dict)
        emu.faults.force("malformed", count=10, method="GET")
        with pytest.raises(MalformedResponseError, match="not JSON"):
            transport.json("GET", "qpusystem/")
        emu.faults.clear()


@pytest.mark.parametrize("vendor", ["oqc", "oqtopus", "qoro"])
def test_multi_circuit_run_with_a_lost_submit_has_no_duplicate(
    vendor: str, tmp_path: Path
) -> None:
    """Several circuits (one OQC batch, or one OQTOPUS job per circuit): one lost answer."""
    store = JobStore(tmp_path / "jobs.sqlite")
    with start(vendor, noise=False) as emu:
        backend = _backend(emu, store)
        compiled = transpile([circuit()] * 3, backend, seed_transpiler=1)
        emu.faults.force("drop_after", method="POST", path=SUBMIT_PATHS[vendor])
        job = backend.run(compiled, shots=16, **FAST)
        result = job.result(timeout=10)
        assert [result.get_counts(i) for i in range(3)] == [{"01": 16}] * 3
        expected = 3 if vendor == "oqc" or backend.max_circuits == 1 else 1
        assert emu.jobs.created_count == expected
        record = store.get(job.job_id())
        assert record is not None and record.status == "DONE"
