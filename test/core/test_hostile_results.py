"""Hostile or broken result answers are refused with MalformedResponseError (#12 item 4).

The one result builder checks every outcome; each vendor's own count reader refuses what
cannot be a count before it gets there (NaN and Infinity parse from JSON as floats).
"""

from __future__ import annotations

import gzip
import json
import math
from typing import Any

import pytest

from qiskit_multicloud.decoding import inflate, loads
from qiskit_multicloud.exceptions import MalformedResponseError
from qiskit_multicloud.results import build_result, count_value
from qiskit_multicloud.types import CircuitCounts, CircuitLayout
from qiskit_multicloud.vendors.iqm.translate import decode_counts
from qiskit_multicloud.vendors.oqc.translate import counts_from_results
from qiskit_multicloud.vendors.oqtopus.adapter import _counts as oqtopus_counts
from qiskit_multicloud.vendors.qilimanjaro.translate import convert_counts, decompress

LAYOUT = CircuitLayout("bell", 2, 2, (("c", 2),))
HOSTILE_VALUES = [-1, math.nan, math.inf, -math.inf, 2.5, "3", True, None, [1]]


def build(counts: dict[str, Any], *, shots: int = 10, memory: list[str] | None = None,
          fewer: bool = False) -> Any:
    return build_result(
        vendor="acme", backend_name="dev", job_id="j", layouts=[LAYOUT],
        outcomes=[CircuitCounts(counts=counts, memory=memory)], shots=shots,
        fewer_shots_allowed=fewer,
    )


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_builder_refuses_counts_that_are_not_whole_numbers(value: Any) -> None:
    with pytest.raises(MalformedResponseError, match="count"):
        build({"00": 5, "11": value})


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_count_value_refuses(value: Any) -> None:
    with pytest.raises(MalformedResponseError):
        count_value(value, vendor="acme", where="here")


def test_count_value_accepts_whole_floats_and_numpy_integers() -> None:
    import numpy as np

    assert count_value(3.0, vendor="a", where="w") == 3
    assert count_value(np.int64(4), vendor="a", where="w") == 4
    with pytest.raises(MalformedResponseError):
        count_value(10**400 * -1, vendor="a", where="w")


@pytest.mark.parametrize("key", ["0", "011", "0x3", "0 1", "ab", "2 0", ""])
def test_builder_refuses_keys_of_the_wrong_width_or_not_binary(key: str) -> None:
    with pytest.raises(MalformedResponseError, match="2-bit string"):
        build({"00": 5, key: 5})


def test_totals_must_equal_the_shots_asked() -> None:
    assert build({"00": 4, "11": 6}).get_counts() == {"00": 4, "11": 6}
    with pytest.raises(MalformedResponseError, match="11 shot"):
        build({"00": 5, "11": 6})
    with pytest.raises(MalformedResponseError, match="9 shot"):
        build({"00": 4, "11": 5})
    with pytest.raises(MalformedResponseError, match=r"3 shot.* in its memory"):
        build({"00": 4, "11": 6}, memory=["00", "11", "11"])


def test_vendor_documented_shortfall_is_accepted_but_never_a_surplus() -> None:
    assert build({"00": 3, "11": 4}, fewer=True).get_counts() == {"00": 3, "11": 4}
    with pytest.raises(MalformedResponseError, match="at most 10"):
        build({"00": 5, "11": 6}, fewer=True)


def test_vendors_declare_their_documented_shortfalls() -> None:
    from qiskit_multicloud.vendors.iqm.adapter import IQMAdapter
    from qiskit_multicloud.vendors.oqtopus.adapter import OqtopusAdapter
    from qiskit_multicloud.vendors.qoro.adapter import QoroAdapter

    assert IQMAdapter.may_return_fewer_shots(None, {"heralding_mode": "zeros"})  # type: ignore[arg-type]
    assert not IQMAdapter.may_return_fewer_shots(None, {"heralding_mode": "none"})  # type: ignore[arg-type]
    assert OqtopusAdapter.may_return_fewer_shots(
        None, {"mitigation_info": {"ro_error_mitigation": "pseudo_inverse"}}  # type: ignore[arg-type]
    )
    assert not OqtopusAdapter.may_return_fewer_shots(None, {"mitigation_info": {}})  # type: ignore[arg-type]
    assert not QoroAdapter.may_return_fewer_shots(None, {})  # type: ignore[arg-type]


# -- each vendor's count reader, fed what its JSON can carry -------------------------------------


@pytest.mark.parametrize("value", [-1, math.nan, math.inf, 2.5])
def test_oqc_counts(value: float) -> None:
    results = json.loads(json.dumps({"c": {"01": value, "10": 3}}))
    try:
        counts = counts_from_results(results, 2, "t1")
    except MalformedResponseError:
        return
    with pytest.raises(MalformedResponseError):  # -1 passes the reader; the builder refuses
        build(counts, shots=counts.get("10", 0) + counts.get("01", 0))


@pytest.mark.parametrize("value", [-1, math.nan, math.inf, 2.5])
def test_oqtopus_counts(value: float) -> None:
    with pytest.raises(MalformedResponseError):
        oqtopus_counts(json.loads(json.dumps({"01": value})), "job")


@pytest.mark.parametrize("value", [-1, math.nan, math.inf, 2.5])
def test_qilimanjaro_counts(value: float) -> None:
    with pytest.raises(MalformedResponseError):
        convert_counts(json.loads(json.dumps({"01": value})), [0, 1], 2, "job 1")


@pytest.mark.parametrize("value", [-1, math.nan, math.inf, 2.5])
def test_iqm_counts(value: float) -> None:
    data = json.loads(json.dumps(
        [{"measurement_keys": ["c_2_0_0", "c_2_0_1"], "counts": {"01": value, "10": 11}}]
    ))
    decoded = decode_counts(data, [LAYOUT], "job")
    if decoded is None:
        assert value != -1  # non-integer: the adapter falls back to per-shot data
        return
    with pytest.raises(MalformedResponseError):
        build(decoded[0], shots=10)


# -- decoding helpers ----------------------------------------------------------------------------


def test_deep_json_is_malformed() -> None:
    with pytest.raises(MalformedResponseError, match="nested too deeply"):
        loads("[" * 100_000, vendor="acme", what="x")


def test_inflate_stops_at_the_limit_and_refuses_garbage() -> None:
    bomb = gzip.compress(b"0" * 5_000_000)
    with pytest.raises(MalformedResponseError, match="more than 1000000 bytes"):
        inflate(bomb, vendor="acme", what="x", limit=1_000_000)
    assert inflate(gzip.compress(b"abc") + gzip.compress(b"def"), vendor="a", what="x") == b"abcdef"
    with pytest.raises(MalformedResponseError, match="not gzip"):
        inflate(b"not compressed", vendor="acme", what="x")
    with pytest.raises(MalformedResponseError, match="truncated"):
        inflate(gzip.compress(b"abc" * 1000)[:20], vendor="acme", what="x")


def test_qilimanjaro_envelope_bomb_and_deep_payload() -> None:
    import base64

    from qiskit_multicloud import decoding

    def envelope(raw: bytes) -> dict[str, str]:
        return {"data": base64.b64encode(gzip.compress(raw)).decode(), "compression": "gzip"}

    limit = decoding.MAX_RESPONSE_BYTES
    try:
        decoding.MAX_RESPONSE_BYTES = 1_000_000
        with pytest.raises(MalformedResponseError, match="more than 1000000 bytes"):
            decompress(envelope(b" " * 3_000_000), "result")
    finally:
        decoding.MAX_RESPONSE_BYTES = limit
    with pytest.raises(MalformedResponseError, match="nested too deeply"):
        decompress(envelope(b"[" * 100_000), "result")
