"""Qoro Service (the cloud behind ``qoro-divi``'s ``QoroService``).

QPU systems and simulator clusters become backends; circuits travel as gzip+base64
OpenQASM 2.0 and results come back as compressed ``qh1``/``qh2`` histograms.
"""

from __future__ import annotations

from .. import VendorPlugin
from .adapter import QoroAdapter, QoroBackend
from .emulator import QoroEmulator
from .settings import QoroSettings

__all__ = ["PLUGIN", "QoroAdapter", "QoroBackend", "QoroEmulator", "QoroSettings"]

PLUGIN = VendorPlugin(adapter=QoroAdapter, backend=QoroBackend, emulator=QoroEmulator)
