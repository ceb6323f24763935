"""The schedule of report subscriptions (``reporting.schedule``), pure: the next run
in the organisation's time zone, across daylight-saving changes and short months,
and the period a run belongs to."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from reporting.enums import Frequency, Weekday
from reporting.models import ReportSubscription
from reporting.schedule import next_run_at, period_key

BERLIN = ZoneInfo("Europe/Berlin")
SYDNEY = ZoneInfo("Australia/Sydney")


def weekly(day: int = Weekday.MONDAY, at: time = time(7, 0)) -> ReportSubscription:
    return ReportSubscription(
        frequency=Frequency.WEEKLY, weekday=day, time_of_day=at, is_active=True
    )


def monthly(day: int, at: time = time(7, 0)) -> ReportSubscription:
    return ReportSubscription(
        frequency=Frequency.MONTHLY, day_of_month=day, time_of_day=at, is_active=True
    )


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        # Winter (CET, UTC+1): Monday 07:00 in Berlin is 06:00 UTC.
        (utc(2026, 12, 6, 12, 0), utc(2026, 12, 7, 6, 0)),
        # One second before it is due, and the moment itself (strictly after).
        (utc(2026, 12, 7, 5, 59, 59), utc(2026, 12, 7, 6, 0)),
        (utc(2026, 12, 7, 6, 0), utc(2026, 12, 14, 6, 0)),
        # Summer (CEST, UTC+2): 05:00 UTC.
        (utc(2026, 7, 1, 0, 0), utc(2026, 7, 6, 5, 0)),
    ],
)
def test_weekly_run_is_the_weekday_at_the_local_time(after, expected):
    assert next_run_at(weekly(), after=after, zone=BERLIN) == expected


def test_weekly_run_after_the_spring_change_keeps_the_local_time():
    # Clocks go forward on Sunday 29 March 2026: Monday 30 March 07:00 is CEST.
    before = next_run_at(weekly(), after=utc(2026, 3, 20, 0, 0), zone=BERLIN)
    after = next_run_at(weekly(), after=utc(2026, 3, 28, 0, 0), zone=BERLIN)

    assert before == utc(2026, 3, 23, 6, 0)
    assert after == utc(2026, 3, 30, 5, 0)
    assert after.astimezone(BERLIN).time() == time(7, 0)


def test_weekly_run_after_the_autumn_change_keeps_the_local_time():
    # Clocks go back on Sunday 25 October 2026.
    run = next_run_at(weekly(), after=utc(2026, 10, 24, 0, 0), zone=BERLIN)

    assert run == utc(2026, 10, 26, 6, 0)


def test_a_local_time_the_spring_change_skips_runs_an_hour_later_on_the_clock():
    sunday_half_past_two = weekly(Weekday.SUNDAY, time(2, 30))

    run = next_run_at(sunday_half_past_two, after=utc(2026, 3, 28, 0, 0), zone=BERLIN)

    assert run == utc(2026, 3, 29, 1, 30)
    assert run.astimezone(BERLIN).time() == time(3, 30)


def test_a_local_time_the_autumn_change_repeats_runs_once_at_its_first_occurrence():
    sunday_half_past_two = weekly(Weekday.SUNDAY, time(2, 30))

    first = next_run_at(
        sunday_half_past_two, after=utc(2026, 10, 24, 0, 0), zone=BERLIN
    )
    then = next_run_at(sunday_half_past_two, after=first, zone=BERLIN)

    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    assert then == utc(2026, 11, 1, 1, 30)  # a week later, 02:30 CET


def test_a_monday_morning_east_of_utc_is_still_sunday_in_utc():
    # Monday 07:00 in Sydney (AEDT, UTC+11) is Sunday 20:00 UTC.
    run = next_run_at(weekly(), after=utc(2026, 12, 6, 0, 0), zone=SYDNEY)

    assert run == utc(2026, 12, 6, 20, 0)
    assert period_key(weekly(), run.astimezone(SYDNEY)) == "2026-W50"


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (utc(2026, 1, 31, 12, 0), utc(2026, 2, 28, 6, 0)),  # 31 → 28 February
        (utc(2028, 2, 1, 0, 0), utc(2028, 2, 29, 6, 0)),  # a leap year
        (utc(2026, 4, 1, 0, 0), utc(2026, 4, 30, 5, 0)),  # 30 April (CEST)
        (utc(2026, 4, 30, 5, 0), utc(2026, 5, 31, 5, 0)),  # then 31 May
    ],
)
def test_day_31_is_the_last_day_of_shorter_months(after, expected):
    assert next_run_at(monthly(31), after=after, zone=BERLIN) == expected


def test_a_monthly_run_early_on_the_first_local_day_is_the_previous_utc_day():
    # 1 December 00:30 in Berlin is 30 November 23:30 UTC: still December's run.
    subscription = monthly(1, time(0, 30))

    run = next_run_at(subscription, after=utc(2026, 11, 15, 0, 0), zone=BERLIN)

    assert run == utc(2026, 11, 30, 23, 30)
    assert period_key(subscription, run.astimezone(BERLIN)) == "2026-12"


def test_cycle_event_and_inactive_subscriptions_have_no_next_run():
    event = ReportSubscription(
        frequency=Frequency.CYCLE_EVENT,
        cycle_event="review",
        time_of_day=time(7, 0),
        is_active=True,
    )
    paused = weekly()
    paused.is_active = False

    assert next_run_at(event, after=utc(2026, 1, 1), zone=BERLIN) is None
    assert next_run_at(paused, after=utc(2026, 1, 1), zone=BERLIN) is None


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="aware"):
        next_run_at(weekly(), after=datetime(2026, 1, 1), zone=BERLIN)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 12, 7, 7, 0, tzinfo=BERLIN), "2026-W50"),
        # ISO weeks: 29 December 2025 is in the first week of 2026.
        (datetime(2025, 12, 29, 7, 0, tzinfo=BERLIN), "2026-W01"),
        (datetime(2027, 1, 1, 7, 0, tzinfo=BERLIN), "2026-W53"),
    ],
)
def test_weekly_period_is_the_local_iso_week(local, expected):
    assert period_key(weekly(), local) == expected


def test_monthly_period_is_the_local_month():
    assert period_key(monthly(31), datetime(2026, 12, 31, 7, 0, tzinfo=BERLIN)) == (
        "2026-12"
    )
