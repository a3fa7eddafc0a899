"""qiskit-multicloud: one Qiskit provider for OQC QCaaS, OQTOPUS, IQM, Qoro and Qilimanjaro.

>>> from qiskit_multicloud import MultiCloudProvider   # doctest: +SKIP
>>> provider = MultiCloudProvider.emulated()            # local emulators, no credentials
>>> backend = provider.get_backend("qpu:uk:2")          # any vendor's device name or prefix
"""

from .backend import MultiCloudBackend
from .exceptions import (
    AuthenticationError,
    BackendNotFoundError,
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
from .version import __version__

__all__ = [
    "AuthenticationError",
    "BackendNotFoundError",
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
