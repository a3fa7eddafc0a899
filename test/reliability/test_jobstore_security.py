"""Job store across processes, and secrets kept out of logs, reprs, errors and the store."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from qiskit import transpile

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.config import Secret
from qiskit_multicloud.emulators import start
from qiskit_multicloud.exceptions import ConfigurationError, MultiCloudError
from qiskit_multicloud.jobstore import JobStore, default_store_path
from qiskit_multicloud.transport import HeaderAuth, Transport

from .harness import DEVICES, FAST, VENDORS, captured_logs, circuit

RETRIEVE = textwrap.dedent(
    """
    import json, sys
    from qiskit_multicloud import MultiCloudProvider
    from qiskit_multicloud.emulators import settings_for
    cells = json.loads(sys.argv[1])
    settings = {c["vendor"]: settings_for(c["vendor"], c["url"], c["token"]) for c in cells}
    provider = MultiCloudProvider(settings, vendors=list(settings))
    out = {}
    for c in cells:
        job = provider.retrieve_job(c["job_id"])
        listed = [r.job_id for r in provider.jobs(vendor=c["vendor"], status="submitted")]
        out[c["vendor"]] = {"counts": job.result(timeout=20).get_counts(), "listed": listed}
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def emulators() -> Any:
    handles = [start(vendor, noise=False) for vendor in VENDORS]
    yield handles
    for handle in handles:
        handle.stop()


def test_retrieve_job_in_a_fresh_process_for_every_vendor(emulators: list[Any]) -> None:
    cells = []
    with captured_logs() as logs:
        for emu in emulators:
            provider = MultiCloudProvider({emu.vendor: emu.settings()}, vendors=[emu.vendor])
            backend = provider.get_backend(DEVICES[emu.vendor], vendor=emu.vendor)
            job = backend.run(transpile(circuit(), backend, seed_transpiler=1), shots=12, **FAST)
            record = provider.job_store.get(job.job_id())  # type: ignore[union-attr]
            assert record is not None and record.status == "SUBMITTED"
            cells.append({"vendor": emu.vendor, "url": emu.url, "token": emu.token,
                          "job_id": job.job_id()})
            provider.close()
    done = subprocess.run(
        [sys.executable, "-c", RETRIEVE, json.dumps(cells)],
        capture_output=True, text=True, timeout=120, env=dict(os.environ), check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    for cell in cells:
        assert out[cell["vendor"]]["counts"] == {"01": 12}
        assert out[cell["vendor"]]["listed"] == [cell["job_id"]]
    path = default_store_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = path.read_bytes()
    text = logs.getvalue() + done.stdout + done.stderr
    for emu in emulators:
        assert emu.token.encode() not in stored
        assert emu.token not in text
    final = {r.vendor: r.status for r in JobStore().list()}
    assert set(final.values()) == {"DONE"} and set(final) == set(VENDORS)


def test_jobs_filters_and_limit(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite")
    for index in range(4):
        record = store.record_submission(
            vendor="oqc" if index % 2 else "iqm", backend="b", circuits=[circuit()],
            layouts=[], options={"shots": index},
        )
        if index < 2:
            store.mark_submitted(record, [f"ref{index}"], [1], f"ref{index}")
    provider = MultiCloudProvider({}, vendors=[], job_store=store)
    assert len(provider.jobs(limit=3)) == 3
    assert [r.job_id for r in provider.jobs(vendor="oqc", status="submitted")] == ["ref1"]
    assert [r.status for r in provider.jobs(vendor="iqm", status="SUBMITTING")] == ["SUBMITTING"]


def test_store_writes_are_transactions(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite")
    record = store.record_submission(vendor="oqc", backend="b", circuits=[circuit()],
                                     layouts=[], options={"shots": 1})
    # Another connection sees committed rows only; an interrupted writer leaves nothing.
    other = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.OperationalError), other:
        other.execute("UPDATE jobs SET status='X' WHERE record_id=?", (record,))
        raise sqlite3.OperationalError("crash mid-transaction")
    other.close()
    assert store.get(record).status == "SUBMITTING"  # type: ignore[union-attr]


def test_secrets_stay_out_of_reprs_and_errors(emulators: list[Any]) -> None:
    for emu in emulators:
        provider = MultiCloudProvider({emu.vendor: emu.settings()}, vendors=[emu.vendor])
        backend = provider.get_backend(DEVICES[emu.vendor], vendor=emu.vendor)
        adapter = provider.adapters[emu.vendor]
        for thing in (provider, backend, adapter, adapter.transport, adapter.transport.auth,
                      emu.settings(), emu):
            assert emu.token not in repr(thing), type(thing).__name__
            assert emu.token not in str(thing), type(thing).__name__
        assert adapter.transport._session.verify is True
        assert emu.token not in json.dumps(dict(adapter.transport._session.headers))
        emu.faults.force("expired_token", count=3)
        emu.faults.force("error", count=20)
        try:
            backend.run(transpile(circuit(), backend, seed_transpiler=1), shots=4, **FAST)
        except MultiCloudError as exc:
            assert emu.token not in str(exc) and emu.token not in repr(exc)
            cause = exc.__cause__
            while cause is not None:
                assert emu.token not in str(cause)
                cause = cause.__cause__
        emu.faults.clear()
        provider.close()


def test_plain_http_refused_except_loopback() -> None:
    auth = HeaderAuth("X-Token", Secret("s3cret-value"))
    with pytest.raises(ConfigurationError, match="plain http"):
        Transport("v", "http://example.com/api", auth)
    for url in ("http://127.0.0.1:8000", "http://localhost:1", "https://example.com"):
        assert Transport("v", url, auth)._session.verify is True
    transport = Transport("v", "https://example.com", auth)
    with pytest.raises(ConfigurationError, match="plain-http"):
        transport.trust_origin("http://storage.example.com/bucket")


def test_credentials_only_go_to_trusted_origins(emulators: list[Any]) -> None:
    """OQTOPUS presigned storage (even on the API host) and foreign hosts get no token."""
    emu = next(e for e in emulators if e.vendor == "oqtopus")
    provider = MultiCloudProvider({"oqtopus": emu.settings()}, vendors=["oqtopus"],
                                  job_store=False)
    backend = provider.get_backend(DEVICES["oqtopus"])
    transport = backend.adapter.transport
    seen: list[tuple[str, dict[str, str]]] = []
    original = transport._session.request

    def recording(method: str, url: str, **kwargs: Any) -> Any:
        seen.append((url, dict(kwargs.get("headers") or {})))
        return original(method, url, **kwargs)

    transport._session.request = recording  # type: ignore[method-assign]
    job = backend.run(transpile(circuit(), backend, seed_transpiler=1), shots=5, **FAST)
    assert job.result(timeout=10).get_counts() == {"01": 5}
    storage = [h for url, h in seen if "/_storage/" in url]
    api = [h for url, h in seen if "/_storage/" not in url]
    assert storage and all("q-api-token" not in h for h in storage)
    assert api and all(h.get("q-api-token") == emu.token for h in api)
    foreign = Transport("v", "https://api.example.com", HeaderAuth("X-Token", Secret("abc")))
    assert "X-Token" not in _headers_for(foreign, "https://elsewhere.example.com/x")
    assert "X-Token" in _headers_for(foreign, "https://api.example.com/x")
    provider.close()


def _headers_for(transport: Transport, url: str) -> dict[str, str]:
    captured: dict[str, str] = {}

    def fake(method: str, target: str, **kwargs: Any) -> Any:
        captured.update(kwargs.get("headers") or {})
        raise ConnectionRefusedError("offline")

    transport._session.request = fake  # type: ignore[method-assign]
    transport.retry = transport.retry.__class__(total=0)
    with contextlib.suppress(ConnectionRefusedError):  # only the headers matter here
        transport.request("GET", url)
    return captured
