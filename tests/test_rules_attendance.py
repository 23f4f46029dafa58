"""Attendance (late_arrival / early_leave): tables over arrival and leaving times and calendar days."""

from __future__ import annotations

import pytest

from edge.rules.attendance import AttendanceRule
from tests.test_rules_support import HOLIDAY, MAKEUP, MONDAY, P_W01, TZ, dets, simulate, site


def run(day, start, seconds, present, step=5, camera="camA", box=P_W01, **rules):
    rule = AttendanceRule(site(**rules))
    events = simulate(rule, f"{day} {start}", seconds, step, lambda t: {camera: dets(box) if present(t) else dets()})
    return [(e.rule, e.kind, e.at.astimezone(TZ).strftime("%H:%M:%S"), e.duration_s) for _, e in events]


# simulations of late arrival start at 08:25:00 (offset 0); opening 08:30, grace 5 min -> due 08:35:00
@pytest.mark.parametrize(
    "name, day, arrive_offset, expected",
    [
        ("before opening", MONDAY, 0, []),
        ("within grace", MONDAY, 480, []),  # 08:33
        ("exactly at opening + grace is on time", MONDAY, 600, []),  # 08:35:00
        ("5 s after grace is late", MONDAY, 605,
         [("late_arrival", "opened", "08:30:00", None), ("late_arrival", "closed", "08:35:05", 305.0)]),
        ("much later", MONDAY, 1500,
         [("late_arrival", "opened", "08:30:00", None), ("late_arrival", "closed", "08:50:00", 1200.0)]),
        ("holiday", HOLIDAY, 1500, []),
        ("make-up workday Saturday", MAKEUP, 1500,
         [("late_arrival", "opened", "08:30:00", None), ("late_arrival", "closed", "08:50:00", 1200.0)]),
    ],
)
def test_late_arrival(name, day, arrive_offset, expected):
    assert run(day, "08:25:00", 1800, lambda t: t >= arrive_offset) == expected, name


def test_late_arrival_needs_the_seat_watched_since_opening():
    # the agent starts at 09:00 and the clerk is seen at 09:10: unknown whether they were there at 08:35
    assert run(MONDAY, "09:00:00", 900, lambda t: t >= 600) == []


def test_only_one_late_arrival_per_day():
    out = run(MONDAY, "08:25:00", 3600, lambda t: 900 <= t < 1200 or t >= 2400)
    assert [k for r, k, *_ in out] == ["opened", "closed"]


def test_closed_window_has_no_attendance():
    assert run(MONDAY, "08:25:00", 1800, lambda t: t >= 1500, camera="camB",
               box=("person", (130, 20, 170, 90), 0.8)) == []


def test_grace_from_config():
    out = run(MONDAY, "08:25:00", 1800, lambda t: t >= 1500, attendance={"late_grace_min": 30})
    assert out == []


# early leave simulations start at 17:00:00; closing 17:30, early_leave_min 15 -> must leave by 17:15:00
@pytest.mark.parametrize(
    "name, last_present_offset, expected",
    [
        ("left exactly 15 min early", 900,
         [("early_leave", "opened", "17:15:00", None), ("early_leave", "closed", "17:30:00", 900.0)]),
        ("left 14 min 55 s early", 905, []),
        ("left 25 min early", 300,
         [("early_leave", "opened", "17:05:00", None), ("early_leave", "closed", "17:30:00", 1500.0)]),
        ("stayed until closing", 10_000, []),
    ],
)
def test_early_leave(name, last_present_offset, expected):
    assert run(MONDAY, "17:00:00", 1900, lambda t: t <= last_present_offset) == expected, name


def test_early_leave_not_raised_when_the_seat_was_not_watched():
    rule = AttendanceRule(site())
    simulate(rule, f"{MONDAY} 17:00:00", 300, 5, lambda t: {"camA": dets(P_W01) if t <= 200 else dets()})
    # camera outage 17:05-17:29, frames again from 17:29 to 17:31
    events = simulate(rule, f"{MONDAY} 17:29:00", 120, 5, lambda t: {"camA": dets()})
    assert events == []


def test_disabled():
    assert run(MONDAY, "08:25:00", 1800, lambda t: t >= 1500, attendance={"enabled": False}) == []
