from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.threads.calendar import BusinessCalendar
from models.threads.metrics import ConversationTimes, ThreadFacts, Turn, report, response_times

WARSAW = ZoneInfo("Europe/Warsaw")
OFFICE = BusinessCalendar.build("Europe/Warsaw", {"mon-fri": ["09:00-12:00", "12:30-17:00"]}, country="PL")
WALL = BusinessCalendar.always()


def warsaw(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=WARSAW)


# Tue 10 Nov 2026 16:00 customer; Wed 11 Nov is a holiday; brand answers Thu 12 Nov 09:30.
# The customer writes twice (Thu 11:45 and Fri 13 Nov 16:45) before the brand answers Mon 16 Nov 12:45.
CONVERSATION = [
    Turn("c1", warsaw(2026, 11, 10, 16), False),
    Turn("b1", warsaw(2026, 11, 12, 9, 30), True),
    Turn("c2", warsaw(2026, 11, 12, 11, 45), False),
    Turn("c3", warsaw(2026, 11, 13, 16, 45), False),
    Turn("b2", warsaw(2026, 11, 16, 12, 45), True),
    Turn("b3", warsaw(2026, 11, 16, 13), True),
    Turn("c4", warsaw(2026, 11, 16, 14), False),
]


def test_business_response_times_by_hand() -> None:
    times = response_times(CONVERSATION, OFFICE, business=True)
    assert times.first_customer_at == warsaw(2026, 11, 10, 16)
    assert times.first_response_at == warsaw(2026, 11, 12, 9, 30)
    assert times.first_response_seconds == 1.5 * 3600  # 1 h on Tuesday, 30 min on Thursday
    # next response clock from c2 (the oldest unanswered), not c3: Thu 11:45-12:00 (15 min)
    # + 12:30-17:00 (4.5 h), Fri 7.5 h, Mon 09:00-12:00 (3 h) and 12:30-12:45, lunch skipped -> 15.5 h
    assert times.next_response_seconds == (15.5 * 3600,)
    assert times.unanswered_since == warsaw(2026, 11, 16, 14)
    assert times.replied


def test_wall_clock_response_times() -> None:
    times = response_times(CONVERSATION, WALL, business=False)
    assert times.first_response_seconds == (41 * 60 + 30) * 60
    assert times.next_response_seconds == ((4 * 24 + 1) * 3600.0,)


def test_response_across_the_change_to_summer_time() -> None:
    turns = [Turn("c", warsaw(2026, 3, 27, 16, 30), False), Turn("b", warsaw(2026, 3, 30, 9, 30), True)]
    assert response_times(turns, OFFICE, business=True).first_response_seconds == 3600.0
    # wall clock: 65 hours minus the hour lost on 29 March
    assert response_times(turns, WALL, business=False).first_response_seconds == 64 * 3600.0


def test_brand_first_and_no_customer() -> None:
    only_brand = response_times([Turn("b", warsaw(2026, 5, 13, 9), True)], OFFICE, business=True)
    assert only_brand == ConversationTimes(None, None, None, (), None, False)
    turns = [Turn("b", warsaw(2026, 5, 13, 9), True), Turn("c", warsaw(2026, 5, 13, 10), False)]
    waiting = response_times(turns, OFFICE, business=True)
    assert (waiting.replied, waiting.unanswered_since) == (False, warsaw(2026, 5, 13, 10))


def test_a_reply_at_the_same_instant_answers_nothing() -> None:
    at = warsaw(2026, 5, 13, 10)
    times = response_times([Turn("a", at, True), Turn("b", at, False)], OFFICE, business=True)
    assert not times.replied and times.unanswered_since == at


def test_duplicates_count_once_and_naive_times_raise() -> None:
    doubled = [*CONVERSATION, *CONVERSATION[:3]]
    assert response_times(doubled, OFFICE, True) == response_times(CONVERSATION, OFFICE, True)
    with pytest.raises(ValueError, match="naive"):
        response_times([Turn("x", datetime(2026, 5, 13), False)], OFFICE, True)


TURNS = st.lists(
    st.builds(
        Turn,
        id=st.sampled_from([f"m{i}" for i in range(12)]),
        at=st.integers(0, 10 * 24 * 60).map(lambda m: warsaw(2026, 5, 11) + timedelta(minutes=m)),
        from_brand=st.booleans(),
    ),
    max_size=14,
    unique_by=lambda t: t.id,
)


@given(TURNS, st.randoms(use_true_random=False), st.booleans())
def test_turn_order_never_matters(turns: list[Turn], rng: object, business: bool) -> None:
    shuffled = list(turns)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    calendar = OFFICE if business else WALL
    expected = response_times(turns, calendar, business)
    assert response_times(shuffled, calendar, business) == expected
    assert response_times([*shuffled, *turns], calendar, business) == expected
    assert expected.replied == (expected.first_response_seconds is not None)
    assert all(s >= 0 for s in expected.next_response_seconds)


def facts(brand: str, channel: str, category: str | None, first: float | None, nexts: tuple[float, ...] = (),
          resolved_after: float | None = None, mentions: int = 2, negative: int = 1) -> ThreadFacts:  # fmt: skip
    start = warsaw(2026, 5, 13, 9)
    times = ConversationTimes(start, None, first, nexts, None, first is not None)
    resolved = None if resolved_after is None else start + timedelta(seconds=resolved_after)
    return ThreadFacts(brand, channel, category, mentions, negative, times, resolved, start)  # type: ignore[arg-type]


REPORT_INPUT = [
    facts("zakupowo", "public", "payment", 60, (10, 30), resolved_after=600),
    facts("zakupowo", "public", "payment", 120, (20,), resolved_after=1200, negative=0),
    facts("zakupowo", "public", "payment", None, mentions=1),
    facts("zakupowo", "private", None, 300, resolved_after=3600, mentions=4, negative=4),
    facts("fotomat", "public", "delivery", 50),
]


def test_report_by_brand_channel_category() -> None:
    rows = report(REPORT_INPUT)
    assert [(r.brand, r.channel, r.category) for r in rows] == [
        ("fotomat", "public", "delivery"),
        ("zakupowo", "private", None),
        ("zakupowo", "public", "payment"),
    ]
    payment = rows[2]
    assert (payment.threads, payment.mentions, payment.negative_share) == (3, 5, 0.4)
    assert payment.response_rate == pytest.approx(2 / 3)
    assert (payment.first_response_median, payment.first_response_p90) == (90.0, 114.0)
    assert (payment.next_response_median, payment.next_response_p90) == (20.0, 28.0)
    assert payment.resolution_rate == pytest.approx(2 / 3)
    assert (payment.resolution_median, payment.resolution_p90) == (900.0, 1140.0)
    single = rows[0]
    assert (single.first_response_median, single.first_response_p90) == (50.0, 50.0)
    assert (single.next_response_median, single.resolution_median, single.resolution_rate) == (
        None,
        None,
        0.0,
    )


def test_report_all_row_per_brand() -> None:
    rows = report(REPORT_INPUT, group_by=("brand",))
    assert [(r.brand, r.channel, r.category, r.grouped_by) for r in rows] == [
        ("fotomat", None, None, ("brand",)),
        ("zakupowo", None, None, ("brand",)),
    ]
    zakupowo = rows[1]
    assert (zakupowo.threads, zakupowo.mentions, zakupowo.negative_share) == (4, 9, 6 / 9)
    assert zakupowo.response_rate == 0.75
    # first responses 60, 120, 300: inclusive p90 = 120 + 0.8 * 180
    assert (zakupowo.first_response_median, zakupowo.first_response_p90) == (120.0, 264.0)
    assert report([], group_by=("brand",)) == []


@pytest.mark.parametrize("group_by", [("brand", "colour"), ("brand", "brand")])
def test_report_rejects_bad_group_fields(group_by: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="cannot group by"):
        report(REPORT_INPUT, group_by=group_by)


def test_reply_mistakes_are_counted_per_group() -> None:
    from datetime import UTC, datetime

    from models.threads.calendar import BusinessCalendar
    from models.threads.metrics import ThreadFacts, report, response_times

    t0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
    times = response_times([], BusinessCalendar.always(), False)

    def fact(brand: str, *mistakes: str) -> ThreadFacts:
        return ThreadFacts(brand, "public", None, 1, 0, times, None, t0, frozenset(mistakes))

    rows = report(
        [fact("a", "hotline_redirect"), fact("a", "hotline_redirect", "private_only"), fact("a"), fact("b")],
        ("brand",),
    )
    assert [(r.brand, r.hotline_redirects, r.private_only) for r in rows] == [("a", 2, 1), ("b", 0, 0)]
