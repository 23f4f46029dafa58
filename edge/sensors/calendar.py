"""When did the current after-hours / service period begin and when does it end?

edge.site.ScheduleConfig answers "is this moment after hours / in service"; the sensor rules also need the
boundary itself, so an episode that was already physically true (a PC on since 16:00) starts exactly at
closing + grace, and one cut short by the schedule ends exactly at opening. All times are naive hall-local.
"""

from __future__ import annotations

import datetime as dt

from edge.site import ScheduleConfig

MAX_LOOKBACK_DAYS = 40  # longest run of closed days we walk back over (Spring Festival + weekends)


def after_hours_since(s: ScheduleConfig, local: dt.datetime) -> dt.datetime | None:
    """Start of the after-hours period containing ``local`` (closing + grace of the last workday), or None."""
    if not s.after_hours(local):
        return None
    grace = dt.timedelta(minutes=s.closing_grace_min)
    closing = s.closing(local.date())
    if closing is not None and local >= closing + grace:
        return closing + grace
    day = local.date()
    for _ in range(MAX_LOOKBACK_DAYS):
        day -= dt.timedelta(days=1)
        closing = s.closing(day)
        if closing is not None:
            return closing + grace
    return local - dt.timedelta(days=MAX_LOOKBACK_DAYS)  # no workday in sight: a long closure


def service_since(s: ScheduleConfig, local: dt.datetime) -> dt.datetime | None:
    """Start of the service session containing ``local``, or None outside service."""
    session = s.session_at(local)
    return dt.datetime.combine(local.date(), session.start) if session is not None else None


def always_since(s: ScheduleConfig, local: dt.datetime) -> dt.datetime | None:
    """Rules that apply at any time."""
    return dt.datetime.min


def after_hours_until(s: ScheduleConfig, local: dt.datetime) -> dt.datetime:
    """When an after-hours period that had covered moments up to ``local`` ended: the opening at or before it."""
    opening = s.opening(local.date())
    return opening if opening is not None and opening <= local else local


def service_until(s: ScheduleConfig, local: dt.datetime) -> dt.datetime:
    """When the service session that preceded ``local`` ended (latest session end at or before it)."""
    if s.is_workday(local.date()):
        ends = [dt.datetime.combine(local.date(), r.end) for r in s.sessions]
        past = [e for e in ends if e <= local]
        if past:
            return max(past)
    return local
