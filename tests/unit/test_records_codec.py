import base64
import json
from datetime import UTC, datetime
from typing import Literal

import pytest

from streams.collectors.files import _line
from streams.contracts.codec import Invalid, decode, encode
from streams.contracts.records import RawMention, ScoredMention, thread_key
from streams.kafka.dead_letters import DlqGuard, DlqLimit, TooManyInvalid, dead_letter
from tests.factories import mention, scored

GOOD = {
    "platform": "x",
    "native_id": "123",
    "brand": "zakupowo",
    "author": {"id": "u1"},
    "text": "Zamówienie nie dotarło",
    "created_at": "2026-11-19T12:00:00+01:00",
}


def test_identity_and_keys() -> None:
    m = mention(7)
    assert m.mention_id == "facebook:c7"
    assert m.thread_key == "zakupowo:facebook:post1"
    assert m.partition_key == b"zakupowo:facebook:post1"
    root = mention(8, thread_id=None, parent_id=None)
    assert root.thread_key == "zakupowo:facebook:c8"


def test_round_trip_keeps_everything_and_utc() -> None:
    decoded = decode(RawMention, json.dumps(GOOD).encode())
    assert isinstance(decoded, RawMention)
    assert decoded.created_at == datetime(2026, 11, 19, 11, 0, tzinfo=UTC)
    assert decoded.schema_version == 1
    again = decode(RawMention, encode(decoded))
    assert again == decoded
    s = scored(mention())
    assert decode(ScoredMention, encode(s)) == s


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"", "empty message"),
        (b"\xff\xfe{}", "not valid UTF-8 (byte 0xff at offset 0)"),
        (b'{"platform": ', "invalid JSON: Expecting value (line 1, column 14)"),
        (b"[1]", "expected a JSON object"),
        (
            json.dumps({**GOOD, "schema_version": 2}).encode(),
            "unsupported schema_version 2 (this worker reads 1)",
        ),
        (json.dumps({**GOOD, "text": " \n "}).encode(), "empty text"),
        (
            json.dumps({**GOOD, "created_at": "2026-11-19 12:00"}).encode(),
            "invalid record: created_at: Value error, timestamp must include a timezone (use Z or +00:00)",
        ),
        (
            json.dumps({**GOOD, "platform": "myspace"}).encode(),
            "invalid record: platform: Input should be",
        ),
        (
            json.dumps({k: v for k, v in GOOD.items() if k != "brand"}).encode(),
            "invalid record: brand: Field required",
        ),
        (
            json.dumps({**GOOD, "author": {"id": "u", "followers": "many"}}).encode(),
            "invalid record: author.followers: Input should be a valid integer",
        ),
        (
            json.dumps({**GOOD, "extra": 1}).encode(),
            "invalid record: extra: Extra inputs are not permitted",
        ),
        (
            json.dumps({**GOOD, "text": "x" * 20_001}).encode(),
            "invalid record: text: String should have at most 20000 characters",
        ),
    ],
)
def test_bad_input_becomes_invalid_with_a_reason(value: bytes, reason: str) -> None:
    result = decode(RawMention, value, partition=3, offset=42)
    assert isinstance(result, Invalid)
    assert result.reason.startswith(reason)
    assert (result.partition, result.offset) == (3, 42)


def test_size_limit_is_checked_before_parsing() -> None:
    result = decode(RawMention, b"{" + b" " * 2000 + b"}", max_bytes=1024)
    assert isinstance(result, Invalid) and result.reason == "message is 2002 bytes, above the 1024-byte limit"


def test_dead_letter_keeps_original_bytes_and_position() -> None:
    raw = b"\xff not utf-8"
    letter = dead_letter(Invalid("not valid UTF-8", 1, 99), "decode", "fw.mentions.raw", b"k", raw)
    assert base64.b64decode(letter.value_b64) == raw
    assert (letter.topic, letter.partition, letter.offset, letter.stage) == (
        "fw.mentions.raw",
        1,
        99,
        "decode",
    )
    assert base64.b64decode(letter.key_b64 or "") == b"k"


def test_dlq_guard_ratio_and_consecutive_limits() -> None:
    guard = DlqGuard(DlqLimit(max_invalid_ratio=0.5, window=10, min_messages=10, max_consecutive=100))
    for valid in [True, False] * 5:  # 50% bad: at the limit, not above it
        guard.record(valid)
    with pytest.raises(TooManyInvalid, match="6 of the last 10 messages were invalid"):
        guard.record(False)
    streak = DlqGuard(DlqLimit(max_invalid_ratio=1.0, window=1000, min_messages=1, max_consecutive=3))
    for _ in range(3):
        streak.record(False)
    with pytest.raises(TooManyInvalid, match="4 invalid messages in a row"):
        streak.record(False)


def test_dlq_guard_tolerates_a_few_bad_messages() -> None:
    guard = DlqGuard(DlqLimit())
    for i in range(1000):
        guard.record(i % 20 != 0)  # 5% bad


class MentionV2(RawMention):
    """A future RawMention that also reads version 2: the other records must not notice."""

    schema_version: Literal[1, 2] = 2  # type: ignore[assignment]


def test_each_record_checks_its_own_schema_versions() -> None:
    assert (RawMention.schema_versions(), ScoredMention.schema_versions(), MentionV2.schema_versions()) == (
        (1,),
        (1,),
        (1, 2),
    )
    v2 = json.dumps({**GOOD, "schema_version": 2}).encode()
    assert isinstance(decode(MentionV2, v2), MentionV2)
    assert isinstance(decode(MentionV2, json.dumps(GOOD).encode()), MentionV2)
    assert decode(RawMention, v2) == Invalid("unsupported schema_version 2 (this worker reads 1)", -1, -1)
    s = scored(mention())
    assert decode(ScoredMention, encode(s)) == s
    for wrong in ["1", True, 1.0, None, [1]]:
        result = decode(MentionV2, json.dumps({**GOOD, "schema_version": wrong}).encode())
        assert isinstance(result, Invalid) and result.reason.startswith("unsupported schema_version")


def test_the_partition_key_format_is_written_once() -> None:
    m = mention(7)
    assert m.thread_key == thread_key("zakupowo", "facebook", "post1")
    line = _line(1, m.model_dump_json().encode(), json.loads(m.model_dump_json()))
    assert line.key == m.partition_key


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"created_at": "1970-01-01T00:00:00Z"}, "timestamp before 1990-01-01"),
        ({"created_at": "9999-12-31T23:00:00Z"}, "more than a day in the future"),
        ({"author": {"id": "u1", "followers": 2**63}}, "author.followers"),
    ],
)
def test_implausible_times_and_counts_are_refused_at_the_edge(
    changes: dict[str, object], reason: str
) -> None:
    """A mention dated in the year 9999 would hold its brand's spike windows in the future, and a
    follower count past a 64-bit long would be rejected by Elasticsearch much later."""
    result = decode(RawMention, json.dumps({**GOOD, **changes}).encode())
    assert isinstance(result, Invalid) and reason in result.reason


def test_a_mention_written_just_now_is_accepted() -> None:
    now = datetime.now(UTC).isoformat()
    assert isinstance(decode(RawMention, json.dumps({**GOOD, "created_at": now}).encode()), RawMention)


def test_a_public_post_about_two_brands_is_one_mention_of_each() -> None:
    from streams.contracts.records import Source
    from tests.factories import mention

    page = mention(1, platform="facebook", native_id="501_7")
    assert page.mention_id == "facebook:501_7"  # addressed to the brand: the platform's id
    found = [mention(1, platform="x", native_id="1864", source=Source.SEARCH, brand=b) for b in ("a", "b")]
    assert [m.mention_id for m in found] == ["x:1864@a", "x:1864@b"]
    assert found[0].thread_key != found[1].thread_key
