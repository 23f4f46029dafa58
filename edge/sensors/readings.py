"""The one reading type every device message is normalised to, and the rejection type.

A ``Reading`` is one value of one device at one moment: ``(device, kind, value, unit, at)``.

Kinds and their values:

=============  =========================================  ======
kind           value                                      unit
=============  =========================================  ======
power          float watts                                W
energy         float kilowatt-hours (meter total)         kWh
switch         "on" | "off" (relay output)                -
contact        "closed" | "open" (door / window magnet)   -
occupancy      bool (True = something/somebody present)   -
smoke          bool (True = smoke detected)               -
lock           "locked" | "unlocked" | "jammed"           -
availability   "online" | "offline"                       -
=============  =========================================  ======

Adapters raise ``Rejected(reason, detail)`` for anything they cannot turn into readings;
``reason`` is a short counter label (``not_json``, ``wrong_type``, ``missing_field`` …).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from edge.contract import SensorReading

ReadingKind = Literal["power", "energy", "switch", "contact", "occupancy", "smoke", "lock", "availability"]
Value = float | bool | str

UNITS: dict[str, str | None] = {
    "power": "W", "energy": "kWh", "switch": None, "contact": None, "occupancy": None,
    "smoke": None, "lock": None, "availability": None,
}

# Counter labels of rejected messages (see hub.counters). Documented here so tests and docs agree.
REJECT_REASONS = (
    "oversized",       # payload larger than the hub's limit
    "not_text",        # payload is not UTF-8
    "not_json",        # a JSON format expected, something else received
    "not_object",      # JSON, but not an object
    "wrong_type",      # a known field with the wrong JSON type (e.g. "power": "abc")
    "bad_value",       # right type, impossible value (negative power, unknown state word, NaN)
    "missing_field",   # nothing the device kind needs is in the message
    "bad_timestamp",   # a timestamp field that cannot be parsed
    "unknown_device",  # a well-formed topic of a device that is not in the site config
    "handler_error",   # an unexpected exception while handling (logged with traceback)
)


@dataclass(frozen=True)
class Reading:
    """One normalised value of one configured device."""

    device: str  # SensorConfig.id
    kind: ReadingKind
    value: Value
    unit: str | None
    at: dt.datetime  # aware UTC
    source_time: bool = True  # False when the firmware sent no timestamp and the hub clock stamped it

    def to_message(self, hall_id: str, edge_id: str) -> SensorReading:
        return SensorReading(hall_id=hall_id, edge_id=edge_id, sensor_id=self.device, kind=self.kind,
                             value=self.value, unit=self.unit, at=self.at)

    def text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        value = f"{self.value:.1f}" if isinstance(self.value, float) else str(self.value)
        stamp = "" if self.source_time else " (hub time)"
        return f"{self.at.isoformat(timespec='seconds')}  {self.device:<24} {self.kind:<12} {value}{unit}{stamp}"


class Rejected(ValueError):
    """A message that produced no readings. ``reason`` is one of REJECT_REASONS."""

    def __init__(self, reason: str, detail: str):
        assert reason in REJECT_REASONS, reason
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


# --------------------------------------------------------------------------- value helpers


def number(data: dict[str, Any], key: str, *, where: str = "") -> float | None:
    """A finite, non-negative number field, or None when absent. Booleans are not numbers."""
    if key not in data or data[key] is None:
        return None
    v = data[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise Rejected("wrong_type", f"{where}{key} must be a number, got {type(v).__name__} {str(v)[:40]!r}")
    v = float(v)
    if not math.isfinite(v) or v < 0:
        raise Rejected("bad_value", f"{where}{key} = {v} is not a finite non-negative number")
    return v


def boolean(data: dict[str, Any], key: str, *, where: str = "") -> bool | None:
    if key not in data or data[key] is None:
        return None
    v = data[key]
    if not isinstance(v, bool):
        raise Rejected("wrong_type", f"{where}{key} must be true/false, got {type(v).__name__} {str(v)[:40]!r}")
    return v


def word(value: Any, allowed: dict[str, Value], *, field: str) -> Value:
    """Map a state word (case-insensitive) to its normalised value."""
    if not isinstance(value, str):
        raise Rejected("wrong_type", f"{field} must be a string, got {type(value).__name__} {str(value)[:40]!r}")
    key = value.strip().lower()
    if key not in allowed:
        raise Rejected("bad_value", f"{field} = {value[:40]!r} is not one of {sorted(allowed)}")
    return allowed[key]


def parse_time(value: Any, tz: ZoneInfo, *, field: str = "timestamp") -> dt.datetime:
    """ISO-8601 (with offset, or naive = hall local time) or Unix epoch seconds/milliseconds → aware UTC."""
    if isinstance(value, bool):
        raise Rejected("bad_timestamp", f"{field} is a boolean")
    if isinstance(value, (int, float)):
        v = float(value)
        if not math.isfinite(v) or v <= 0:
            raise Rejected("bad_timestamp", f"{field} = {value!r}")
        if v > 1e11:  # milliseconds (1e11 s is the year 5138)
            v /= 1000.0
        try:
            return dt.datetime.fromtimestamp(v, dt.UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise Rejected("bad_timestamp", f"{field} = {value!r}: {exc}") from None
    if isinstance(value, str):
        s = value.strip()
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        try:
            t = dt.datetime.fromisoformat(s)
        except ValueError:
            raise Rejected("bad_timestamp", f"{field} = {value[:40]!r} is not ISO-8601") from None
        if t.tzinfo is None:
            t = t.replace(tzinfo=tz)
        return t.astimezone(dt.UTC)
    raise Rejected("bad_timestamp", f"{field} has type {type(value).__name__}")


def get_path(data: Any, path: str) -> Any:
    """Follow a dot-separated path through nested objects; raise Rejected('missing_field') when absent."""
    cur = data
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise Rejected("missing_field", f"no field {path!r}")
        cur = cur[part]
    return cur
