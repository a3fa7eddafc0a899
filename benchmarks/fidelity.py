"""Estimated vs measured fidelity of standard circuits on every emulated QPU.

    python benchmarks/fidelity.py [--shots 4000] [--seed 7] [--output docs/fidelity_results.rst]

For Bell, GHZ-5 and QV-4 (``quantum_volume(4, seed=42)``, the function form of the
``QuantumVolume`` class that Qiskit 2.2 deprecated) it runs
``provider.compare(circuit)`` on every online emulated QPU of the five vendor emulators
(started in this process, seeded), and tabulates per device the estimated success
probability from the device's Target (``rank_backends``' estimate) next to the measured
Hellinger fidelity and total variation distance to the ideal statevector distribution.
Per circuit it also gives the Spearman rank correlation between estimate and measurement
(does the estimate order devices as the measurement does?). Offline QPUs are listed as
such. Results: the ``--output`` page (reStructuredText) and ``--json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from qiskit import QuantumCircuit  # noqa: E402
from qiskit import __version__ as qiskit_version  # noqa: E402
from qiskit.circuit.library import quantum_volume  # noqa: E402

from qiskit_multicloud import MultiCloudProvider  # noqa: E402

QV_SEED = 42


def circuits() -> list[QuantumCircuit]:
    """Bell, GHZ-5 and QV-4, each measuring every qubit."""
    bell = QuantumCircuit(2, name="Bell")
    bell.h(0)
    bell.cx(0, 1)
    bell.measure_all()
    ghz = QuantumCircuit(5, name="GHZ-5")
    ghz.h(0)
    for qubit in range(4):
        ghz.cx(qubit, qubit + 1)
    ghz.measure_all()
    qv = quantum_volume(4, seed=QV_SEED)
    qv.name = "QV-4"
    qv.measure_all()
    return [bell, ghz, qv]


def spearman(xs: list[float], ys: list[float]) -> float | None:
    """Spearman rank correlation (average ranks for ties); ``None`` below 3 points."""
    if len(xs) < 3:
        return None

    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        result = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                result[order[k]] = (i + j) / 2
            i = j + 1
        return result

    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return cov / var if var else None


def noise_supported() -> bool:
    """Whether these emulators can simulate device noise (``EmulatorConfig.noise``)."""
    from qiskit_multicloud.emulators.app import EmulatorConfig

    return "noise" in {field.name for field in dataclasses.fields(EmulatorConfig)}


def measure(shots: int, seed: int, vendors: list[str] | None, noise: bool = True) -> dict[str, Any]:
    """Run every circuit on every online emulated QPU; return rows and summaries."""
    options: dict[str, Any] = {"noise": noise} if noise_supported() else {}
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    offline: list[str] = []
    with MultiCloudProvider.emulated(vendors, job_store=False, seed=seed, **options) as provider:
        devices = provider.candidates()
        offline = [
            f"{b.vendor}:{b.name}"
            for b in provider.backends()
            if not b.online and not b.simulator
        ]
        for circuit in circuits():
            comparison = provider.compare(
                circuit,
                [b for b in devices if b.num_qubits >= circuit.num_qubits],
                shots=shots,
                seed_transpiler=seed,
                run_options={"poll_interval": 0.02},
            )
            for run in comparison.runs:
                rows.append({
                    "circuit": circuit.name,
                    "device": run.name,
                    "status": run.status,
                    "estimate": run.estimate.probability if run.estimate else None,
                    "assumed": bool(run.estimate and run.estimate.assumed),
                    "missing": list(run.estimate.missing) if run.estimate else [],
                    "fidelity": run.fidelity,
                    "tvd": run.tvd,
                    "two_qubit_gates": _two_qubit(run.circuit),
                    "error": run.error,
                })
    summary = {}
    for circuit in circuits():
        done = [r for r in rows if r["circuit"] == circuit.name and r["fidelity"] is not None]
        estimates = [float(r["estimate"]) for r in done]
        measured = [float(r["fidelity"]) for r in done]
        summary[circuit.name] = {
            "devices": len(done),
            "spearman": spearman(estimates, measured),
            "mean_gap": sum(m - e for e, m in zip(estimates, measured, strict=True)) / len(done)
            if done else None,
        }
    return {
        "machine": {
            "python": platform.python_version(),
            "qiskit": qiskit_version,
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": _commit(),
        },
        "shots": shots,
        "seed": seed,
        "noise": options.get("noise"),
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
        "summary": summary,
        "offline": offline,
    }


def _two_qubit(circuit: QuantumCircuit | None) -> int | None:
    if circuit is None:
        return None
    return sum(1 for i in circuit.data if len(i.qubits) == 2 and i.operation.name != "barrier")


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=ROOT, timeout=10)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _estimate(row: dict[str, Any]) -> str:
    return _fmt(row["estimate"]) + ("*" if row["assumed"] else "")


def table(data: dict[str, Any]) -> list[str]:
    """An RST simple table: one row per device, estimate/measured/TVD per circuit."""
    names = [c.name for c in circuits()]
    devices = list(dict.fromkeys(r["device"] for r in data["rows"]))
    cells = {(r["device"], r["circuit"]): r for r in data["rows"]}
    header = ["Device"]
    for name in names:
        header += [f"{name} est.", f"{name} meas.", f"{name} TVD"]
    body = []
    for device in devices:
        line = [device]
        for name in names:
            row = cells.get((device, name))
            if row is None:
                line += ["n/a", "n/a", "n/a"]
            elif row["fidelity"] is None:
                line += [_estimate(row), row["status"], "-"]
            else:
                line += [_estimate(row), _fmt(row["fidelity"]), _fmt(row["tvd"])]
        body.append(line)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
    return [rule, fmt(header), rule, *map(fmt, body), rule]


NOISE_NOTE = {
    True: "The emulated QPUs simulated the noise their published calibration describes "
    "(emulator noise on), so the measured columns are what the devices' data predict "
    "when every error actually happens.",
    False: "Emulator noise was OFF (``--noise off``): the emulated QPUs sample the ideal "
    "distribution, so the measured columns show shot noise only.",
    None: "The emulators at this commit cannot simulate noise yet: the emulated QPUs "
    "sample the ideal distribution, so the measured columns show shot noise only and the "
    "rank correlation is meaningless.",
}


def page(data: dict[str, Any], command: str) -> str:
    """The results page (reStructuredText)."""
    machine = data["machine"]
    lines = [
        ":orphan:",
        "",
        "Estimated vs measured fidelity",
        "==============================",
        "",
        "Produced by::",
        "",
        f"    {command}",
        "",
        f"on {machine['date']} (commit {machine['commit']}, Python {machine['python']}, "
        f"Qiskit {machine['qiskit']}; {data['seconds']} s on 2 cores), {data['shots']} shots "
        f"per device and circuit, emulator and transpiler seed {data['seed']}.",
        "",
        "Every online emulated QPU runs each circuit through ``provider.compare``: *est.* is "
        "the estimated success probability from the device's Target (see :doc:`choosing`; "
        "``*`` = rests on assumed errors), *meas.* the Hellinger fidelity of the measured "
        "counts to the ideal statevector distribution, *TVD* the total variation distance "
        "to it. QV-4 is ``qiskit.circuit.library.quantum_volume(4, seed=42)`` (the function "
        "form of ``QuantumVolume``).",
        "",
        NOISE_NOTE[data.get("noise")],
        "",
        *([data["note"], ""] if data.get("note") else []),
        *table(data),
        "",
        "Per circuit: Spearman rank correlation between estimate and measured fidelity over "
        "the devices (1 = the estimate orders devices exactly as the measurement does), and "
        "the mean of measured minus estimated.",
        "",
    ]
    for name, summary in data["summary"].items():
        lines.append(
            f"* {name}: {summary['devices']} devices, Spearman "
            f"{_fmt(summary['spearman'], 2)}, mean measured - estimated "
            f"{_fmt(summary['mean_gap'])}"
        )
    if data["offline"]:
        lines += ["", f"Offline emulated QPUs (not run): {', '.join(data['offline'])}."]
    failed = [r for r in data["rows"] if r["error"]]
    if failed:
        lines += ["", "Devices without counts:", ""]
        lines += [f"* {r['device']} ({r['circuit']}): {r['error']}" for r in failed]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shots", type=int, default=4000, help="shots per device and circuit")
    parser.add_argument("--seed", type=int, default=7, help="emulator and transpiler seed")
    parser.add_argument("--vendors", default=None, help="comma-separated vendors (default: all)")
    parser.add_argument("--output", default=None, help="write the results page here (.rst)")
    parser.add_argument("--json", default=None, help="write raw results here")
    parser.add_argument("--noise", choices=("on", "off"), default="on",
                        help="emulated-QPU noise, where the emulators support it")
    parser.add_argument("--note", default=None, help="a paragraph added to the page as is")
    args = parser.parse_args(argv)
    vendors = args.vendors.split(",") if args.vendors else None
    data = measure(args.shots, args.seed, vendors, noise=args.noise == "on")
    named = (("noise", args.noise), ("vendors", args.vendors), ("output", args.output),
             ("json", args.json))
    command = f"python benchmarks/fidelity.py --shots {args.shots} --seed {args.seed}" + "".join(
        f" --{name} {value}" for name, value in named if value
    )
    data["note"] = args.note
    text = page(data, command.strip())
    print(text)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
