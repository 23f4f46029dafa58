"""Sensor rules: small state machines over readings, driven by reading times and a periodic tick(now).

Every rule here is "a device condition that must hold for at least min_s while a schedule gate is open":

===========================  ==========================  =====================  ===========================
rule                         device condition            gate                   min_s (config)
===========================  ==========================  =====================  ===========================
power_left_on                power > standby (printer    closed (closing +      power_left_on.min_s
                             threshold for printers)     grace … opening − grace)
high_power_appliance         power >= watts              always                 high_power_appliance.min_s
exit_blocked                 exit occupancy active       always                 sensors.exit_blocked_min_s
exit_locked_during_hours     exit lock locked/jammed     service session        0 (immediate)
door_open_after_hours        contact open                closed                 sensors.door_open_after_hours_s
smoke_detected               smoke                       always                 0 (immediate, critical)
===========================  ==========================  =====================  ===========================

An episode starts when both the condition and the gate hold (the later of the two moments, so a PC on
since 16:00 starts at closing + grace), opens once it has lasted min_s, and closes with its duration when
the condition ends (the reading that ended it) or the gate closes (the schedule boundary). Rules do no I/O
and never sleep. sensor_offline lives in edge.sensors.offline.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.contract import Severity
from edge.rules.base import RuleEvent
from edge.sensors import calendar
from edge.sensors.readings import Reading
from edge.site import ScheduleConfig, SensorConfig, SiteConfig

UTC = dt.UTC
EVER = dt.datetime.min.replace(tzinfo=UTC)
Gate = Callable[[ScheduleConfig, dt.datetime], dt.datetime | None]
GateEnd = Callable[[ScheduleConfig, dt.datetime], dt.datetime]
POWER_KINDS = ("plug", "power_meter")


@dataclass
class Track:
    """One device's state for one rule."""

    active: bool = False
    active_since: dt.datetime | None = None
    inactive_since: dt.datetime | None = None
    last_at: dt.datetime | None = None
    last_value: float | bool | str | None = None
    finding_id: uuid.UUID | None = None
    started_at: dt.datetime | None = None
    peak: float | None = None


@dataclass
class ConditionRule:
    """A device condition held for min_s while a schedule gate is open."""

    rule_id: str
    severity: Severity
    kinds: tuple[str, ...]  # reading kinds consumed
    applies: Callable[[SensorConfig], bool]
    is_active: Callable[[SensorConfig, Reading], bool | None]  # None = the reading says nothing about it
    min_s: Callable[[SensorConfig], float]
    gate: Gate = calendar.always_since
    gate_end: GateEnd = lambda s, local: local
    extra: Callable[[SensorConfig], dict] = lambda s: {}
    tracks: dict[str, Track] = field(default_factory=dict)


def build_rules(cfg: SiteConfig) -> list[ConditionRule]:
    r = cfg.rules

    def standby(s: SensorConfig) -> float:
        if s.standby_w is not None:
            return s.standby_w
        return r.power_left_on.printer_standby_w if s.guards.equipment == "printer" else r.power_left_on.standby_w

    def power_state(threshold: Callable[[SensorConfig], float], strict: bool):
        def active(s: SensorConfig, rd: Reading) -> bool | None:
            if rd.kind == "switch":
                return False if rd.value == "off" else None  # relay off draws nothing; "on" alone says no watts
            v = float(rd.value)  # type: ignore[arg-type]
            return v > threshold(s) if strict else v >= threshold(s)
        return active

    def is_exit(s: SensorConfig) -> bool:
        return s.guards.target == "exit"

    rules: list[ConditionRule] = []
    if r.power_left_on.enabled:
        rules.append(ConditionRule(
            "power_left_on", "warning", ("power", "switch"), lambda s: s.kind in POWER_KINDS,
            power_state(standby, strict=True), lambda s: r.power_left_on.min_s,
            calendar.closed_since, calendar.closed_until, lambda s: {"standby_w": standby(s)}))
    if r.high_power_appliance.enabled:
        rules.append(ConditionRule(
            "high_power_appliance", "major", ("power", "switch"), lambda s: s.kind in POWER_KINDS,
            power_state(lambda s: s.high_power_w or r.high_power_appliance.watts, strict=False),
            lambda s: r.high_power_appliance.min_s, extra=lambda s: {"watts_limit": s.high_power_w or r.high_power_appliance.watts}))
    rules += [
        ConditionRule("exit_blocked", "major", ("occupancy",), lambda s: s.kind == "occupancy" and is_exit(s),
                      lambda s, rd: bool(rd.value), lambda s: r.sensors.exit_blocked_min_s),
        ConditionRule("exit_locked_during_hours", "major", ("lock",), lambda s: s.kind == "lock" and is_exit(s),
                      lambda s, rd: rd.value in ("locked", "jammed"), lambda s: 0.0,
                      calendar.service_since, calendar.service_until),
        ConditionRule("door_open_after_hours", "warning", ("contact",), lambda s: s.kind == "contact",
                      lambda s, rd: rd.value == "open", lambda s: r.sensors.door_open_after_hours_s,
                      calendar.closed_since, calendar.closed_until),
        ConditionRule("smoke_detected", "critical", ("smoke",), lambda s: s.kind == "smoke",
                      lambda s, rd: bool(rd.value), lambda s: 0.0),
    ]
    return rules


class ConditionEngine:
    """Feeds readings and ticks to every ConditionRule of every configured device."""

    def __init__(self, cfg: SiteConfig):
        self.cfg = cfg
        self.rules = build_rules(cfg)
        self.sensors = {s.id: s for s in cfg.sensors}

    # -- time helpers --
    def _local(self, t: dt.datetime) -> dt.datetime:
        return self.cfg.local(t)

    def _aware(self, local: dt.datetime) -> dt.datetime:
        if local == dt.datetime.min:
            return EVER
        return local.replace(tzinfo=self.cfg.tz).astimezone(UTC)

    # -- inputs --
    def on_reading(self, rd: Reading) -> list[RuleEvent]:
        sensor = self.sensors[rd.device]
        events: list[RuleEvent] = []
        for rule in self.rules:
            if rd.kind not in rule.kinds or not rule.applies(sensor):
                continue
            tr = rule.tracks.setdefault(sensor.id, Track())
            if tr.last_at is not None and rd.at < tr.last_at:
                continue  # out of order: a late older reading must not rewrite the present
            tr.last_at = rd.at
            if rd.kind != "switch":
                tr.last_value = rd.value
            active = rule.is_active(sensor, rd)
            if active is not None and active != tr.active:
                tr.active = active
                if active:
                    tr.active_since, tr.inactive_since = rd.at, None
                else:
                    tr.inactive_since = rd.at
            if tr.finding_id is not None and isinstance(rd.value, float) and rd.kind == "power":
                tr.peak = max(tr.peak or 0.0, rd.value)
            events += self._evaluate(rule, sensor, tr, rd.at)
        return events

    def tick(self, now: dt.datetime) -> list[RuleEvent]:
        events: list[RuleEvent] = []
        for rule in self.rules:
            for sid, tr in rule.tracks.items():
                at = max(now, tr.last_at) if tr.last_at else now
                events += self._evaluate(rule, self.sensors[sid], tr, at)
        return events

    def open_findings(self) -> list[tuple[str, str, uuid.UUID]]:
        return [(r.rule_id, sid, t.finding_id) for r in self.rules for sid, t in r.tracks.items() if t.finding_id]

    # -- the state machine --
    def _evaluate(self, rule: ConditionRule, s: SensorConfig, tr: Track, now: dt.datetime) -> list[RuleEvent]:
        local = self._local(now)
        gate_local = rule.gate(self.cfg.schedule, local)
        since = None
        if tr.active and tr.active_since is not None and gate_local is not None:
            since = max(tr.active_since, self._aware(gate_local))
        events: list[RuleEvent] = []
        if tr.finding_id is not None and (since is None or since > tr.started_at):
            # the condition ended (a reading) or the gate closed (the schedule boundary)
            if not tr.active and tr.inactive_since is not None:
                ended = tr.inactive_since
            else:
                ended = self._aware(rule.gate_end(self.cfg.schedule, local))
            events.append(self._closed(rule, s, tr, max(ended, tr.started_at)))  # type: ignore[arg-type]
        if tr.finding_id is None and since is not None and (now - since).total_seconds() >= rule.min_s(s):
            events.append(self._opened(rule, s, tr, since, now))
        return events

    def _common(self, rule: ConditionRule, s: SensorConfig) -> dict:
        g = s.guards
        return {"rule": rule.rule_id, "sensor_id": s.id, "window_id": g.window, "zone_id": g.exit_zone,
                "camera_id": s.camera}

    def _where(self, s: SensorConfig) -> str:
        g = s.guards
        if g.target == "window" and g.window:
            w = self.cfg.window(g.window)
            return f"{w.number}号窗口 {w.name} ({w.id})"
        if g.target == "office" and g.office:
            return g.office
        if g.target == "exit" and g.exit_zone:
            return g.exit_zone
        return "hall"

    def _opened(self, rule: ConditionRule, s: SensorConfig, tr: Track, since: dt.datetime,
                now: dt.datetime) -> RuleEvent:
        tr.finding_id, tr.started_at = uuid.uuid4(), since
        tr.peak = tr.last_value if isinstance(tr.last_value, float) else None
        details = {"sensor_name": s.name, "where": self._where(s), "equipment": s.guards.equipment,
                   "office": s.guards.office, "value": tr.last_value, "min_s": rule.min_s(s),
                   "confirmed_at": now.isoformat(), **rule.extra(s)}
        return RuleEvent(kind="opened", finding_id=tr.finding_id, at=since, severity=rule.severity,
                         started_at=since, details=details, **self._common(rule, s))

    def _closed(self, rule: ConditionRule, s: SensorConfig, tr: Track, ended: dt.datetime) -> RuleEvent:
        assert tr.finding_id is not None and tr.started_at is not None
        details = {"value": tr.last_value, "ended_by": "reading" if not tr.active else "schedule"}
        if tr.peak is not None:
            details["peak"] = tr.peak
        ev = RuleEvent(kind="closed", finding_id=tr.finding_id, at=ended, severity=rule.severity,
                       started_at=tr.started_at, duration_s=(ended - tr.started_at).total_seconds(),
                       details=details, evidence=False, **self._common(rule, s))
        tr.finding_id, tr.started_at, tr.peak = None, None, None
        return ev
