"""Simulator scenarios replayed through the hub (message by message, 5 s ticks on the simulated clock),
plus the hub's safety items, health list and evidence chart."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from edge.sensors.hub import SensorHub
from edge.sensors.simulator import SCENARIOS, build
from tests.test_sensors_support import MONDAY, Clock, Feeder, at, make_cfg

CFG = make_cfg()


def replay(name: str, day: dt.date = MONDAY) -> tuple[SensorHub, list]:
    msgs = build(CFG, SCENARIOS[name], day)
    clock = Clock(msgs[0].at)
    events: list = []
    hub = SensorHub(CFG, on_event=events.append, clock=clock)
    next_tick = msgs[0].at
    for m in msgs:
        while next_tick <= m.at:
            clock.now = next_tick
            hub.tick(next_tick)
            next_tick += dt.timedelta(seconds=5)
        clock.now = m.at
        hub.handle_message(m.topic, m.payload, m.retain)
    assert hub.counters["rejected"] == 0
    return hub, events


def summary(events: list) -> list[tuple]:
    return [(e.rule, e.kind, e.sensor_id, e.at.astimezone(CFG.tz).strftime("%H:%M:%S"),
             None if e.duration_s is None else round(e.duration_s)) for e in events]


EXPECTED = {
    "normal_day": [],
    "after_hours_pc_on": [("power_left_on", "opened", "pc-w01", "18:00:00", None),
                          ("power_left_on", "closed", "pc-w01", "18:35:00", 2100)],
    "kettle": [("high_power_appliance", "opened", "office-plug", "10:02:00", None),
               ("high_power_appliance", "closed", "office-plug", "10:06:00", 240)],
    "blocked_exit": [("exit_blocked", "opened", "exit-occ", "14:02:00", None),
                     ("exit_blocked", "closed", "exit-occ", "14:14:00", 720)],
    "locked_exit": [("exit_locked_during_hours", "opened", "exit-lock", "08:30:00", None),
                    ("exit_locked_during_hours", "closed", "exit-lock", "08:47:00", 1020)],
    "smoke": [("smoke_detected", "opened", "smoke", "15:03:00", None),
              ("smoke_detected", "closed", "smoke", "15:06:00", 180)],
}


@pytest.mark.parametrize("name", ["normal_day", "after_hours_pc_on", "kettle", "blocked_exit", "locked_exit", "smoke"])
def test_scenario_raises_exactly_its_findings(name):
    _, events = replay(name)
    assert summary(events) == EXPECTED[name]


def test_device_dropout_scenario():
    _, events = replay("device_dropout")
    got = summary(events)
    # the printer's Tasmota LWT says Offline at 11:08 (immediate); nobody else is affected
    assert ("sensor_offline", "opened", "printer-w02", "11:08:00", None) in got
    assert ("sensor_offline", "closed", "printer-w02", "11:15:00", 420) in got
    # the silent device of the scenario (demo hall's plug-w03-pc) is not in the test hall: only the printer
    assert {e.sensor_id for e in events} == {"printer-w02"}


def test_day_in_the_hall_has_every_finding_once():
    _, events = replay("day_in_the_hall")
    opened = sorted((e.rule, e.sensor_id) for e in events if e.kind == "opened")
    assert opened == sorted([("exit_locked_during_hours", "exit-lock"), ("high_power_appliance", "office-plug"),
                             ("sensor_offline", "printer-w02"), ("exit_blocked", "exit-occ"),
                             ("smoke_detected", "smoke"), ("power_left_on", "pc-w01")])
    assert len([e for e in events if e.kind == "closed"]) == len(opened)


def test_safety_items_after_hours():
    f = Feeder(start=at(MONDAY, "18:30:00"))
    now = at(MONDAY, "18:30:00")
    f.report("pc-w01", 95.0, now)
    f.report("printer-w02", 20.0, now)  # printer standby is 30 W
    f.report("office-plug", 0.0, now)
    f.report("exit-lock", "locked", now)
    f.report("exit-occ", False, now)
    f.report("door", "closed", now)
    f.report("smoke", False, now)
    items = {(i.item, i.subject): i for i in f.hub.safety_items(now)}
    assert items[("power_off", "pc-w01")].passed is False and items[("power_off", "pc-w01")].value == 95.0
    assert items[("power_off", "printer-w02")].passed is True
    assert items[("power_off", "office-plug")].passed is True
    assert items[("power_off", "meter-w03")].passed is None  # never reported: unknown, not a pass
    assert items[("exit_unlocked", "exit-lock")].passed is False
    assert items[("exit_clear", "exit-occ")].passed is True
    assert items[("exit_clear", "exit-occ-esp")].passed is None
    assert items[("door_closed", "door")].passed is True
    assert items[("smoke_normal", "smoke")].passed is True
    assert items[("sensor_online", "pc-w01")].passed is True
    later = at(MONDAY, "18:34:00")  # pc-w01 expects a report every 120 s (+60 s grace)
    items = {(i.item, i.subject): i for i in f.hub.safety_items(later)}
    assert items[("sensor_online", "pc-w01")].passed is False
    assert items[("sensor_online", "smoke")].passed is True  # smoke reports hourly


def test_health_follows_availability_and_silence():
    f = Feeder(start=at(MONDAY, "10:00:00"))
    f.report("pc-w01", 90.0, at(MONDAY, "10:00:00"))
    f.availability("printer-w02", False, at(MONDAY, "10:00:30"))
    h = {x.sensor_id: x for x in f.hub.health(at(MONDAY, "10:01:00"))}
    assert h["pc-w01"].online and h["pc-w01"].last_seen == at(MONDAY, "10:00:00")
    assert not h["printer-w02"].online
    assert h["door"].online  # not yet overdue since the hub started (300 s + 60 s)
    h = {x.sensor_id: x for x in f.hub.health(at(MONDAY, "10:07:00"))}
    assert not h["door"].online and not h["pc-w01"].online and h["smoke"].online


def test_chart_png_of_a_finding():
    from PIL import Image

    f = Feeder(start=at(MONDAY, "17:40:00"))
    for i, w in enumerate([90.0, 95.0, 97.0, 93.0, 0.5]):
        f.report("pc-w01", w, at(MONDAY, "17:40:00") + dt.timedelta(minutes=10 * i))
    png = f.hub.chart_png("pc-w01", at(MONDAY, "18:00:00"))
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size[0] >= 600
    px = img.convert("RGB")
    reds = sum(1 for x in range(img.size[0]) for y in range(0, img.size[1], 4)
               if px.getpixel((x, y))[0] > 200 and px.getpixel((x, y))[1] < 60)
    assert reds > 10  # the red finding marker is drawn
    with pytest.raises(KeyError):
        f.hub.chart_png("no-such-sensor", at(MONDAY, "18:00:00"))


def test_history_is_bounded():
    f = Feeder(start=at(MONDAY, "10:00:00"), history_per_device=50)
    for i in range(200):
        f.report("pc-w01", 90.0 + i % 3, at(MONDAY, "10:00:00") + dt.timedelta(seconds=10 * i))
    assert len(f.hub.history.around("pc-w01", at(MONDAY, "00:00:00"), at(MONDAY, "23:00:00"))) == 50


def test_sim_clock_hub_ignores_device_messages_before_the_clock_announcement(demo_config_path) -> None:
    """A retained state that arrives before the simulator's clock would be stamped days late (wall clock) and
    make every simulated reading after it look stale; the demo's hub drops such messages until anchored."""
    import datetime as dt
    from types import SimpleNamespace

    from edge.sensors.hub import SensorHub
    from edge.sensors.simclock import SimClock, announcement
    from edge.site import load_site_config

    cfg = load_site_config(demo_config_path)
    events: list = []
    clock = SimClock()
    hub = SensorHub(cfg, on_event=events.append, clock=clock)
    topic = "hall-esp/binary_sensor/exit_east_occupancy/state"
    hub._on_message(None, None, SimpleNamespace(topic=topic, payload=b"OFF", retain=True))
    assert hub.counters["before_sim_clock"] == 1 and hub.counters["readings"] == 0
    t0 = dt.datetime(2026, 11, 19, 6, 0, tzinfo=dt.timezone.utc)  # 14:00 in the hall
    hub._on_message(None, None, SimpleNamespace(topic=clock.topic, payload=announcement(t0, 1e6), retain=True))
    assert clock.anchored
    hub._on_message(None, None, SimpleNamespace(topic=topic, payload=b"ON", retain=False))
    assert hub.counters["readings"] == 1


def test_chart_words_are_chinese_with_every_glyph_drawn(monkeypatch):
    """With a CJK font installed the chart speaks the console's language and no glyph is missing (matplotlib
    warns for each one it cannot draw); without one it falls back to English, never to boxes."""
    import importlib
    import warnings

    from edge.sensors import charts
    from tests.conftest import need

    annotate = importlib.import_module("edge.evidence.annotate")  # the package exports a function of that name
    need(annotate.cjk_font_path() is not None, "no CJK font installed (apt-get install fonts-wqy-zenhei)")
    f = Feeder(start=at(MONDAY, "17:40:00"))
    for i, w in enumerate([90.0, 1500.0, 97.0]):
        f.report("pc-w01", w, at(MONDAY, "17:40:00") + dt.timedelta(minutes=10 * i))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = f.hub.chart_png("pc-w01", at(MONDAY, "18:00:00"), rule="high_power_appliance")
        empty = f.hub.chart_png("pc-w01", at(MONDAY, "23:00:00"))  # no readings: the Chinese notice
    assert png.startswith(b"\x89PNG") and empty.startswith(b"\x89PNG")
    assert not [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert charts.chart_words()[0]["limit"] == "限值"
    charts.chart_font.cache_clear()
    monkeypatch.setattr(annotate, "cjk_font_path", lambda: None)
    try:
        assert charts.chart_words() == (charts.EN, None)
    finally:
        charts.chart_font.cache_clear()
