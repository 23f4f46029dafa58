"""window_unstaffed state machine: scripted detections, schedule edges, hysteresis, several cameras."""

from __future__ import annotations

import pytest

from edge.rules.window_unstaffed import WindowUnstaffedRule
from tests.test_rules_support import (
    HOLIDAY,
    MAKEUP,
    MONDAY,
    P_W01,
    P_W02,
    SUNDAY,
    absent_between,
    dets,
    local,
    simulate,
    site,
    utc,
)

INF = 1e9


def summary(events, window="W01"):
    """[(kind, emitted at offset, event.at local HH:MM:SS, duration_s)] for one window."""
    from tests.test_rules_support import TZ
    return [(e.kind, off, e.at.astimezone(TZ).strftime("%H:%M:%S"), e.duration_s)
            for off, e in events if e.window_id == window]


@pytest.mark.parametrize(
    "name, start, seconds, step, absent, expected",
    [
        ("opens exactly at absent_s", f"{MONDAY} 10:00:00", 200, 1, [(31, INF)],
         [("opened", 150, "10:00:30", None)]),
        ("119 s away is not a finding", f"{MONDAY} 10:00:00", 300, 1, [(31, 150)], []),
        ("return confirmed after return_s closes at the return moment", f"{MONDAY} 10:00:00", 400, 1, [(31, 300)],
         [("opened", 150, "10:00:30", None), ("closed", 310, "10:05:00", 270.0)]),
        ("a 5 s return (< return_s) keeps it open", f"{MONDAY} 10:00:00", 400, 1, [(31, 200), (205, INF)],
         [("opened", 150, "10:00:30", None)]),
        ("lunch closes it at 12:00 and the afternoon starts a new absence at 13:00", f"{MONDAY} 11:50:00",
         4400, 5, [(5, INF)],
         [("opened", 120, "11:50:00", None), ("closed", 600, "12:00:00", 600.0), ("opened", 4320, "13:00:00", None)]),
        ("closing time ends the episode", f"{MONDAY} 17:20:00", 1200, 5, [(5, INF)],
         [("opened", 120, "17:20:00", None), ("closed", 600, "17:30:00", 600.0)]),
        ("empty before opening: absence counts from 08:30", f"{MONDAY} 08:20:00", 900, 5, [(0, INF)],
         [("opened", 720, "08:30:00", None)]),
        ("holiday: nothing", f"{HOLIDAY} 10:00:00", 600, 5, [(0, INF)], []),
        ("regular Sunday: nothing", f"{SUNDAY} 10:00:00", 600, 5, [(0, INF)], []),
        ("make-up workday Saturday: raised", f"{MAKEUP} 10:00:00", 600, 5, [(5, INF)],
         [("opened", 120, "10:00:00", None)]),
    ],
)
def test_window_unstaffed_timeline(name, start, seconds, step, absent, expected):
    rule = WindowUnstaffedRule(site())
    events = simulate(rule, start, seconds, step, absent_between(absent))
    assert summary(events) == expected, name


def test_single_frame_false_positives_do_not_reset_the_absence():
    rule = WindowUnstaffedRule(site())
    blips = {60.0, 90.0, 120.0}  # one-frame person detections while the seat is empty

    def script(t):
        return {"camA": dets(P_W01) if t < 31 or t in blips else dets()}

    assert summary(simulate(rule, f"{MONDAY} 10:00:00", 200, 1, script)) == [("opened", 150, "10:00:30", None)]


def test_detector_dropouts_while_seated_are_not_absences():
    rule = WindowUnstaffedRule(site())
    # the clerk is missed in 4 of 5 frames (every 5th frame detects, 1 fps): never absent
    script = lambda t: {"camA": dets(P_W01) if int(t) % 5 == 0 else dets()}
    assert summary(simulate(rule, f"{MONDAY} 10:00:00", 900, 1, script)) == []


def test_midday_duty_window_stays_open_through_lunch_while_other_closes():
    rule = WindowUnstaffedRule(site())
    events = simulate(rule, f"{MONDAY} 11:50:00", 1800, 5, absent_between([(5, INF)]))
    assert summary(events, "W01") == [("opened", 120, "11:50:00", None), ("closed", 600, "12:00:00", 600.0)]
    assert summary(events, "W02") == [("opened", 120, "11:50:00", None), ("updated", 1800, "12:20:00", None)]


@pytest.mark.parametrize(
    "away_s, severity, updates",
    [(1799.0, "warning", []), (1800.0, "major", []), (3600.0, "major", [1800.0]), (3601.0, "major", [1800.0, 3600.0])],
)
def test_episode_durations_are_exact_for_assessment_tiers(away_s, severity, updates):
    rule = WindowUnstaffedRule(site())
    # last seen at offset 0, seat empty for 0 < t < away_s, back at away_s (confirmed 10 s later)
    script = lambda t: {"camA": dets() if 0 < t < away_s else dets(P_W01)}
    events = simulate(rule, f"{MONDAY} 09:00:00", away_s + 20, 1, script)
    closed = [e for _, e in events if e.kind == "closed" and e.window_id == "W01"]
    assert len(closed) == 1
    assert closed[0].duration_s == away_s
    assert closed[0].started_at == utc(f"{MONDAY} 09:00:00")
    assert [e.details["tier_s"] for _, e in events if e.kind == "updated" and e.window_id == "W01"] == updates
    assert closed[0].severity == severity


def test_window_marked_closed_never_raises():
    rule = WindowUnstaffedRule(site())
    events = simulate(rule, f"{MONDAY} 10:00:00", 600, 5, lambda t: {"camB": dets()})
    assert summary(events, "W03") == []


def test_runtime_closing_ends_an_open_episode():
    rule = WindowUnstaffedRule(site())
    events = simulate(rule, f"{MONDAY} 10:00:00", 200, 5, absent_between([(5, INF)]))
    assert [e.kind for _, e in events if e.window_id == "W01"] == ["opened"]
    rule.set_window_closed("W01", True)
    events = simulate(rule, f"{MONDAY} 10:03:25", 300, 5, absent_between([(0, INF)]))
    assert summary(events) == [("closed", 0, "10:03:25", 205.0)]


def test_any_camera_seeing_the_clerk_means_staffed():
    rule = WindowUnstaffedRule(site())
    # camA sees the W01 seat empty (clerk hidden), camB sees the clerk
    script = lambda t: {"camA": dets(P_W02), "camB": dets(P_W01)}
    assert summary(simulate(rule, f"{MONDAY} 10:00:00", 600, 2, script)) == []
    states = {s.window_id: s for s in rule.window_states(utc(f"{MONDAY} 10:10:00"))}
    assert states["W01"].state == "staffed" and states["W01"].persons == 1


def test_camera_outage_is_not_counted_as_absence():
    rule = WindowUnstaffedRule(site())
    simulate(rule, f"{MONDAY} 10:00:00", 20, 1, lambda t: {"camA": dets(P_W01)})
    # no frames from 10:00:20 to 10:10:00, then the seat is empty
    events = simulate(rule, f"{MONDAY} 10:10:00", 200, 1, lambda t: {"camA": dets()})
    assert summary(events) == [("opened", 120, "10:10:00", None)]


def test_window_states():
    rule = WindowUnstaffedRule(site())
    simulate(rule, f"{MONDAY} 10:00:00", 200, 1, lambda t: {"camA": dets(P_W01, P_W02) if t < 31 else dets(P_W02)})
    now = utc(f"{MONDAY} 10:03:20")
    st = {s.window_id: s for s in rule.window_states(now)}
    assert st["W01"].state == "empty" and st["W01"].since == utc(f"{MONDAY} 10:00:30")
    assert st["W01"].finding_id is not None
    assert st["W02"].state == "staffed" and st["W02"].persons == 1 and st["W02"].camera_id == "camA"
    assert st["W02"].since == utc(f"{MONDAY} 10:00:00")
    assert st["W03"].state == "closed"
    msg = st["W01"].to_message("test", "edge-1")
    assert msg.type == "window.state" and msg.state == "empty"
    later = {s.window_id: s.state for s in rule.window_states(utc(f"{MONDAY} 10:10:00"))}
    assert later["W01"] == "unknown"  # no fresh frame for 6 minutes
    lunch = {s.window_id: s.state for s in rule.window_states(utc(f"{MONDAY} 12:10:00"))}
    assert lunch["W01"] == "off_duty" and lunch["W02"] == "unknown"


def test_disabled_rule_is_silent():
    rule = WindowUnstaffedRule(site(window_unstaffed={"enabled": False}))
    assert simulate(rule, f"{MONDAY} 10:00:00", 300, 5, absent_between([(0, INF)])) == []


def test_low_confidence_person_does_not_count():
    rule = WindowUnstaffedRule(site())
    weak = ("person", (30, 20, 70, 90), 0.2)
    events = simulate(rule, f"{MONDAY} 10:00:00", 200, 5, lambda t: {"camA": dets(weak) if t else dets(P_W01)})
    assert summary(events) == [("opened", 120, "10:00:00", None)]
    assert local(f"{MONDAY} 10:00:00").hour == 10
