"""sensor_offline: a device that says it is offline, or that has been silent for too long.

Two ways in: an availability reading ``offline`` (Z2M availability, Tasmota LWT, Shelly ``online``
false, ESPHome status) opens the finding at once; silence longer than the device's
``expected_interval_s`` plus ``rules.sensors.offline_grace_s`` (checked by tick) opens it at the moment
the device became overdue. Any later message of the device (or availability ``online``) closes it.
Silence is measured on the hub's clock at receipt, so a device with a wrong clock cannot hide.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from edge.rules.base import RuleEvent
from edge.sensors.readings import Reading
from edge.site import SensorConfig, SiteConfig


@dataclass
class DeviceSeen:
    last_seen: dt.datetime | None = None  # hub clock of the last message that was not "offline"
    said_offline: bool = False
    finding_id: uuid.UUID | None = None
    started_at: dt.datetime | None = None
    reason: str | None = None


class OfflineTracker:
    rule_id = "sensor_offline"

    def __init__(self, cfg: SiteConfig, started: dt.datetime):
        self.cfg = cfg
        self.started = started  # devices never heard from count their silence from here
        self.sensors = {s.id: s for s in cfg.sensors}
        self.devices: dict[str, DeviceSeen] = {s.id: DeviceSeen() for s in cfg.sensors}

    def limit_s(self, s: SensorConfig) -> float:
        return s.expected_interval_s + self.cfg.rules.sensors.offline_grace_s

    def online(self, sensor_id: str, now: dt.datetime) -> bool:
        d = self.devices[sensor_id]
        if d.said_offline:
            return False
        ref = d.last_seen or self.started
        return (now - ref).total_seconds() <= self.limit_s(self.sensors[sensor_id])

    def on_reading(self, rd: Reading, received_at: dt.datetime) -> list[RuleEvent]:
        d = self.devices[rd.device]
        if rd.kind == "availability" and rd.value == "offline":
            d.said_offline = True
            if d.finding_id is None:
                return [self._open(rd.device, rd.at, "availability", {"reported_at": rd.at.isoformat()})]
            return []
        d.said_offline = False
        d.last_seen = received_at
        if d.finding_id is not None:
            return [self._close(rd.device, received_at)]
        return []

    def tick(self, now: dt.datetime) -> list[RuleEvent]:
        events = []
        for sid, d in self.devices.items():
            if d.finding_id is not None or d.said_offline:
                continue
            ref = d.last_seen or self.started
            silent = (now - ref).total_seconds()
            s = self.sensors[sid]
            if silent > self.limit_s(s):
                overdue = ref + dt.timedelta(seconds=s.expected_interval_s)
                events.append(self._open(sid, overdue, "silence", {
                    "last_seen": d.last_seen.isoformat() if d.last_seen else None,
                    "silent_s": round(silent, 1), "expected_interval_s": s.expected_interval_s}))
        return events

    def _open(self, sid: str, at: dt.datetime, reason: str, extra: dict) -> RuleEvent:
        d, s = self.devices[sid], self.sensors[sid]
        d.finding_id, d.started_at, d.reason = uuid.uuid4(), at, reason
        return RuleEvent(kind="opened", rule=self.rule_id, finding_id=d.finding_id, at=at, severity="warning",
                         sensor_id=sid, window_id=s.guards.window, zone_id=s.guards.exit_zone, camera_id=s.camera,
                         started_at=at, evidence=False,
                         details={"sensor_name": s.name, "reason": reason, "adapter": s.adapter, **extra})

    def _close(self, sid: str, at: dt.datetime) -> RuleEvent:
        d, s = self.devices[sid], self.sensors[sid]
        assert d.finding_id is not None and d.started_at is not None
        at = max(at, d.started_at)
        ev = RuleEvent(kind="closed", rule=self.rule_id, finding_id=d.finding_id, at=at, severity="warning",
                       sensor_id=sid, window_id=s.guards.window, zone_id=s.guards.exit_zone, camera_id=s.camera,
                       started_at=d.started_at, duration_s=(at - d.started_at).total_seconds(), evidence=False,
                       details={"reason": d.reason})
        d.finding_id, d.started_at, d.reason = None, None, None
        return ev
