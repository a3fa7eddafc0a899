"""Total time bounds that every network wait honours.

A *deadline* is a point on the monotonic clock. :func:`bounded` makes one current for a
block of code (a context variable, so concurrent jobs in other threads keep their own), and
the :class:`~qiskit_multicloud.transport.Transport` reads it on every request: connect and
read timeouts are cut to the time left, retry waits (``Retry-After`` included) never sleep
past it, no retry starts that could not finish, and a slow body is abandoned when time is up.

>>> with bounded(2.0):                   # doctest: +SKIP
...     job.status()                     # returns or raises within ~2 s, whatever the server does

Nested scopes keep the tighter bound. ``job.result(timeout=T)`` and
``job.wait_for_final_state(timeout=T)`` run inside ``bounded(T)``; ``backend.run()`` runs its
submit requests inside ``bounded(submit_timeout)``.

Context variables do not flow into ``ThreadPoolExecutor`` threads by themselves: wrap the
function handed to a pool with :func:`carry_deadline`.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Shortest timeout handed to ``requests`` (urllib3 refuses 0): 1 ms.
MIN_TIMEOUT = 0.001


class Deadline:
    """A point on the monotonic clock by which work must end (``None`` = never).

    Args:
        seconds: time from now; ``None`` for no bound.
        clock: monotonic time source (tests may pass their own).
    """

    def __init__(
        self, seconds: float | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self.seconds = seconds
        self.expires_at = None if seconds is None else clock() + max(0.0, float(seconds))

    def __repr__(self) -> str:
        left = self.remaining()
        return "Deadline(unbounded)" if left is None else f"Deadline({left:.3f}s left)"

    def remaining(self) -> float | None:
        """Seconds left (never negative), or ``None`` when unbounded."""
        if self.expires_at is None:
            return None
        return max(0.0, self.expires_at - self._clock())

    def expired(self) -> bool:
        """True once no time is left."""
        left = self.remaining()
        return left is not None and left <= 0.0

    def cap(self, seconds: float) -> float:
        """``seconds``, but no more than the time left."""
        left = self.remaining()
        return seconds if left is None else min(seconds, left)

    def tighter(self, other: Deadline | None) -> Deadline:
        """Whichever of ``self`` and ``other`` ends first."""
        if other is None or other.expires_at is None:
            return self
        if self.expires_at is None or other.expires_at < self.expires_at:
            return other
        return self


_CURRENT: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "qiskit_multicloud_deadline", default=None
)


def current_deadline() -> Deadline | None:
    """The deadline in force here, or ``None`` when nothing is bounded."""
    return _CURRENT.get()


@contextlib.contextmanager
def bounded(seconds: float | None) -> Iterator[Deadline]:
    """Run the block under a deadline ``seconds`` from now (``None`` = no new bound).

    An enclosing tighter deadline stays in force; the yielded :class:`Deadline` is the one
    that applies inside the block.
    """
    outer = _CURRENT.get()
    effective = Deadline(seconds).tighter(outer)
    token = _CURRENT.set(effective if effective.expires_at is not None else outer)
    try:
        yield effective
    finally:
        _CURRENT.reset(token)


def remaining() -> float | None:
    """Seconds left under the current deadline, or ``None`` when unbounded."""
    deadline = _CURRENT.get()
    return None if deadline is None else deadline.remaining()


def cap(seconds: float) -> float:
    """``seconds`` cut to the time left under the current deadline (unchanged if none)."""
    deadline = _CURRENT.get()
    return seconds if deadline is None else deadline.cap(seconds)


def expired() -> bool:
    """True when a current deadline has run out."""
    deadline = _CURRENT.get()
    return deadline is not None and deadline.expired()


def carry_deadline(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function`` wrapped so it runs under the caller's current deadline in any thread.

    Use it for every function handed to a thread pool: context variables are not copied into
    pool threads.
    """
    deadline = _CURRENT.get()

    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        token = _CURRENT.set(deadline)
        try:
            return function(*args, **kwargs)
        finally:
            _CURRENT.reset(token)

    return run
