from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.threads.calendar import BusinessCalendar

WARSAW = ZoneInfo("Europe/Warsaw")
BUDAPEST = ZoneInfo("Europe/Budapest")
OFFICE = BusinessCalendar.build("Europe/Warsaw", {"mon-fri": ["09:00-17:00"]}, country="PL")
LUNCH = BusinessCalendar.build(
    "Europe/Warsaw",
    {"mon-fri": ["09:00-12:00", "12:30-17:00"], "sat": ["10:00-14:00"]},
    country="PL",
    closed=[date(2026, 7, 3)],
)
HOUR = 3600.0


def warsaw(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=WARSAW)


def test_friday_afternoon_plus_an_hour_is_monday_morning() -> None:
    due = OFFICE.add(warsaw(2026, 5, 15, 16, 30), HOUR)
    assert due == warsaw(2026, 5, 18, 9, 30)
    assert due.tzinfo is UTC


@pytest.mark.parametrize(
    ("friday", "monday_utc"),
    [
        # last Sunday of March 2026 is the 29th: Monday is CEST (UTC+2)
        (warsaw(2026, 3, 27, 16, 30), datetime(2026, 3, 30, 7, 30, tzinfo=UTC)),
        # last Sunday of October 2026 is the 25th: Monday is CET (UTC+1)
        (warsaw(2026, 10, 23, 16, 30), datetime(2026, 10, 26, 8, 30, tzinfo=UTC)),
    ],
)
def test_weekend_across_daylight_saving_change(friday: datetime, monday_utc: datetime) -> None:
    due = OFFICE.add(friday, HOUR)
    assert due == monday_utc
    assert due.astimezone(WARSAW).hour == 9 and due.astimezone(WARSAW).minute == 30
    assert OFFICE.elapsed(friday, monday_utc) == HOUR


def test_day_of_a_change_has_23_or_25_hours() -> None:
    daily = BusinessCalendar.build("Europe/Warsaw", {"mon-sun": ["00:00-24:00"]})
    assert daily.elapsed(warsaw(2026, 3, 29), warsaw(2026, 3, 30)) == 23 * HOUR
    assert daily.elapsed(warsaw(2026, 10, 25), warsaw(2026, 10, 26)) == 25 * HOUR
    assert daily.elapsed(warsaw(2026, 10, 24), warsaw(2026, 10, 25)) == 24 * HOUR


def test_public_holiday_closes_the_whole_day() -> None:
    assert not OFFICE.is_open(warsaw(2026, 11, 11, 12))  # PL Independence Day, a Wednesday
    assert OFFICE.add(warsaw(2026, 11, 10, 16, 30), HOUR) == warsaw(2026, 11, 12, 9, 30)
    hungary = BusinessCalendar.build("Europe/Budapest", {"mon-fri": ["09:00-17:00"]}, country="HU")
    thursday = datetime(2026, 10, 22, 16, 30, tzinfo=BUDAPEST)
    # Friday 23 October is a Hungarian national day; the weekend includes the change to CET
    assert hungary.add(thursday, HOUR) == datetime(2026, 10, 26, 9, 30, tzinfo=BUDAPEST)
    assert hungary.elapsed(thursday, datetime(2026, 10, 27, 9, tzinfo=BUDAPEST)) == 8.5 * HOUR


def test_subdivision_holidays() -> None:
    bavaria = BusinessCalendar.build("Europe/Berlin", {"mon-fri": ["09:00-17:00"]}, "DE", "BY")
    berlin = BusinessCalendar.build("Europe/Berlin", {"mon-fri": ["09:00-17:00"]}, "DE", "BE")
    epiphany = datetime(2026, 1, 6, 12, tzinfo=ZoneInfo("Europe/Berlin"))
    assert not bavaria.is_open(epiphany)
    assert berlin.is_open(epiphany)


def test_lunch_break_saturday_and_closed_date() -> None:
    assert LUNCH.add(warsaw(2026, 5, 13, 11, 30), HOUR) == warsaw(2026, 5, 13, 13, 0)
    assert LUNCH.elapsed(warsaw(2026, 5, 13, 11), warsaw(2026, 5, 13, 13)) == 1.5 * HOUR
    assert not LUNCH.is_open(warsaw(2026, 5, 13, 12, 15))
    assert LUNCH.is_open(warsaw(2026, 5, 13, 12, 30))
    assert not LUNCH.is_open(warsaw(2026, 5, 13, 17))
    # Friday 16:00 + 2 h: one hour on Friday, one on Saturday from 10:00
    assert LUNCH.add(warsaw(2026, 5, 15, 16), 2 * HOUR) == warsaw(2026, 5, 16, 11)
    assert not LUNCH.is_open(warsaw(2026, 7, 3, 10))  # an explicitly closed Friday
    assert LUNCH.next_open(warsaw(2026, 7, 3, 10)) == warsaw(2026, 7, 4, 10)


def test_next_open_and_close_of_day() -> None:
    open_now = warsaw(2026, 5, 13, 10, 15)
    assert OFFICE.next_open(open_now) == open_now
    assert OFFICE.next_open(warsaw(2026, 5, 13, 8)) == warsaw(2026, 5, 13, 9)
    assert OFFICE.next_open(warsaw(2026, 5, 15, 17)) == warsaw(2026, 5, 18, 9)
    assert OFFICE.close_of_day(warsaw(2026, 5, 13, 8)) == warsaw(2026, 5, 13, 17)
    assert OFFICE.close_of_day(warsaw(2026, 5, 13, 18)) == warsaw(2026, 5, 14, 17)
    assert OFFICE.close_of_day(warsaw(2026, 11, 10, 18)) == warsaw(2026, 11, 12, 17)


def test_add_zero_and_elapsed_backwards() -> None:
    closed_moment = warsaw(2026, 5, 16, 12)
    assert OFFICE.add(closed_moment, 0) == closed_moment
    assert OFFICE.elapsed(warsaw(2026, 5, 14), warsaw(2026, 5, 13)) == 0.0


def test_a_year_of_office_hours() -> None:
    # 2026: 261 weekdays, 8 PL holidays on weekdays (1 and 6 Jan, 6 Apr, 1 May, 4 Jun, 11 Nov, 24 and 25 Dec)
    assert OFFICE.elapsed(warsaw(2026, 1, 1), warsaw(2027, 1, 1)) == 253 * 8 * HOUR


def test_always_is_wall_clock() -> None:
    always = BusinessCalendar.always()
    start = warsaw(2026, 3, 28, 23)
    assert always.elapsed(start, warsaw(2026, 3, 29, 23)) == 23 * HOUR
    assert always.add(start, 90.5) == start + timedelta(seconds=90.5)
    assert always.is_open(start)


@pytest.mark.parametrize(
    ("zone", "hours", "country", "message"),
    [
        ("Mars/Olympus", {"mon": ["09:00-17:00"]}, None, "unknown time zone 'Mars/Olympus'"),
        ("UTC", {"mon-fry": ["09:00-17:00"]}, None, "unknown day name 'fry'"),
        ("UTC", {"mon": ["17:00-09:00"]}, None, "must end after it starts"),
        ("UTC", {"mon": ["09:00-17:00"], "mon-tue": ["16:00-18:00"]}, None, "overlapping intervals on mon"),
        ("UTC", {"mon": ["9 to 5"]}, None, "unparsable interval"),
        ("UTC", {"mon": ["09:00-25:00"]}, None, "unparsable interval"),
        ("UTC", {"mon": ["09:61-10:00"]}, None, "unparsable interval"),
        ("UTC", {"mon": ["09:00-17:00"]}, "XX", "unknown holiday country"),
    ],
)
def test_bad_settings_raise_one_line(
    zone: str, hours: Mapping[str, Sequence[str]], country: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        BusinessCalendar.build(zone, hours, country=country)
    assert "\n" not in str(raised.value)


def test_unknown_subdivision_and_subdivision_without_country() -> None:
    with pytest.raises(ValueError, match="subdivision"):
        BusinessCalendar.build("UTC", {}, country="PL", subdivision="ZZ")
    with pytest.raises(ValueError, match="without a country"):
        BusinessCalendar.build("UTC", {}, subdivision="BY")


def test_touching_intervals_and_wrapping_ranges() -> None:
    israel = BusinessCalendar.build("Asia/Jerusalem", {"sun-thu": ["08:00-12:00", "12:00-16:00"]})
    tz = ZoneInfo("Asia/Jerusalem")
    assert israel.is_open(datetime(2026, 5, 17, 12, tzinfo=tz))  # Sunday
    assert not israel.is_open(datetime(2026, 5, 15, 12, tzinfo=tz))  # Friday
    assert israel.elapsed(datetime(2026, 5, 17, tzinfo=tz), datetime(2026, 5, 18, tzinfo=tz)) == 8 * HOUR


def test_closed_calendar_never_loops_forever() -> None:
    shut = BusinessCalendar.build("UTC", {})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="no 60"):
        shut.add(start, 60)
    with pytest.raises(ValueError, match="no open time"):
        shut.next_open(start)
    assert shut.elapsed(start, start + timedelta(days=400)) == 0.0


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf"), 1e300])
def test_add_rejects_bad_amounts(seconds: float) -> None:
    with pytest.raises(ValueError, match="business seconds"):
        OFFICE.add(warsaw(2026, 5, 13, 10), seconds)


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 5, 13, 10)
    for call in (
        lambda: OFFICE.is_open(naive),
        lambda: OFFICE.add(naive, 1),
        lambda: OFFICE.elapsed(naive, warsaw(2026, 5, 14)),
        lambda: OFFICE.next_open(naive),
    ):
        with pytest.raises(ValueError, match="timezone-aware"):
            call()


ZONES = st.sampled_from([UTC, WARSAW, ZoneInfo("America/New_York"), ZoneInfo("Australia/Sydney")])
MOMENTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=ZONES)
CALENDARS = st.sampled_from(
    [
        OFFICE,
        LUNCH,
        BusinessCalendar.build("America/New_York", {"mon-fri": ["08:30-12:00", "13:00-18:00"]}, country="US"),
        BusinessCalendar.build("Europe/London", {"mon-sun": ["00:00-02:30", "22:00-24:00"]}),
    ]
)


@given(CALENDARS, MOMENTS, st.floats(min_value=0, max_value=60 * 24 * HOUR))
def test_elapsed_undoes_add(calendar: BusinessCalendar, start: datetime, seconds: float) -> None:
    due = calendar.add(start, seconds)
    assert abs(calendar.elapsed(start, due) - seconds) <= 1e-6
    assert due >= start
    if seconds > 0:
        assert calendar.elapsed(start, due - timedelta(microseconds=1)) < seconds


@given(CALENDARS, MOMENTS, MOMENTS, MOMENTS)
def test_elapsed_is_additive(calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    total = calendar.elapsed(a, c)
    assert abs(calendar.elapsed(a, b) + calendar.elapsed(b, c) - total) <= 1e-6
    assert 0 <= total <= (c - a).total_seconds()


@given(CALENDARS, MOMENTS)
def test_next_open_is_open_and_nothing_is_open_before_it(calendar: BusinessCalendar, at: datetime) -> None:
    opening = calendar.next_open(at)
    assert calendar.is_open(opening)
    assert calendar.elapsed(at, opening) == 0.0
