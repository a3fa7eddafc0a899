"""Fault injection shared by every emulator.

Faults are drawn per request from seeded randomness (rates) or forced deterministically
(:meth:`FaultInjector.force`). The dangerous one for clients is ``drop_after``: the request
is fully processed (a job may be created) and then the connection is cut before any reply.

Faults that test time bounds (forced only, no rates):

* ``frozen``: the request is processed, then the connection stays open and no byte is ever
  sent (until :meth:`FaultInjector.release` or ``hold_limit`` seconds);
* ``trickle``: the answer is sent one byte every ``trickle_interval`` seconds;
* ``retry_later``: ``503`` with ``Retry-After: long_retry_after`` (30 s), not processed;
* ``hostile_counts``: the next job created gets one shot more than asked in its results
  (every vendor's result format carries it), which a client must refuse.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import typing
from collections import deque
from typing import Any, Literal

FaultKind = Literal[
    "error",
    "rate_limit",
    "drop_after",
    "malformed",
    "expired_token",
    "latency",
    "frozen",
    "trickle",
    "retry_later",
    "hostile_counts",
]
FAULT_KINDS: tuple[FaultKind, ...] = typing.get_args(FaultKind)


@dataclasses.dataclass
class FaultConfig:
    """Fault rates (0..1 of requests) and parameters.

    Attributes:
        error_rate: answer 500/502/503 (from ``error_statuses``) without processing.
        rate_limit_rate: answer 429 with ``Retry-After: retry_after`` without processing.
        drop_rate: process the request, then drop the connection without answering.
        malformed_rate: process the request, then answer 200 with a truncated JSON body.
        expired_token_rate: answer 401 "token expired" without processing.
        latency: seconds added to every request.
        latency_spike: seconds a forced ``latency`` fault adds to one request.
        hold_limit: longest a ``frozen`` request is held before its connection is cut.
        trickle_interval: seconds between the bytes of a ``trickle`` answer.
        long_retry_after: ``Retry-After`` of a ``retry_later`` answer, seconds.
        methods: only requests with these methods are eligible (empty = all).
        seed: seed of the random draws.
    """

    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    rate_limit_rate: float = 0.0
    retry_after: float = 0.01
    drop_rate: float = 0.0
    malformed_rate: float = 0.0
    expired_token_rate: float = 0.0
    latency: float = 0.0
    latency_spike: float = 0.05
    hold_limit: float = 60.0
    trickle_interval: float = 1.0
    long_retry_after: float = 30.0
    methods: tuple[str, ...] = ()
    seed: int | None = 1234

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultConfig:
        """Build from JSON (admin route), ignoring unknown keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        for key in ("error_statuses", "methods"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)


class FaultInjector:
    """Decides, per request, which fault (if any) happens."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._forced: deque[tuple[FaultKind, str | None, str | None]] = deque()
        self._released = threading.Event()
        self.configure(config or FaultConfig())
        #: How many times each fault kind fired.
        self.fired: dict[str, int] = {kind: 0 for kind in FAULT_KINDS}

    def configure(self, config: FaultConfig) -> None:
        """Replace the fault rates."""
        with self._lock:
            self.config = config
            self._random = random.Random(config.seed)

    def force(
        self, kind: FaultKind, count: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Make the next ``count`` matching requests suffer ``kind`` (path = substring).

        Raises:
            ValueError: ``kind`` is not one of :data:`FAULT_KINDS`.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        with self._lock:
            for _ in range(count):
                self._forced.append((kind, method.upper() if method else None, path))

    def clear(self) -> None:
        """No more faults; requests held by ``frozen``/``trickle`` are let go."""
        with self._lock:
            self._forced.clear()
        self.release()
        self.configure(FaultConfig())

    def release(self) -> None:
        """End every ``frozen`` hold and ``trickle`` answer now (their connections are cut)."""
        with self._lock:
            released, self._released = self._released, threading.Event()
        released.set()

    def hold(self, seconds: float) -> bool:
        """Block up to ``seconds``; True if :meth:`release` ended the wait early."""
        with self._lock:
            event = self._released
        return event.wait(seconds)

    def draw(self, method: str, path: str) -> FaultKind | None:
        """The fault for this request, if any (latency is applied separately)."""
        with self._lock:
            for index, (kind, want_method, want_path) in enumerate(self._forced):
                if (want_method in (None, method)) and (want_path is None or want_path in path):
                    del self._forced[index]
                    self.fired[kind] += 1
                    return kind
            cfg = self.config
            if cfg.methods and method not in cfg.methods:
                return None
            roll = self._random.random()
            candidates: tuple[tuple[FaultKind, float], ...] = (
                ("error", cfg.error_rate),
                ("rate_limit", cfg.rate_limit_rate),
                ("expired_token", cfg.expired_token_rate),
                ("drop_after", cfg.drop_rate),
                ("malformed", cfg.malformed_rate),
            )
            for kind, rate in candidates:
                if roll < rate:
                    self.fired[kind] += 1
                    return kind
                roll -= rate
            return None

    def error_status(self) -> int:
        """Which 5xx to answer for an ``error`` fault."""
        with self._lock:
            return self._random.choice(self.config.error_statuses)
