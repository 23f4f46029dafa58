"""Statistics (统计报表): buckets per day / ISO week / month in the hall's time zone, counts by window, rule and
staff, dismissed alerts apart; the API and the 督查通报 figures."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from server.hallops.stats import Row, bucket_of, buckets, count
from tests.test_console_helpers import console  # noqa: F401  (fixture)

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date


@pytest.mark.parametrize("day, period, first", [
    (D(2026, 12, 2), "day", D(2026, 12, 2)),
    (D(2026, 12, 2), "week", D(2026, 11, 30)),       # Wednesday → Monday
    (D(2026, 11, 30), "week", D(2026, 11, 30)),
    (D(2027, 1, 3), "week", D(2026, 12, 28)),        # the ISO week crosses the year
    (D(2026, 12, 31), "month", D(2026, 12, 1)),
])
def test_bucket_of(day, period, first):
    assert bucket_of(day, period) == first


@pytest.mark.parametrize("start, end, period, n, last", [
    (D(2026, 1, 1), D(2026, 1, 31), "day", 31, D(2026, 1, 31)),
    (D(2026, 1, 1), D(2026, 12, 31), "month", 12, D(2026, 12, 1)),
    (D(2026, 11, 25), D(2026, 12, 2), "week", 2, D(2026, 11, 30)),
    (D(2026, 2, 28), D(2026, 3, 1), "month", 2, D(2026, 3, 1)),
])
def test_buckets(start, end, period, n, last):
    got = buckets(start, end, period)
    assert len(got) == n and got[-1] == last


def test_too_many_buckets_is_an_error():
    with pytest.raises(ValueError):
        buckets(D(2020, 1, 1), D(2026, 1, 1), "day")


def _row(local: str, rule="phone_use", status="open", window="W01", staff="S01", severity="major") -> Row:
    at = dt.datetime.fromisoformat(local).replace(tzinfo=TZ).astimezone(dt.timezone.utc)
    return Row(at, rule, severity, status, window, staff)


def test_counts_use_the_local_day_and_leave_out_dismissed():
    rows = [
        _row("2026-12-01T00:30"),                      # 30 min after local midnight: Dec 1, not Nov 30 (UTC)
        _row("2026-12-01T23:50", rule="smoking", severity="critical"),
        _row("2026-12-02T09:00", window="W02", staff=None),
        _row("2026-12-02T10:00", status="dismissed"),
        _row("2026-12-02T11:00", status="confirmed", rule="smoking"),
        _row("2026-12-03T09:00"),                      # after the range
    ]
    by_rule = count(rows, D(2026, 12, 1), D(2026, 12, 2), "day", "rule", TZ)
    assert by_rule["buckets"] == ["2026-12-01", "2026-12-02"]
    assert by_rule["per_bucket"] == [2, 2] and by_rule["total"] == 4
    assert by_rule["dismissed"] == 1 and by_rule["confirmed"] == 1 and by_rule["by_severity"] == {"major": 3, "critical": 1}
    assert {s["key"]: s["counts"] for s in by_rule["series"]} == {"phone_use": [1, 1], "smoking": [1, 1]}
    by_staff = count(rows, D(2026, 12, 1), D(2026, 12, 2), "week", "staff", TZ)
    assert [(s["key"], s["total"]) for s in by_staff["series"]] == [("S01", 3), (None, 1)]
    by_window = count(rows, D(2026, 12, 1), D(2026, 12, 2), "month", "window", TZ)
    assert [(s["key"], s["counts"]) for s in by_window["series"]] == [("W01", [3]), ("W02", [1])]


def test_stats_and_report_api(console):
    now = dt.datetime.now(dt.timezone.utc)
    today = now.astimezone(TZ).date()
    first_day = (now - dt.timedelta(minutes=5)).astimezone(TZ).date()  # yesterday in the hall's first 5 minutes
    console.open_finding(rule="phone_use", window="W03", started_at=now - dt.timedelta(minutes=5))
    console.open_finding(rule="phone_use", window="W03", started_at=now - dt.timedelta(minutes=4))
    f = console.open_finding(rule="smoking", window="W01", severity="critical", started_at=now - dt.timedelta(minutes=3))
    aid = console.alert_id(f)
    assert console.post(f"/api/v1/console/alerts/{aid}/confirm", "supervisor", json={"comment": "属实"}).status_code == 200
    url = f"/api/v1/console/halls/{console.hall_id}/stats"
    s = console.get(url, params={"period": "day", "group": "window", "start": str(first_day), "end": str(today)}).json()
    assert s["total"] == 3 and [(x["key"], x["total"]) for x in s["series"]] == [("W03", 2), ("W01", 1)]
    assert s["series"][0]["name"].endswith("劳动保障")
    s = console.get(url, params={"period": "week", "group": "staff"}).json()    # charged as the assessment does
    assert [(x["key"], x["name"], x["total"]) for x in s["series"]] == [("S005", "陈静", 2), ("S001", "王建国", 1)]
    s = console.get(url, params={"period": "month", "group": "rule"}).json()
    assert {x["key"]: x["total"] for x in s["series"]} == {"phone_use": 2, "smoking": 1}
    for bad in ({"period": "year"}, {"group": "colour"}, {"start": "2026-12-05", "end": "2026-12-01"},
                {"start": "2020-01-01", "end": "2026-01-01"}, {"start": "yesterday"}):
        assert console.get(url, params=bad).status_code == 422, bad
    rep = console.get(f"/api/v1/console/halls/{console.hall_id}/report", params={"kind": "weekly"}).json()
    assert rep["total"] == 3 and rep["confirmed"] == 1
    assert rep["by_rule"][0] == {"rule": "phone_use", "name": "玩手机", "count": 2}
    assert [x["rule_name"] for x in rep["confirmed_list"]] == ["抽烟"]
    assert rep["confirmed_list"][0]["window"].startswith("1号窗口") and rep["confirmed_list"][0]["staff"] == "王建国"
    assert console.get("/api/v1/console/halls/other/stats").status_code == 404
