"""Firmware formats → readings. One adapter per firmware family; each knows its topics and payloads.

- Zigbee2MQTT: ``zigbee2mqtt/<friendly name>`` JSON state; ``…/availability`` as ``online``/``offline``
  (legacy plain text) or ``{"state": "online"}`` (Z2M ≥ 1.22 JSON). ``last_seen`` (ISO or epoch ms) is the time.
- Tasmota: ``tele/<topic>/SENSOR`` (``ENERGY.Power`` W, ``ENERGY.Total`` kWh), ``tele/<topic>/STATE``
  (``POWER`` ON/OFF), ``tele/<topic>/LWT`` ``Online``/``Offline``. ``Time`` is the device's local time.
- Shelly Gen2/Gen3: ``<id>/events/rpc`` ``NotifyStatus``/``NotifyFullStatus`` with ``params.ts`` and
  ``switch:0`` (``apower`` W, ``output``, ``aenergy.total`` Wh); ``<id>/status/switch:0``; ``<id>/online``.
- ESPHome: plain text ``<prefix>/<component>/<id>/state``; ``<prefix>/status`` ``online``/``offline``.
- Generic JSON: value / unit / timestamp at configured dot paths.

Adapters are pure: (sensor, channel, payload, received_at) → readings, or ``Rejected``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from edge.sensors.readings import (
    UNITS,
    Reading,
    Rejected,
    boolean,
    get_path,
    number,
    parse_time,
    word,
)
from edge.site import SensorConfig

ONLINE_WORDS = {"online": "online", "offline": "offline", "true": "online", "false": "offline"}
SWITCH_WORDS = {"on": "on", "off": "off", "true": "on", "false": "off", "1": "on", "0": "off"}
LOCK_WORDS = {"lock": "locked", "locked": "locked", "unlock": "unlocked", "unlocked": "unlocked",
              "not_fully_locked": "jammed", "jammed": "jammed", "locking": "unlocked", "unlocking": "unlocked"}
BINARY_WORDS = {"on": True, "off": False, "true": True, "false": False, "1": True, "0": False}


@dataclass(frozen=True)
class Ctx:
    """What an adapter needs besides the payload."""

    sensor: SensorConfig
    received_at: dt.datetime  # hub clock, aware UTC
    tz: ZoneInfo  # hall time zone, for firmware that sends naive local times

    def reading(self, kind: str, value: Any, at: dt.datetime | None) -> Reading:
        return Reading(self.sensor.id, kind, value, UNITS[kind], at or self.received_at,  # type: ignore[arg-type]
                       source_time=at is not None)


def text(payload: bytes) -> str:
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise Rejected("not_text", f"payload is not UTF-8 ({exc.reason} at byte {exc.start})") from None


def json_object(payload: bytes) -> dict[str, Any]:
    s = text(payload)
    try:
        data = json.loads(s)
    except ValueError as exc:
        raise Rejected("not_json", f"{exc} in {s[:60]!r}") from None
    if not isinstance(data, dict):
        raise Rejected("not_object", f"expected a JSON object, got {type(data).__name__}")
    return data


def availability(payload: bytes, ctx: Ctx) -> list[Reading]:
    """Plain ``online``/``offline`` (any case, also Shelly ``true``/``false``) or JSON ``{"state": "online"}``."""
    s = text(payload)
    if s.startswith("{"):
        data = json_object(payload)
        if "state" not in data:
            raise Rejected("missing_field", "availability object without 'state'")
        value = word(data["state"], ONLINE_WORDS, field="state")
    else:
        value = word(s, ONLINE_WORDS, field="availability")
    return [ctx.reading("availability", value, None)]


# --------------------------------------------------------------------------- Zigbee2MQTT


def zigbee2mqtt_state(payload: bytes, ctx: Ctx) -> list[Reading]:
    data = json_object(payload)
    at = parse_time(data["last_seen"], ctx.tz, field="last_seen") if data.get("last_seen") is not None else None
    kind = ctx.sensor.kind
    out: list[Reading] = []
    if kind in ("plug", "power_meter"):
        if data.get("state") is not None:
            out.append(ctx.reading("switch", word(data["state"], SWITCH_WORDS, field="state"), at))
        if (p := number(data, "power")) is not None:
            out.append(ctx.reading("power", p, at))
        if (e := number(data, "energy")) is not None:
            out.append(ctx.reading("energy", e, at))
    elif kind == "contact":
        if (c := boolean(data, "contact")) is not None:  # Z2M: contact true = magnet touching = closed
            out.append(ctx.reading("contact", "closed" if c else "open", at))
    elif kind == "occupancy":
        if (o := boolean(data, "occupancy")) is not None:
            out.append(ctx.reading("occupancy", o, at))
    elif kind == "smoke":
        if (s := boolean(data, "smoke")) is not None:
            out.append(ctx.reading("smoke", s, at))
    elif kind == "lock":
        if data.get("lock_state") is not None:  # locked / unlocked / not_fully_locked
            out.append(ctx.reading("lock", word(data["lock_state"], LOCK_WORDS, field="lock_state"), at))
        elif data.get("state") is not None:  # LOCK / UNLOCK
            out.append(ctx.reading("lock", word(data["state"], LOCK_WORDS, field="state"), at))
    if not out:
        raise Rejected("missing_field", f"no {kind} field in {sorted(data)[:8]}")
    return out


# --------------------------------------------------------------------------- Tasmota


def _tasmota_time(data: dict[str, Any], ctx: Ctx) -> dt.datetime | None:
    return parse_time(data["Time"], ctx.tz, field="Time") if data.get("Time") is not None else None


def tasmota_sensor(payload: bytes, ctx: Ctx) -> list[Reading]:
    data = json_object(payload)
    at = _tasmota_time(data, ctx)
    energy = data.get("ENERGY")
    if energy is None:
        raise Rejected("missing_field", f"no ENERGY object in {sorted(data)[:8]}")
    if not isinstance(energy, dict):
        raise Rejected("wrong_type", f"ENERGY must be an object, got {type(energy).__name__}")
    out: list[Reading] = []
    power = energy.get("Power")
    if isinstance(power, list):  # multi-channel meters report one value per channel: the device draws the sum
        chans = {f"Power[{i}]": v for i, v in enumerate(power)}
        out.append(ctx.reading("power", sum(number(chans, k, where="ENERGY.") or 0.0 for k in chans), at))
    elif (p := number(energy, "Power", where="ENERGY.")) is not None:
        out.append(ctx.reading("power", p, at))
    if (e := number(energy, "Total", where="ENERGY.")) is not None:
        out.append(ctx.reading("energy", e, at))
    if not out:
        raise Rejected("missing_field", "ENERGY has neither Power nor Total")
    return out


def tasmota_state(payload: bytes, ctx: Ctx) -> list[Reading]:
    data = json_object(payload)
    at = _tasmota_time(data, ctx)
    key = "POWER" if "POWER" in data else "POWER1" if "POWER1" in data else None
    if key is None:
        raise Rejected("missing_field", f"no POWER in STATE {sorted(data)[:8]}")
    return [ctx.reading("switch", word(data[key], SWITCH_WORDS, field=key), at)]


# --------------------------------------------------------------------------- Shelly Gen2/Gen3


def _shelly_switch(sw: Any, ctx: Ctx, at: dt.datetime | None) -> list[Reading]:
    if not isinstance(sw, dict):
        raise Rejected("wrong_type", f"switch:0 must be an object, got {type(sw).__name__}")
    out: list[Reading] = []
    if (o := boolean(sw, "output", where="switch:0.")) is not None:
        out.append(ctx.reading("switch", "on" if o else "off", at))
    if (p := number(sw, "apower", where="switch:0.")) is not None:
        out.append(ctx.reading("power", p, at))
    aenergy = sw.get("aenergy")
    if isinstance(aenergy, dict) and (wh := number(aenergy, "total", where="switch:0.aenergy.")) is not None:
        out.append(ctx.reading("energy", wh / 1000.0, at))  # Shelly counts Wh
    return out


def shelly_rpc(payload: bytes, ctx: Ctx) -> list[Reading]:
    data = json_object(payload)
    method = data.get("method")
    if method not in ("NotifyStatus", "NotifyFullStatus"):
        return []  # NotifyEvent (button pushes, scripts …) carries no state: nothing to read
    params = data.get("params")
    if not isinstance(params, dict):
        raise Rejected("wrong_type" if params is not None else "missing_field", "NotifyStatus without params object")
    at = parse_time(params["ts"], ctx.tz, field="params.ts") if params.get("ts") is not None else None
    if "switch:0" not in params:
        return []  # a status change of another component (wifi, sys, input): not the metered switch
    return _shelly_switch(params["switch:0"], ctx, at)


def shelly_status(payload: bytes, ctx: Ctx) -> list[Reading]:
    out = _shelly_switch(json_object(payload), ctx, None)
    if not out:
        raise Rejected("missing_field", "switch status without output/apower")
    return out


# --------------------------------------------------------------------------- ESPHome


def esphome_state(payload: bytes, ctx: Ctx) -> list[Reading]:
    s = text(payload)
    kind = ctx.sensor.kind
    if kind in ("plug", "power_meter"):
        if s.upper() in ("ON", "OFF"):  # a switch component
            return [ctx.reading("switch", s.lower(), None)]
        try:
            v = float(s)
        except ValueError:
            raise Rejected("wrong_type", f"sensor state {s[:40]!r} is not a number") from None
        return [ctx.reading("power", number({"state": v}, "state"), None)]
    if kind == "lock":
        return [ctx.reading("lock", word(s, LOCK_WORDS, field="lock state"), None)]
    value = word(s, BINARY_WORDS, field="binary_sensor state")
    if kind == "contact":  # binary_sensor device_class door/opening: ON = open
        return [ctx.reading("contact", "open" if value else "closed", None)]
    return [ctx.reading(kind, value, None)]  # occupancy, smoke


# --------------------------------------------------------------------------- generic JSON


def generic_json(payload: bytes, ctx: Ctx) -> list[Reading]:
    data = json_object(payload)
    fields = ctx.sensor.fields
    assert fields is not None  # guaranteed by SensorConfig validation
    raw = get_path(data, fields.value)
    at = parse_time(get_path(data, fields.timestamp), ctx.tz, field=fields.timestamp) if fields.timestamp else None
    kind = ctx.sensor.kind
    if kind in ("plug", "power_meter"):
        value = number({fields.value: raw}, fields.value)
        if value is None:
            raise Rejected("missing_field", f"{fields.value} is null")
        if (fields.unit or "W").lower() == "kw":
            value *= 1000.0
        return [ctx.reading("power", value, at)]
    if kind == "lock":
        return [ctx.reading("lock", word(raw, LOCK_WORDS, field=fields.value), at)]
    if kind == "contact":  # "open"/"closed", or a boolean with the Zigbee convention true = closed
        if isinstance(raw, bool):
            return [ctx.reading("contact", "closed" if raw else "open", at)]
        return [ctx.reading("contact", word(raw, {"open": "open", "closed": "closed"}, field=fields.value), at)]
    if isinstance(raw, bool):
        return [ctx.reading(kind, raw, at)]
    return [ctx.reading(kind, word(raw, BINARY_WORDS, field=fields.value), at)]


# --------------------------------------------------------------------------- topics of each adapter

Parser = Callable[[bytes, Ctx], list[Reading]]


def device_topics(sensor: SensorConfig) -> dict[str, Parser]:
    """Every topic a configured device publishes on, with its parser (topics without namespace)."""
    t = sensor.topic.strip("/")
    if sensor.adapter == "zigbee2mqtt":
        return {t: zigbee2mqtt_state, f"{t}/availability": availability}
    if sensor.adapter == "tasmota":
        return {f"tele/{t}/SENSOR": tasmota_sensor, f"tele/{t}/STATE": tasmota_state, f"tele/{t}/LWT": availability}
    if sensor.adapter == "shelly":
        return {f"{t}/events/rpc": shelly_rpc, f"{t}/status/switch:0": shelly_status, f"{t}/online": availability}
    if sensor.adapter == "esphome":
        prefix = t.split("/", 1)[0]
        return {f"{t}/state": esphome_state, f"{prefix}/status": availability}
    return {t: generic_json}


def family_subscriptions(sensors: list[SensorConfig]) -> list[str]:
    """Wildcards of the firmware families in use, so messages of unconfigured devices are seen and counted."""
    adapters = {s.adapter for s in sensors}
    subs: list[str] = []
    if "zigbee2mqtt" in adapters:
        bases = sorted({s.topic.strip("/").split("/", 1)[0] for s in sensors if s.adapter == "zigbee2mqtt"})
        for b in bases:
            subs += [f"{b}/+", f"{b}/+/availability"]
    if "tasmota" in adapters:
        subs += ["tele/+/SENSOR", "tele/+/STATE", "tele/+/LWT"]
    return subs
