"""Realistic MQTT payloads of each firmware family, for the simulator (and tests).

Shapes follow the firmware documentation: Zigbee2MQTT device state JSON with ``last_seen`` (ISO 8601) and
JSON availability; Tasmota ``tele`` SENSOR/STATE with local ``Time`` and LWT; Shelly Gen2 ``NotifyStatus``
with ``params.ts`` and retained ``online``; ESPHome plain-text states and ``status``; the generic JSON at the
configured field paths. Each function returns ``[(topic, payload, retain)]`` without namespace.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from edge.site import SensorConfig

Msg = tuple[str, bytes, bool]
MAINS_V = 229.8


def _j(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for p in parts[:-1]:
        obj = obj.setdefault(p, {})
    obj[parts[-1]] = value


def state_messages(s: SensorConfig, value: Any, at: dt.datetime, tz: dt.tzinfo, energy_kwh: float = 0.0,
                   uptime_s: int = 3600) -> list[Msg]:
    """The device reporting ``value`` (watts for plugs/meters; "open"/"closed"; bool; "locked"/"unlocked")."""
    t = s.topic.strip("/")
    iso = at.astimezone(tz).isoformat(timespec="milliseconds")  # Z2M last_seen: ISO_8601_local
    if s.adapter == "zigbee2mqtt":
        if s.kind in ("plug", "power_meter"):
            w = float(value)
            body = {"state": "ON" if w > 0.5 else "OFF", "power": round(w, 1), "energy": round(energy_kwh, 2),
                    "voltage": MAINS_V, "current": round(w / MAINS_V, 3), "linkquality": 116, "last_seen": iso}
        elif s.kind == "contact":
            body = {"contact": value == "closed", "battery": 97, "voltage": 3005, "linkquality": 87, "last_seen": iso}
        elif s.kind == "occupancy":
            body = {"occupancy": bool(value), "illuminance": 128, "battery": 100, "linkquality": 94, "last_seen": iso}
        elif s.kind == "smoke":
            body = {"smoke": bool(value), "battery_low": False, "tamper": False, "battery": 100,
                    "linkquality": 102, "last_seen": iso}
        else:  # lock
            locked = value == "locked"
            body = {"state": "LOCK" if locked else "UNLOCK", "lock_state": "locked" if locked else "unlocked",
                    "battery": 81, "linkquality": 76, "last_seen": iso}
        return [(t, _j(body), False)]
    if s.adapter == "tasmota":
        local = at.astimezone(tz).replace(tzinfo=None).isoformat(timespec="seconds")  # Tasmota: local, no offset
        w = float(value)
        sensor = {"Time": local, "ENERGY": {"TotalStartTime": "2026-01-05T09:12:40", "Total": round(energy_kwh, 3),
                  "Yesterday": 1.204, "Today": 0.318, "Period": 0, "Power": round(w), "ApparentPower": round(w * 1.08),
                  "ReactivePower": round(w * 0.4), "Factor": 0.92 if w > 1 else 0.0, "Voltage": round(MAINS_V),
                  "Current": round(w / MAINS_V, 3)}}
        state = {"Time": local, "Uptime": f"0T{uptime_s // 3600:02d}:{uptime_s % 3600 // 60:02d}:{uptime_s % 60:02d}",
                 "UptimeSec": uptime_s, "Heap": 26, "SleepMode": "Dynamic", "Sleep": 50, "LoadAvg": 19, "MqttCount": 1,
                 "POWER": "ON" if w > 0.5 else "OFF",
                 "Wifi": {"AP": 1, "SSId": "hall-iot", "BSSId": "3C:84:6A:11:22:33", "Channel": 6, "Mode": "11n",
                          "RSSI": 78, "Signal": -61, "LinkCount": 1, "Downtime": "0T00:00:03"}}
        return [(f"tele/{t}/STATE", _j(state), False), (f"tele/{t}/SENSOR", _j(sensor), False)]
    if s.adapter == "shelly":
        w = float(value)
        body = {"src": t, "dst": f"{t}/events", "method": "NotifyStatus",
                "params": {"ts": round(at.timestamp(), 2), "switch:0": {
                    "id": 0, "apower": round(w, 1), "current": round(w / MAINS_V, 3), "output": w > 0.5,
                    "aenergy": {"total": round(energy_kwh * 1000, 3), "by_minute": [0.0, 0.0, 0.0],
                                "minute_ts": int(at.timestamp()) // 60 * 60}}}}
        return [(f"{t}/events/rpc", _j(body), False)]
    if s.adapter == "esphome":
        if s.kind in ("plug", "power_meter"):
            text = f"{float(value):.1f}"
        elif s.kind == "lock":
            text = "LOCKED" if value == "locked" else "UNLOCKED"
        elif s.kind == "contact":
            text = "ON" if value == "open" else "OFF"
        else:
            text = "ON" if value else "OFF"
        return [(f"{t}/state", text.encode(), True)]  # ESPHome retains states by default
    fields = s.fields
    assert fields is not None
    body: dict[str, Any] = {}
    if s.kind in ("plug", "power_meter"):
        _set_path(body, fields.value, round(float(value), 1))
    elif s.kind == "contact":
        _set_path(body, fields.value, value)
    else:
        _set_path(body, fields.value, value)
    if fields.timestamp:
        _set_path(body, fields.timestamp, int(at.timestamp()))
    return [(t, _j(body), False)]


def availability_messages(s: SensorConfig, online: bool) -> list[Msg]:
    """Retained availability / last-will messages (generic devices have none)."""
    t = s.topic.strip("/")
    if s.adapter == "zigbee2mqtt":
        return [(f"{t}/availability", _j({"state": "online" if online else "offline"}), True)]
    if s.adapter == "tasmota":
        return [(f"tele/{t}/LWT", b"Online" if online else b"Offline", True)]
    if s.adapter == "shelly":
        return [(f"{t}/online", b"true" if online else b"false", True)]
    if s.adapter == "esphome":
        return [(f"{t.split('/', 1)[0]}/status", b"online" if online else b"offline", True)]
    return []
