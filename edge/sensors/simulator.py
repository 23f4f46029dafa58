"""Scenario simulator: device timelines of a hall, reported in each device's own firmware format.

A scenario is a time span of one (work)day plus overrides of some devices' states. Every device reports
its state on change and periodically (every min(expected_interval_s / 2, 120) s), with the firmware's
own timestamp where the format has one, so rules can be exercised as fast as the broker allows
(``--speed 0``) or in scaled real time (``--speed 60``: one simulated minute per second).

Baseline of a workday: PCs/plugs/meters working from opening − 10 min to closing + 5 min, standby
otherwise; the main door open opening − 15 min … closing + 10 min; exits unlocked and clear (a person
walking through the exit every hour for 15 s); no smoke. A normal day raises no finding.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge.sensors.simformats import Msg, availability_messages, state_messages
from edge.site import SensorConfig, SiteConfig

GRID_S = 5  # simulated resolution of state changes
OFFLINE, SILENT = "offline", "silent"  # override values: availability offline / no messages at all


@dataclass(frozen=True)
class Override:
    sensor: str  # sensor id, or "kind:<kind>" / "equipment:<equipment>" to pick the first matching device
    start: dt.time
    end: dt.time
    value: Any


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    start: dt.time
    end: dt.time
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True)
class SimMessage:
    at: dt.datetime  # aware UTC simulated time
    sensor_id: str
    topic: str  # without namespace
    payload: bytes
    retain: bool


T = dt.time
SCENARIOS: dict[str, Scenario] = {s.name: s for s in [
    Scenario("normal_day", "a whole ordinary workday: nothing to report", T(8, 0), T(18, 45)),
    Scenario("after_hours_pc_on", "window 1's PC left on after closing, switched off at 18:35",
             T(17, 20), T(18, 45), (Override("equipment:computer", T(17, 20), T(18, 35), 96.0),)),
    Scenario("kettle", "a 1850 W kettle in the office for 4 minutes", T(10, 0), T(10, 12),
             (Override("kind:plug:other", T(10, 2), T(10, 6), 1850.0),)),
    Scenario("blocked_exit", "boxes stacked in the east exit from 14:02 to 14:14", T(14, 0), T(14, 20),
             (Override("kind:occupancy", T(14, 2), T(14, 14), True),)),
    Scenario("locked_exit", "the east exit still locked from the night until 08:47", T(8, 0), T(9, 0),
             (Override("kind:lock", T(8, 0), T(8, 47), "locked"),)),
    Scenario("smoke", "smoke in the hall 15:03-15:06", T(15, 0), T(15, 10),
             (Override("kind:smoke", T(15, 3), T(15, 6), True),)),
    Scenario("device_dropout", "window 3's plug goes silent at 11:02, the printer's LWT says Offline at 11:08; "
             "both are back at 11:15", T(11, 0), T(11, 20),
             (Override("plug-w03-pc", T(11, 2), T(11, 15), SILENT),
              Override("equipment:printer", T(11, 8), T(11, 15), OFFLINE))),
]}
SCENARIOS["day_in_the_hall"] = Scenario(
    "day_in_the_hall", "the demo: locked exit at opening, a kettle, a blocked exit, smoke, a drop-out, "
    "and a PC left on after closing", T(8, 0), T(18, 45),
    tuple(o for n in ("locked_exit", "kettle", "blocked_exit", "smoke", "device_dropout", "after_hours_pc_on")
          for o in SCENARIOS[n].overrides))


def resolve(cfg: SiteConfig, ref: str) -> SensorConfig | None:
    """A sensor id, or the first device matching ``kind:<k>[:<equipment>]`` / ``equipment:<e>``."""
    for s in cfg.sensors:
        if ref == s.id:
            return s
        parts = ref.split(":")
        if parts[0] == "kind" and s.kind == parts[1] and (len(parts) < 3 or s.guards.equipment == parts[2]):
            return s
        if parts[0] == "equipment" and s.guards.equipment == parts[1]:
            return s
    return None


def first_workday(cfg: SiteConfig, from_day: dt.date) -> dt.date:
    day = from_day
    while not cfg.schedule.is_workday(day):
        day += dt.timedelta(days=1)
    return day


def _jitter(sensor_id: str) -> int:
    return int(hashlib.sha1(sensor_id.encode()).hexdigest()[:4], 16) % 8  # minutes, stable per device


def baseline(cfg: SiteConfig, s: SensorConfig, local: dt.datetime) -> Any:
    sch = cfg.schedule
    opening, closing = sch.opening(local.date()), sch.closing(local.date())
    j = dt.timedelta(minutes=_jitter(s.id))
    working = opening is not None and closing is not None and \
        opening - dt.timedelta(minutes=10) + j <= local < closing + dt.timedelta(minutes=5) - j
    if s.kind in ("plug", "power_meter"):
        eq = s.guards.equipment
        on, off = {"computer": (92.0, 0.6), "printer": (14.0, 2.5), "monitor": (24.0, 0.3)}.get(
            eq or "", (110.0, 4.0) if s.kind == "power_meter" else (25.0, 0.0))
        return on if working else off
    if s.kind == "contact":
        open_ = opening is not None and closing is not None and \
            opening - dt.timedelta(minutes=15) <= local < closing + dt.timedelta(minutes=10)
        return "open" if open_ else "closed"
    if s.kind == "occupancy":  # someone walks through every hour during service
        return bool(sch.in_service(local) and local.minute == 17 and local.second < 15)
    if s.kind == "lock":
        return "unlocked"
    return False  # smoke


def build(cfg: SiteConfig, scenario: Scenario, day: dt.date, seed: int = 7) -> list[SimMessage]:
    """Every message of the scenario on ``day``, in time order."""
    tz, rng = cfg.tz, random.Random(seed)
    overrides: list[tuple[SensorConfig, Override]] = []
    for o in scenario.overrides:
        s = resolve(cfg, o.sensor)
        if s is not None:
            overrides.append((s, o))
    start = dt.datetime.combine(day, scenario.start)
    end = dt.datetime.combine(day, scenario.end)
    out: list[SimMessage] = []

    def emit(s: SensorConfig, local: dt.datetime, msgs: list[Msg]) -> None:
        at = local.replace(tzinfo=tz).astimezone(dt.UTC)
        out.extend(SimMessage(at, s.id, t, p, r) for t, p, r in msgs)

    for s in cfg.sensors:
        emit(s, start, availability_messages(s, True))
        report_s = min(s.expected_interval_s / 2, 120.0)
        last_value: Any = None
        last_report: dt.datetime | None = None
        energy = 100.0 + rng.random() * 50
        avail = True
        t = start
        while t <= end:
            value = baseline(cfg, s, t)
            for os_, o in overrides:
                if os_.id == s.id and o.start <= t.time() < o.end:
                    value = o.value
            if value in (OFFLINE, SILENT):
                if value == OFFLINE and avail:
                    emit(s, t, availability_messages(s, False))
                avail = avail and value != OFFLINE
                last_value = value
            else:
                if not avail:
                    emit(s, t, availability_messages(s, True))
                    avail = True
                due = last_report is None or (t - last_report).total_seconds() >= report_s
                if value != last_value or due:
                    shown = value
                    if isinstance(value, float) and value > 1:
                        shown = value * (1 + rng.uniform(-0.06, 0.06))
                        energy += shown * report_s / 3.6e6
                    emit(s, t, state_messages(s, shown, t.replace(tzinfo=tz), tz, energy,
                                              uptime_s=int((t - start).total_seconds()) + 7200))
                    last_value, last_report = value, t
            t += dt.timedelta(seconds=GRID_S)
    out.sort(key=lambda m: m.at)
    return out


def publish(messages: list[SimMessage], host: str, port: int, *, namespace: str = "", speed: float = 0.0,
            on_sent: Callable[[SimMessage], None] | None = None, stop: Callable[[], bool] = lambda: False,
            client_id: str | None = None, username: str | None = None, password: str | None = None) -> int:
    """Publish in order at QoS 1; with speed > 0, pace by the simulated timestamps divided by ``speed``."""
    import threading
    import time

    import paho.mqtt.client as mqtt

    ns = namespace.strip("/") + "/" if namespace.strip("/") else ""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or "")
    connected = threading.Event()
    c.on_connect = lambda cl, u, f, rc, p: connected.set() if not rc.is_failure else None
    if username:
        c.username_pw_set(username, password)
    c.connect(host, port, keepalive=30)
    c.loop_start()
    try:
        if not connected.wait(10):
            raise ConnectionError(f"no MQTT connection to {host}:{port}")
        t0_real, t0_sim = time.monotonic(), messages[0].at if messages else None
        infos = []
        for m in messages:
            if stop():
                break
            if speed > 0 and t0_sim is not None:
                wait = (m.at - t0_sim).total_seconds() / speed - (time.monotonic() - t0_real)
                if wait > 0:
                    time.sleep(wait)
            infos.append(c.publish(ns + m.topic, m.payload, qos=1, retain=m.retain))
            if on_sent:
                on_sent(m)
        for info in infos:
            info.wait_for_publish(10)
        return len(infos)
    finally:
        c.loop_stop()
        c.disconnect()
