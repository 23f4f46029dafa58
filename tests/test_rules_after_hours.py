"""after_hours_presence: closing grace, weekends, minimum stay, several cameras."""

from __future__ import annotations

import pytest

from edge.rules.after_hours import AfterHoursPresenceRule
from tests.test_rules_support import HOLIDAY, MONDAY, P_W01, SUNDAY, TZ, dets, simulate, site

NIGHT_VISITOR = ("person", (10, 10, 40, 90), 0.7)


def run(day, start, seconds, present, camera="camX", step=5, **rules):
    rule = AfterHoursPresenceRule(site(**rules))
    events = simulate(rule, f"{day} {start}", seconds, step,
                      lambda t: {camera: dets(NIGHT_VISITOR) if present(t) else dets()})
    return [(e.kind, off, e.at.astimezone(TZ).strftime("%H:%M:%S"), e.duration_s) for off, e in events]


@pytest.mark.parametrize(
    "name, day, start, present, expected",
    [
        ("in service hours: nothing", MONDAY, "10:00:00", lambda t: True, []),
        ("within the closing grace (17:30-18:00): nothing", MONDAY, "17:40:00", lambda t: True, []),
        ("stayed past closing + grace: counted from 18:00", MONDAY, "17:55:00", lambda t: True,
         [("opened", 330, "18:00:00", None)]),
        ("night visitor for exactly min_s", MONDAY, "20:00:00", lambda t: 60 <= t <= 90,
         [("opened", 90, "20:01:00", None), ("closed", 120, "20:01:30", 30.0)]),
        ("night visitor for 25 s: nothing", MONDAY, "20:00:00", lambda t: 60 <= t < 85, []),
        ("Sunday daytime counts", SUNDAY, "10:00:00", lambda t: t >= 60, [("opened", 90, "10:01:00", None)]),
        ("holiday daytime counts", HOLIDAY, "10:00:00", lambda t: t >= 60, [("opened", 90, "10:01:00", None)]),
        ("before opening", MONDAY, "07:00:00", lambda t: t >= 60, [("opened", 90, "07:01:00", None)]),
    ],
)
def test_after_hours_presence(name, day, start, present, expected):
    assert run(day, start, 400, present) == expected, name


def test_opening_time_closes_it():
    out = run(MONDAY, "08:28:00", 240, lambda t: True)
    assert out == [("opened", 30, "08:28:00", None), ("closed", 120, "08:30:00", 120.0)]


def test_any_camera_counts_and_dropouts_are_tolerated():
    rule = AfterHoursPresenceRule(site())
    # the person is seen alternately by camA and camB, each camera missing them half the time
    script = lambda t: {"camA": dets(P_W01) if int(t) % 4 == 0 else dets(),
                        "camB": dets(P_W01) if int(t) % 4 == 2 else dets()}
    events = simulate(rule, f"{MONDAY} 21:00:00", 60, 1, script)
    assert [(e.kind, off) for off, e in events] == [("opened", 30)]
