"""(b) 100 Bell circuits: our provider vs each vendor's own SDK; (c) a 1000-circuit run()."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from common import BENCH, OFFLINE_ENV, VENDORS, EmulatorProcess, bell, request_delta, table
from qiskit import transpile

from qiskit_multicloud import MultiCloudProvider
from qiskit_multicloud.emulators import settings_for

#: The device each vendor SDK script runs on by default; ours runs on the same one.
SDK_DEVICES = {
    "oqc": "qpu:uk:2:d865b5a184",
    "oqtopus": "qulacs",
    "iqm": "emerald-20",
    "qoro": "qoro_maestro",
    "qilimanjaro": "qibo_simulator",
}
#: What each SDK venv needs (the versions the SDK scripts were written against).
SDK_REQUIREMENTS = {
    "oqc": ["oqc-qcaas-client==3.22.1"],
    "oqtopus": ["quri-parts-oqtopus==1.1.5"],
    "iqm": ["iqm-client==36.0.0"],
    "qoro": ["qoro-divi==0.15.1"],
    "qilimanjaro": ["qiboconnection==0.23.2"],
}
#: Poll interval the SDK scripts use (seconds); ours is given the same for a fair race.
POLL_INTERVAL = 0.05
VENV_ROOT = BENCH / ".venvs"


def sdk_python(vendor: str) -> Path:
    """The SDK venv's interpreter, creating/updating benchmarks/.venvs/<vendor> if needed."""
    venv = VENV_ROOT / vendor
    python = venv / "bin" / "python"
    marker = venv / ".requirements"
    wanted = "\n".join(SDK_REQUIREMENTS[vendor])
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         *SDK_REQUIREMENTS[vendor]],
        check=True,
    )
    marker.write_text(wanted)
    return python


def run_sdk(vendor: str, emu: EmulatorProcess, circuits: int, shots: int) -> dict[str, Any]:
    """Run benchmarks/vendor_sdks/<vendor>_sdk.py against ``emu`` in the SDK's own venv."""
    python = sdk_python(vendor)
    script = BENCH / "vendor_sdks" / f"{vendor}_sdk.py"
    url = f"{emu.url}/api" if vendor == "qoro" else emu.url
    args = [str(python), str(script), "--url", url, "--token", emu.token,
            "--circuits", str(circuits), "--shots", str(shots)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(OFFLINE_ENV)
    before = emu.stats()
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=1800)
    process_wall = time.perf_counter() - start
    delta = request_delta(before, emu.stats())
    line = next(
        (ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("{")), "{}"
    )
    report: dict[str, Any] = json.loads(line)
    if proc.returncode != 0 or not report.get("ok"):
        report["error"] = (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]
    return {**report, **delta, "process_wall_s": process_wall}


def run_ours(
    vendor: str, emu: EmulatorProcess, circuits: int, shots: int, *, device: str,
    trace_memory: bool = False, cache: Path | None = None,
) -> dict[str, Any]:
    """Provider creation -> get_backend -> ONE run() of ``circuits`` Bell circuits -> result.

    ``cache`` is the on-disk cache directory the provider uses (#17.3); ``None`` = a new
    empty one, i.e. a cold first process (the vendor SDKs keep nothing across processes).
    """
    bell_native = None
    if cache is None:
        with tempfile.TemporaryDirectory() as empty:
            return run_ours(vendor, emu, circuits, shots, device=device,
                            trace_memory=trace_memory, cache=Path(empty))
    # The settings (URL + token, as the SDK scripts get them on their command line) are made
    # before the timer: settings_for builds an emulator app to learn them, which is
    # benchmark scaffolding (~20 ms), not client work.
    settings = settings_for(vendor, emu.url, emu.token)
    if vendor == "iqm":
        # IQM's client is given its quantum computer (the SDK script's --qc); ours is too.
        settings = settings.replace(quantum_computer=device)
    with tempfile.TemporaryDirectory() as store:
        gc.collect()
        before = emu.stats()
        if trace_memory:
            tracemalloc.start()
        start = time.perf_counter()
        provider = MultiCloudProvider(
            {vendor: settings}, vendors=[vendor], job_store=Path(store) / "jobs.sqlite",
            cache=cache,
        )
        backend = provider.get_backend(device, vendor=vendor)
        bell_native = transpile(bell(), backend, optimization_level=1, seed_transpiler=1)
        batch = [bell_native.copy(name=f"bell_{i}") for i in range(circuits)]
        job = backend.run(batch, shots=shots, poll_interval=POLL_INTERVAL,
                          max_poll_interval=1.0)
        result = job.result()
        wall = time.perf_counter() - start
        peak = None
        if trace_memory:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        delta = request_delta(before, emu.stats())
        counts = result.get_counts()
        counts = counts if isinstance(counts, list) else [counts]
        ok = len(counts) == circuits and all(
            set(c) <= {"00", "11"} and sum(c.values()) == shots for c in counts
        )
        provider.close()
    return {
        "wall_s": wall,
        "ok": ok,
        "circuits": circuits,
        "vendor_jobs": len(job.chunk_refs),
        "max_circuits": backend.max_circuits,
        "status_polls": job.poll_count,
        "peak_mem_mb": None if peak is None else peak / 2**20,
        **delta,
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time (lower middle for an even count), plus every
    run's wall time (``wall_s_runs``, sorted) for the spread; a failed run wins (shown)."""
    failed = [r for r in runs if "error" in r or not r.get("ok")]
    walls = sorted(r["wall_s"] for r in runs if isinstance(r.get("wall_s"), int | float))
    if failed or not walls:
        chosen = failed[0] if failed else runs[0]
    else:
        chosen = sorted(runs, key=lambda r: r["wall_s"])[(len(runs) - 1) // 2]
    return {**chosen, "wall_s_runs": walls, "runs": len(runs)}


def run(
    vendors: tuple[str, ...] = VENDORS,
    circuits: int = 100,
    shots: int = 1000,
    large: int | None = 1000,
    skip_sdk: bool = False,
    rtt: float = 0.0,
    repeat: int = 1,
) -> dict[str, Any]:
    """(b) ours vs SDK per vendor and, if ``large``, (c) one ``large``-circuit run().

    ``rtt`` seconds are added by the emulator to every request (a cloud's round trip).
    ``repeat`` > 1 runs ours and the SDK that many times each, alternating which goes
    first (load from other work on the machine hits both alike), and reports the median
    run with the spread.
    """
    out: dict[str, Any] = {"e2e": {}, "large": {}}
    for vendor in vendors:
        with EmulatorProcess.start(vendor, latency=rtt) as emu:
            device = SDK_DEVICES[vendor]
            run_ours(vendor, emu, 2, 10, device=device)  # warm-up (imports, connections)
            ours: list[dict[str, Any]] = []
            warm: list[dict[str, Any]] = []
            theirs: list[dict[str, Any]] = []
            with tempfile.TemporaryDirectory() as warm_cache:
                # An earlier process's cache (#17.3): filled by one untimed run.
                run_ours(vendor, emu, 2, 10, device=device, cache=Path(warm_cache))
                for index in range(max(1, repeat)):
                    sdk_first = index % 2 == 1
                    if sdk_first and not skip_sdk:
                        theirs.append(_sdk_or_error(vendor, emu, circuits, shots))
                    ours.append(run_ours(vendor, emu, circuits, shots, device=device))
                    warm.append(run_ours(vendor, emu, circuits, shots, device=device,
                                         cache=Path(warm_cache)))
                    if not sdk_first and not skip_sdk:
                        theirs.append(_sdk_or_error(vendor, emu, circuits, shots))
            entry: dict[str, Any] = {
                "rtt_s": rtt, "ours": median_run(ours), "ours_warm_cache": median_run(warm)
            }
            if theirs:
                entry["sdk"] = median_run(theirs)
                # Each pair ran back to back, so its ratio cancels slow load drift.
                entry["paired_ratios"] = [
                    o["wall_s"] / t["wall_s"] for o, t in zip(ours, theirs, strict=True)
                    if o.get("ok") and t.get("ok") and t.get("wall_s")
                ]
            out["e2e"][vendor] = entry
            if large:
                out["large"][vendor] = run_ours(
                    vendor, emu, large, shots, device=device, trace_memory=True
                )
    return out


def _sdk_or_error(vendor: str, emu: EmulatorProcess, circuits: int, shots: int) -> dict[str, Any]:
    try:
        return run_sdk(vendor, emu, circuits, shots)
    except (subprocess.SubprocessError, OSError, ValueError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def _paired(ratios: list[float]) -> str:
    """Median (min-max) of the per-pair wall ratios."""
    if not ratios:
        return "—"
    ordered = sorted(ratios)
    middle = ordered[(len(ordered) - 1) // 2]
    return f"{middle:.2f} ({ordered[0]:.2f}-{ordered[-1]:.2f})" if len(ordered) > 1 else (
        f"{middle:.2f}")


def _spread(entry: dict[str, Any]) -> str:
    walls = entry.get("wall_s_runs") or []
    return f"{walls[0]:.2f}-{walls[-1]:.2f}" if len(walls) > 1 else "—"


def _ratio(ours: float | None, theirs: float | None) -> str:
    if not ours or not theirs:
        return "—"
    return f"{ours / theirs:.2f}"


def rtt_label(rtt: float) -> str:
    """``"50ms"`` for 0.05: the key of one latency's e2e results."""
    return f"{rtt * 1000:g}ms"


def markdown(data: dict[str, Any]) -> str:
    """Tables for (b) (``data["e2e"]``: rtt label -> vendor -> entry) and (c)."""
    rows = []
    for label, by_vendor in data["e2e"].items():
        for vendor, entry in by_vendor.items():
            ours, sdk = entry["ours"], entry.get("sdk") or {}
            warm = entry.get("ours_warm_cache") or {}
            sdk_ok = sdk.get("ok") and "error" not in sdk
            rows.append([
                vendor,
                label,
                ours.get("runs", 1),
                f"{ours['wall_s']:.2f}",
                f"{sdk['wall_s']:.2f}" if sdk_ok else (sdk.get("error", "skipped")[:60]),
                _ratio(ours["wall_s"], sdk.get("wall_s") if sdk_ok else None),
                f"{_spread(ours)} / {_spread(sdk) if sdk_ok else '—'}",
                _paired(entry.get("paired_ratios") or []),
                ours["requests"],
                sdk.get("requests", "—") if sdk_ok else "—",
                _ratio(ours["requests"], sdk.get("requests") if sdk_ok else None),
                f"{warm['wall_s']:.2f} ({warm['requests']} req)" if warm.get("ok") else "—",
                _ratio(warm.get("wall_s"), sdk.get("wall_s") if sdk_ok else None),
                f"{ours['vendor_jobs']} / {sdk.get('jobs_created', '—') if sdk_ok else '—'}",
                "yes" if ours["ok"] else "NO",
                sdk.get("sdk", "—"),
            ])
    text = ""
    if any(data["e2e"].values()):
        text += ("End to end, Bell circuits x shots, same emulator in a separate process (wall "
                 "times: median of the runs)\n\n")
        text += table(
            ["vendor", "added rtt", "runs", "ours s", "SDK s", "wall ours/SDK",
             "min-max ours / SDK s", "paired ratio median (min-max)", "ours req", "SDK req",
             "req ours/SDK",
             "ours warm cache s (req)", "warm/SDK",
             "vendor jobs ours / SDK", "ours counts ok", "SDK"],
            rows,
        )
    if data["large"]:
        big = [
            [v, r["circuits"], f"{r['wall_s']:.2f}", r["requests"], r["vendor_jobs"],
             r["max_circuits"] or "—", f"{r['peak_mem_mb']:.1f}", "yes" if r["ok"] else "NO"]
            for v, r in data["large"].items()
        ]
        text += "\n\n" if text else ""
        text += "One large run() per vendor (tracemalloc peak of the client)\n\n" + table(
            ["vendor", "circuits", "wall s", "requests", "vendor jobs", "max_circuits",
             "peak MiB", "counts ok"],
            big,
        )
    return text
