"""Emulated IQM quantum computers and their published architecture/calibration documents.

* ``emerald-20``: 20 qubits on a 4x5 square grid (Garnet-like), ``prx``, ``cz``, ``measure``,
  ``cc_prx`` (so ``reset`` is available).
* ``sirius-6``: a star of 6 qubits around one computational resonator ``CR1`` (Sirius-like):
  ``cz`` and ``move`` only between qubits and the resonator.
* ``crystal-150``: 150 qubits on a 10x15 grid (for Target-construction benchmarks).
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from ...emulators.devices import calibration, grid_edges
from ...types import DeviceSpec, InstructionProps, Qargs
from .device import device_from_dqa, observation_values, pair_properties

NAMESPACE = uuid.UUID("6a1f5d2e-0b7c-4c1e-9a53-5f0c1d2e3b4a")
TIMESTAMP = "2026-01-05T09:00:00Z"


@dataclasses.dataclass(frozen=True)
class EmulatedQC:
    """One emulated quantum computer."""

    alias: str
    display_name: str
    qubits: tuple[str, ...]
    resonators: tuple[str, ...]
    #: gate -> implementation -> loci
    loci: dict[str, dict[str, list[list[str]]]]
    seed: int

    @property
    def qc_id(self) -> str:
        """Stable UUID of the QC."""
        return str(uuid.uuid5(NAMESPACE, f"qc:{self.alias}"))

    @property
    def calibration_set_id(self) -> str:
        """Stable UUID of the QC's (only) calibration set."""
        return str(uuid.uuid5(NAMESPACE, f"cs:{self.alias}"))

    @property
    def metrics_set_id(self) -> str:
        """Stable UUID of the quality-metric set."""
        return str(uuid.uuid5(NAMESPACE, f"qm:{self.alias}"))

    @property
    def components(self) -> tuple[str, ...]:
        """Qubits then resonators."""
        return self.qubits + self.resonators

    # -- documents ------------------------------------------------------------------------

    def listing(self) -> dict[str, Any]:
        """Entry of ``GET /api/v1/quantum-computers``."""
        return {"id": self.qc_id, "alias": self.alias, "display_name": self.display_name,
                "proxy_path": None}

    def sqa(self) -> list[dict[str, Any]]:
        """Static quantum architecture (a one-element list)."""
        pairs: list[list[str]] = []
        for gate in ("cz", "move"):
            for locus in (loc for impl in self.loci.get(gate, {}).values() for loc in impl):
                if locus not in pairs and list(reversed(locus)) not in pairs:
                    pairs.append(list(locus))
        return [{"dut_label": f"EMU_{self.alias.upper()}", "qubits": list(self.qubits),
                 "computational_resonators": list(self.resonators), "connectivity": pairs}]

    def dqa(self) -> dict[str, Any]:
        """Dynamic quantum architecture of the default calibration set."""
        gates = {
            name: {
                "implementations": {impl: {"loci": loci} for impl, loci in impls.items()},
                "default_implementation": next(iter(impls)),
                "override_default_implementation": {},
            }
            for name, impls in self.loci.items()
        }
        return {"calibration_set_id": self.calibration_set_id, "qubits": list(self.qubits),
                "computational_resonators": list(self.resonators), "gates": gates}

    def _numbers(self) -> Any:
        index = {q: i for i, q in enumerate(self.components)}
        edges = [
            (index[a], index[b])
            for impl in self.loci.get("cz", {}).values() for a, b in impl
        ] + [
            (index[a], index[b])
            for impl in self.loci.get("move", {}).values() for a, b in impl
        ]
        return index, calibration(len(self.components), edges, seed=self.seed)

    def _observation_set(self, set_id: str, kind: str, values: list[tuple[str, float, str]]
                         ) -> dict[str, Any]:
        return {
            "observation_set_id": set_id,
            "observation_set_type": kind,
            "describes_id": self.calibration_set_id if kind == "quality-metric-set" else None,
            "invalid": False,
            "dut_label": f"EMU_{self.alias.upper()}",
            "created_timestamp": TIMESTAMP,
            "end_timestamp": TIMESTAMP,
            "observations": [
                {"observation_id": i + 1, "dut_field": field, "value": value, "unit": unit,
                 "uncertainty": None, "invalid": False, "created_timestamp": TIMESTAMP,
                 "modified_timestamp": TIMESTAMP}
                for i, (field, value, unit) in enumerate(values)
            ],
        }

    def calibration_set(self) -> dict[str, Any]:
        """Calibration set: gate durations and drive frequencies."""
        index, cal = self._numbers()
        values: list[tuple[str, float, str]] = []
        for q in self.qubits:
            values.append((f"gates.prx.drag_gaussian.{q}.duration", cal.single_qubit_duration, "s"))
            values.append((f"gates.measure.constant.{q}.duration", cal.readout_duration, "s"))
            values.append((f"controllers.{q}.drive.frequency", 4.0e9 + 1e7 * index[q], "Hz"))
        for gate, duration in (("cz", 1.2e-7), ("move", 9.6e-8)):
            for impl, loci in self.loci.get(gate, {}).items():
                for a, b in loci:
                    values.append((f"gates.{gate}.{impl}.{a}__{b}.duration", duration, "s"))
        return self._observation_set(self.calibration_set_id, "calibration-set", values)

    def metrics(self) -> dict[str, Any]:
        """Quality metrics: fidelities and coherence times."""
        index, cal = self._numbers()
        values: list[tuple[str, float, str]] = []
        for q in self.qubits:
            i = index[q]
            values.append((f"metrics.rb.prx.drag_gaussian.{q}.fidelity",
                           1 - cal.single_qubit_error[i], ""))
            values.append((f"metrics.ssro.measure.constant.{q}.fidelity",
                           1 - cal.readout_error[i], ""))
            values.append((f"characterization.model.{q}.t1_time", cal.t1[i], "s"))
            values.append((f"characterization.model.{q}.t2_time", cal.t2[i], "s"))
        for gate in ("cz", "move"):
            for impl, loci in self.loci.get(gate, {}).items():
                for a, b in loci:
                    error = cal.two_qubit_error[(index[a], index[b])]
                    values.append((f"metrics.irb.{gate}.{impl}.{a}__{b}.fidelity:par=d2",
                                   1 - error, ""))
        return self._observation_set(self.metrics_set_id, "quality-metric-set", values)

    def device_spec(self) -> DeviceSpec:
        """This QC as the adapter reads its published documents, with the resonators added.

        Resonators are extra qubits here (after the real ones, the emulator's wire order)
        carrying the published ``cz`` and ``move`` errors of their loci, because the emulator
        simulates ``cz(qubit, resonator)`` and ``move`` (as a swap) on them. No T1/T2 is
        published for a resonator, so it does not relax.
        """
        spec = device_from_dqa(self.listing(), self.dqa(), self.calibration_set(), self.metrics())
        if not self.resonators:
            return spec
        values = observation_values(self.calibration_set(), self.metrics())
        wire = {c: i for i, c in enumerate(self.components)}
        gates: dict[str, dict[Qargs, InstructionProps]] = {
            name: dict(by_qargs) for name, by_qargs in spec.gates.items()
        }
        for gate, simulated_as in (("cz", "cz"), ("move", "swap")):
            for impl, loci in self.loci.get(gate, {}).items():
                for a, b in loci:
                    props = pair_properties(values, gate, impl, a, b)
                    gates.setdefault(simulated_as, {})[(wire[a], wire[b])] = props
                    gates[simulated_as][(wire[b], wire[a])] = props
        return dataclasses.replace(spec, n_qubits=len(self.components), gates=gates)

    def t2_min(self, components: set[str]) -> float:
        """Shortest T2 among ``components`` (qubits only)."""
        index, cal = self._numbers()
        values = [cal.t2[index[c]] for c in components if c in self.qubits]
        return min(values) if values else float("inf")


def grid_qc(alias: str, display: str, rows: int, cols: int, seed: int) -> EmulatedQC:
    """A square-grid crystal QC with prx, cz, measure and cc_prx."""
    names = tuple(f"QB{i + 1}" for i in range(rows * cols))
    singles = [[q] for q in names]
    pairs = [[names[a], names[b]] for a, b in grid_edges(rows, cols)]
    return EmulatedQC(
        alias, display, names, (),
        {
            "prx": {"drag_gaussian": singles},
            "cz": {"tgss": pairs},
            "measure": {"constant": singles},
            "cc_prx": {"prx_composite": singles},
        },
        seed,
    )


def star_qc(alias: str, display: str, n: int, seed: int) -> EmulatedQC:
    """A star QC: n qubits around resonator CR1 (cz and move only via the resonator)."""
    names = tuple(f"QB{i + 1}" for i in range(n))
    singles = [[q] for q in names]
    return EmulatedQC(
        alias, display, names, ("CR1",),
        {
            "prx": {"drag_gaussian": singles},
            "cz": {"tgss": [[q, "CR1"] for q in names]},
            "move": {"tgss_crf": [[q, "CR1"] for q in names]},
            "measure": {"constant": singles},
        },
        seed,
    )


def default_qcs() -> list[EmulatedQC]:
    """The emulator's quantum computers."""
    return [
        grid_qc("emerald-20", "IQM Emerald-20 (emulated)", 4, 5, seed=20),
        star_qc("sirius-6", "IQM Sirius-6 (emulated)", 6, seed=6),
        grid_qc("crystal-150", "IQM Crystal-150 (emulated)", 10, 15, seed=150),
    ]
