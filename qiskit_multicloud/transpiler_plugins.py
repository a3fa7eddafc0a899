"""Transpiler translation-stage plugins, one per vendor, registered by entry point.

Each vendor backend names its plugin through ``get_translation_stage_plugin()``, so
``transpile(circuit, backend)`` and preset pass managers use it without the user asking.
The stage translates to the Target's native gates, then re-synthesises runs of single-qubit
gates directly in the vendor's native single-qubit basis (e.g. ``r`` on IQM, ``rz``/``sx``
elsewhere), which gives shorter circuits than basis translation alone.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from qiskit.transpiler import PassManager
from qiskit.transpiler.passes import Optimize1qGatesDecomposition
from qiskit.transpiler.preset_passmanagers.builtin_plugins import BasisTranslatorPassManager
from qiskit.transpiler.preset_passmanagers.plugin import PassManagerStagePlugin


class MultiCloudTranslation(PassManagerStagePlugin):
    """Basis translation to the vendor Target, then native single-qubit resynthesis."""

    vendor: ClassVar[str] = ""

    def pass_manager(
        self, pass_manager_config: Any, optimization_level: int | None = None
    ) -> PassManager:
        """The translation stage for ``pass_manager_config.target``."""
        stage: PassManager = BasisTranslatorPassManager().pass_manager(
            pass_manager_config, optimization_level
        )
        target = pass_manager_config.target
        if target is not None and (optimization_level or 0) >= 1:
            stage.append(Optimize1qGatesDecomposition(target=target))
        return stage


class OQCTranslation(MultiCloudTranslation):
    """OQC QCaaS: ``rz``/``sx``/``x`` single-qubit basis, ``cx`` (or ``ecr``) entangler."""

    vendor = "oqc"


class OqtopusTranslation(MultiCloudTranslation):
    """OQTOPUS: the device's published ``basis_gates``."""

    vendor = "oqtopus"


class IQMTranslation(MultiCloudTranslation):
    """IQM: ``r`` (IQM ``prx``) single-qubit basis and ``cz``."""

    vendor = "iqm"


class QoroTranslation(MultiCloudTranslation):
    """Qoro: the system's published basis gates."""

    vendor = "qoro"


class QilimanjaroTranslation(MultiCloudTranslation):
    """Qilimanjaro: the Qibo dialect's native gates."""

    vendor = "qilimanjaro"


def plugin_name(vendor: str) -> str:
    """Entry-point name of a vendor's translation plugin."""
    return f"multicloud_{vendor}"


@functools.cache
def installed_plugin(vendor: str) -> str | None:
    """The vendor's plugin name if its entry point is installed, else ``None``."""
    from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins

    name = plugin_name(vendor)
    return name if name in list_stage_plugins("translation") else None
