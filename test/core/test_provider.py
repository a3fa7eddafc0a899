"""Provider: lazy configuration, name resolution, filters, retrieve_job, redaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from qiskit import QuantumCircuit

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.config import Secret
from qiskit_multicloud.exceptions import BackendNotFoundError, ConfigurationError, MultiCloudError
from qiskit_multicloud.vendors import VendorPlugin

from .fakes import FakeAdapter, FakeBackend, FakeSettings, fake_device

DEVICES = [
    fake_device("qpu:uk:2:d865b5a184", aliases=("Lucy Simulator",)),
    fake_device("qpu:uk:3:9829a5504f", aliases=("Toshiko",), online=False),
    fake_device("qpu:jp:3:673b1ad43c", n=3),
]


class ListingAdapter(FakeAdapter):
    vendor = "oqc"
    listings = 0

    @classmethod
    def from_settings(cls, settings: Any) -> FakeAdapter:
        return cls(devices=DEVICES)

    def list_devices(self) -> list[Any]:
        type(self).listings += 1
        return super().list_devices()


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MultiCloudProvider:
    fake = VendorPlugin(adapter=ListingAdapter, backend=FakeBackend, emulator=object)  # type: ignore[arg-type]
    monkeypatch.setattr("qiskit_multicloud.provider.plugin", lambda key: fake)
    monkeypatch.setattr(
        "qiskit_multicloud.provider.resolve_settings",
        lambda key, explicit, account=None: FakeSettings.resolve() if key == "oqc" else None,
    )
    ListingAdapter.listings = 0
    return MultiCloudProvider(job_store=tmp_path / "jobs.sqlite")


def test_construction_makes_no_calls(provider: MultiCloudProvider) -> None:
    assert ListingAdapter.listings == 0
    assert "not yet resolved" in repr(provider)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("qpu:uk:2:d865b5a184", "qpu:uk:2:d865b5a184"),
        ("qpu:uk:2", "qpu:uk:2:d865b5a184"),
        ("lucy simulator", "qpu:uk:2:d865b5a184"),
        ("Toshiko", "qpu:uk:3:9829a5504f"),
        ("qpu:jp", "qpu:jp:3:673b1ad43c"),
    ],
)
def test_get_backend_by_id_alias_or_prefix(
    provider: MultiCloudProvider, name: str, expected: str
) -> None:
    assert provider.get_backend(name).name == expected


def test_devices_are_listed_once_and_cached(provider: MultiCloudProvider) -> None:
    provider.get_backend("qpu:uk:2")
    provider.backends()
    assert ListingAdapter.listings == 1
    provider.refresh()
    provider.backends()
    assert ListingAdapter.listings == 2


def test_ambiguous_name_lists_candidates(provider: MultiCloudProvider) -> None:
    with pytest.raises(BackendNotFoundError, match="ambiguous") as info:
        provider.get_backend("qpu:uk")
    assert len(info.value.candidates) == 2


def test_unknown_name_suggests_close_matches(provider: MultiCloudProvider) -> None:
    with pytest.raises(BackendNotFoundError, match="did you mean") as info:
        provider.get_backend("qpu:uk:4:d865b5a184")
    assert "qpu:uk:2:d865b5a184" in info.value.candidates


def test_filters(provider: MultiCloudProvider) -> None:
    assert [b.name for b in provider.backends(online=False)] == ["qpu:uk:3:9829a5504f"]
    assert [b.name for b in provider.backends(min_qubits=4, online=True)] == ["qpu:uk:2:d865b5a184"]
    assert [b.name for b in provider.backends(vendor="oqc", name="qpu:jp")] == [
        "qpu:jp:3:673b1ad43c"
    ]
    with pytest.raises(ConfigurationError, match="no credentials"):
        provider.backends(vendor="iqm")


def test_retrieve_job_in_a_new_provider(provider: MultiCloudProvider, tmp_path: Path) -> None:
    backend = provider.get_backend("qpu:uk:2")
    qc = QuantumCircuit(2, 2)
    qc.x(0)
    qc.measure([0, 1], [0, 1])
    job = backend.run(qc, shots=8)
    again = MultiCloudProvider(job_store=tmp_path / "jobs.sqlite")
    listed = again.jobs(vendor="oqc")
    assert [r.job_id for r in listed] == [job.job_id()]
    retrieved = again.retrieve_job(job.job_id())
    # The fake vendor keeps jobs in the adapter instance, so use the same backend's adapter.
    retrieved._adapter = backend.adapter
    assert retrieved.result().get_counts() == {"01": 8}
    with pytest.raises(MultiCloudError, match="not in the local job store"):
        again.retrieve_job("nope")


def test_unknown_vendor_rejected() -> None:
    with pytest.raises(ConfigurationError, match="unknown vendor"):
        MultiCloudProvider(vendors=["ibm"])


def test_no_vendor_configured_explains_how(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "qiskit_multicloud.provider.resolve_settings", lambda key, explicit, account=None: None
    )
    with pytest.raises(BackendNotFoundError, match="emulated"):
        MultiCloudProvider(job_store=False).get_backend("anything")


def test_secret_never_shows() -> None:
    secret = Secret("tok-123")
    settings = FakeSettings(url="https://x", token=secret)
    for text in (str(secret), repr(secret), f"{secret}", repr(settings), str([secret])):
        assert "tok-123" not in text
    assert secret.reveal() == "tok-123"
    with pytest.raises(TypeError):
        __import__("pickle").dumps(secret)
