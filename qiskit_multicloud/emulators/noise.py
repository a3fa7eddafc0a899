"""Noise of an emulated QPU, built from the device information the emulator itself publishes.

Each vendor emulator reads its own device payload with the vendor adapter's parsing code
(no HTTP) into a :class:`~qiskit_multicloud.types.DeviceSpec`; the shared target builder
turns that into a ``Target``; Qiskit Aer's ``NoiseModel.from_backend`` turns the ``Target``
into a noise model:

* a readout assignment error per qubit (``measure`` error, symmetric);
* per (gate, qubits): a depolarizing channel composed with thermal relaxation over the
  gate's duration, sized so the total average gate error equals the published error;
* thermal relaxation from T1/T2 during ``delay``.

The client side builds the very same ``Target`` from the same payload, so
``AerSimulator.from_backend(backend)`` reproduces the emulator's noise.

Aer needs about 10 ms per (gate, qubits) entry to build a model, minutes for a 150-qubit
device, so the emulator models only the qubits a batch of circuits uses: the
``DeviceSpec`` is restricted to them and renumbered (the order the simulator compacts
circuits to) before the ``Target`` is built. Models are cached per qubit set.
"""

from __future__ import annotations

import dataclasses
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from qiskit.transpiler import Target

from ..target import build_target
from ..types import DeviceSpec, InstructionProps, Qargs

__all__ = ["DeviceNoise", "noise_model", "restrict"]

#: Qubit sets whose models are kept per device (each costs a few kB).
CACHE_SIZE = 256


class _TargetBackend:
    """The three attributes ``NoiseModel.from_backend`` reads from a ``BackendV2``."""

    version = 2

    def __init__(self, target: Target) -> None:
        self.target = target
        self.operation_names = list(target.operation_names)
        self.dt = target.dt


def noise_model(target: Target) -> Any:
    """Aer's noise model of ``target`` (exactly what ``AerSimulator.from_backend`` builds).

    Returns ``None`` when the Target publishes nothing that makes noise.
    """
    from qiskit_aer.noise import NoiseModel

    with warnings.catch_warnings():
        # "no QubitProperties, so ... no thermal relaxation": expected for devices that
        # publish no T1/T2; the model then holds gate and readout errors only.
        warnings.filterwarnings("ignore", message=".*has no QubitProperties.*")
        model = NoiseModel.from_backend(_TargetBackend(target))
    return None if model.is_ideal() else model


def restrict(spec: DeviceSpec, qubits: Sequence[int]) -> DeviceSpec:
    """``spec`` cut down to ``qubits``, renumbered ``qubits[i] -> i``.

    Instructions on other qubits are dropped; all-to-all entries (qargs ``None``) stay.
    """
    index = {q: i for i, q in enumerate(qubits)}
    gates: dict[str, dict[Qargs, InstructionProps]] = {}
    for name, by_qargs in spec.gates.items():
        kept: dict[Qargs, InstructionProps] = {}
        for qargs, props in by_qargs.items():
            if qargs is None:
                kept[None] = props
            elif all(q in index for q in qargs):
                kept[tuple(index[q] for q in qargs)] = props
        if kept:
            gates[name] = kept
    return dataclasses.replace(
        spec,
        n_qubits=len(qubits),
        gates=gates,
        t1={index[q]: v for q, v in spec.t1.items() if q in index},
        t2={index[q]: v for q, v in spec.t2.items() if q in index},
    )


class DeviceNoise:
    """The noise one emulated device publishes, as Aer models for the qubits in use.

    Args:
        spec: the device as the vendor adapter reads the emulator's own payload.
    """

    def __init__(self, spec: DeviceSpec) -> None:
        self.spec = spec
        self._models: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DeviceNoise({self.spec.vendor}:{self.spec.device_id})"

    def model(self, qubits: Sequence[int]) -> Any:
        """Aer noise model for circuits compacted onto ``qubits`` (``qubits[i]`` is wire i).

        ``None`` when those qubits publish nothing that makes noise.
        """
        key = tuple(qubits)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
        model = noise_model(build_target(restrict(self.spec, key))) if key else None
        with self._lock:
            self._models[key] = model
            while len(self._models) > CACHE_SIZE:
                self._models.popitem(last=False)
        return model
