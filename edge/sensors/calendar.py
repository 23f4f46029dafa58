"""When did the current after-hours / service period begin and when does it end?

"Closed" (the gate of power_left_on and door_open_after_hours) is ScheduleConfig.after_hours minus a
pre-opening grace of the same length as the closing grace: staff switching PCs on and opening the door
at 08:10 for an 08:30 opening is arrival, not "left on". (Proposed config field: opening_grace_min.)

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


def closed_since(s: ScheduleConfig, local: dt.datetime) -> dt.datetime | None:
    """Start of the closed period containing ``local``: after hours, but not within the grace before opening."""
    opening = s.opening(local.date())
    grace = dt.timedelta(minutes=s.opening_grace_min)
    if opening is not None and s.phase(local) == "before_opening" and local >= opening - grace:
        return None
    return after_hours_since(s, local)


def closed_until(s: ScheduleConfig, local: dt.datetime) -> dt.datetime:
    """When the closed period that had covered moments up to ``local`` ended (opening minus grace)."""
    opening = s.opening(local.date())
    if opening is not None:
        start = opening - dt.timedelta(minutes=s.opening_grace_min)
        if start <= local:
            return start
    return local


def service_since(s: ScheduleConfig, local: dt.datetime) -> dt.datetime | None:
    """Start of the service session containing ``local``, or None outside service."""
    session = s.session_at(local)
    return dt.datetime.combine(local.date(), session.start) if session is not None else None


def always_since(s: ScheduleConfig, local: dt.datetime) -> dt.datetime | None:
    """Rules that apply at any time."""
    return dt.datetime.min


def service_until(s: ScheduleConfig, local: dt.datetime) -> dt.datetime:
    """When the service session that preceded ``local`` ended (latest session end at or before it)."""
    if s.is_workday(local.date()):
        ends = [dt.datetime.combine(local.date(), r.end) for r in s.sessions]
        past = [e for e in ends if e <= local]
        if past:
            return max(past)
    return local
