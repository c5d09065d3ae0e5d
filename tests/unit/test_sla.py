from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.threads.calendar import BusinessCalendar
from models.threads.sla import (
    DEFAULT_TARGETS,
    MESSENGER_WINDOW,
    PRIVATE_SAME_DAY,
    PUBLIC_COMPLAINT,
    SlaTarget,
    clock,
    due_alerts,
)

WARSAW = ZoneInfo("Europe/Warsaw")
OFFICE = BusinessCalendar.build("Europe/Warsaw", {"mon-fri": ["09:00-12:00", "12:30-17:00"]}, country="PL")
FOUR_HOURS = SlaTarget("vip", 4 * 3600, True, "any", False)


def warsaw(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=WARSAW)


def test_defaults() -> None:
    assert [t.name for t in DEFAULT_TARGETS] == [
        "public_complaint",
        "private_same_day",
        "messenger_reply_window",
    ]
    assert PUBLIC_COMPLAINT.applies("public", True) and not PUBLIC_COMPLAINT.applies("public", False)
    assert not PUBLIC_COMPLAINT.applies("private", True)
    assert PRIVATE_SAME_DAY.applies("private", False) and not PRIVATE_SAME_DAY.applies("public", True)
    assert MESSENGER_WINDOW.kind == "reply_window" and not MESSENGER_WINDOW.business_hours


def test_public_complaint_runs_on_the_wall_clock_through_the_night() -> None:
    start = warsaw(2026, 5, 15, 22, 0)
    c = clock(PUBLIC_COMPLAINT, OFFICE, start, None, warsaw(2026, 5, 15, 23, 40))
    assert c.due_at == datetime(2026, 5, 15, 22, 0, tzinfo=UTC)  # 22:00 CEST + 2 h
    assert c.warn_due_at == datetime(2026, 5, 15, 21, 30, tzinfo=UTC)
    assert (c.state, c.elapsed_seconds, c.remaining_seconds) == ("warning", 6000.0, 1200.0)
    late = clock(PUBLIC_COMPLAINT, OFFICE, start, None, warsaw(2026, 5, 16, 0, 30))
    assert (late.state, late.remaining_seconds) == ("breached", -1800.0)


def test_business_target_skips_lunch_weekend_and_holiday() -> None:
    # Tuesday 10 Nov 2026, 15:00: 2 h on Tuesday, Wednesday is a holiday, 2 h on Thursday from 09:00
    c = clock(FOUR_HOURS, OFFICE, warsaw(2026, 11, 10, 15), None, warsaw(2026, 11, 12, 10))
    assert c.due_at == warsaw(2026, 11, 12, 11)
    assert c.warn_due_at == warsaw(2026, 11, 12, 10)  # 3 business hours
    assert (c.state, c.elapsed_seconds, c.remaining_seconds) == ("warning", 3 * 3600.0, 3600.0)
    lunch = clock(FOUR_HOURS, OFFICE, warsaw(2026, 11, 12, 10), None, warsaw(2026, 11, 12, 10))
    assert lunch.due_at == warsaw(2026, 11, 12, 14, 30)


def test_private_message_is_due_at_the_close_of_its_business_day() -> None:
    morning = clock(PRIVATE_SAME_DAY, OFFICE, warsaw(2026, 5, 13, 8), None, warsaw(2026, 5, 13, 8))
    assert morning.due_at == warsaw(2026, 5, 13, 17)
    # 75 % of 7.5 business hours = 5 h 37.5 min: 3 h before lunch, 2 h 37.5 min after 12:30
    assert morning.warn_due_at == warsaw(2026, 5, 13, 15, 7, 30)
    assert morning.remaining_seconds == 7.5 * 3600
    evening = clock(PRIVATE_SAME_DAY, OFFICE, warsaw(2026, 5, 15, 18), None, warsaw(2026, 5, 16, 12))
    assert evening.due_at == warsaw(2026, 5, 18, 17)  # arrived Friday after hours: Monday's close
    assert (evening.state, evening.elapsed_seconds) == ("running", 0.0)


def test_same_day_with_a_floor() -> None:
    floor = SlaTarget("floor", 3600, True, "private", False, until_close=True)
    c = clock(floor, OFFICE, warsaw(2026, 5, 13, 16, 30), None, warsaw(2026, 5, 13, 16, 30))
    assert c.due_at == warsaw(2026, 5, 14, 9, 30)


def test_messenger_window_is_24_wall_hours() -> None:
    start = warsaw(2026, 3, 28, 20)
    c = clock(MESSENGER_WINDOW, OFFICE, start, None, start)
    assert c.due_at - start == timedelta(hours=24)
    assert c.due_at.astimezone(WARSAW).hour == 21  # across the change to summer time


def test_met_missed_and_unknown_future_answer() -> None:
    start = warsaw(2026, 5, 13, 9)
    met = clock(PUBLIC_COMPLAINT, OFFICE, start, start + timedelta(minutes=90), start + timedelta(hours=5))
    assert (met.state, met.elapsed_seconds, met.stopped_at) == ("met", 5400.0, start + timedelta(minutes=90))
    missed = clock(PUBLIC_COMPLAINT, OFFICE, start, start + timedelta(hours=3), start + timedelta(hours=5))
    assert (missed.state, missed.remaining_seconds) == ("missed", -3600.0)
    future = clock(PUBLIC_COMPLAINT, OFFICE, start, start + timedelta(hours=3), start + timedelta(hours=1))
    assert (future.state, future.stopped_at) == ("running", None)


def test_bad_inputs() -> None:
    start = warsaw(2026, 5, 13, 9)
    with pytest.raises(ValueError, match="precedes"):
        clock(PUBLIC_COMPLAINT, OFFICE, start, start - timedelta(seconds=1), start)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock(PUBLIC_COMPLAINT, OFFICE, datetime(2026, 5, 13), None, start)
    with pytest.raises(ValueError, match="no 60"):
        clock(SlaTarget("x", 60, True, "any", False), BusinessCalendar.build("UTC", {}), start, None, start)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seconds": 0}, "positive"),
        ({"seconds": float("nan")}, "positive"),
        ({"warn_at": 1.0}, "warn_at"),
        ({"warn_at": 0.0}, "warn_at"),
        ({"kind": "reply_window", "business_hours": True}, "wall clock"),
        ({"until_close": True, "business_hours": False}, "until_close"),
    ],
)
def test_target_validation(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"name": "t", "seconds": 60, "business_hours": True, "applies_to": "any"}
    with pytest.raises(ValueError, match=message):
        SlaTarget(**{**fields, "complaints_only": False, **kwargs})  # type: ignore[arg-type]


def test_alerts_for_a_late_worker_and_their_ids() -> None:
    start = warsaw(2026, 5, 13, 9)
    c = clock(PUBLIC_COMPLAINT, OFFICE, start, None, start + timedelta(hours=3))
    alerts = due_alerts("zakupowo:x:1", [c], start + timedelta(hours=3))
    assert [a.kind for a in alerts] == ["warning", "breach"]
    assert alerts[0].alert_id == "zakupowo:x:1:public_complaint:warning:2026-05-13T07:00:00+00:00"
    assert alerts[1].due_at == datetime(2026, 5, 13, 9, tzinfo=UTC)
    again = due_alerts("zakupowo:x:1", [c], start + timedelta(hours=4))
    assert [a.alert_id for a in again] == [a.alert_id for a in alerts]


def test_alerts_follow_now_and_stop_at_the_answer() -> None:
    start = warsaw(2026, 5, 13, 9)
    running = clock(PUBLIC_COMPLAINT, OFFICE, start, None, start)
    assert due_alerts("k", [running], start + timedelta(minutes=89)) == []
    assert [a.kind for a in due_alerts("k", [running], start + timedelta(minutes=90))] == ["warning"]
    answered = clock(PUBLIC_COMPLAINT, OFFICE, start, start + timedelta(hours=3), start + timedelta(hours=4))
    assert due_alerts("k", [answered], start + timedelta(hours=4)) == []


@given(st.integers(min_value=0, max_value=10 * 24 * 60))
def test_states_move_forward_only(minutes: int) -> None:
    start = warsaw(2026, 5, 13, 16)
    order = ["running", "warning", "breached"]
    earlier = clock(FOUR_HOURS, OFFICE, start, None, start + timedelta(minutes=minutes))
    later = clock(FOUR_HOURS, OFFICE, start, None, start + timedelta(minutes=minutes + 30))
    assert order.index(earlier.state) <= order.index(later.state)
    assert later.elapsed_seconds >= earlier.elapsed_seconds
    assert abs(earlier.elapsed_seconds + earlier.remaining_seconds - 4 * 3600) <= 1e-6
