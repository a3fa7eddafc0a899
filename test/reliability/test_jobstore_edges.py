"""The job store at its edges (issue #12.2, #12.5, #12.6) and cancel of finished jobs (#12.7).

Locks are real: a second sqlite connection holding ``BEGIN EXCLUSIVE``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from qiskit import QuantumCircuit, transpile

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.exceptions import JobStoreError, JobStoreWarning, MultiCloudError
from qiskit_multicloud.jobstore import SUBMITTED, SUBMITTING, JobStore, default_store_path

from .harness import DEVICES, FAST, VENDORS, circuit


@contextmanager
def exclusive_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding the store's exclusive lock."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


def fast_store(path: Path) -> JobStore:
    return JobStore(path, busy_timeout=0.02, retry_for=0.1)


def one_circuit(backend: Any) -> QuantumCircuit:
    return transpile(circuit(), backend, seed_transpiler=1)


# -- item 5: the store is a security boundary ---------------------------------------------


def test_symlinked_store_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    target.chmod(0o644)
    link = tmp_path / "jobs.sqlite"
    link.symlink_to(target)
    with pytest.raises(JobStoreError, match="symbolic link") as info:
        JobStore(link).list()
    assert str(link) in str(info.value)
    assert target.read_text() == "keep me"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_missing_parents_are_created_private_and_tilde_is_expanded(tmp_path: Path) -> None:
    store = JobStore("~/deep/er/jobs.sqlite")
    assert store.path == Path.home() / "deep" / "er" / "jobs.sqlite"
    store.list()
    for directory in (Path.home() / "deep", Path.home() / "deep" / "er"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    provider = MultiCloudProvider({}, vendors=[], job_store="~/other.sqlite")
    assert provider.job_store is not None
    assert provider.job_store.path == Path.home() / "other.sqlite"


def test_corrupt_store_is_a_clear_error_and_nothing_is_submitted(
    tmp_path: Path, emulator_factory: Any
) -> None:
    path = tmp_path / "jobs.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    emu = emulator_factory("iqm")
    with MultiCloudProvider({"iqm": emu.settings()}, vendors=["iqm"], job_store=path) as provider:
        backend = provider.get_backend(DEVICES["iqm"])
        with pytest.raises(JobStoreError, match="move it aside") as info:
            backend.run(one_circuit(backend), shots=5, **FAST)
    assert str(path) in str(info.value)
    assert emu.jobs.all() == []


def test_directory_as_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(JobStoreError, match="directory"):
        JobStore(tmp_path).list()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    JobStore(path).list()
    path.chmod(0o400)
    with pytest.raises(JobStoreError, match="cannot be written"):
        JobStore(path).list()


@pytest.mark.parametrize("code", ["EROFS", "EACCES"])
def test_unwritable_store_is_a_clear_error_even_as_root(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root ignores file modes, so the refusal of a read-only file system is simulated."""
    import errno

    def refuse(*args: Any, **kwargs: Any) -> int:
        number = getattr(errno, code)
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr("qiskit_multicloud.jobstore.os.open", refuse)
    path = tmp_path / "jobs.sqlite"
    with pytest.raises(JobStoreError, match="cannot be written") as info:
        JobStore(path).record_submission(
            vendor="oqc", backend="b", circuits=[circuit()], layouts=[], options={}
        )
    assert str(path) in str(info.value) and "job_store=" in str(info.value)


def test_locked_store_before_submit_fails_fast_and_sends_nothing(
    tmp_path: Path, emulator_factory: Any
) -> None:
    store = fast_store(tmp_path / "jobs.sqlite")
    store.list()
    emu = emulator_factory("qilimanjaro")
    with MultiCloudProvider(
        {"qilimanjaro": emu.settings()}, vendors=["qilimanjaro"], job_store=store
    ) as provider:
        backend = provider.get_backend(DEVICES["qilimanjaro"])
        circuit_ = one_circuit(backend)
        with exclusive_lock(store.path), pytest.raises(JobStoreError, match="locked") as info:
            backend.run(circuit_, shots=5, **FAST)
    assert info.value.locked and str(store.path) in str(info.value)
    assert emu.jobs.all() == []


def test_old_stores_are_migrated_and_their_rows_stay_readable(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE jobs (record_id TEXT PRIMARY KEY, vendor TEXT NOT NULL, backend TEXT NOT
        NULL, job_id TEXT, chunk_refs TEXT NOT NULL DEFAULT '[]', chunk_sizes TEXT NOT NULL
        DEFAULT '[]', status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        options TEXT NOT NULL, layouts TEXT NOT NULL, circuits BLOB, error TEXT);
        INSERT INTO jobs VALUES ('r1', 'oqc', 'lucy', 'j1', '["j1"]', '[1]', 'SUBMITTED',
        '2025-01-01T00:00:00', '2025-01-01T00:00:00', '{"shots": 5}', '[]', NULL, NULL);
        """
    )
    old.commit()
    old.close()
    record = JobStore(path).get("j1")
    assert record is not None and record.record_id == "r1" and record.origin == ""
    assert record.reserved == {} and record.shots == 5


# -- item 2: a store write failure after submit never loses the id ------------------------


def test_locked_store_after_submit_keeps_the_id_and_run_returns(
    tmp_path: Path, emulator_factory: Any
) -> None:
    store = fast_store(tmp_path / "jobs.sqlite")
    emu = emulator_factory("qoro")
    with MultiCloudProvider({"qoro": emu.settings()}, vendors=["qoro"], job_store=store) as p:
        backend = p.get_backend(DEVICES["qoro"])
        adapter = backend.adapter
        submit = adapter.submit
        holder: list[Any] = []

        def submit_then_lock(*args: Any, **kwargs: Any) -> str:
            job_id = submit(*args, **kwargs)
            lock = exclusive_lock(store.path)
            holder.append((lock, lock.__enter__()))
            return job_id

        adapter.submit = submit_then_lock  # type: ignore[method-assign]
        try:
            with pytest.warns(JobStoreWarning, match="kept in") as caught:
                job = backend.run(one_circuit(backend), shots=7, **FAST)
            warning = caught[0].message
            assert isinstance(warning, JobStoreWarning) and warning.job_id == job.job_id()
            assert job.job_id() in str(warning)
            journal = store.journal_path
            assert stat.S_IMODE(journal.stat().st_mode) == 0o600
            lines = [json.loads(line) for line in journal.read_text().splitlines()]
            assert lines[-1]["fields"]["job_id"] == job.job_id()
            # Bookkeeping after submit never makes result() fail: the status write is
            # journaled too.
            with pytest.warns(JobStoreWarning):
                assert job.result(timeout=30).get_counts() == {"01": 7}
        finally:
            for lock, _ in holder:
                lock.__exit__(None, None, None)
    # The next use of the store replays the journal: the id is in the store.
    record = JobStore(store.path).get(job.job_id())
    assert record is not None and record.status == "DONE" and record.job_id == job.job_id()
    assert store.journal_path.read_text() == ""
    assert len(emu.jobs.all()) == 1


def test_journal_is_not_followed_through_a_symlink(tmp_path: Path) -> None:
    store = fast_store(tmp_path / "jobs.sqlite")
    record = store.record_submission(vendor="oqc", backend="b", circuits=[circuit()],
                                     layouts=[], options={"shots": 1})
    target = tmp_path / "elsewhere"
    target.write_text("")
    store.journal_path.symlink_to(target)
    with exclusive_lock(store.path), pytest.warns(JobStoreWarning, match="only copy") as caught:
        store.mark_submitted(record, ["abc"], [1], "abc")
    assert "abc" in str(caught[0].message)
    assert target.read_text() == ""


# -- item 6: ids are scoped by vendor and account origin ----------------------------------


def test_same_job_id_on_two_servers_never_mixes_results(
    tmp_path: Path, emulator_factory: Any
) -> None:
    path = tmp_path / "jobs.sqlite"
    first = emulator_factory("qilimanjaro")
    second = emulator_factory("qilimanjaro")
    jobs = {}
    for emu, shots in ((first, 5), (second, 9)):
        with MultiCloudProvider(
            {"qilimanjaro": emu.settings()}, vendors=["qilimanjaro"], job_store=path
        ) as provider:
            backend = provider.get_backend(DEVICES["qilimanjaro"])
            jobs[emu.url] = backend.run(one_circuit(backend), shots=shots, **FAST)
            jobs[emu.url].result(timeout=30)
    same = jobs[first.url].job_id()
    assert same == jobs[second.url].job_id()  # both servers issued the same id
    records = JobStore(path).find(same)
    assert len(records) == 2 and {r.origin for r in records} == {
        "http://" + first.url.split("://")[1].split("/")[0],
        "http://" + second.url.split("://")[1].split("/")[0],
    }
    for emu, shots in ((first, 5), (second, 9)):
        with MultiCloudProvider(
            {"qilimanjaro": emu.settings()}, vendors=["qilimanjaro"], job_store=path
        ) as provider:
            job = provider.retrieve_job(same)  # the record of this provider's server
            assert job.result(timeout=30).get_counts() == {"01": shots}
    with (
        MultiCloudProvider({}, vendors=[], job_store=path) as provider,
        pytest.raises(MultiCloudError, match="ambiguous") as info,
    ):
        provider.retrieve_job(same)
    for record in records:
        assert record.record_id in str(info.value) and record.origin in str(info.value)
    # A record id disambiguates; a record of another server is refused, never polled.
    wrong = next(r for r in records if r.options["shots"] == 5)
    with MultiCloudProvider(
        {"qilimanjaro": second.settings()}, vendors=["qilimanjaro"], job_store=path
    ) as provider:
        with pytest.raises(MultiCloudError, match="configure credentials for"):
            provider.retrieve_job(wrong.record_id)
        right = next(r for r in records if r.options["shots"] == 9)
        job = provider.retrieve_job(right.record_id)
        assert job.result(timeout=30).get_counts() == {"01": 9}


def test_emulated_provider_does_not_write_the_users_store() -> None:
    with MultiCloudProvider.emulated(["qilimanjaro"], noise=False) as provider:
        assert provider.job_store is not None
        scratch = provider.job_store.path
        assert scratch != default_store_path()
        backend = provider.get_backend(DEVICES["qilimanjaro"])
        job = backend.run(one_circuit(backend), shots=3, **FAST)
        assert provider.retrieve_job(job.job_id()).result(timeout=30).get_counts() == {"01": 3}
    assert not default_store_path().exists()
    assert not scratch.exists()


# -- item 7: cancelling a finished job is a no-op returning False on every vendor ---------


@pytest.mark.parametrize("vendor", VENDORS)
def test_cancel_of_a_finished_job_returns_false(vendor: str, emulator_factory: Any) -> None:
    emu = emulator_factory(vendor)
    with MultiCloudProvider({vendor: emu.settings()}, vendors=[vendor]) as provider:
        backend = provider.get_backend(DEVICES[vendor])
        job = backend.run(one_circuit(backend), shots=4, **FAST)
        job.result(timeout=30)
        assert job.cancel() is False
        fresh = provider.retrieve_job(job.job_id())  # knows no status yet: asks the vendor
        assert fresh.cancel() is False
        record = provider.job_store.get(job.job_id())  # type: ignore[union-attr]
        assert record is not None and record.status in (SUBMITTED, "DONE")
    assert SUBMITTING != SUBMITTED


def test_counts_of_another_servers_job_are_refused_by_the_recorded_shots(
    tmp_path: Path, emulator_factory: Any
) -> None:
    """An old record (no origin) polled on the wrong server: totals differ, no Result."""
    from qiskit_multicloud.exceptions import MalformedResponseError

    path = tmp_path / "jobs.sqlite"
    first = emulator_factory("qilimanjaro")
    second = emulator_factory("qilimanjaro")
    ids = []
    for emu, shots, store in ((first, 5, path), (second, 9, False)):
        with MultiCloudProvider(
            {"qilimanjaro": emu.settings()}, vendors=["qilimanjaro"], job_store=store
        ) as provider:
            backend = provider.get_backend(DEVICES["qilimanjaro"])
            ids.append(backend.run(one_circuit(backend), shots=shots, **FAST).job_id())
    assert ids[0] == ids[1]
    with sqlite3.connect(path) as db:
        db.execute("UPDATE jobs SET origin = ''")  # as written by an older version
    with MultiCloudProvider(
        {"qilimanjaro": second.settings()}, vendors=["qilimanjaro"], job_store=path
    ) as provider:
        job = provider.retrieve_job(ids[0])
        with pytest.raises(MalformedResponseError, match=r"returned 9 shot.* but 5 were asked"):
            job.result(timeout=30)
