"""OQC QCaaS (Oxford Quantum Circuits) through the v3 REST API.

Import-light: the emulator (werkzeug) is only imported when the plugin is loaded.
"""

from __future__ import annotations

from .. import VendorPlugin
from .adapter import STATUS_MAP, OQCAdapter, OQCBackend
from .emulator import OQCEmulator
from .settings import OQCSettings

__all__ = ["PLUGIN", "STATUS_MAP", "OQCAdapter", "OQCBackend", "OQCEmulator", "OQCSettings"]

PLUGIN = VendorPlugin(adapter=OQCAdapter, backend=OQCBackend, emulator=OQCEmulator)
