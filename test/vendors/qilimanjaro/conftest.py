"""Shared helpers for the Qilimanjaro tests."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from qiskit_multicloud.config import Secret
from qiskit_multicloud.vendors.qilimanjaro import QilimanjaroAdapter, QilimanjaroSettings

URL = "https://qaas.example:8080"
API = f"{URL}/api/v1"
API_KEY = "api-key-SECRET-42"


def jwt(user_id: int | None = 42, kind: str = "access", marker: str = "a") -> str:
    """An unsigned-looking JWT with a ``user_id`` claim."""

    def seg(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims: dict[str, Any] = {"type": kind, "marker": marker}
    if user_id is not None:
        claims["user_id"] = user_id
    return f"{seg({'alg': 'EdDSA', 'kid': 'k1'})}.{seg(claims)}.c2lnLSR7bWFya2VyfQ"


ACCESS = jwt(marker="first-access")
REFRESH = jwt(kind="refresh", marker="the-refresh")
ACCESS2 = jwt(marker="second-access")


def tokens(access: str = ACCESS, refresh: str | None = REFRESH) -> dict[str, Any]:
    """The five-member token answer."""
    return {"accessToken": access, "refreshToken": refresh, "tokenType": "bearer",
            "expiresIn": 1767225600, "issuedAt": "1767222000"}


@pytest.fixture
def settings() -> QilimanjaroSettings:
    return QilimanjaroSettings(url=URL, username="ada", api_key=Secret(API_KEY))


@pytest.fixture
def adapter(settings: QilimanjaroSettings) -> QilimanjaroAdapter:
    made = QilimanjaroAdapter.from_settings(settings)
    made.transport.sleep = lambda seconds: None
    return made


@pytest.fixture
def logged_in(requests_mock: Any) -> Any:
    """Mock the login endpoint (201 with tokens)."""
    return requests_mock.post(f"{API}/authorisation-tokens", status_code=201, json=tokens())
