"""IQM Server / IQM Resonance (G3 ``/api/v1`` REST API)."""

from __future__ import annotations

from .. import VendorPlugin
from .adapter import IQMAdapter, IQMBackend
from .emulator import IQMEmulator
from .settings import IQMSettings

PLUGIN = VendorPlugin(adapter=IQMAdapter, backend=IQMBackend, emulator=IQMEmulator)

__all__ = ["PLUGIN", "IQMAdapter", "IQMBackend", "IQMEmulator", "IQMSettings"]
