"""Discovery across vendors: concurrent, bounded by discovery_timeout, one failure per vendor
reported once and remembered until refresh(), misconfigured vendors skipped."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from qiskit_multicloud import MultiCloudProvider, cli
from qiskit_multicloud.exceptions import (
    BackendNotFoundError,
    ConfigurationError,
    VendorConnectionError,
    VendorUnavailableWarning,
)


@pytest.fixture
def frozen_url() -> Iterator[str]:
    """A server on 127.0.0.1 that accepts connections (kernel backlog) and never answers."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()  # pending connections are reset, so stuck workers end


@pytest.fixture
def oqc_settings(emulator_factory: Any) -> Any:
    return emulator_factory("oqc").settings()


def frozen_iqm(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("IQM_SERVER_URL", url)
    monkeypatch.setenv("IQM_TOKEN", "iqm-token")


def test_frozen_vendor_is_skipped_once_and_remembered(
    monkeypatch: pytest.MonkeyPatch, frozen_url: str, oqc_settings: Any
) -> None:
    frozen_iqm(monkeypatch, frozen_url)
    provider = MultiCloudProvider({"oqc": oqc_settings}, vendors=["oqc", "iqm"])
    provider.backends(vendor="oqc")  # listed first, so a loaded machine cannot make it late
    provider.discovery_timeout = 0.2
    started = time.monotonic()
    with pytest.warns(VendorUnavailableWarning, match="iqm skipped") as caught:
        found = provider.backends()
    assert time.monotonic() - started < 5  # far below the transport's own timeouts
    assert {b.vendor for b in found} == {"oqc"}
    assert len(caught) == 1 and caught[0].message.vendor == "iqm"  # type: ignore[union-attr]
    assert "discovery timeout of 0.2s" in str(caught[0].message)
    # The worker's request ran under bounded(discovery_timeout): it ends too, not hanging
    # on the frozen socket until the transport's own read timeout.
    workers = [t for t in threading.enumerate() if t.name == "qiskit-multicloud-discover-iqm"]
    for worker in workers:
        worker.join(timeout=5)
        assert not worker.is_alive()

    listings: list[str] = []
    original = provider._list_devices
    monkeypatch.setattr(
        provider, "_list_devices", lambda key, future: (listings.append(key), original(key, future))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # remembered: no second warning, no second wait
        assert provider.get_backend("qpu:uk:2").vendor == "oqc"
        assert len(provider.backends()) == len(found)
    assert listings == []  # nobody was contacted again
    assert isinstance(provider.unavailable["iqm"], VendorConnectionError)
    with pytest.raises(VendorConnectionError, match="discovery timeout"):
        provider.backends(vendor="iqm")
    with pytest.raises(BackendNotFoundError, match="iqm is unavailable"):
        provider.get_backend("emerald")

    provider.refresh()  # tries iqm again
    with pytest.warns(VendorUnavailableWarning, match="iqm skipped"):
        provider.backends(vendor="oqc")
        provider.backends()
    assert sorted(listings) == ["iqm", "oqc"]
    provider.close()


def test_malformed_url_skips_only_that_vendor(
    monkeypatch: pytest.MonkeyPatch, oqc_settings: Any
) -> None:
    frozen_iqm(monkeypatch, "garbage")
    provider = MultiCloudProvider({"oqc": oqc_settings})
    assert provider.vendors == ("oqc",)
    with pytest.warns(VendorUnavailableWarning, match="iqm skipped: iqm: url 'garbage'"):
        assert provider.get_backend("qpu:uk:2").vendor == "oqc"
    assert isinstance(provider.unavailable["iqm"], ConfigurationError)
    with pytest.raises(ConfigurationError, match="not an http"):
        provider.get_backend("emerald", vendor="iqm")
    provider.close()


def test_only_vendor_misconfigured_explains_why(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen_iqm(monkeypatch, "garbage")
    with pytest.raises(BackendNotFoundError, match=r"no vendor is configured.*iqm: iqm: url"):
        MultiCloudProvider(job_store=False).get_backend("emerald")


def test_unknown_vendor_is_named_as_such(oqc_settings: Any) -> None:
    provider = MultiCloudProvider({"oqc": oqc_settings}, vendors=["oqc"])
    for call in (
        lambda: provider.get_backend("qpu:uk:2", vendor="ibm"),
        lambda: provider.backends(vendor="IBM"),
    ):
        with pytest.raises(ConfigurationError, match=r"unknown vendor '(ibm|IBM)'; known: oqc, "):
            call()
    with pytest.raises(ConfigurationError, match="not among this provider's vendors"):
        provider.backends(vendor="iqm")
    with pytest.raises(ConfigurationError, match=r"no credentials configured.*login iqm"):
        MultiCloudProvider({"oqc": oqc_settings}).backends(vendor="iqm")
    with pytest.raises(ConfigurationError, match="discovery_timeout"):
        MultiCloudProvider(discovery_timeout=0)


def test_cli_reports_the_frozen_vendor_in_one_warning_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    frozen_url: str,
    emulator_factory: Any,
) -> None:
    emulator = emulator_factory("oqc")
    # A spec restricts the provider to its vendors; name both, the frozen one too.
    monkeypatch.setenv(
        cli.EMULATORS_ENV, f"oqc={emulator.url},{emulator.token};iqm={frozen_url},tok"
    )
    code = cli.main(["backends", "--discovery-timeout", "0.5"])
    out, err = capsys.readouterr()
    assert code == 0 and "qpu:uk:2" in out
    assert err.count("\n") == 1 and err.startswith("warning: iqm skipped: ")


@pytest.mark.parametrize(
    ("name", "suggested"),
    [("emerld", "emerald-20"), ("qpu:uk:9", "qpu:uk:2:d865b5a184"), ("sirus", "sirius-6")],
)
def test_suggestions_rank_by_similarity(
    name: str, suggested: str, emulator_factory: Any
) -> None:
    provider = MultiCloudProvider(
        {v: emulator_factory(v).settings() for v in ("oqc", "oqtopus", "iqm")}
    )
    with pytest.raises(BackendNotFoundError, match="did you mean") as info:
        provider.get_backend(name)
    assert info.value.candidates[0] == suggested


def test_no_far_fetched_suggestion(emulator_factory: Any) -> None:
    provider = MultiCloudProvider({"oqtopus": emulator_factory("oqtopus").settings()})
    with pytest.raises(BackendNotFoundError) as info:
        provider.get_backend("nonexistent")
    assert info.value.candidates == ()
    assert "anemone" in str(info.value) and "available:" in str(info.value)
