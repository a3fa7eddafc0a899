"""Exceptions raised by qiskit-multicloud.

Every error the package raises on purpose derives from :class:`MultiCloudError`, which is a
:class:`~qiskit.exceptions.QiskitError`, so ``except QiskitError`` keeps working::

    MultiCloudError(QiskitError)
    ├── ConfigurationError               missing or malformed credentials / settings
    │   └── TLSVerificationError         the server's TLS certificate failed verification
    │                                    (never retried; fix the CA bundle or the URL)
    ├── AuthenticationError              the vendor rejected the credentials (401/403)
    ├── BackendNotFoundError             unknown or ambiguous backend name
    │                                    (also a QiskitBackendNotFoundError)
    ├── CircuitValidationError           circuit or run options cannot run on this backend;
    │                                    raised before any request is sent
    ├── DeviceDataMissingError           a Qiskit pass needs device data the vendor does not
    │                                    publish (e.g. the measure duration for scheduling)
    ├── VendorAPIError                   the vendor answered with an error, or an unreadable reply
    │   ├── VendorConnectionError        no answer at all (refused, timed out, dropped)
    │   │   └── DeadlineExceededError    the time bound of the call ran out mid-exchange
    │   │                                (a submit that hit it is *submission uncertain*)
    │   └── MalformedResponseError       an answer we could not decode or did not expect
    ├── SubmissionUncertainError         a submit may or may not have reached the vendor
    ├── JobStoreError                    the local job store cannot be used (locked, corrupt,
    │                                    read-only, a directory, a symbolic link)
    ├── JobFailedError                   the job ended FAILED or CANCELLED (also a JobError)
    └── JobTimeoutError                  waiting for a job ran out of time (also Qiskit's)

    MultiCloudWarning(UserWarning)       e.g. an unknown run() option
    ├── JobStoreWarning                  a write after a submit went to the fallback journal
    ├── CacheWarning                     the on-disk cache (or an entry) is not used (a
    │                                    symbolic link, another user's, not creatable)
    └── VendorUnavailableWarning         one vendor is skipped (unreachable, misconfigured)

Foreign exceptions (``requests``, ``json``) are translated in exactly one place,
:mod:`qiskit_multicloud.transport`, with ``raise ... from`` so the cause stays visible.
"""

from __future__ import annotations

from qiskit.exceptions import QiskitError
from qiskit.providers.exceptions import JobError, QiskitBackendNotFoundError
from qiskit.providers.exceptions import JobTimeoutError as QiskitJobTimeoutError


class MultiCloudError(QiskitError):
    """Base class of every error raised by qiskit-multicloud."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(MultiCloudError):
    """Credentials or settings are missing or malformed."""


class TLSVerificationError(ConfigurationError):
    """The server's TLS certificate could not be verified (wrong host, self-signed, expired,
    or a proxy that re-signs traffic). Never retried: the same certificate would fail again.

    Attributes:
        vendor: vendor key, e.g. ``"oqc"``.
    """

    def __init__(self, message: str, *, vendor: str) -> None:
        super().__init__(message)
        self.vendor = vendor


class AuthenticationError(MultiCloudError):
    """The vendor rejected our credentials (HTTP 401, or 403 on an account-wide check)."""

    def __init__(self, message: str, *, vendor: str, status: int | None = None) -> None:
        super().__init__(message)
        self.vendor = vendor
        self.status = status


class BackendNotFoundError(MultiCloudError, QiskitBackendNotFoundError):
    """No backend, or more than one, matches the requested name."""

    def __init__(self, message: str, *, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.candidates = candidates


class CircuitValidationError(MultiCloudError):
    """A circuit or a run option cannot run on the chosen backend.

    Raised before any HTTP request is made, so no job is created and nothing is billed.
    """


class DeviceDataMissingError(MultiCloudError):
    """Qiskit needs a device fact the vendor does not publish (e.g. an instruction duration).

    Raised from inside ``transpile`` (scheduling) instead of Qiskit's bare "Duration of
    measure on qubits [0] is not found", naming the vendor, the device and the missing data.
    """


class VendorAPIError(MultiCloudError):
    """The vendor answered with an error status, or the exchange failed.

    Attributes:
        vendor: vendor key, e.g. ``"oqc"``.
        status: HTTP status, or ``None`` when no answer arrived.
        vendor_message: the message the vendor put in its error body, if any.
        request_id: the vendor's request/trace id header, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        vendor: str,
        status: int | None = None,
        vendor_message: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.vendor = vendor
        self.status = status
        self.vendor_message = vendor_message
        self.request_id = request_id


class VendorConnectionError(VendorAPIError):
    """No usable answer: connection refused, timed out, or dropped mid-reply."""


class DeadlineExceededError(VendorConnectionError):
    """The total time bound of the call (``job.result(timeout=...)``, the ``submit_timeout``
    run option, or :func:`qiskit_multicloud.deadline.bounded`) ran out before an answer
    arrived. The job engine turns it into :class:`JobTimeoutError`; during a submit it
    makes the submission *uncertain*, as any other lost answer does."""


class MalformedResponseError(VendorAPIError):
    """The vendor's reply could not be decoded or lacks a field the protocol promises."""


class SubmissionUncertainError(MultiCloudError):
    """A submit request may have reached the vendor, but no job id came back.

    The request is never retried automatically, because that could create (and bill) a
    second job. The local job store keeps a record with ``status='submission_uncertain'``;
    check the vendor's job list before submitting again.
    """

    def __init__(self, message: str, *, vendor: str, record_id: str | None = None) -> None:
        super().__init__(message)
        self.vendor = vendor
        self.record_id = record_id


class JobStoreError(MultiCloudError):
    """The local job store cannot be opened, read or written.

    Raised before a submit means nothing was sent. The message names the file and what to do.

    Attributes:
        path: the store file.
        locked: True when another connection held the lock (worth another try later).
    """

    def __init__(self, message: str, *, path: object, locked: bool = False) -> None:
        super().__init__(message)
        self.path = path
        self.locked = locked


class JobFailedError(MultiCloudError, JobError):
    """The vendor reports the job as failed or cancelled, so it has no results."""

    def __init__(self, message: str, *, job_id: str, vendor_status: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.vendor_status = vendor_status


class JobTimeoutError(MultiCloudError, QiskitJobTimeoutError):
    """The job did not reach a final state within the requested timeout."""


class MultiCloudWarning(UserWarning):
    """Something was ignored or adjusted; the run continues."""


class JobStoreWarning(MultiCloudWarning):
    """A job-store write after a submit failed; the job runs and its id was kept elsewhere.

    Attributes:
        path: the store file.
        record_id: the local record concerned.
        job_id: the vendor job id being recorded, if the write carried one.
    """

    def __init__(
        self, message: str, *, path: object, record_id: str, job_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.path = path
        self.record_id = record_id
        self.job_id = job_id


class CacheWarning(MultiCloudWarning):
    """The on-disk cache, or one entry of it, is ignored (see :mod:`qiskit_multicloud.cache`);
    the vendor is asked instead, as without a cache."""


class VendorUnavailableWarning(MultiCloudWarning):
    """One vendor could not be configured or reached and is skipped; the others still work.

    Attributes:
        vendor: vendor key.
        reason: the error that made it unavailable.
    """

    def __init__(self, message: str, *, vendor: str, reason: BaseException) -> None:
        super().__init__(message)
        self.vendor = vendor
        self.reason = reason
