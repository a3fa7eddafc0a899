"""Registry of the supported vendors.

Each vendor package ``qiskit_multicloud.vendors.<key>`` defines ``PLUGIN``, a
:class:`VendorPlugin` naming its adapter, backend class and emulator. Vendors are imported
lazily, so importing qiskit_multicloud stays cheap and one broken vendor cannot break others;
this module itself imports nothing from Qiskit (the CLI's cached ``backends`` uses it).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..backend import MultiCloudBackend
    from ..config import VendorSettings
    from ..emulators.app import EmulatorApp
    from .base import VendorAdapter

#: Vendor keys in display order.
VENDOR_KEYS: tuple[str, ...] = ("oqc", "oqtopus", "iqm", "qoro", "qilimanjaro")


@dataclasses.dataclass(frozen=True)
class VendorPlugin:
    """What the core needs to know about one vendor.

    Attributes:
        adapter: the :class:`~qiskit_multicloud.vendors.base.VendorAdapter` subclass.
        backend: the ``MultiCloudBackend`` subclass carrying the vendor's run options.
        emulator: the :class:`~qiskit_multicloud.emulators.app.EmulatorApp` subclass.
    """

    adapter: type[VendorAdapter]
    backend: type[MultiCloudBackend]
    emulator: type[EmulatorApp]

    @property
    def settings(self) -> type[VendorSettings]:
        """The vendor's settings class."""
        return self.adapter.settings_class


def plugin(vendor: str) -> VendorPlugin:
    """Import and return one vendor's plugin.

    Raises:
        ConfigurationError: unknown vendor key.
    """
    key = vendor.lower()
    if key not in VENDOR_KEYS:
        from ..exceptions import ConfigurationError  # Qiskit: imported when needed

        raise ConfigurationError(
            f"unknown vendor {vendor!r}; choose one of {', '.join(VENDOR_KEYS)}"
        )
    module = importlib.import_module(f"{__name__}.{key}")
    found: VendorPlugin = module.PLUGIN
    return found


def resolve_settings(
    vendor: str,
    explicit: VendorSettings | Mapping[str, Any] | None,
    account: str | None = None,
) -> VendorSettings | None:
    """Settings for ``vendor``: explicit (or the named saved ``account``) > environment >
    default saved account > vendor files; ``None`` if none found (see
    :mod:`qiskit_multicloud.accounts`)."""
    from ..accounts import resolve

    return resolve(vendor, explicit, account)
