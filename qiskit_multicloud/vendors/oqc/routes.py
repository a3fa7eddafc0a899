"""What differs between OQC's API generations, in one small object per generation.

v3 (entry URL + a task URL per QPU, ``/admin/...`` discovery) and v4 (one gateway base URL:
``/healthz``, ``/qpus``, ``/qpus/{id}/features``, ``/qpus/{id}/benchmarks``, tasks at
``/tasks...``). Everything else (task bodies, views, statuses, results) is shared by the
adapter. Both generations hand the adapter QPU objects in the v3 shape (``id``, ``name``,
``url``, ``feature_set``, ...), so one :func:`~.device.device_spec` serves both.
"""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar

from ...exceptions import MalformedResponseError, VendorAPIError
from ...transport import Transport

log = logging.getLogger(__name__)

TOKEN_HEADER = "Authentication-Token"
#: A JSON Web Token: three base64url parts, the header starting ``eyJ`` (``{"``).
JWT = re.compile(r"^eyJ[\w-]*\.[\w-]+\.[\w-]*$")
#: Benchmark keys that describe calibration (our emulator's documented shape).
BENCHMARK_KEYS = ("gate_errors", "gate_durations", "t1", "t2", "coupling_map", "calibrated_at")


def _require(body: Any, key: str, where: str) -> Any:
    if not isinstance(body, dict) or key not in body:
        raise MalformedResponseError(f"oqc: {where} answer lacks '{key}'", vendor="oqc")
    return body[key]


class V3Routes:
    """QCaaS v3: ``/admin/version``, ``/admin/qpu``, task calls at each QPU's own ``url``."""

    name: ClassVar[str] = "v3"
    health = "/admin/version"
    #: Where queue lengths are published (relative to the task URL), or None.
    queue_path: ClassVar[str | None] = "/monitoring/qpu_wait_time"

    def auth_headers(self, token: str) -> dict[str, str]:
        """The credential header for ``token``."""
        return {TOKEN_HEADER: token}

    def qpu_items(self, transport: Transport) -> list[Any]:
        """``GET /admin/qpu?per_page=1000``: the QPU objects."""
        body = transport.json("GET", "/admin/qpu", params={"per_page": 1000})
        items = _require(body, "items", "GET /admin/qpu")
        if not isinstance(items, list):
            raise MalformedResponseError("oqc: GET /admin/qpu 'items' is not a list", vendor="oqc")
        return items

    def qpu_item(self, transport: Transport, qpu_id: str) -> Any:
        """``GET /admin/qpu/{id}``: one QPU object."""
        return transport.json("GET", f"/admin/qpu/{qpu_id}")

    def reserve(self, qpu_id: str, count: int, tag: Any) -> dict[str, Any]:
        """Body of ``POST tasks`` reserving ``count`` ids."""
        return {"qpu_id": qpu_id, "task_count": count, "tag": tag}

    def reserved_ids(self, reply: Any) -> Any:
        """The id list of a reservation answer (v3: a bare array)."""
        return reply


class V4Routes(V3Routes):
    """The v4 gateway: one base URL, ``/healthz``, ``/qpus`` + features + benchmarks.

    Auth is ``Authentication-Token``, or ``Authorization: Bearer`` when the token is a JWT
    (what the SDK's Entra/Keycloak credentials send).
    """

    name: ClassVar[str] = "v4"
    health = "/healthz"
    queue_path: ClassVar[str | None] = None

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def auth_headers(self, token: str) -> dict[str, str]:
        if JWT.match(token):
            return {"Authorization": f"Bearer {token}"}
        return {TOKEN_HEADER: token}

    def qpu_items(self, transport: Transport) -> list[Any]:
        """``GET /qpus``, then per QPU ``GET /qpus/{id}/features`` and ``/benchmarks``."""
        listed = transport.json("GET", "/qpus")
        if isinstance(listed, dict) and isinstance(listed.get("items"), list):
            listed = listed["items"]
        if not isinstance(listed, list):
            raise MalformedResponseError("oqc: GET /qpus is not a list of QPUs", vendor="oqc")
        return [self._complete(transport, item) for item in listed]

    def qpu_item(self, transport: Transport, qpu_id: str) -> Any:
        """The QPU named ``qpu_id`` of ``GET /qpus`` (v4 has no single-QPU read)."""
        for item in self.qpu_items(transport):
            if isinstance(item, dict) and item.get("id") == qpu_id:
                return item
        raise VendorAPIError(f"oqc: QPU {qpu_id} is not in GET /qpus", vendor="oqc", status=404)

    def _complete(self, transport: Transport, item: Any) -> Any:
        """A ``/qpus`` item in the v3 shape: task ``url`` = base, features + benchmarks."""
        if not isinstance(item, dict) or "id" not in item:
            return item
        qpu_id = str(item["id"])
        features = _require(
            transport.json("GET", f"/qpus/{qpu_id}/features"), "data",
            f"GET /qpus/{qpu_id}/features",
        )
        if not isinstance(features, dict):
            raise MalformedResponseError(
                f"oqc: GET /qpus/{qpu_id}/features 'data' is not an object", vendor="oqc"
            )
        return {**item, "url": self.base_url,
                "feature_set": {**features, **self._benchmarks(transport, qpu_id)}}

    def _benchmarks(self, transport: Transport, qpu_id: str) -> dict[str, Any]:
        """Calibration keys of ``GET /qpus/{id}/benchmarks`` (none when unreadable)."""
        try:
            body = transport.json("GET", f"/qpus/{qpu_id}/benchmarks")
        except (VendorAPIError, MalformedResponseError) as exc:
            log.info("oqc: no benchmarks for %s (%s); Target without errors", qpu_id, exc)
            return {}
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return {}
        return {k: data[k] for k in BENCHMARK_KEYS if k in data}

    def reserve(self, qpu_id: str, count: int, tag: Any) -> dict[str, Any]:
        """v4 takes one entry per id."""
        return {"tasks": [{"qpu_id": qpu_id, "tag": tag} for _ in range(count)]}

    def reserved_ids(self, reply: Any) -> Any:
        """v4 wraps the ids: ``{"tasks": [...]}``."""
        return reply.get("tasks") if isinstance(reply, dict) else None


def routes_for(api: str | None, base_url: str) -> V3Routes:
    """The routes object of an API generation."""
    return V4Routes(base_url) if api == "v4" else V3Routes()
