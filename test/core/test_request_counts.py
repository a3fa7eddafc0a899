"""The critical path's requests, per vendor, pinned end to end against each emulator.

``get_backend`` + transpile + ``run`` (2 circuits) + ``result`` must send exactly these
requests (emulator request stats by route): no request whose answer is already known
(e.g. a status answer that carries the results is not followed by a second read).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from qiskit import QuantumCircuit, transpile

from qiskit_multicloud import MultiCloudProvider

from ..conftest import FAST

DEVICES = {
    "oqc": "qpu:uk:2:d865b5a184",
    "oqtopus": "qulacs",
    "iqm": "emerald-20",
    "qoro": "qoro_maestro",
    "qilimanjaro": "qibo_simulator",
}

#: Requests to discover devices and build the Target (get_backend + transpile).
DISCOVERY = {
    "oqc": {"GET version": 1, "GET qpu_list": 1},
    "oqtopus": {"GET list_devices": 1, "GET storage_download": 2},
    "iqm": {"GET list_qcs": 1, "GET get_dqa": 1, "GET get_calibration_set": 1,
            "GET get_metrics": 1},
    "qoro": {"GET qpu_systems": 1, "GET simulator_clusters": 1},
    "qilimanjaro": {"POST login": 1, "GET list_devices": 2},
}

#: Requests of run() + result() for 2 circuits finished at the first status poll.
RUN = {
    # One task per circuit; all_info carries each finished task's results.
    "oqc": {"POST tasks_reserve": 1, "POST tasks_submit": 1, "GET task_view": 2},
    # One job per circuit: register, upload, submit, the full job as the status poll (it
    # names the result archive, so it is not read again), the result archive.
    "oqtopus": {"POST register_job": 2, "POST storage_upload": 2, "POST submit_job": 2,
                "GET get_job": 2, "GET storage_download": 2},
    # The submit answer is the job record: the emulator's job (no queue) is already
    # completed in it, so no status poll is sent (IQM's own client does not poll either).
    "iqm": {"POST submit": 1, "GET get_counts": 1},
    "qoro": {"POST job_init": 1, "POST add_circuits": 1, "GET job_status": 1,
             "GET job_results": 1},
    # The DONE job record the status poll read carries the results: read once.
    "qilimanjaro": {"POST create_job": 1, "GET get_job": 1},
}


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2, name="bell")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


@pytest.mark.parametrize("memory", [False, True], ids=["counts", "memory"])
@pytest.mark.parametrize("vendor", list(DEVICES))
def test_critical_path_requests(
    vendor: str, memory: bool, emulator_factory: Any, tmp_path: Path
) -> None:
    emu = emulator_factory(vendor, seed=3)
    provider = MultiCloudProvider(
        {vendor: emu.settings()}, vendors=[vendor], job_store=tmp_path / "jobs.sqlite"
    )
    try:
        backend = provider.get_backend(DEVICES[vendor], vendor=vendor)
        native = transpile(bell(), backend, optimization_level=1, seed_transpiler=1)
        discovered = dict(emu.stats.snapshot()["by_route"])
        job = backend.run([native, native.copy(name="bell2")], shots=50, memory=memory, **FAST)
        result = job.result()
        ran = _delta(emu.stats.snapshot()["by_route"], discovered)
    finally:
        provider.close()
    assert discovered == DISCOVERY[vendor]
    if memory and vendor == "iqm":  # per-shot measurements instead of the histogram
        expected = {**RUN[vendor], "GET get_counts": 0, "GET get_measurements": 1}
        expected = {k: v for k, v in expected.items() if v}
    else:
        expected = RUN[vendor]
    assert ran == expected
    assert job.poll_count == len(job.chunk_refs)
    for counts in result.get_counts():
        assert sum(counts.values()) == 50
    if memory:
        assert len(result.get_memory(0)) == 50
