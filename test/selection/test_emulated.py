"""least_busy, rank_backends and compare end to end against the vendor emulators."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.emulators.faults import FaultConfig
from qiskit_multicloud.emulators.jobs import ManualClock
from qiskit_multicloud.exceptions import BackendNotFoundError
from qiskit_multicloud.selection import DeviceRun, ideal_distribution, order_by_queue
from test.conftest import FAST
from test.selection.test_estimate_ranking import scaled


def bell(name: str = "bell") -> QuantumCircuit:
    qc = QuantumCircuit(2, name=name)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


@pytest.fixture
def held() -> Iterator[tuple[MultiCloudProvider, ManualClock]]:
    """Emulators whose jobs stay queued until the test moves the clock."""
    clock = ManualClock()
    provider = MultiCloudProvider.emulated(
        ["oqc", "oqtopus", "iqm", "qilimanjaro", "qoro"], queue_delay=100.0, clock=clock,
        job_store=False, noise=False,
    )
    yield provider, clock
    provider.close()


BUSY = {
    "oqc": "qpu:uk:3:9829a5504f",
    "oqtopus": "anemone",
    "iqm": "sirius-6",
    "qilimanjaro": "radagast",
}


@pytest.mark.parametrize("vendor", sorted(BUSY))
def test_queued_jobs_show_in_each_vendors_queue_information(
    held: tuple[MultiCloudProvider, ManualClock], vendor: str
) -> None:
    provider, clock = held
    backend = provider.get_backend(BUSY[vendor], vendor=vendor)
    assert backend.queue_info().pending_jobs == 0
    isa = transpile(bell(), backend, seed_transpiler=1)
    for _ in range(2):
        backend.run(isa, shots=10, **FAST)
    info = backend.queue_info()
    assert info.pending_jobs == 2, info
    assert backend.queue_length == 2
    clock.advance(1000)
    assert backend.queue_info().pending_jobs == 0


def test_qoro_publishes_no_queue_and_ranks_after_devices_that_do(
    held: tuple[MultiCloudProvider, ManualClock],
) -> None:
    provider, _ = held
    ordered = order_by_queue(provider.candidates())
    vendors = [backend.vendor for backend, _ in ordered]
    assert "qoro" in vendors and set(vendors[vendors.index("qoro"):]) == {"qoro"}
    assert all(info.known for backend, info in ordered if backend.vendor != "qoro")


@pytest.mark.parametrize(("vendor", "busy"), [("oqtopus", "anemone"), ("iqm", "emerald-20")])
def test_a_device_made_busy_by_queued_jobs_is_not_least_busy(
    held: tuple[MultiCloudProvider, ManualClock], vendor: str, busy: str
) -> None:
    provider, _ = held
    device = provider.get_backend(busy, vendor=vendor)
    isa = transpile(bell(), device, seed_transpiler=1)
    for _ in range(3):
        device.run(isa, shots=10, **FAST)
    chosen = provider.least_busy(vendor=vendor)
    assert chosen.name != busy and chosen.vendor == vendor
    assert chosen.queue_info().pending_jobs == 0
    # with every other candidate filtered out, the busy one is what is left
    assert provider.least_busy(vendor=vendor, filters=lambda b: b.name == busy) is device


def test_least_busy_filters_like_qiskit_runtime(
    held: tuple[MultiCloudProvider, ManualClock],
) -> None:
    provider, _ = held
    assert provider.least_busy(min_qubits=100, vendor="oqtopus").name == "kawasaki150"
    assert provider.least_busy(vendor="oqtopus", simulator=True).name == "qulacs"
    assert not provider.least_busy().simulator
    assert provider.least_busy(vendor=["iqm", "qoro"]).vendor == "iqm"  # qoro: no queue info
    with pytest.raises(BackendNotFoundError, match="no online backend"):
        provider.least_busy(min_qubits=10_000)


def test_rank_backends_across_vendors_with_emulator_device_data() -> None:
    with MultiCloudProvider.emulated(
        ["oqtopus", "qilimanjaro"], job_store=False, noise=False
    ) as provider:
        anemone = provider.get_backend("anemone")
        worse = type(anemone)(anemone.adapter, scaled(anemone.device, 4.0, "anemone-worse"))
        ranking = provider.rank_backends(
            bell(), backends=[worse, anemone, "radagast"], seed_transpiler=5
        )
        names = [entry.backend.name for entry in ranking]
        assert names.index("anemone") < names.index("anemone-worse")
        auto = provider.rank_backends(bell(), seed_transpiler=5)
        assert {e.backend.name for e in auto} == {"anemone", "kawasaki150", "radagast"}
        assert all(not e.backend.simulator for e in auto)
        with_sims = provider.rank_backends(bell(), simulators=True, vendors="oqtopus")
        assert with_sims[0].backend.name == "qulacs" and with_sims[0].estimate == 1.0
        assert "durations of some operations" in ranking[0].missing or ranking[0].missing == ()
        assert dataclasses.is_dataclass(ranking[0])


def test_compare_reports_failed_timed_out_and_unsubmitted_devices_and_keeps_the_rest(
    tmp_path: object,
) -> None:
    circuit = bell("emulator:fail")  # the Qilimanjaro emulator fails jobs of this name
    with MultiCloudProvider.emulated(job_store=tmp_path / "jobs.sqlite", noise=False) as provider:  # type: ignore[operator]
        qoro = next(handle for handle in provider.emulators if handle.vendor == "qoro")
        qoro.faults.configure(FaultConfig(error_rate=1.0, error_statuses=(503,), methods=("POST",)))
        seen: list[tuple[str, str]] = []
        comparison = provider.compare(
            circuit,
            ["anemone", "sirius-6", "radagast", "galadriel", "qoro_emulated_qpu"],
            shots=200,
            timeout=0.2,
            run_options={**FAST, "allow_offline": True},  # galadriel is in maintenance
            seed_transpiler=3,
            progress=lambda run: seen.append((run.name, run.status)),
        )
        status = {run.backend.name: run.status for run in comparison.runs}
        assert status == {
            "anemone": "DONE",
            "sirius-6": "DONE",
            "radagast": "ERROR",
            "galadriel": "TIMEOUT",  # in maintenance: its job stays queued
            "qoro_emulated_qpu": "ERROR",
        }
        assert "emulated failure" in str(comparison["radagast"].error)
        assert "not submitted" in str(comparison["qoro_emulated_qpu"].error)
        assert comparison["galadriel"].vendor_job_ids
        for run in comparison.succeeded:
            assert sum((run.counts or {}).values()) == 200
            assert run.fidelity is not None and run.fidelity > 0.8
            assert run.tvd is not None and 0 <= run.tvd < 0.3
            assert run.estimate is not None and 0 < run.estimate.probability < 1
            assert run.vendor_job_ids and run.queue_seconds is not None
        recorded = {record.backend for record in provider.jobs()}
        assert {"anemone", "sirius-6", "radagast", "galadriel"} <= recorded
        assert ("iqm:sirius-6", "DONE") in seen and ("qilimanjaro:galadriel", "TIMEOUT") in seen
        table = comparison.table()
        for word in ("TIMEOUT", "emulated failure", "ideal (statevector)",
                     comparison["anemone"].vendor_job_ids[0]):
            assert word in table


def multi_register_circuit() -> QuantumCircuit:
    q = QuantumRegister(2, "q")
    a, b = ClassicalRegister(1, "a"), ClassicalRegister(2, "b")
    qc = QuantumCircuit(q, a, b, name="asym")
    qc.x(0)
    qc.measure(0, b[1])
    qc.measure(1, a[0])
    return qc


def test_ideal_distribution_uses_qiskit_bit_order_across_registers() -> None:
    assert ideal_distribution(multi_register_circuit()) == {"100": 1.0}
    assert ideal_distribution(bell()) == pytest.approx({"00": 0.5, "11": 0.5})
    mid = QuantumCircuit(1, 1)
    mid.measure(0, 0)
    mid.x(0)
    mid.measure(0, 0)
    assert ideal_distribution(mid) is None
    assert ideal_distribution(bell(), max_qubits=1) is None


def test_compare_on_ideal_simulators_matches_exactly_and_falls_back_to_pairwise() -> None:
    with MultiCloudProvider.emulated(
        ["oqtopus", "qoro", "qilimanjaro"], job_store=False, noise=False
    ) as p:
        sims = ["qulacs", "qoro_maestro", "qibo_simulator"]
        comparison = p.compare(multi_register_circuit(), sims, shots=50, run_options=FAST)
        for run in comparison.runs:
            assert run.counts == {"100": 50}, run
            assert run.fidelity == pytest.approx(1.0) and run.tvd == pytest.approx(0.0)
            assert run.estimate is not None and run.estimate.probability == 1.0
        pairwise = p.compare(bell(), sims[:2], shots=400, run_options=FAST, max_ideal_qubits=1)
        assert pairwise.ideal is None and "other devices" in pairwise.reference
        value = pairwise.pairwise[("oqtopus:qulacs", "qoro:qoro_maestro")]
        assert pairwise.runs[0].fidelity == pytest.approx(value) and value > 0.95
        assert pairwise.runs[0].tvd is None


def test_compare_plot_draws_histograms_and_fidelity_bars(tmp_path: object) -> None:
    pytest.importorskip("matplotlib")
    with MultiCloudProvider.emulated(["oqtopus"], job_store=False, noise=False) as provider:
        comparison = provider.compare(bell(), ["qulacs", "anemone"], shots=100, run_options=FAST)
    comparison.runs.append(DeviceRun(comparison.runs[0].backend, None, None, status="ERROR",
                                     error="not submitted: test"))
    path = tmp_path / "compare.png"  # type: ignore[operator]
    figure = comparison.plot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    hist, bars = figure.axes
    assert [t.get_text() for t in hist.get_xticklabels()] == ["00", "11"]
    assert len(bars.get_xticklabels()) == 3
    assert any(text.get_text() == "ERROR" for text in bars.texts)


def test_with_emulator_noise_the_estimate_orders_devices_as_measured() -> None:
    """On noisy emulators, the device with the clearly lower estimate also measures lower."""
    ghz = QuantumCircuit(5, name="ghz5")
    ghz.h(0)
    for qubit in range(4):
        ghz.cx(qubit, qubit + 1)
    ghz.measure_all()
    with MultiCloudProvider.emulated(["iqm"], job_store=False, noise=True, seed=7) as provider:
        comparison = provider.compare(
            ghz, ["sirius-6", "crystal-150"], shots=2000, seed_transpiler=7, run_options=FAST
        )
    weak, strong = comparison["sirius-6"], comparison["crystal-150"]
    assert weak.estimate is not None and strong.estimate is not None
    assert weak.estimate.probability + 0.05 < strong.estimate.probability
    assert weak.fidelity is not None and strong.fidelity is not None
    assert weak.fidelity < strong.fidelity < 0.99  # noisy, and in the estimated order
