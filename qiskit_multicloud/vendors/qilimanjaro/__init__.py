"""Qilimanjaro QaaS (qiboconnection generation): adapter, backend, settings and emulator."""

from __future__ import annotations

from .. import VendorPlugin
from .adapter import QilimanjaroAdapter, QilimanjaroBackend
from .emulator import QilimanjaroEmulator
from .settings import QilimanjaroSettings

__all__ = ["PLUGIN", "QilimanjaroAdapter", "QilimanjaroBackend", "QilimanjaroEmulator",
           "QilimanjaroSettings"]

PLUGIN = VendorPlugin(
    adapter=QilimanjaroAdapter, backend=QilimanjaroBackend, emulator=QilimanjaroEmulator
)
