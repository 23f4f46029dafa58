"""Statistics (统计报表) and the 督查通报: alert counts per day, ISO week or month, by window, rule or staff.

Counted are the hall's alerts by the local date (hall time zone) their finding started. ``staff`` is the staff
member the assessment charges the finding to (roster at the time, 顶岗 cover, approved absence, reassignment);
findings charged to nobody count under ``None`` (window only). Dismissed alerts (误报) are counted apart and left out of the totals of violations.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

PERIODS = ("day", "week", "month")
GROUPS = ("window", "rule", "staff")
MAX_BUCKETS = 400


@dataclass(frozen=True)
class Row:
    """One alert as the statistics see it."""

    started_at: dt.datetime
    rule: str
    severity: str
    status: str
    window: str | None
    staff: str | None


def bucket_of(day: dt.date, period: str) -> dt.date:
    """The first day of the bucket holding ``day``: itself, the Monday of its ISO week, or the 1st of its month."""
    if period == "day":
        return day
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown period {period!r}")


def buckets(start: dt.date, end: dt.date, period: str) -> list[dt.date]:
    """Every bucket start from the one holding ``start`` to the one holding ``end`` (inclusive)."""
    out: list[dt.date] = []
    b = bucket_of(start, period)
    last = bucket_of(end, period)
    while b <= last:
        out.append(b)
        if len(out) > MAX_BUCKETS:
            raise ValueError(f"more than {MAX_BUCKETS} {period} buckets; choose a longer period or a shorter range")
        if period == "day":
            b += dt.timedelta(days=1)
        elif period == "week":
            b += dt.timedelta(days=7)
        else:
            b = (b.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def local_range(start: dt.date, end: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """UTC instants of local midnight at ``start`` and the midnight after ``end``."""
    lo = dt.datetime.combine(start, dt.time(), tz).astimezone(dt.timezone.utc)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.timezone.utc)
    return lo, hi


def count(rows: Iterable[Row], start: dt.date, end: dt.date, period: str, group: str,
          tz: ZoneInfo) -> dict[str, object]:
    """Counts of violations per bucket and group key; dismissed alerts counted apart."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}")
    keys = buckets(start, end, period)
    index = {b: i for i, b in enumerate(keys)}
    series: dict[str | None, list[int]] = {}
    totals: Counter[str | None] = Counter()
    by_severity: Counter[str] = Counter()
    per_bucket = [0] * len(keys)
    dismissed = confirmed = 0
    for r in rows:
        day = r.started_at.astimezone(tz).date()
        if not start <= day <= end:
            continue
        if r.status == "dismissed":
            dismissed += 1
            continue
        confirmed += r.status in ("confirmed", "closed")
        key = getattr(r, group)
        i = index[bucket_of(day, period)]
        series.setdefault(key, [0] * len(keys))[i] += 1
        totals[key] += 1
        per_bucket[i] += 1
        by_severity[r.severity] += 1
    order = sorted(series, key=lambda k: (-totals[k], "" if k is None else str(k)))
    return {
        "period": period, "group": group, "start": start.isoformat(), "end": end.isoformat(),
        "buckets": [b.isoformat() for b in keys], "per_bucket": per_bucket,
        "series": [{"key": k, "counts": series[k], "total": totals[k]} for k in order],
        "total": sum(per_bucket), "confirmed": confirmed, "dismissed": dismissed, "by_severity": dict(by_severity),
    }
