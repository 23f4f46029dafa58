"""Attendance: late_arrival (迟到) and early_leave (早退), at most one finding of each per window and day.

Per window (thresholds ``rules.attendance``; seat presence confirmed for ``rules.window_unstaffed.return_s``,
debounced as in ``edge.rules.common``), on workdays (holidays off, make-up workdays on), windows marked closed
excluded:

- late_arrival: the first confirmed presence of the day starts after ``opening + late_grace_min``. Emitted when
  the arrival is confirmed as ``opened`` (at = opening) + ``closed`` (at = arrival, ``duration_s`` = lateness),
  only if the seat was watched without gaps from opening time (otherwise the clerk may have come unseen).
- early_leave: at the first frame at/after closing, the last confirmed presence of the day is at least
  ``early_leave_min`` before closing, and the seat was watched without gaps since then. Emitted as ``opened``
  (at = when the clerk left) + ``closed`` (at = closing, ``duration_s`` = how early).
A clerk never seen that day raises neither (``window_unstaffed`` covers the empty seat).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from edge.rules.base import FrameContext, RuleEvent, new_finding_id
from edge.rules.common import (
    STALE_S,
    CameraSamples,
    PresenceRun,
    ZoneIndex,
    in_zone_mask,
    person_min_confidence,
    persons,
    secs,
    to_utc,
)
from edge.site import SiteConfig, WindowConfig

log = logging.getLogger(__name__)


@dataclass
class _Day:
    day: dt.date
    arrived: dt.datetime | None = None
    late_checked: bool = False
    early_checked: bool = False


@dataclass
class _Window:
    cfg: WindowConfig
    presence: PresenceRun
    samples: CameraSamples = field(default_factory=CameraSamples)
    zone_of_camera: dict[str, str] = field(default_factory=dict)
    day: _Day | None = None


class AttendanceRule:
    rule_id = "attendance"  # emits late_arrival / early_leave
    rule_ids = ("late_arrival", "early_leave")

    def __init__(self, cfg: SiteConfig):
        self.cfg = cfg
        self.p = cfg.rules.attendance
        self.min_conf = person_min_confidence(cfg)
        self.zones = ZoneIndex.of_kind(cfg, "seat")
        self.windows = {w.id: _Window(w, PresenceRun(confirm_s=cfg.rules.window_unstaffed.return_s))
                        for w in cfg.windows if not w.closed}
        for cam_id, zs in self.zones.by_camera.items():
            for z in zs:
                if z.window in self.windows:
                    self.windows[z.window].zone_of_camera.setdefault(cam_id, z.id)

    def update(self, ctx: FrameContext) -> list[RuleEvent]:
        if not self.p.enabled:
            return []
        people = persons(ctx.detections, self.min_conf)
        hit: dict[str, int] = {}
        for z in self.zones.zones(ctx.camera_id):
            if z.window in self.windows:
                n = int(in_zone_mask(people, self.zones.pixels(z, ctx.shape)).sum())
                hit[z.window] = max(hit.get(z.window, 0), n)  # type: ignore[index]
        out: list[RuleEvent] = []
        for wid, n in hit.items():
            out += self._step(self.windows[wid], ctx, n)
        return out

    def _step(self, w: _Window, ctx: FrameContext, n: int) -> list[RuleEvent]:
        ts, local = ctx.ts, ctx.local
        w.samples.record(ctx.camera_id, ts, n)
        present, _, _ = w.samples.combined(ts)
        was_present = w.presence.is_present(ts)
        arrived = w.presence.feed(ts, bool(present))
        if w.day is None or w.day.day != local.date():
            w.day = _Day(local.date(), arrived=ts if was_present else None)
        day = w.day
        sch = self.cfg.schedule
        opening, closing = sch.opening(day.day), sch.closing(day.day)
        if opening is None or closing is None:
            return []
        out: list[RuleEvent] = []
        if arrived and day.arrived is None and w.presence.since is not None:
            day.arrived = w.presence.since
            out += self._late(w, ctx, to_utc(self.cfg, opening), day.arrived)
        if not day.early_checked and local >= closing:
            day.early_checked = True
            out += self._early(w, ctx, to_utc(self.cfg, closing), day)
        return out

    def _late(self, w: _Window, ctx: FrameContext, opening: dt.datetime, arrival: dt.datetime) -> list[RuleEvent]:
        due = opening + dt.timedelta(minutes=self.p.late_grace_min)
        if arrival <= due:
            return []
        watched = w.presence.observed_since
        if watched is None or secs(opening, watched) > STALE_S:
            log.info("late_arrival for %s not raised: seat not watched since opening (from %s)", w.cfg.id, watched)
            return []
        return self._pair("late_arrival", w, ctx, opening, arrival,
                          {"opening": opening.isoformat(), "arrived_at": arrival.isoformat(),
                           "late_grace_min": self.p.late_grace_min, "late_by_s": round(secs(opening, arrival), 1)})

    def _early(self, w: _Window, ctx: FrameContext, closing: dt.datetime, day: _Day) -> list[RuleEvent]:
        left = w.presence.last_seen
        if day.arrived is None or left is None or left < day.arrived:
            return []
        if secs(left, closing) < self.p.early_leave_min * 60:
            return []
        watched = w.presence.observed_since
        if watched is None or watched > left:
            log.info("early_leave for %s not raised: observation gap after %s", w.cfg.id, left)
            return []
        return self._pair("early_leave", w, ctx, left, closing,
                          {"closing": closing.isoformat(), "left_at": left.isoformat(),
                           "early_leave_min": self.p.early_leave_min, "early_by_s": round(secs(left, closing), 1)})

    def _pair(self, rule: str, w: _Window, ctx: FrameContext, start: dt.datetime, end: dt.datetime,
              details: dict) -> list[RuleEvent]:
        fid = new_finding_id()
        cam = ctx.camera_id
        common = {"window_id": w.cfg.id, "camera_id": cam, "zone_id": w.zone_of_camera.get(cam),
                  "staff_id": w.cfg.staff_a}
        log.info("%s: window %s %s", rule, w.cfg.id, details)
        return [
            RuleEvent("opened", rule, fid, start, severity="warning", details=details, **common),  # type: ignore[arg-type]
            RuleEvent("closed", rule, fid, end, severity="warning", started_at=start, duration_s=secs(start, end),
                      details=details, evidence=False, **common),  # type: ignore[arg-type]
        ]
