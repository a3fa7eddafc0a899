"""An in-memory vendor used to test the shared core without HTTP."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from typing import Any, Self

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus

from qiskit_multicloud.backend import MultiCloudBackend
from qiskit_multicloud.config import Secret, VendorSettings
from qiskit_multicloud.emulators.simulator import Simulator
from qiskit_multicloud.options import OptionSpec
from qiskit_multicloud.transport import Transport
from qiskit_multicloud.types import (
    CircuitCounts,
    CircuitLayout,
    DeviceSpec,
    InstructionProps,
    VendorJobStatus,
    uniform_gates,
)
from qiskit_multicloud.vendors.base import RunOptions, VendorAdapter


@dataclasses.dataclass(frozen=True, repr=False)
class FakeSettings(VendorSettings):
    token: Secret | None = None

    @classmethod
    def resolve(cls, **explicit: Any) -> Self | None:
        return cls(url="http://127.0.0.1:1", token=Secret("fake-secret-token"))


def fake_device(device_id: str = "fake:line:5", n: int = 5, **kw: Any) -> DeviceSpec:
    edges = [(i, i + 1) for i in range(n - 1)]
    gates = uniform_gates(
        n,
        ["rz", "sx", "x"],
        ["cz"],
        edges=edges,
        one_qubit_props={q: InstructionProps(1e-3, 3e-8) for q in range(n)},
        two_qubit_props={e: InstructionProps(1e-2, 2e-7) for e in edges},
        measure_props={q: InstructionProps(2e-2, 1e-6) for q in range(n)},
    )
    return DeviceSpec(
        vendor="fake",
        device_id=device_id,
        n_qubits=n,
        gates=gates,
        t1={q: 1e-4 for q in range(n)},
        t2={q: 5e-5 for q in range(n)},
        **kw,
    )


class FakeAdapter(VendorAdapter):
    vendor = "fake"
    display_name = "Fake Cloud"
    settings_class = FakeSettings
    status_map = {
        "Q": JobStatus.QUEUED,
        "R": JobStatus.RUNNING,
        "D": JobStatus.DONE,
        "F": JobStatus.ERROR,
        "C": JobStatus.CANCELLED,
    }
    run_options = (OptionSpec("fancy", "a", "a vendor option", (str,), choices=("a", "b")),)

    def __init__(self, devices: Sequence[DeviceSpec] = (), polls_until_done: int = 2) -> None:
        super().__init__(FakeSettings.resolve(), Transport("fake", "http://127.0.0.1:1"))  # type: ignore[arg-type]
        self.devices = list(devices) or [fake_device()]
        self.polls_until_done = polls_until_done
        self.jobs: dict[str, dict[str, Any]] = {}
        self.submitted: list[Any] = []
        self.sim = Simulator(seed=11)
        self.lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: VendorSettings) -> FakeAdapter:
        return cls()

    def list_devices(self) -> list[DeviceSpec]:
        return list(self.devices)

    def build_payload(
        self, device: DeviceSpec, circuits: Sequence[QuantumCircuit], options: RunOptions
    ) -> Any:
        return {"circuits": list(circuits), "shots": options["shots"]}

    def submit(self, device: DeviceSpec, payload: Any, options: RunOptions) -> str:
        with self.lock:
            job_id = f"job-{len(self.jobs)}"
            self.submitted.append(payload)
            self.jobs[job_id] = {"payload": payload, "polls": 0, "status": "Q"}
        return job_id

    def status(self, job_ref: str) -> VendorJobStatus:
        job = self.jobs[job_ref]
        job["polls"] += 1
        if job["status"] == "Q" and job["polls"] >= self.polls_until_done:
            job["status"] = "D"
        return VendorJobStatus(self.status_map[job["status"]], job["status"], queue_position=1)

    def results(
        self, job_ref: str, layouts: Sequence[CircuitLayout], options: RunOptions
    ) -> list[CircuitCounts]:
        payload = self.jobs[job_ref]["payload"]
        outcomes = self.sim.run(payload["circuits"], payload["shots"])
        return [CircuitCounts(counts=o.counts) for o in outcomes]

    def cancel(self, job_ref: str) -> bool:
        if self.jobs[job_ref]["status"] in ("D", "E", "C"):
            return False
        self.jobs[job_ref]["status"] = "C"
        return True


class FakeBackend(MultiCloudBackend):
    vendor_options = FakeAdapter.run_options
