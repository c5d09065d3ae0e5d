"""Properties of the codec: any bytes become a record or an ``Invalid`` with a readable reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.contracts.codec import Invalid, decode, encode
from streams.contracts.limits import MAX_MESSAGE_BYTES
from streams.contracts.records import RawMention
from tests.strategies import (
    BLANKS,
    LIMITS,
    counted,
    encoded,
    good_mentions,
    limited,
    payloads,
    readable,
    templates,
)


@settings(max_examples=6_500)
@given(payloads, st.integers(-1, 2**31), st.integers(-1, 2**62))
@counted
def test_any_payload_becomes_a_record_or_an_invalid_with_a_reason(
    value: bytes | None, partition: int, offset: int
) -> None:
    result = decode(RawMention, value, partition, offset)
    if isinstance(result, Invalid):
        assert readable(result.reason), result.reason[:300]
        assert (result.partition, result.offset) == (partition, offset)
    else:
        assert isinstance(result, RawMention)
        assert decode(RawMention, encode(result)) == result


@settings(max_examples=1_000)
@given(good_mentions)
@counted
def test_valid_mentions_decode_and_round_trip(mention: dict[str, Any]) -> None:
    record = decode(RawMention, encoded(mention))
    assert isinstance(record, RawMention), record
    assert (record.platform.value, record.brand, record.text) == (
        mention["platform"],
        mention["brand"],
        mention["text"],
    )
    at = mention["created_at"]
    sent = datetime.fromtimestamp(at, UTC) if isinstance(at, int) else datetime.fromisoformat(at)
    assert record.created_at == sent and record.created_at.utcoffset() == timedelta(0)
    assert decode(RawMention, encode(record)) == record


@settings(max_examples=1_000)
@given(templates, limited)
@counted
def test_texts_at_a_limit_pass_and_over_it_fail(
    mention: dict[str, Any], field: tuple[str, int, bytes]
) -> None:
    path, length, value = field
    lowest, highest = LIMITS[path]
    if path == "text":
        lowest = 1  # the codec turns an empty text away
    result = decode(RawMention, encoded(mention, path, value))
    assert isinstance(result, RawMention) == (lowest <= length <= highest), result
    if isinstance(result, Invalid):
        assert path.split(".")[-1] in result.reason or "byte" in result.reason, result.reason


@settings(max_examples=200)
@given(good_mentions, st.integers(-2, 2))
@counted
def test_the_byte_limit_is_exact(mention: dict[str, Any], extra: int) -> None:
    value = encoded(mention)
    value += b" " * (MAX_MESSAGE_BYTES + extra - len(value))
    result = decode(RawMention, value)
    assert isinstance(result, RawMention) == (extra <= 0), result


@settings(max_examples=300)
@given(templates, st.lists(st.sampled_from(BLANKS), min_size=1, max_size=5), st.booleans())
@counted
def test_blank_texts_are_invalid(mention: dict[str, Any], parts: list[str], ascii_: bool) -> None:
    value = encoded(mention, "text", json.dumps("".join(parts), ensure_ascii=ascii_).encode())
    result = decode(RawMention, value)
    assert isinstance(result, Invalid) and result.reason == "empty text", result
