"""Qoro adapter against requests-mock: exact requests, parsing, errors, settings."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import requests_mock
from qiskit import QuantumCircuit
from qiskit.providers import JobStatus
from qiskit.quantum_info import SparsePauliOp

from qiskit_multicloud.config import Secret
from qiskit_multicloud.exceptions import (
    AuthenticationError,
    CircuitValidationError,
    ConfigurationError,
    MalformedResponseError,
    VendorAPIError,
)
from qiskit_multicloud.sweeps import STATS, SweepCircuits
from qiskit_multicloud.types import CircuitLayout
from qiskit_multicloud.vendors.qoro import histogram
from qiskit_multicloud.vendors.qoro.adapter import (
    MAX_FRAGMENT_BYTES,
    STATUS_MAP,
    QoroAdapter,
    fragments,
)
from qiskit_multicloud.vendors.qoro.settings import DEFAULT_URL, QoroSettings
from qiskit_multicloud.vendors.qoro.translate import (
    circuit_label,
    decode_ham_ops,
    encode_ham_ops,
)
from test.vendors.sweep_helpers import bound_points, parametrized_sweep

URL = "https://qoro.example/api"
KEY = "sk-qoro-very-secret-123"

QPU_SYSTEMS = [
    {
        "name": "qoro_ibm_fez",
        "access_level": "PUBLIC",
        "supports_expval": False,
        "qpus": [
            {
                "nickname": "ibm_fez",
                "q_bits": 156,
                "status": "ONLINE",
                "system_kind": "superconducting",
                "vendor_type": "ibm",
            },
            {
                "nickname": "ibm_small",
                "q_bits": 27,
                "status": "OFFLINE",
                "system_kind": "superconducting",
            },
        ],
    },
    {"name": "empty_system", "qpus": []},
]
CLUSTERS = [
    {
        "name": "qoro_maestro",
        "access_level": "PUBLIC",
        "minimum_tier": "FREE",
        "supports_expval": True,
    }
]


@pytest.fixture
def adapter() -> QoroAdapter:
    settings = QoroSettings.resolve(url=URL, api_key=KEY, simulator_qubits=20)
    assert settings is not None
    return QoroAdapter.from_settings(settings)


@pytest.fixture
def mock() -> Any:
    with requests_mock.Mocker() as m:
        m.get(f"{URL}/qpusystem/", json=QPU_SYSTEMS)
        m.get(f"{URL}/simulatorcluster/", json=CLUSTERS)
        yield m


def bell(measure: bool = True) -> QuantumCircuit:
    qc = QuantumCircuit(2, 2 if measure else 0, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    if measure:
        qc.measure([0, 1], [0, 1])
    return qc


def unpack(data: str) -> str:
    return gzip.decompress(base64.b64decode(data)).decode()


# -- discovery --------------------------------------------------------------------------


def test_list_devices_requests_and_specs(adapter: QoroAdapter, mock: Any) -> None:
    devices = {d.device_id: d for d in adapter.list_devices()}
    assert set(devices) == {"qoro_ibm_fez", "qoro_maestro"}  # system without QPUs skipped
    first = mock.request_history[0]
    assert first.method == "GET" and first.url == f"{URL}/qpusystem/"
    assert first.headers["Authorization"] == f"Bearer {KEY}"
    fez = devices["qoro_ibm_fez"]
    assert fez.n_qubits == 156 and fez.online and not fez.simulator
    assert fez.aliases == ("ibm_fez", "ibm_small")
    assert fez.gates["cx"] == {None: fez.gates["cx"][None]}  # all-to-all default
    assert "documented defaults" in fez.target_source
    assert fez.extra["supports_expval"] is False
    sim = devices["qoro_maestro"]
    assert sim.n_qubits == 20 and sim.simulator and sim.extra["kind"] == "simulator_cluster"


def test_offline_system(adapter: QoroAdapter, mock: Any) -> None:
    mock.get(
        f"{URL}/qpusystem/",
        json=[
            {
                "name": "s",
                "qpus": [
                    {"nickname": "a", "q_bits": 5, "status": "MAINTENANCE", "system_kind": "ion"}
                ],
            }
        ],
    )
    (spec, _) = adapter.list_devices()
    assert spec.online is False


@pytest.mark.parametrize(
    "systems",
    [
        {"not": "a list"},
        [{"qpus": []}],
        [{"name": "x", "qpus": [{"nickname": "a"}]}],
        [{"name": "x", "qpus": [{"q_bits": "five"}]}],
    ],
)
def test_malformed_discovery(adapter: QoroAdapter, mock: Any, systems: Any) -> None:
    mock.get(f"{URL}/qpusystem/", json=systems)
    with pytest.raises(MalformedResponseError):
        adapter.list_devices()


def test_html_error_page_is_not_dumped(adapter: QoroAdapter, mock: Any) -> None:
    mock.get(f"{URL}/qpusystem/", status_code=404, text="<html><body>" + "x" * 5000)
    with pytest.raises(VendorAPIError) as info:
        adapter.list_devices()
    assert len(str(info.value)) < 800


def test_401_is_authentication_error(adapter: QoroAdapter, mock: Any) -> None:
    mock.get(f"{URL}/qpusystem/", status_code=401, json={"detail": "Invalid token."})
    with pytest.raises(AuthenticationError) as info:
        adapter.list_devices()
    assert KEY not in str(info.value)


# -- submit -----------------------------------------------------------------------------


def test_build_payload_shape(adapter: QoroAdapter, mock: Any) -> None:
    sim = next(d for d in adapter.list_devices() if d.simulator)
    payload = adapter.build_payload(sim, [bell(), bell()], {"shots": 123, "tag": "t"})
    assert payload["init"] == {
        "tag": "t",
        "job_type": "EXECUTE",
        "use_packing": False,
        "simulator_cluster": "qoro_maestro",
    }
    (body,) = payload["fragments"]
    assert body["mode"] == "append" and body["finalized"] == "true" and body["shots"] == 123
    assert list(body["circuits"]) == ["0", "1"]
    assert unpack(body["circuits"]["0"]).startswith("OPENQASM 2.0;")
    qpu = next(d for d in adapter.list_devices() if not d.simulator)
    init = adapter.build_payload(qpu, [bell()], {"shots": 1})["init"]
    assert init["qpu_system_name"] == "qoro_ibm_fez" and "simulator_cluster" not in init


def test_fragments_stay_under_limit_and_only_last_finalizes() -> None:
    encoded = [(str(i), "A" * 300_000) for i in range(7)]
    bodies = fragments(encoded, {"mode": "append", "shots": 10})
    assert len(bodies) == 3
    assert [b["finalized"] for b in bodies] == ["false", "false", "true"]
    assert all(len(json.dumps(b)) <= MAX_FRAGMENT_BYTES for b in bodies)
    assert [k for b in bodies for k in b["circuits"]] == [str(i) for i in range(7)]
    with pytest.raises(CircuitValidationError, match="upload limit"):
        fragments([("0", "A" * MAX_FRAGMENT_BYTES)], {"mode": "append"})


def test_submit_sends_init_then_fragments(adapter: QoroAdapter, mock: Any) -> None:
    mock.post(f"{URL}/job/init/", status_code=201, json={"job_id": "abc-1", "status": "PENDING"})
    mock.post(f"{URL}/job/abc-1/add_circuits/", json={"status": "ok"})
    sim = next(d for d in adapter.list_devices() if d.simulator)
    payload = adapter.build_payload(sim, [bell()], {"shots": 10})
    assert adapter.submit(sim, payload, {"shots": 10}) == "abc-1"
    init, upload = mock.request_history[-2:]
    assert init.json()["job_type"] == "EXECUTE"
    assert upload.json() == payload["fragments"][0]
    assert upload.headers["Authorization"] == f"Bearer {KEY}"


def test_upload_refused_names_job_and_cancels(adapter: QoroAdapter, mock: Any) -> None:
    mock.post(f"{URL}/job/init/", status_code=201, json={"job_id": "abc-2"})
    mock.post(
        f"{URL}/job/abc-2/add_circuits/",
        status_code=400,
        json={"detail": "Circuit '0' is invalid QASM"},
    )
    cancel = mock.post(f"{URL}/job/abc-2/cancel/", json={"status": "CANCELLED"})
    sim = next(d for d in adapter.list_devices() if d.simulator)
    with pytest.raises(VendorAPIError, match=r"abc-2.*fragment 1 of 1.*cancelled") as info:
        adapter.submit(sim, adapter.build_payload(sim, [bell()], {"shots": 1}), {})
    assert info.value.status == 400 and cancel.called


def test_init_without_job_id_is_malformed(adapter: QoroAdapter, mock: Any) -> None:
    mock.post(f"{URL}/job/init/", status_code=201, json={"status": "PENDING"})
    sim = next(d for d in adapter.list_devices() if d.simulator)
    with pytest.raises(MalformedResponseError, match="job_id"):
        adapter.submit(sim, adapter.build_payload(sim, [bell()], {"shots": 1}), {})


def test_init_is_retried_on_502_but_uploads_are_not(adapter: QoroAdapter, mock: Any) -> None:
    init = mock.post(
        f"{URL}/job/init/",
        [{"status_code": 502, "json": {"detail": "bad gateway"}}, {"json": {"job_id": "j1"}}],
    )
    upload = mock.post(f"{URL}/job/j1/add_circuits/", status_code=502, json={"detail": "bad"})
    sim = next(d for d in adapter.list_devices() if d.simulator)
    with pytest.raises(VendorAPIError):
        adapter.submit(sim, adapter.build_payload(sim, [bell()], {"shots": 1}), {})
    assert init.call_count == 2  # an unfinalized job never runs: repeating init is harmless
    assert upload.call_count == 1  # the finalizing upload bills: never repeated blindly


# -- status, results, cancel ------------------------------------------------------------


def test_status_table_is_exhaustive() -> None:
    assert set(STATUS_MAP) == {
        "PENDING",
        "SCHEDULED",
        "RUNNING",
        "PAUSED",
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "INSUFFICIENT_CREDITS",
        "TIMED_OUT",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PENDING", JobStatus.QUEUED),
        ("SCHEDULED", JobStatus.QUEUED),
        ("RUNNING", JobStatus.RUNNING),
        ("PAUSED", JobStatus.QUEUED),
        ("COMPLETED", JobStatus.DONE),
        ("FAILED", JobStatus.ERROR),
        ("CANCELLED", JobStatus.CANCELLED),
        ("INSUFFICIENT_CREDITS", JobStatus.ERROR),
        ("TIMED_OUT", JobStatus.ERROR),
        ("SOMETHING_NEW", JobStatus.QUEUED),
    ],
)
def test_status(adapter: QoroAdapter, raw: str, expected: JobStatus) -> None:
    with requests_mock.Mocker() as m:
        m.get(f"{URL}/job/j1/status/", json={"status": raw, "job_id": "j1", "run_time": 0.0})
        status = adapter.status("j1")
    assert status.status is expected and status.raw == raw
    if raw == "INSUFFICIENT_CREDITS":
        assert status.message is not None and "insufficient credits" in status.message
    if raw == "TIMED_OUT":
        assert status.message is not None and "deadline" in status.message


def test_failed_status_passes_on_the_reason_the_reply_gives(adapter: QoroAdapter) -> None:
    with requests_mock.Mocker() as m:
        m.get(f"{URL}/job/j1/status/", json={"status": "FAILED", "job_id": "j1"})
        assert adapter.status("j1").message == "the Qoro Service reports the job FAILED"
        m.get(
            f"{URL}/job/j1/status/",
            json={"status": "FAILED", "job_id": "j1", "error": "unknown instruction: foo"},
        )
        message = adapter.status("j1").message
        assert message == "the Qoro Service reports the job FAILED: unknown instruction: foo"
        m.get(f"{URL}/job/j1/status/", json={"status": "RUNNING", "detail": "busy"})
        assert adapter.status("j1").message is None


def test_status_malformed(adapter: QoroAdapter) -> None:
    with requests_mock.Mocker() as m:
        m.get(f"{URL}/job/j1/status/", json={"state": "RUNNING"})
        with pytest.raises(MalformedResponseError, match="status"):
            adapter.status("j1")
        m.get(f"{URL}/job/j1/status/", text="not json")
        with pytest.raises(MalformedResponseError):
            adapter.status("j1")


def entry(label: str, counts: dict[str, int], n_bits: int) -> dict[str, Any]:
    return {"label": label, "results": histogram.envelope(counts, n_bits)}


def test_results_paginated_and_mapped_by_label(adapter: QoroAdapter) -> None:
    layouts = [CircuitLayout(f"c{i}", 2, 2, (("c", 2),)) for i in range(3)]
    with requests_mock.Mocker() as m:
        m.get(
            f"{URL}/job/j1/resultsV2/?limit=100&offset=0",
            json={
                "results": [entry("2", {"10": 4}, 2), entry("0", {"01": 4}, 2)],
                "next": f"{URL}/job/j1/resultsV2/?limit=100&offset=100",
            },
        )
        m.get(
            f"{URL}/job/j1/resultsV2/?limit=100&offset=100",
            json={"results": [entry("1", {"11": 3, "00": 1}, 2)], "next": None},
        )
        out = adapter.results("j1", layouts, {"shots": 4})
        assert [r.qs["offset"] for r in m.request_history] == [["0"], ["100"]]
    assert [o.counts for o in out] == [{"01": 4}, {"11": 3, "00": 1}, {"10": 4}]


def test_results_mapped_by_base62_label_in_any_order(adapter: QoroAdapter) -> None:
    """Labels are positions in base 62 ("Z" = 61, "10" = 62); entries come in any order."""
    count = 130
    layouts = [CircuitLayout(f"c{i}", 8, 8, (("c", 8),)) for i in range(count)]
    entries = [entry(circuit_label(i), {format(i, "08b"): 1}, 8) for i in range(count)]
    entries.sort(key=lambda e: e["label"])  # string order, as the emulator lists them
    with requests_mock.Mocker() as m:
        for offset in (0, 100):
            more = f"{URL}/job/j1/resultsV2/?limit=100&offset={offset + 100}"
            m.get(
                f"{URL}/job/j1/resultsV2/?limit=100&offset={offset}",
                json={"results": entries[offset : offset + 100],
                      "next": more if offset == 0 else None},
            )
        out = adapter.results("j1", layouts, {"shots": 1})
    assert [o.counts for o in out] == [{format(i, "08b"): 1} for i in range(count)]


@pytest.mark.parametrize(
    "page",
    [
        {"results": [{"label": "0"}], "next": None},
        {
            "results": [
                {"label": "0", "results": {"encoding": "zip", "n_bits": 2, "payload": "AA=="}}
            ],
            "next": None,
        },
        {
            "results": [
                {"label": "0", "results": {"encoding": "qh1", "n_bits": 2, "payload": "!!"}}
            ],
            "next": None,
        },
        {"results": [entry("0", {"1": 4}, 1)], "next": None},  # width mismatch
        {"results": [entry("7", {"01": 4}, 2)], "next": None},  # label missing
        {"items": []},
    ],
)
def test_results_malformed(adapter: QoroAdapter, page: Any) -> None:
    with requests_mock.Mocker() as m:
        m.get(f"{URL}/job/j1/resultsV2/", json=page)
        with pytest.raises(MalformedResponseError):
            adapter.results("j1", [CircuitLayout("c", 2, 2, (("c", 2),))], {})


def test_cancel_ok_403_409(adapter: QoroAdapter) -> None:
    with requests_mock.Mocker() as m:
        ok = m.post(
            f"{URL}/job/j1/cancel/",
            json={"status": "CANCELLED", "job_id": "j1", "circuits_cancelled": 3},
        )
        assert adapter.cancel("j1") is True
        assert ok.called and ok.last_request.headers["Authorization"] == f"Bearer {KEY}"
        m.post(f"{URL}/job/j2/cancel/", status_code=403, json={"detail": "Forbidden"})
        with pytest.raises(VendorAPIError, match="another account"):
            adapter.cancel("j2")
        m.post(f"{URL}/job/j3/cancel/", status_code=409, json={"detail": "not cancellable"})
        # Already terminal: a no-op returning False, as the base contract says.
        assert adapter.cancel("j3") is False
        m.post(f"{URL}/job/j4/cancel/", status_code=404, json={"detail": "Not found."})
        with pytest.raises(VendorAPIError) as info:
            adapter.cancel("j4")
        assert info.value.status == 404


def test_delete_has_no_trailing_slash(adapter: QoroAdapter) -> None:
    with requests_mock.Mocker() as m:
        m.delete(f"{URL}/job/j1", status_code=204)
        adapter.delete("j1")
        assert m.last_request.path == "/api/job/j1"


# -- expectation ------------------------------------------------------------------------


def test_estimate_payload_and_recombination(adapter: QoroAdapter, mock: Any) -> None:
    mock.post(f"{URL}/job/init/", status_code=201, json={"job_id": "e1"})
    upload = mock.post(f"{URL}/job/e1/add_circuits/", json={})
    sim = next(d for d in adapter.list_devices() if d.simulator)
    ref = adapter.estimate(sim, [bell(False)], SparsePauliOp(["IZ", "XX"], [2.0, 0.5]))
    assert mock.request_history[-2].json()["job_type"] == "EXPECTATION"
    body = upload.last_request.json()
    assert "shots" not in body and "circuit_ham_map" not in body
    assert decode_ham_ops(body["observables"]) == [["ZI", "XX"]]  # qubit 0 leftmost
    mock.get(
        f"{URL}/job/e1/resultsV2/",
        json={"results": [{"label": "0", "results": {"ZI": 0.25, "XX": 1.0}}], "next": None},
    )
    assert adapter.expectation_results(ref) == pytest.approx([2 * 0.25 + 0.5])


def test_ham_ops_wire_format() -> None:
    wire = encode_ham_ops([["ZIIZ", "IIII"]])
    assert wire.startswith("@gzs4:")
    assert gzip.decompress(base64.b64decode(wire[6:])).decode() == "Z0Z3;I"
    assert decode_ham_ops(wire) == [["ZIIZ", "IIII"]]


# -- histogram codec --------------------------------------------------------------------


def test_histogram_worked_example() -> None:
    blob = histogram.encode({"00": 1, "11": 3}, 2)
    assert blob.hex() == "51483102020402000304020101010101"
    assert histogram.decode(blob) == {"00": 1, "11": 3}


@pytest.mark.parametrize("n_bits", [1, 8, 70, 255, 256, 300])
def test_histogram_round_trip(n_bits: int) -> None:
    counts = {"0" * n_bits: 5, "1" + "0" * (n_bits - 1): 1, "1" * n_bits: 2}
    env = histogram.envelope(counts, n_bits)
    assert env["encoding"] == ("qh1" if n_bits <= 255 else "qh2")
    assert histogram.decode_envelope(env) == counts


@pytest.mark.parametrize("cut", [3, 6, 10, -1])
def test_histogram_rejects_corruption(cut: int) -> None:
    blob = histogram.encode({"0001": 3, "0110": 1, "1111": 9}, 4)
    with pytest.raises(histogram.HistogramError):
        histogram.decode(blob[:cut])
    with pytest.raises(histogram.HistogramError):
        histogram.decode(blob, expected_bits=5)


# -- settings ---------------------------------------------------------------------------


def test_settings_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "project" / "sub"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    assert QoroSettings.resolve() is None
    monkeypatch.setenv("QORO_API_KEY", "from-env")
    resolved = QoroSettings.resolve()
    assert resolved is not None and resolved.source == "environment"
    assert resolved.url == DEFAULT_URL and resolved.api_key == Secret("from-env")
    (tmp_path / "project" / ".env").write_text('QORO_API_KEY="from-dotenv"\n')
    resolved = QoroSettings.resolve()  # .env (found walking up) beats the environment
    assert resolved is not None and resolved.api_key == Secret("from-dotenv")
    assert resolved.source.endswith(".env")
    resolved = QoroSettings.resolve(api_key="explicit", url="http://127.0.0.1:9/api/")
    assert resolved is not None and resolved.api_key == Secret("explicit")
    assert resolved.url == "http://127.0.0.1:9/api" and resolved.source == "arguments"


def test_settings_half_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QORO_URL", "https://qoro.example/api")
    with pytest.raises(ConfigurationError, match="no API key"):
        QoroSettings.resolve()
    with pytest.raises(ConfigurationError, match="unknown"):
        QoroSettings.resolve(api_key="k", password="x")
    with pytest.raises(ConfigurationError):
        QoroSettings.resolve(api_key="k", url="ftp://x")


def test_secret_never_shown(adapter: QoroAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    from qiskit_multicloud import MultiCloudProvider

    settings = adapter.settings
    provider = MultiCloudProvider(credentials={"qoro": settings}, vendors=["qoro"], job_store=False)
    for text in (
        repr(settings),
        str(settings),
        repr(adapter),
        repr(adapter.transport),
        repr(provider),
        repr(provider.adapters),
        f"{settings}",
    ):
        assert KEY not in text


def test_sweep_uploads_the_template_of_the_bound_circuits(adapter: QoroAdapter, mock: Any) -> None:
    sim = next(d for d in adapter.list_devices() if d.simulator)
    sweep = parametrized_sweep(["rz", "sx", "x", "cz"], points=6)
    STATS.clear()
    payload = adapter.build_payload(sim, SweepCircuits([sweep]), {"shots": 10})
    # a constant number of points is bound, not one per point: the structure, the literal
    # angles and three points whose bound size is compared with the template's
    assert STATS["bound"] <= 5
    assert payload == adapter.build_payload(sim, bound_points(sweep), {"shots": 10})
    assert "circuit_template" in payload["fragments"][0]
    mock.post(f"{URL}/job/init/", status_code=201, json={"job_id": "sw-1"})
    mock.post(f"{URL}/job/sw-1/add_circuits/", json={"status": "ok"})
    assert adapter.submit(sim, payload, {"shots": 10}) == "sw-1"
    assert mock.request_history[-1].json() == payload["fragments"][-1]
