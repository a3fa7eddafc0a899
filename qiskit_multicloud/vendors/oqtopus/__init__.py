"""OQTOPUS Cloud (``oqtopus``): the G3 storage-backed user API.

* :class:`~.adapter.OqtopusAdapter` - protocol translation (devices, sampling jobs, and native
  estimation jobs via ``estimate``/``estimation_result``);
* :class:`~.adapter.OqtopusBackend` - the ``BackendV2`` with OQTOPUS run options;
* :class:`~.settings.OqtopusSettings` - credentials resolved like ``quri-parts-oqtopus``;
* :class:`~.emulator.OqtopusEmulator` - the local emulator (devices ``qulacs``, ``anemone``,
  ``kawasaki150``).
"""

from __future__ import annotations

from .. import VendorPlugin
from .adapter import OqtopusAdapter, OqtopusBackend
from .emulator import OqtopusEmulator
from .settings import OqtopusSettings

PLUGIN = VendorPlugin(adapter=OqtopusAdapter, backend=OqtopusBackend, emulator=OqtopusEmulator)

__all__ = ["PLUGIN", "OqtopusAdapter", "OqtopusBackend", "OqtopusEmulator", "OqtopusSettings"]
