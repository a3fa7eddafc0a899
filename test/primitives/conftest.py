"""Fixtures: a fake multi-cloud backend (no HTTP, no sleeping)."""

from __future__ import annotations

from typing import Any

import pytest

from test.conftest import FAST
from test.core.fakes import FakeAdapter, FakeBackend, fake_device


def make_backend(**device: Any) -> FakeBackend:
    """A 5-qubit line device (rz, sx, x, cz) on the in-memory fake vendor."""
    adapter = FakeAdapter([fake_device(**device)], polls_until_done=1)
    return FakeBackend(adapter, adapter.devices[0], sleep=lambda s: None)


@pytest.fixture
def backend() -> FakeBackend:
    return make_backend()


RUN = {"run_options": dict(FAST)}
