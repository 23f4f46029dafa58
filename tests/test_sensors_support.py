"""Shared helpers of the sensor tests (no tests here): a small site config with one device per firmware
format, a controllable clock, and a feeder that drives a SensorHub with realistic payloads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from edge.sensors.hub import SensorHub
from edge.sensors.simformats import availability_messages, state_messages
from edge.site import SiteConfig

TZ_NAME = "Asia/Shanghai"
MONDAY = dt.date(2026, 11, 23)
HOLIDAY = dt.date(2026, 10, 1)  # Thursday, National Day
MAKEUP = dt.date(2026, 10, 10)  # Saturday, make-up workday

SENSORS: list[dict[str, Any]] = [
    {"id": "pc-w01", "name": "W01 PC", "adapter": "zigbee2mqtt", "topic": "zigbee2mqtt/w01_pc", "kind": "plug",
     "guards": {"target": "window", "window": "W01", "equipment": "computer"}, "expected_interval_s": 120,
     "camera": "cam-1"},
    {"id": "printer-w02", "name": "W02 printer", "adapter": "tasmota", "topic": "w02_printer", "kind": "plug",
     "guards": {"target": "window", "window": "W02", "equipment": "printer"}},
    {"id": "office-plug", "name": "office plug", "adapter": "shelly", "topic": "shellyplugsg3-office",
     "kind": "plug", "guards": {"target": "office", "office": "后勤办公室", "equipment": "other"}},
    {"id": "meter-w03", "name": "W03 meter", "adapter": "esphome", "topic": "hall-esp/sensor/w03_power",
     "kind": "power_meter", "guards": {"target": "window", "window": "W03", "equipment": "computer"}},
    {"id": "exit-occ", "name": "east exit occupancy", "adapter": "zigbee2mqtt", "topic": "zigbee2mqtt/exit_occ",
     "kind": "occupancy", "guards": {"target": "exit", "exit_zone": "exit-east"}},
    {"id": "exit-occ-esp", "name": "west exit occupancy", "adapter": "esphome",
     "topic": "hall-esp/binary_sensor/exit_west", "kind": "occupancy",
     "guards": {"target": "exit", "exit_zone": "exit-west"}},
    {"id": "exit-lock", "name": "east exit lock", "adapter": "zigbee2mqtt", "topic": "zigbee2mqtt/exit_lock",
     "kind": "lock", "guards": {"target": "exit", "exit_zone": "exit-east"}},
    {"id": "door", "name": "main door", "adapter": "zigbee2mqtt", "topic": "zigbee2mqtt/main_door",
     "kind": "contact", "guards": {"target": "hall"}},
    {"id": "smoke", "name": "hall smoke", "adapter": "zigbee2mqtt", "topic": "zigbee2mqtt/hall_smoke",
     "kind": "smoke", "guards": {"target": "hall"}, "expected_interval_s": 3600},
    {"id": "meter-w04", "name": "W04 meter", "adapter": "generic", "topic": "meters/w04", "kind": "power_meter",
     "guards": {"target": "window", "window": "W04", "equipment": "computer"},
     "fields": {"value": "data.power_w", "unit": "W", "timestamp": "data.ts"}},
]


def make_cfg(**rules: Any) -> SiteConfig:
    return SiteConfig.model_validate({
        "hall": {"id": "testhall", "name": "测试大厅", "timezone": TZ_NAME},
        "schedule": {"sessions": ["08:30-12:00", "13:00-17:30"], "midday_duty": "12:00-13:00",
                     "holidays": [HOLIDAY], "makeup_workdays": [MAKEUP], "closing_grace_min": 30},
        "windows": [{"id": f"W0{i}", "number": i, "name": f"窗口{i}"} for i in range(1, 5)],
        "cameras": [{"id": "cam-1", "name": "cam", "source": "/dev/null", "zones": [
            {"id": "exit-east", "kind": "exit", "polygon": [[0, 0], [0.2, 0], [0.2, 0.2]]},
            {"id": "exit-west", "kind": "exit", "polygon": [[0.8, 0], [1, 0], [1, 0.2]]}]}],
        "sensors": SENSORS,
        "rules": rules,
        "edge": {"id": "edge-t"},
    })


def at(day: dt.date, hhmmss: str) -> dt.datetime:
    """Hall-local wall time on ``day`` → aware UTC."""
    from zoneinfo import ZoneInfo

    t = dt.time.fromisoformat(hhmmss)
    return dt.datetime.combine(day, t, ZoneInfo(TZ_NAME)).astimezone(dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class Feeder:
    """Drives a hub on a scripted timeline: report(device, value, when) and tick(when)."""

    def __init__(self, cfg: SiteConfig | None = None, start: dt.datetime | None = None, **hub_kw: Any):
        self.cfg = cfg or make_cfg()
        self.clock = Clock(start or at(MONDAY, "08:00:00"))
        self.events: list = []
        self.emitted: list = []  # (hub clock when emitted, event)
        self.readings: list = []

        def on_event(e: Any) -> None:
            self.events.append(e)
            self.emitted.append((self.clock.now, e))

        self.hub = SensorHub(self.cfg, on_event=on_event, on_reading=self.readings.append,
                             clock=self.clock, **hub_kw)

    def sensor(self, sid: str):
        return next(s for s in self.cfg.sensors if s.id == sid)

    def report(self, sid: str, value: Any, when: dt.datetime) -> list:
        self.clock.now = when
        out = []
        for topic, payload, retain in state_messages(self.sensor(sid), value, when, self.cfg.tz):
            out += self.hub.handle_message(topic, payload, retain)
        return out

    def availability(self, sid: str, online: bool, when: dt.datetime) -> list:
        self.clock.now = when
        return [r for t, p, ret in availability_messages(self.sensor(sid), online)
                for r in self.hub.handle_message(t, p, ret)]

    def tick(self, when: dt.datetime) -> list:
        self.clock.now = when
        return self.hub.tick(when)

    def found(self, rule: str, kind: str | None = None) -> list:
        return [e for e in self.events if e.rule == rule and (kind is None or e.kind == kind)]
