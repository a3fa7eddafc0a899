"""qiskit-multicloud: one Qiskit provider for OQC QCaaS, OQTOPUS, IQM, Qoro and Qilimanjaro.

>>> from qiskit_multicloud import MultiCloudProvider   # doctest: +SKIP
>>> provider = MultiCloudProvider.emulated()            # local emulators, no credentials
>>> backend = provider.get_backend("qpu:uk:2")          # any vendor's device name or prefix

The public names are imported on first use (PEP 562), so ``import qiskit_multicloud`` and
the command line's cached answers do not pay for importing Qiskit.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .backend import MultiCloudBackend
    from .exceptions import (
        AuthenticationError,
        BackendNotFoundError,
        CacheWarning,
        CircuitValidationError,
        ConfigurationError,
        DeadlineExceededError,
        JobFailedError,
        JobStoreError,
        JobStoreWarning,
        JobTimeoutError,
        MalformedResponseError,
        MultiCloudError,
        MultiCloudWarning,
        SubmissionUncertainError,
        TLSVerificationError,
        VendorAPIError,
        VendorConnectionError,
        VendorUnavailableWarning,
    )
    from .job import MultiCloudJob
    from .jobstore import JobStore
    from .provider import MultiCloudProvider

#: Public names; those not in :data:`_MODULES` are exceptions and warnings.
__all__ = [
    "AuthenticationError",
    "BackendNotFoundError",
    "CacheWarning",
    "CircuitValidationError",
    "ConfigurationError",
    "DeadlineExceededError",
    "JobFailedError",
    "JobStore",
    "JobStoreError",
    "JobStoreWarning",
    "JobTimeoutError",
    "MalformedResponseError",
    "MultiCloudBackend",
    "MultiCloudError",
    "MultiCloudJob",
    "MultiCloudProvider",
    "MultiCloudWarning",
    "SubmissionUncertainError",
    "TLSVerificationError",
    "VendorAPIError",
    "VendorConnectionError",
    "VendorUnavailableWarning",
    "__version__",
]

#: Public name -> the submodule defining it.
_MODULES = {
    "MultiCloudBackend": "backend",
    "MultiCloudJob": "job",
    "JobStore": "jobstore",
    "MultiCloudProvider": "provider",
}
_LAZY: dict[str, str] = {
    name: _MODULES.get(name, "exceptions") for name in __all__ if name != "__version__"
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access, then keep the name here."""
    module = _LAZY.get(name)
    if module is None:
        if name.startswith("_"):
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        try:  # a submodule, e.g. ``qiskit_multicloud.emulators``
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
