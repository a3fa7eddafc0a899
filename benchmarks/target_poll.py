"""(d) Target construction for 150-qubit devices; (e) polling cost for long jobs (fake clock)."""

from __future__ import annotations

import functools
import types
from typing import Any

from common import EmulatorProcess, best_of, request_delta, table
from qiskit.providers import JobStatus

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.emulators import settings_for
from qiskit_multicloud.job import MultiCloudJob
from qiskit_multicloud.options import BASE_OPTIONS
from qiskit_multicloud.target import build_target
from qiskit_multicloud.types import CircuitLayout, VendorJobStatus

BIG_DEVICES = {"oqtopus": "kawasaki150", "iqm": "crystal-150"}


def target_run(vendors: tuple[str, ...] = tuple(BIG_DEVICES), repeat: int = 5) -> dict[str, Any]:
    """Device fetch (HTTP, emulator in another process) and ``build_target`` time."""
    out: dict[str, Any] = {}
    for vendor in vendors:
        name = BIG_DEVICES[vendor]
        with EmulatorProcess.start(vendor) as emu:
            provider = MultiCloudProvider(
                {vendor: settings_for(vendor, emu.url, emu.token)}, vendors=[vendor],
                job_store=False,
            )
            adapter = provider.adapters[vendor]
            adapter.list_devices()  # warm-up: connection, auth
            before = emu.stats()
            t_list, devices = best_of(adapter.list_devices, 1)
            delta = request_delta(before, emu.stats())
            device = next(d for d in devices if d.device_id == name)
            before = emu.stats()
            t_refresh, _ = best_of(functools.partial(adapter.refresh_device, device), 1)
            refresh_requests = request_delta(before, emu.stats())["requests"]
            t_target, target = best_of(functools.partial(build_target, device), repeat)
            provider.close()
        out[vendor] = {
            "device": name,
            "qubits": device.n_qubits,
            "devices_listed": len(devices),
            "list_devices_s": t_list,
            "list_devices_requests": delta["requests"],
            "refresh_device_s": t_refresh,
            "refresh_device_requests": refresh_requests,
            "build_target_s": t_target,
            "target_instructions": len(list(target.instructions)),
        }
    return out


# -- (e) polling ----------------------------------------------------------------------------


class _FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class _FakeAdapter:
    """Answers ``status`` QUEUED/RUNNING until the fake clock passes ``done_at``."""

    vendor = "fake"
    display_name = "Fake"

    def __init__(self, clock: _FakeClock, done_at: float) -> None:
        self.clock = clock
        self.done_at = done_at
        self.calls = 0

    def status(self, job_ref: str) -> VendorJobStatus:
        self.calls += 1
        if self.clock.now >= self.done_at:
            return VendorJobStatus(JobStatus.DONE, "COMPLETED")
        if self.clock.now < self.done_at / 2:
            return VendorJobStatus(JobStatus.QUEUED, "QUEUED")
        return VendorJobStatus(JobStatus.RUNNING, "RUNNING")


def simulate(duration: float, options: dict[str, Any] | None = None) -> dict[str, float]:
    """Drive ``MultiCloudJob.wait_for_final_state`` for a job that is DONE at ``duration``."""
    clock = _FakeClock()
    adapter = _FakeAdapter(clock, duration)
    backend = types.SimpleNamespace(adapter=adapter, name="fake", job_store=None)
    resolved = {spec.name: spec.default for spec in BASE_OPTIONS} | dict(options or {})
    layout = CircuitLayout("c", 1, 1, (("c", 1),))
    job = MultiCloudJob(
        backend, ["ref"], [1], [layout], resolved,
        sleep=clock.sleep, clock=clock.time,
    )
    job.wait_for_final_state()
    late = clock.now - duration
    return {
        "duration_s": duration,
        "requests": adapter.calls,
        "late_s": late,
        "late_pct": 100 * late / duration if duration else 0.0,
    }


def worst_case(low: float, high: float, steps: int = 400) -> dict[str, Any]:
    """Worst lateness (% of duration) and most requests for durations in [low, high]."""
    runs = [simulate(low + (high - low) * i / steps) for i in range(steps + 1)]
    return {
        "range": f"{low:g}-{high:g} s",
        "max_requests": max(r["requests"] for r in runs),
        "max_late_pct": max(r["late_pct"] for r in runs),
        "max_late_s": max(r["late_s"] for r in runs),
    }


def poll_run(durations: tuple[float, ...] = (1, 10, 60, 300, 3600)) -> dict[str, Any]:
    """Requests and lateness per job duration, plus worst cases around 60 s."""
    return {
        "by_duration": [simulate(d) for d in durations],
        "worst_case": [worst_case(30, 120), worst_case(55, 65), worst_case(300, 3600)],
        "defaults": {
            spec.name: spec.default
            for spec in BASE_OPTIONS
            if spec.name in ("poll_interval", "max_poll_interval")
        },
    }


def markdown(target: dict[str, Any], poll: dict[str, Any]) -> str:
    """Tables for (d) and (e)."""
    text = ""
    if target:
        text += "Target construction (emulator in a separate process)\n\n" + table(
            ["vendor", "device", "qubits", "list_devices s (requests)",
             "refresh_device s (requests)", "build_target ms", "Target instructions"],
            [
                [v, r["device"], r["qubits"],
                 f"{r['list_devices_s']:.3f} ({r['list_devices_requests']}, "
                 f"{r['devices_listed']} devices)",
                 f"{r['refresh_device_s']:.3f} ({r['refresh_device_requests']})",
                 f"{r['build_target_s'] * 1e3:.1f}", r["target_instructions"]]
                for v, r in target.items()
            ],
        )
    if poll:
        text += "\n\nPolling a job that finishes at T (fake clock; defaults " + ", ".join(
            f"{k}={v}" for k, v in poll["defaults"].items()
        ) + ")\n\n" + table(
            ["T s", "status requests", "returned late s", "late %"],
            [[f"{r['duration_s']:g}", r["requests"], f"{r['late_s']:.2f}",
              f"{r['late_pct']:.1f}"] for r in poll["by_duration"]],
        )
        text += "\n\nWorst case over durations in a range\n\n" + table(
            ["T range", "max requests", "max late %", "max late s"],
            [[r["range"], r["max_requests"], f"{r['max_late_pct']:.1f}",
              f"{r['max_late_s']:.2f}"] for r in poll["worst_case"]],
        )
    return text
