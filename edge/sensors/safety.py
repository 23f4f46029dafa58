"""The sensor half of the after-hours safety check (下班安全检查) and the sensors' health list.

Per device, from its latest readings: plugs/meters at or below standby (``power_off``), exit locks not
locked (``exit_unlocked``), exit occupancy clear (``exit_clear``), doors closed (``door_closed``), smoke
normal (``smoke_normal``); and for every device ``sensor_online``. ``passed`` is None when the device
has not reported the value yet, so the console shows "unknown" rather than a false pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from edge.contract import SafetyItem, SensorHealth
from edge.sensors.readings import Reading
from edge.site import SensorConfig, SiteConfig

Latest = Callable[[str, str], Reading | None]


def standby_w(cfg: SiteConfig, s: SensorConfig) -> float:
    if s.standby_w is not None:
        return s.standby_w
    r = cfg.rules.power_left_on
    return r.printer_standby_w if s.guards.equipment == "printer" else r.standby_w


def _power_item(cfg: SiteConfig, s: SensorConfig, latest: Latest) -> SafetyItem:
    limit = standby_w(cfg, s)
    p, sw = latest(s.id, "power"), latest(s.id, "switch")
    if sw is not None and sw.value == "off" and (p is None or sw.at >= p.at):
        return SafetyItem(item="power_off", subject=s.id, passed=True, value=0.0, detail=f"{s.name}: relay off")
    if p is None:
        return SafetyItem(item="power_off", subject=s.id, passed=None, detail=f"{s.name}: no power reading yet")
    watts = float(p.value)  # type: ignore[arg-type]
    ok = watts <= limit
    return SafetyItem(item="power_off", subject=s.id, passed=ok, value=watts,
                      detail=f"{s.name}: {watts:.1f} W ({'≤' if ok else '>'} standby {limit:g} W)")


def _state_item(item: str, s: SensorConfig, rd: Reading | None, good: Callable[[object], bool],
                describe: str) -> SafetyItem:
    if rd is None:
        return SafetyItem(item=item, subject=s.id, passed=None, detail=f"{s.name}: no {describe} reading yet")
    return SafetyItem(item=item, subject=s.id, passed=good(rd.value), value=rd.value,  # type: ignore[arg-type]
                      detail=f"{s.name}: {describe} {rd.value}")


def safety_items(cfg: SiteConfig, latest: Latest, online: Callable[[str], bool],
                 last_seen: Callable[[str], dt.datetime | None]) -> list[SafetyItem]:
    items: list[SafetyItem] = []
    for s in cfg.sensors:
        if s.kind in ("plug", "power_meter"):
            items.append(_power_item(cfg, s, latest))
        elif s.kind == "lock" and s.guards.target == "exit":
            items.append(_state_item("exit_unlocked", s, latest(s.id, "lock"), lambda v: v == "unlocked", "lock"))
        elif s.kind == "occupancy" and s.guards.target == "exit":
            items.append(_state_item("exit_clear", s, latest(s.id, "occupancy"), lambda v: v is False, "occupancy"))
        elif s.kind == "contact":
            items.append(_state_item("door_closed", s, latest(s.id, "contact"), lambda v: v == "closed", "contact"))
        elif s.kind == "smoke":
            items.append(_state_item("smoke_normal", s, latest(s.id, "smoke"), lambda v: v is False, "smoke"))
        seen = last_seen(s.id)
        up = online(s.id)
        items.append(SafetyItem(item="sensor_online", subject=s.id, passed=up, value=up,
                                detail=f"{s.name}: last seen {seen.isoformat(timespec='seconds') if seen else 'never'}"))
    return items


def health(cfg: SiteConfig, online: Callable[[str], bool],
           last_seen: Callable[[str], dt.datetime | None]) -> list[SensorHealth]:
    return [SensorHealth(sensor_id=s.id, online=online(s.id), last_seen=last_seen(s.id)) for s in cfg.sensors]
