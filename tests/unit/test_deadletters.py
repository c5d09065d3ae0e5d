from datetime import UTC, datetime, timedelta

import pytest

from streams.cli.deadletters import describe, preview
from streams.cli.main import main
from streams.contracts.codec import Invalid
from streams.contracts.limits import MAX_KEPT_BYTES
from streams.contracts.records import DeadLetter
from streams.kafka.dead_letter_reader import (
    Selection,
    parse_position,
    parse_since,
    plan_replay,
    select,
)
from streams.kafka.dead_letters import dead_letter
from streams.kafka.topics import Topics
from tests.factories import T0

TOPICS = Topics("fw")


def letter(
    offset: int,
    reason: str = "invalid JSON: Expecting value at line 1 column 1",
    minutes: float = 0,
    stage: str = "decode",
    topic: str = TOPICS.raw,
    value: bytes = b"{not json",
    key: bytes | None = b"zakupowo:x:1",
) -> DeadLetter:
    made = dead_letter(Invalid(reason, 1, offset), stage, topic, key, value)
    return made.model_copy(update={"failed_at": T0 + timedelta(minutes=minutes)})


LETTERS = [
    letter(3, "unknown brand 'acme' (not in the configured brands)", minutes=30),
    letter(1, minutes=10),
    letter(2, "Scoring failed: boom", minutes=20, stage="score", topic=TOPICS.scored),
]


def offsets(letters: list[DeadLetter]) -> list[int]:
    return [x.offset for x in letters]


def test_select_filters_and_orders_by_failure_time() -> None:
    assert offsets(select(LETTERS, Selection())) == [1, 2, 3]
    assert offsets(select(LETTERS, Selection(since=T0 + timedelta(minutes=20)))) == [2, 3]
    assert offsets(select(LETTERS, Selection(reason="UNKNOWN BRAND"))) == [3]
    assert offsets(select(LETTERS, Selection(stage="score"))) == [2]
    chosen = Selection(positions=frozenset({(TOPICS.raw, 1, 1), (TOPICS.raw, 1, 2)}))
    assert offsets(select(LETTERS, chosen)) == [1]  # offset 2 failed on the scored topic
    assert select(LETTERS, Selection(reason="json", stage="score")) == []


def test_since_takes_times_dates_and_ages() -> None:
    now = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
    assert parse_since("2h", now) == now - timedelta(hours=2)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("3d", now) == now - timedelta(days=3)
    assert parse_since("2026-11-19", now) == datetime(2026, 11, 19, tzinfo=UTC)
    assert parse_since("2026-11-19T14:00Z", now) == datetime(2026, 11, 19, 14, tzinfo=UTC)
    assert parse_since("2026-11-19T14:00+02:00", now) == datetime(2026, 11, 19, 12, tzinfo=UTC)
    for bad in ("yesterday", "2h ago", "-3d", "2026-13-01"):
        with pytest.raises(ValueError, match="is not a time"):
            parse_since(bad, now)


def test_positions_parse_or_fail_clearly() -> None:
    assert parse_position("fw.mentions.raw:2:17") == ("fw.mentions.raw", 2, 17)
    for bad in ("fw.mentions.raw:2", "fw.mentions.raw:x:1", ":1:2", "2:17"):
        with pytest.raises(ValueError, match="topic:partition:offset"):
            parse_position(bad)


def test_replay_sends_originals_with_keys_and_refuses_what_it_cannot_rebuild() -> None:
    big = letter(7, value=b"x" * (MAX_KEPT_BYTES + 1))
    damaged = letter(8).model_copy(update={"value_b64": "not base64!"})
    flare = letter(9, topic=TOPICS.flares)
    stranger = letter(10, topic="elsewhere.raw")
    plan = plan_replay([*LETTERS, big, damaged, flare, stranger], TOPICS)
    assert [(s.topic, s.key, s.value) for s in plan.sends] == [
        (TOPICS.raw, b"zakupowo:x:1", b"{not json"),
        (TOPICS.raw, b"zakupowo:x:1", b"{not json"),
    ]
    refused = {x.offset: why for x, why in plan.refused}
    assert "only the start of its 524,289 bytes was kept" in refused[7]
    assert f"in {TOPICS.raw} at partition 1, offset 7" in refused[7]
    assert "not valid base64" in refused[8]
    assert offsets(plan.other_topics) == [2, 9, 10]

    wider = plan_replay([*LETTERS, flare, stranger, letter(11, topic=TOPICS.dead_letters)], TOPICS, True)
    assert sorted((s.letter.offset, s.topic) for s in wider.sends) == [
        (1, TOPICS.raw),
        (2, TOPICS.scored),
        (3, TOPICS.raw),
        (9, TOPICS.flares),
    ]
    assert offsets(wider.other_topics) == [10, 11]


def test_a_missing_key_is_sent_as_none() -> None:
    assert plan_replay([letter(1, key=None)], TOPICS).sends[0].key is None


def test_listing_shows_when_where_what_and_a_safe_preview() -> None:
    text = describe(letter(5, "bad\nreason", minutes=90, value=b'{"text": "\xff\x00tail'))
    head, reason, shown = text.splitlines()
    assert head.split() == ["2026-11-19", "13:30:00", "decode", f"{TOPICS.raw}:1:5", "16", "B"]
    assert reason == "    reason:  bad\\nreason"
    assert shown == '    preview: {"text": "\\xff\\x00tail'
    assert preview(letter(6, value=b"")) == "(empty)"
    long = preview(letter(6, value=("ż" * 500).encode()))
    assert long == "ż" * 79 + "…"
    big = describe(letter(7, value=b"y" * (MAX_KEPT_BYTES + 10)))
    assert "512.0 KiB (only the start kept)" in big.splitlines()[0]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        main(args)
    return int(exit_.value.code or 0), capsys.readouterr().err


def test_bad_arguments_fail_in_one_line_before_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["deadletters", "--since", "yesterday"], capsys)
    assert code != 0 and err.count("\n") == 1 and "'yesterday' is not a time" in err
    code, err = run(["deadletters", "replay", "--offset", "raw:1"], capsys)
    assert code != 0 and err.count("\n") == 1 and "topic:partition:offset" in err
    code, err = run(["deadletters", "replay"], capsys)
    assert code != 0 and "choose with --since" in err
    code, err = run(["deadletters", "--reason", "json", "replay", "--all"], capsys)
    assert code != 0 and "put --reason after 'replay'" in err


def test_a_data_dir_without_a_running_stack_is_explained(
    capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    code, err = run(["deadletters", "--data-dir", str(tmp_path)], capsys)
    assert code != 0 and "flarewatch.yaml not found" in err and "flarewatch up --data-dir" in err
