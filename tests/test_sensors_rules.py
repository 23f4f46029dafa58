"""Sensor rule timing, driven by scripted readings (real payload formats) and ticks on a controlled clock.

Each row: steps on a timeline ("2026-11-23 17:00:00" hall time), the rule under test, and the events that
must come out: (kind, event time, duration_s, hub time when emitted). Schedule of the test hall: sessions
08:30-12:00 and 13:00-17:30, closing grace 30 min (so "closed" is 18:00 … 08:00), 2026-10-01 a holiday,
2026-10-10 (Saturday) a make-up workday.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.test_sensors_support import TZ_NAME, Feeder, make_cfg

TZ = ZoneInfo(TZ_NAME)


def T(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=TZ).astimezone(dt.UTC)


def R(sid, value, when):
    return ("report", sid, value, when)


def K(when):
    return ("tick", when)


def A(sid, online, when):
    return ("avail", sid, online, when)


MON, HOL, MKP = "2026-11-23", "2026-10-01", "2026-10-10"
PC, PRN, KET, OCC, ESPOCC, LOCK, DOOR, SMOKE = ("pc-w01", "printer-w02", "office-plug", "exit-occ", "exit-occ-esp",
                                               "exit-lock", "door", "smoke")

ROWS = [
    # ---- power_left_on: min 600 s after closing (17:30) + grace (30 min)
    ("pc on through closing, off 18:35", "power_left_on",
     [R(PC, 95.0, f"{MON} 17:00:00"), K(f"{MON} 18:09:59"), K(f"{MON} 18:10:00"), R(PC, 0.4, f"{MON} 18:35:00")],
     [("opened", f"{MON} 18:00:00", None, f"{MON} 18:10:00"), ("closed", f"{MON} 18:35:00", 2100, f"{MON} 18:35:00")]),
    ("pc off 5 min after grace: no finding", "power_left_on",
     [R(PC, 95.0, f"{MON} 17:00:00"), K(f"{MON} 18:04:00"), R(PC, 0.4, f"{MON} 18:05:00"), K(f"{MON} 18:30:00")], []),
    ("pc switched on at 18:20", "power_left_on",
     [R(PC, 95.0, f"{MON} 18:20:00"), K(f"{MON} 18:29:00"), K(f"{MON} 18:30:00")],
     [("opened", f"{MON} 18:20:00", None, f"{MON} 18:30:00")]),
    ("relay turned off ends it (Tasmota STATE/Z2M state OFF)", "power_left_on",
     [R(PC, 95.0, f"{MON} 18:00:00"), K(f"{MON} 18:11:00"), R(PC, 0.0, f"{MON} 18:20:00")],
     [("opened", f"{MON} 18:00:00", None, f"{MON} 18:11:00"), ("closed", f"{MON} 18:20:00", 1200, f"{MON} 18:20:00")]),
    ("on overnight: closes at opening minus grace", "power_left_on",
     [R(PC, 95.0, f"{MON} 17:00:00"), K(f"{MON} 18:10:00"), K("2026-11-24 07:59:59"), K("2026-11-24 08:00:05")],
     [("opened", f"{MON} 18:00:00", None, f"{MON} 18:10:00"),
      ("closed", "2026-11-24 08:00:00", 14 * 3600, "2026-11-24 08:00:05")]),
    ("holiday: any time is closed", "power_left_on",
     [R(PC, 95.0, f"{HOL} 10:00:00"), K(f"{HOL} 10:09:59"), K(f"{HOL} 10:10:00")],
     [("opened", f"{HOL} 10:00:00", None, f"{HOL} 10:10:00")]),
    ("make-up Saturday is a workday", "power_left_on",
     [R(PC, 95.0, f"{MKP} 10:00:00"), K(f"{MKP} 11:00:00"), K(f"{MKP} 17:45:00")], []),
    ("arrival before opening is not 'left on'", "power_left_on",
     [R(PC, 95.0, f"{MON} 08:05:00"), K(f"{MON} 08:20:00"), K(f"{MON} 09:00:00")], []),
    ("printer idle at 20 W is below the printer threshold", "power_left_on",
     [R(PRN, 20.0, f"{MON} 18:00:00"), K(f"{MON} 19:00:00")], []),
    ("printer at 45 W is left on", "power_left_on",
     [R(PRN, 45.0, f"{MON} 18:30:00"), K(f"{MON} 18:40:00")],
     [("opened", f"{MON} 18:30:00", None, f"{MON} 18:40:00")]),
    ("computer at 20 W is above its 10 W standby", "power_left_on",
     [R(PC, 20.0, f"{MON} 18:30:00"), K(f"{MON} 18:40:00")],
     [("opened", f"{MON} 18:30:00", None, f"{MON} 18:40:00")]),
    # ---- high_power_appliance: >= 800 W for >= 60 s, any time
    ("kettle 4 minutes", "high_power_appliance",
     [R(KET, 1850.0, f"{MON} 10:02:00"), K(f"{MON} 10:02:59"), K(f"{MON} 10:03:00"), R(KET, 1.0, f"{MON} 10:06:00")],
     [("opened", f"{MON} 10:02:00", None, f"{MON} 10:03:00"), ("closed", f"{MON} 10:06:00", 240, f"{MON} 10:06:00")]),
    ("59 s is not sustained", "high_power_appliance",
     [R(KET, 1850.0, f"{MON} 10:02:00"), R(KET, 2.0, f"{MON} 10:02:59"), K(f"{MON} 10:10:00")], []),
    ("a dip below 800 W restarts the count", "high_power_appliance",
     [R(KET, 900.0, f"{MON} 10:00:00"), R(KET, 700.0, f"{MON} 10:00:50"), R(KET, 900.0, f"{MON} 10:01:00"),
      K(f"{MON} 10:01:59"), K(f"{MON} 10:02:00")],
     [("opened", f"{MON} 10:01:00", None, f"{MON} 10:02:00")]),
    ("exactly 800 W counts", "high_power_appliance",
     [R(KET, 800.0, f"{HOL} 22:00:00"), K(f"{HOL} 22:01:00")],
     [("opened", f"{HOL} 22:00:00", None, f"{HOL} 22:01:00")]),
    # ---- exit_blocked: occupancy at an exit >= 300 s
    ("exit blocked 12 min (Z2M)", "exit_blocked",
     [R(OCC, True, f"{MON} 14:02:00"), K(f"{MON} 14:06:59"), K(f"{MON} 14:07:00"), R(OCC, False, f"{MON} 14:14:00")],
     [("opened", f"{MON} 14:02:00", None, f"{MON} 14:07:00"), ("closed", f"{MON} 14:14:00", 720, f"{MON} 14:14:00")]),
    ("someone walking through (ESPHome)", "exit_blocked",
     [R(ESPOCC, True, f"{MON} 14:17:00"), R(ESPOCC, False, f"{MON} 14:17:15"), K(f"{MON} 14:30:00")], []),
    # ---- exit_locked_during_hours: any moment of a service session
    ("locked overnight: opens at 08:30, unlocked 08:47", "exit_locked_during_hours",
     [R(LOCK, "locked", f"{MON} 07:30:00"), K(f"{MON} 08:29:59"), K(f"{MON} 08:30:00"),
      R(LOCK, "unlocked", f"{MON} 08:47:00")],
     [("opened", f"{MON} 08:30:00", None, f"{MON} 08:30:00"), ("closed", f"{MON} 08:47:00", 1020, f"{MON} 08:47:00")]),
    ("locked at 10:00: immediate", "exit_locked_during_hours",
     [R(LOCK, "locked", f"{MON} 10:00:00")], [("opened", f"{MON} 10:00:00", None, f"{MON} 10:00:00")]),
    ("lunch break is not a service session", "exit_locked_during_hours",
     [R(LOCK, "locked", f"{MON} 11:50:00"), K(f"{MON} 12:00:01"), K(f"{MON} 12:59:00"), K(f"{MON} 13:00:00")],
     [("opened", f"{MON} 11:50:00", None, f"{MON} 11:50:00"), ("closed", f"{MON} 12:00:00", 600, f"{MON} 12:00:01"),
      ("opened", f"{MON} 13:00:00", None, f"{MON} 13:00:00")]),
    ("locked on a holiday is fine", "exit_locked_during_hours",
     [R(LOCK, "locked", f"{HOL} 09:00:00"), K(f"{HOL} 10:00:00")], []),
    ("locked after closing is fine", "exit_locked_during_hours",
     [R(LOCK, "locked", f"{MON} 17:30:00"), K(f"{MON} 18:00:00")], []),
    ("locked on the make-up Saturday", "exit_locked_during_hours",
     [R(LOCK, "locked", f"{MKP} 09:00:00")], [("opened", f"{MKP} 09:00:00", None, f"{MKP} 09:00:00")]),
    # ---- door_open_after_hours: contact open while closed >= 60 s
    ("door open at 18:10", "door_open_after_hours",
     [R(DOOR, "open", f"{MON} 18:10:00"), K(f"{MON} 18:10:59"), K(f"{MON} 18:11:00"), R(DOOR, "closed", f"{MON} 18:20:00")],
     [("opened", f"{MON} 18:10:00", None, f"{MON} 18:11:00"), ("closed", f"{MON} 18:20:00", 600, f"{MON} 18:20:00")]),
    ("door open since 17:50: counts from 18:00", "door_open_after_hours",
     [R(DOOR, "open", f"{MON} 17:50:00"), K(f"{MON} 18:00:59"), K(f"{MON} 18:01:00")],
     [("opened", f"{MON} 18:00:00", None, f"{MON} 18:01:00")]),
    ("door open during service", "door_open_after_hours",
     [R(DOOR, "open", f"{MON} 08:15:00"), K(f"{MON} 12:30:00"), K(f"{MON} 17:55:00")], []),
    # ---- smoke_detected: immediate
    ("smoke", "smoke_detected",
     [R(SMOKE, False, f"{MON} 15:00:00"), R(SMOKE, True, f"{MON} 15:03:00"), R(SMOKE, False, f"{MON} 15:06:00")],
     [("opened", f"{MON} 15:03:00", None, f"{MON} 15:03:00"), ("closed", f"{MON} 15:06:00", 180, f"{MON} 15:06:00")]),
    # ---- sensor_offline: availability, or silence > expected_interval_s (120) + grace (60)
    ("silence", "sensor_offline",
     [R(PC, 90.0, f"{MON} 11:00:00"), K(f"{MON} 11:03:00"), K(f"{MON} 11:03:01"), R(PC, 90.0, f"{MON} 11:15:00")],
     [("opened", f"{MON} 11:02:00", None, f"{MON} 11:03:01"), ("closed", f"{MON} 11:15:00", 780, f"{MON} 11:15:00")]),
    ("availability offline then online", "sensor_offline",
     [R(PC, 90.0, f"{MON} 11:00:00"), A(PC, False, f"{MON} 11:01:00"), K(f"{MON} 11:10:00"), A(PC, True, f"{MON} 11:12:00")],
     [("opened", f"{MON} 11:01:00", None, f"{MON} 11:01:00"), ("closed", f"{MON} 11:12:00", 660, f"{MON} 11:12:00")]),
]


@pytest.mark.parametrize("title,rule,steps,expected", ROWS, ids=[r[0] for r in ROWS])
def test_rule_timing(title, rule, steps, expected):
    f = Feeder(start=T(steps[0][-1]))
    for step in steps:
        if step[0] == "report":
            f.report(step[1], step[2], T(step[3]))
        elif step[0] == "avail":
            f.availability(step[1], step[2], T(step[3]))
        else:
            f.tick(T(step[1]))
    sids = {s[1] for s in steps if s[0] != "tick"}
    got = [(e.kind, e.at, e.duration_s, when) for when, e in f.emitted if e.rule == rule and e.sensor_id in sids]
    want = [(k, T(a), d, T(w)) for k, a, d, w in expected]
    assert got == want


def test_finding_names_window_office_and_exit():
    f = Feeder(start=T(f"{MON} 18:00:00"))
    f.report(PC, 95.0, T(f"{MON} 18:00:00"))
    f.report(KET, 2000.0, T(f"{MON} 18:00:00"))
    f.report(LOCK, "locked", T(f"{MON} 10:00:00"))
    f.tick(T(f"{MON} 18:10:00"))
    pc = f.found("power_left_on", "opened")
    by_sensor = {e.sensor_id: e for e in pc}
    assert by_sensor[PC].window_id == "W01" and "W01" in by_sensor[PC].details["where"]
    assert by_sensor[PC].camera_id == "cam-1" and by_sensor[PC].details["value"] == 95.0
    assert by_sensor[KET].window_id is None and by_sensor[KET].details["where"] == "后勤办公室"
    kettle = f.found("high_power_appliance", "opened")[0]
    assert kettle.severity == "major" and kettle.details["watts_limit"] == 800


def test_thresholds_come_from_config():
    cfg = make_cfg(power_left_on={"min_s": 60, "standby_w": 50},
                   high_power_appliance={"watts": 1500, "min_s": 10}, sensors={"exit_blocked_min_s": 30})
    f = Feeder(cfg, start=T(f"{MON} 18:00:00"))
    f.report(PC, 40.0, T(f"{MON} 18:00:00"))  # below the configured 50 W standby
    f.report("meter-w04", 60.0, T(f"{MON} 18:00:00"))
    f.report(KET, 1200.0, T(f"{MON} 18:00:00"))  # below the configured 1500 W
    f.report(OCC, True, T(f"{MON} 18:00:00"))
    f.tick(T(f"{MON} 18:01:00"))
    assert {e.sensor_id for e in f.found("power_left_on", "opened")} == {"meter-w04", KET}
    assert f.found("high_power_appliance") == []
    assert [e.at for e in f.found("exit_blocked", "opened")] == [T(f"{MON} 18:00:00")]


def test_out_of_order_reading_does_not_rewrite_the_present():
    f = Feeder(start=T(f"{MON} 18:00:00"))
    f.report(PC, 95.0, T(f"{MON} 18:20:00"))
    f.report(PC, 0.3, T(f"{MON} 18:10:00"))  # late delivery of an older reading
    f.tick(T(f"{MON} 18:30:00"))
    assert [e.at for e in f.found("power_left_on", "opened")] == [T(f"{MON} 18:20:00")]
