"""When a report subscription is due, and which period a delivery belongs to. Pure:
no query, no clock (the caller passes the moment and the organisation's zone).

Rules, in the organisation's time zone (``zone``):

- **Weekly**: the subscription's weekday at its time of day.
- **Monthly**: its day of the month at its time of day; a day the month does not
  have (29, 30 or 31) is the month's last day, so "the 31st" is 28 February, 30 April
  and 31 May.
- **Cycle events** and **inactive** subscriptions have no next run: the cycle's move
  queues their deliveries (``reporting.dispatch``), or nothing does.
- A local time that a daylight-saving change skips (02:30 on the spring-forward
  Sunday in Europe/Berlin) is read with the offset before the change, that is one
  hour later on the clock (03:30); a local time that happens twice (the autumn
  change) is its first occurrence. Both follow ``zoneinfo``'s ``fold=0``.

Every result is an aware datetime in UTC, strictly after ``after``.

A delivery's period (``period_key``) names the local calendar period of its due
time: the ISO week for weekly subscriptions (``2026-W49``; ISO weeks start on
Monday and the first week of a year holds its first Thursday), the month for
monthly ones (``2026-12``). The delivery ledger's unique (subscription, period) key
is what makes a period deliver once.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from reporting.enums import Frequency

# The frequencies that run on a calendar (cycle events are queued by the cycle's move).
SCHEDULED = (Frequency.WEEKLY, Frequency.MONTHLY)
# How far ahead a search for the next run may look: a weekly or monthly schedule
# always has a run within the next two months.
_SEARCH_LIMIT = 62


class Schedule(Protocol):
    """What the schedule reads of a ``ReportSubscription``."""

    @property
    def frequency(self) -> str: ...

    @property
    def weekday(self) -> int | None: ...

    @property
    def day_of_month(self) -> int | None: ...

    @property
    def time_of_day(self) -> time: ...

    @property
    def is_active(self) -> bool: ...


def next_run_at(
    subscription: Schedule, *, after: datetime, zone: ZoneInfo
) -> datetime | None:
    """The first time strictly after ``after`` (aware) at which ``subscription`` is
    due, in UTC; None for subscriptions that follow cycle events and inactive ones
    (and for a weekly one without a weekday, a monthly one without a day)."""
    if after.tzinfo is None:
        raise ValueError("next_run_at needs an aware datetime.")
    if not subscription.is_active or subscription.frequency not in SCHEDULED:
        return None
    local_day = after.astimezone(zone).date()
    for offset in range(_SEARCH_LIMIT):
        day = _run_day(subscription, local_day + timedelta(days=offset))
        if day is None:
            continue
        moment = _at(day, subscription, zone)
        if moment > after:
            return moment
    # Cycle events, or a schedule without its weekday or day.
    return None


def _run_day(subscription: Schedule, day: date) -> date | None:
    """``day`` if the subscription runs on it, else None."""
    if subscription.frequency == Frequency.WEEKLY:
        if subscription.weekday is None:
            return None
        return day if day.weekday() == subscription.weekday else None
    if subscription.frequency == Frequency.MONTHLY:
        if subscription.day_of_month is None:
            return None
        last = calendar.monthrange(day.year, day.month)[1]
        wanted = min(subscription.day_of_month, last)
        return day if day.day == wanted else None
    return None


def _at(day: date, subscription: Schedule, zone: ZoneInfo) -> datetime:
    """The subscription's time of day on ``day`` in ``zone``, as UTC."""
    local = datetime.combine(day, subscription.time_of_day, tzinfo=zone)
    return local.astimezone(UTC)


def period_key(subscription: Schedule, due_at_local: datetime) -> str:
    """The period a delivery due at ``due_at_local`` (in the organisation's zone)
    belongs to: ``2026-W49`` (weekly), ``2026-12`` (monthly); the local day
    (``2026-12-07``) for anything else."""
    day = due_at_local.date()
    if subscription.frequency == Frequency.WEEKLY:
        year, week, _weekday = day.isocalendar()
        return f"{year}-W{week:02d}"
    if subscription.frequency == Frequency.MONTHLY:
        return f"{day.year}-{day.month:02d}"
    return day.isoformat()
