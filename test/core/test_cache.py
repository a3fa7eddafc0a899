"""The on-disk cache (qiskit_multicloud.cache): security, freshness, invalidation, and the
second-process request budget of #17.3, per vendor, against the emulators."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from qiskit import transpile

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.cache import CacheKey, DiskCache
from qiskit_multicloud.exceptions import CacheWarning

from ..conftest import FAST
from .test_request_counts import DEVICES, RUN, bell

#: Discovery requests a provider makes when another process already filled the cache:
#: IQM reads the DQA of the default calibration set (its id says whether the cached
#: calibration and metrics are current); the others none.
WARM_DISCOVERY: dict[str, dict[str, int]] = {
    "oqc": {}, "oqtopus": {}, "iqm": {"GET get_dqa": 1}, "qoro": {}, "qilimanjaro": {},
}

def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def _run_once(vendor: str, emu: Any, tmp_path: Path, **provider: Any) -> dict[str, int]:
    """get_backend + transpile + run + result of two Bell circuits (as in
    test_request_counts); the requests it sent."""
    before = dict(emu.stats.snapshot()["by_route"])
    with MultiCloudProvider(
        {vendor: emu.settings()}, vendors=[vendor], job_store=tmp_path / "jobs.sqlite",
        **provider,
    ) as chosen:
        backend = chosen.get_backend(DEVICES[vendor], vendor=vendor)
        native = transpile(bell(), backend, optimization_level=1, seed_transpiler=1)
        job = backend.run([native, native.copy(name="bell2")], shots=20, **FAST)
        counts = job.result().get_counts()
    assert [sum(c.values()) for c in counts] == [20, 20]
    return _delta(emu.stats.snapshot()["by_route"], before)


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file())


# -- the request budget of a second process -------------------------------------------------


@pytest.mark.parametrize("vendor", list(DEVICES))
def test_second_provider_sends_at_most_one_discovery_request(
    vendor: str, emulator_factory: Any, tmp_path: Path
) -> None:
    emu = emulator_factory(vendor, seed=3)
    cache = tmp_path / "cache"
    cold = _run_once(vendor, emu, tmp_path, cache=cache)
    warm = _run_once(vendor, emu, tmp_path, cache=cache)
    assert warm == {**RUN[vendor], **_add(RUN[vendor], WARM_DISCOVERY[vendor])}
    assert sum(warm.values()) <= sum(RUN[vendor].values()) + 1
    assert sum(cold.values()) > sum(warm.values())
    # No secret reaches the cache: the account's token / API key, the emulator's refresh
    # tokens; only the files' modes and names say what they are.
    secrets = [emu.token]
    for path in _files(cache):
        data = path.read_bytes()
        assert all(secret.encode() not in data for secret in secrets), path.name
        assert b"refreshToken" not in data and b"refresh_token" not in data
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


def _add(base: dict[str, int], extra: dict[str, int]) -> dict[str, int]:
    return {k: base.get(k, 0) + v for k, v in extra.items()}


def test_second_process_uses_the_cache(emulator_factory: Any, tmp_path: Path) -> None:
    """A real second Python process: Qilimanjaro without login nor device pages."""
    emu = emulator_factory("qilimanjaro", seed=3)
    cache = tmp_path / "cache"
    _run_once("qilimanjaro", emu, tmp_path, cache=cache)
    settings = emu.settings()
    script = textwrap.dedent(f"""
        from qiskit import transpile
        from qiskit_multicloud import MultiCloudProvider
        from qiskit_multicloud.vendors.qilimanjaro import QilimanjaroSettings
        from qiskit_multicloud.config import Secret
        from test.core.test_request_counts import bell
        settings = QilimanjaroSettings(url={settings.url!r}, username={settings.username!r},
                                       api_key=Secret({emu.token!r}))
        with MultiCloudProvider({{"qilimanjaro": settings}}, vendors=["qilimanjaro"],
                                job_store=False, cache={str(cache)!r}) as provider:
            backend = provider.get_backend("qibo_simulator")
            native = transpile(bell(), backend, optimization_level=1, seed_transpiler=1)
            job = backend.run([native, native.copy(name="bell2")], shots=20,
                              poll_interval=0.001, max_poll_interval=0.005)
            print([sum(c.values()) for c in job.result().get_counts()])
    """)
    before = dict(emu.stats.snapshot()["by_route"])
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[20, 20]"
    assert _delta(emu.stats.snapshot()["by_route"], before) == RUN["qilimanjaro"]


# -- switches and refresh ---------------------------------------------------------------------


def test_off_switch_environment_and_option(
    emulator_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = emulator_factory("qoro")
    default_dir = Path(os.environ["XDG_CACHE_HOME"]) / "qiskit-multicloud"
    monkeypatch.setenv("QISKIT_MULTICLOUD_CACHE", "off")
    first = _run_once("qoro", emu, tmp_path)
    second = _run_once("qoro", emu, tmp_path)
    assert first == second and "GET qpu_systems" in second
    assert not default_dir.exists()
    monkeypatch.delenv("QISKIT_MULTICLOUD_CACHE")
    _run_once("qoro", emu, tmp_path)  # default: on, in the default directory
    assert {p.name.split("-")[0] for p in _files(default_dir)} == {"qoro"}
    assert "GET qpu_systems" in _run_once("qoro", emu, tmp_path, cache=False)
    assert "GET qpu_systems" not in _run_once("qoro", emu, tmp_path)


def test_emulated_provider_keeps_no_disk_cache(tmp_path: Path) -> None:
    with MultiCloudProvider.emulated(["qoro"], noise=False) as provider:
        assert provider.cache is None
        assert provider.backends()


def test_refresh_bypasses_and_rewrites(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory("qilimanjaro")
    clock = FakeClock()
    cache = DiskCache(tmp_path / "cache", ttl=600, clock=clock)
    _run_once("qilimanjaro", emu, tmp_path, cache=cache)
    listing = _cached_listing(tmp_path / "cache")
    written = json.loads(listing.read_text())["stored_at"]
    clock.now += 5
    before = dict(emu.stats.snapshot()["by_route"])
    with MultiCloudProvider({"qilimanjaro": emu.settings()}, vendors=["qilimanjaro"],
                            job_store=False, cache=cache) as provider:
        provider.backends()
        assert _delta(emu.stats.snapshot()["by_route"], before) == {}
        provider.refresh()
        assert provider.backends()
    assert _delta(emu.stats.snapshot()["by_route"], before) == {"GET list_devices": 2}
    assert json.loads(listing.read_text())["stored_at"] == written + 5


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_ttl_expiry(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory("oqc")
    clock = FakeClock()
    cache = DiskCache(tmp_path / "cache", ttl=60, clock=clock)
    assert "GET qpu_list" in _run_once("oqc", emu, tmp_path, cache=cache)
    clock.now += 59
    assert "GET qpu_list" not in _run_once("oqc", emu, tmp_path, cache=cache)
    clock.now += 2  # 61 s after the list was written
    assert "GET qpu_list" in _run_once("oqc", emu, tmp_path, cache=cache)


def test_ttl_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QISKIT_MULTICLOUD_CACHE_TTL", "12.5")
    assert DiskCache(tmp_path).ttl == 12.5
    monkeypatch.setenv("QISKIT_MULTICLOUD_CACHE_TTL", "soon")
    assert DiskCache(tmp_path).ttl == 900.0
    monkeypatch.setenv("QISKIT_MULTICLOUD_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert DiskCache().directory == tmp_path / "elsewhere"


# -- invalidation -------------------------------------------------------------------------


def test_401_on_a_cached_token_logs_in_once(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory("qilimanjaro")
    cache = tmp_path / "cache"
    _run_once("qilimanjaro", emu, tmp_path, cache=cache)
    (token_file,) = [p for p in _files(cache) if p.name.endswith("-token.json")]
    document = json.loads(token_file.read_text())
    head, _, signature = document["data"]["token"].split(".")
    claims = json.loads(_b64decode(document["data"]["token"].split(".")[1]))
    document["data"]["token"] = f"{head}.{_b64encode({**claims, 'jti': 'forged'})}.{signature}"
    token_file.write_text(json.dumps(document))
    ran = _run_once("qilimanjaro", emu, tmp_path, cache=cache)
    # The submit with the rejected token (401), the login, the submit replayed once.
    assert ran == {**RUN["qilimanjaro"], "POST login": 1, "POST create_job": 2}
    assert "forged" not in token_file.read_text()  # the new token replaced it
    assert _run_once("qilimanjaro", emu, tmp_path, cache=cache) == RUN["qilimanjaro"]


def _b64decode(segment: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _b64encode(claims: dict[str, Any]) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")


def _cached_listing(cache: Path) -> Path:
    """The one cached device-list file in ``cache``."""
    (listing,) = [p for p in _files(cache) if p.name.endswith("-devices.json")]
    return listing


def _edit_cached_specs(cache: Path, edit: Callable[[dict[str, Any]], Any]) -> Path:
    """Apply ``edit`` to every device spec in the cached device list; return its file."""
    listing = _cached_listing(cache)
    document = json.loads(listing.read_text())
    for spec in document["data"]["specs"]:
        edit(spec)
    listing.write_text(json.dumps(document))
    return listing


def test_404_on_a_cached_device_rereads_once(emulator_factory: Any, tmp_path: Path) -> None:
    """The vendor renumbered the device: the submit with the cached id answers 404, the
    list is read again and the job goes to the device's new id."""
    emu = emulator_factory("qilimanjaro")
    cache = tmp_path / "cache"
    _run_once("qilimanjaro", emu, tmp_path, cache=cache)
    listing = _edit_cached_specs(
        cache, lambda spec: spec["extra"].update(id=4242 + spec["extra"]["id"])
    )
    ran = _run_once("qilimanjaro", emu, tmp_path, cache=cache)
    assert ran == {"POST create_job": 2, "GET list_devices": 2, "GET get_job": 1}
    assert all(s["extra"]["id"] < 4242 for s in json.loads(listing.read_text())["data"]["specs"])
    assert _run_once("qilimanjaro", emu, tmp_path, cache=cache) == RUN["qilimanjaro"]


def test_offline_in_the_cached_list_is_checked_once_before_refusing(
    emulator_factory: Any, tmp_path: Path
) -> None:
    emu = emulator_factory("qilimanjaro")
    cache = tmp_path / "cache"
    _run_once("qilimanjaro", emu, tmp_path, cache=cache)
    # stale: the device is back since
    _edit_cached_specs(cache, lambda spec: spec.update(online=False))
    ran = _run_once("qilimanjaro", emu, tmp_path, cache=cache)
    assert ran == {**RUN["qilimanjaro"], "GET get_device": 1}


def test_corrupt_entries_are_ignored_and_rewritten(
    emulator_factory: Any, tmp_path: Path
) -> None:
    emu = emulator_factory("oqtopus")
    cache = tmp_path / "cache"
    cold = _run_once("oqtopus", emu, tmp_path, cache=cache)
    for index, path in enumerate(_files(cache)):
        garbage = [b"{not json", b"", b'{"format": 1, "data": 3}', b"\xff\xfe"][index % 4]
        path.write_bytes(garbage)
    assert _run_once("oqtopus", emu, tmp_path, cache=cache) == cold
    for path in _files(cache):
        assert json.loads(path.read_text())["format"] == 1
    document = json.loads(_files(cache)[0].read_text())
    document["data"] = {"specs": [{"gates": 1}]}  # valid JSON, not a device list
    _files(cache)[0].write_text(json.dumps(document))
    assert _run_once("oqtopus", emu, tmp_path, cache=cache) == cold


# -- security -----------------------------------------------------------------------------

KEY = CacheKey("oqc", "https://cloud.example", "0123456789abcdef")


def test_modes_with_a_permissive_umask(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "b" / "cache"
    old = os.umask(0)
    try:
        cache = DiskCache(directory)
        assert cache.store(KEY, "devices", {"specs": []})
        assert cache.store(KEY, "devices", {"specs": [1]})  # replaced atomically
    finally:
        os.umask(old)
    for folder in (directory, directory.parent, directory.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    (entry,) = _files(directory)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert entry.name.startswith("oqc-") and "cloud.example" not in entry.name
    loaded = cache.load(KEY, "devices")
    assert loaded is not None and loaded.data == {"specs": [1]}


def test_a_loose_existing_directory_is_made_private(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    assert DiskCache(directory).store(KEY, "devices", [])
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_symlinked_directory_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "cache"
    link.symlink_to(target)
    cache = DiskCache(link)
    with pytest.warns(CacheWarning, match="symbolic link"):
        assert not cache.store(KEY, "devices", [])
    assert cache.load(KEY, "devices") is None
    assert list(target.iterdir()) == []


def test_symlinked_entry_is_not_followed_nor_replaced(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache")
    assert cache.store(KEY, "devices", ["mine"])
    victim = tmp_path / "victim.json"
    victim.write_text("precious")
    entry = tmp_path / "cache" / KEY.filename("devices")
    entry.unlink()
    entry.symlink_to(victim)
    with pytest.warns(CacheWarning, match="symbolic link"):
        assert cache.load(KEY, "devices") is None
    assert not cache.store(KEY, "devices", ["overwritten?"])
    assert victim.read_text() == "precious" and entry.is_symlink()


def test_symlinked_cache_dir_warns_once_and_the_provider_still_works(
    emulator_factory: Any, tmp_path: Path
) -> None:
    emu = emulator_factory("qoro")
    (tmp_path / "real").mkdir()
    (tmp_path / "cache").symlink_to(tmp_path / "real")
    with pytest.warns(CacheWarning) as caught:
        ran = _run_once("qoro", emu, tmp_path, cache=tmp_path / "cache")
    assert "GET qpu_systems" in ran and len(caught) == 1
    assert list((tmp_path / "real").iterdir()) == []


def test_entries_of_another_key_are_ignored(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    assert cache.store(KEY, "devices", [1])
    other = CacheKey("oqc", "https://cloud.example", "fedcba9876543210")
    # Same file name would need a hash collision; simulate one by copying the file.
    os.replace(tmp_path / KEY.filename("devices"), tmp_path / other.filename("devices"))
    assert cache.load(other, "devices") is None


def test_concurrent_writers_never_tear_an_entry(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    big = {"specs": ["x" * 50_000]}
    errors: list[BaseException] = []

    def write() -> None:
        for _ in range(20):
            cache.store(KEY, "devices", big)

    def read() -> None:
        for _ in range(60):
            entry = cache.load(KEY, "devices")
            if entry is not None and entry.data != big:
                errors.append(AssertionError("torn entry"))

    threads = [threading.Thread(target=write) for _ in range(3)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert [p.name for p in tmp_path.iterdir()] == [KEY.filename("devices")]


# -- exact requests where a vendor's flow changes (requests-mock) --------------------------


def test_iqm_reuses_calibration_until_the_set_id_changes(
    requests_mock: Any, tmp_path: Path
) -> None:
    from qiskit_multicloud.config import Secret
    from qiskit_multicloud.vendors.iqm.adapter import IQMAdapter
    from qiskit_multicloud.vendors.iqm.settings import IQMSettings

    from ..vendors.iqm.test_adapter import CALSET, DQA, METRICS, URL, mock_discovery

    new_cs = "99999999-bea0-43af-bd37-6212ec7d04cb"
    base = f"{URL}/api/v1/calibration-sets/garnet"
    mock_discovery(requests_mock)
    requests_mock.get(f"{base}/{new_cs}", json={**CALSET, "observation_set_id": new_cs})
    requests_mock.get(f"{base}/{new_cs}/metrics", json={**METRICS, "describes_id": new_cs})
    disk = DiskCache(tmp_path)

    def session() -> list[str]:
        start = len(requests_mock.request_history)
        adapter = IQMAdapter.from_settings(IQMSettings(url=URL, token=Secret("iqm-SECRET")))
        adapter.attach_cache(disk.bind(adapter.cache_key()))
        (partial,), _ = adapter.cached_discovery()
        full = adapter.complete_device(partial)
        assert full.n_qubits == 3
        return sorted(r.path.removeprefix("/api/v1/calibration-sets/garnet")
                      for r in requests_mock.request_history[start:])

    dqa = "/default/dynamic-quantum-architecture"
    assert session() == sorted(["/api/v1/quantum-computers", dqa, "/default",
                                "/default/metrics"])
    assert session() == [dqa]  # same calibration set: only the DQA is read
    requests_mock.get(f"{base}/default/dynamic-quantum-architecture",
                      json={**DQA, "calibration_set_id": new_cs})
    assert session() == sorted([dqa, f"/{new_cs}", f"/{new_cs}/metrics"])
    assert session() == [dqa]
    assert all(b"iqm-SECRET" not in p.read_bytes() for p in _files(tmp_path))


def test_qilimanjaro_reuses_the_access_token_not_the_refresh_token(
    requests_mock: Any, tmp_path: Path
) -> None:
    from qiskit_multicloud.config import Secret
    from qiskit_multicloud.vendors.qilimanjaro import QilimanjaroAdapter, QilimanjaroSettings

    from ..vendors.qilimanjaro.conftest import ACCESS, API, API_KEY, REFRESH, URL, tokens
    from ..vendors.qilimanjaro.test_adapter import RADAGAST, job_record, page

    login = requests_mock.post(f"{API}/authorisation-tokens", status_code=201, json=tokens())
    requests_mock.get(f"{API}/devices", json=page([RADAGAST], None))
    jobs = requests_mock.get(f"{API}/jobs/5", json=job_record("queued"))
    disk = DiskCache(tmp_path)

    def adapter() -> QilimanjaroAdapter:
        made = QilimanjaroAdapter.from_settings(
            QilimanjaroSettings(url=URL, username="ada", api_key=Secret(API_KEY))
        )
        made.attach_cache(disk.bind(made.cache_key()))
        return made

    first = adapter()
    first.cached_discovery()
    first.status("5")
    assert login.call_count == 1
    second = adapter()
    second.cached_discovery()
    second.status("5")
    assert login.call_count == 1 and second.auth.logins == 0
    assert jobs.last_request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert [r.path for r in requests_mock.request_history] == [
        "/api/v1/authorisation-tokens", "/api/v1/devices", "/api/v1/jobs/5", "/api/v1/jobs/5"
    ]
    stored = b"".join(p.read_bytes() for p in _files(tmp_path))
    assert API_KEY.encode() not in stored and REFRESH.encode() not in stored
    assert ACCESS.encode() in stored  # the short-lived access token is what is reused


def test_oqc_reuses_the_login_token_never_the_password(
    requests_mock: Any, tmp_path: Path
) -> None:
    from qiskit_multicloud.vendors.oqc import OQCAdapter, OQCSettings

    from ..vendors.oqc.test_adapter import ENTRY, LUCY_ITEM

    requests_mock.get(f"{ENTRY}/admin/version", json={"version": "1"})
    requests_mock.post(f"{ENTRY}/admin/logout", json={})
    login = requests_mock.post(f"{ENTRY}/admin/login", json={
        "meta": {"code": 200}, "response": {"user": {"authentication_token": "LOGIN-TOKEN"}}})
    requests_mock.get(f"{ENTRY}/admin/qpu", json={"items": [LUCY_ITEM]})
    qpu = requests_mock.get(f"{ENTRY}/admin/qpu/{LUCY_ITEM['id']}", json=LUCY_ITEM)
    disk = DiskCache(tmp_path)
    settings = OQCSettings.resolve(url=ENTRY, email="ada@example.com", password="pw-SECRET")
    assert settings is not None
    for _ in range(2):
        adapter = OQCAdapter.from_settings(settings)
        adapter.attach_cache(disk.bind(adapter.cache_key()))
        adapter.refresh_device(adapter.cached_discovery()[0][0])
    assert login.call_count == 1 and qpu.call_count == 2
    assert qpu.last_request.headers["Authentication-Token"] == "LOGIN-TOKEN"
    assert [r.path for r in requests_mock.request_history][-1:] == [
        f"/admin/qpu/{LUCY_ITEM['id']}"]  # the second session: cached list, no login
    assert all(b"pw-SECRET" not in p.read_bytes() for p in _files(tmp_path))


def test_old_entries_are_pruned_on_the_first_write(tmp_path: Path) -> None:
    old, fresh = tmp_path / "qoro-0123456789abcdef-devices.json", tmp_path / "notes.txt"
    leftover = tmp_path / ".oqc-x-devices.json.abc.tmp"
    for path in (old, fresh, leftover):
        path.write_text("{}")
        os.utime(path, (time.time() - 8 * 24 * 3600,) * 2)
    recent = tmp_path / "iqm-0123456789abcdef-devices.json"
    recent.write_text("{}")
    assert DiskCache(tmp_path).store(KEY, "devices", [])
    assert not old.exists() and not leftover.exists()
    assert fresh.exists() and recent.exists()  # not ours / not old
    assert (tmp_path / KEY.filename("devices")).exists()
