"""after_hours_presence (下班后有人): a person anywhere in the hall while ``schedule.after_hours(local)``.

Hall-wide across cameras (thresholds ``rules.after_hours_presence``):

- raw presence = any camera's fresh frame has a person (>= the person confidence) anywhere in the picture;
- the finding opens once someone has been present for ``min_s`` seconds counted from the later of their
  arrival and the start of after-hours (closing + ``closing_grace_min``, weekends/holidays all day) — ``at`` is
  that later moment; severity ``major``;
- it closes when nobody has been seen for ``min_s`` seconds (``at`` = last sighting) or when after-hours ends
  (next opening). Presence is debounced as in ``edge.rules.common``.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from edge.rules.base import FrameContext, RuleEvent, new_finding_id
from edge.rules.common import PRESENCE_GAP_S, CameraSamples, PresenceRun, person_min_confidence, persons, secs
from edge.site import SiteConfig

log = logging.getLogger(__name__)


class AfterHoursPresenceRule:
    rule_id = "after_hours_presence"

    def __init__(self, cfg: SiteConfig) -> None:
        self.cfg = cfg
        self.p = cfg.rules.after_hours_presence
        self.min_conf = person_min_confidence(cfg)
        self.cameras = {c.id for c in cfg.cameras if c.enabled}
        self.samples = CameraSamples()
        self.presence = PresenceRun(confirm_s=0.0, gap_s=PRESENCE_GAP_S)
        self.active_since: dt.datetime | None = None
        self.finding: uuid.UUID | None = None
        self.started: dt.datetime | None = None
        self.camera_id: str | None = None
        self.max_persons = 0

    def update(self, ctx: FrameContext) -> list[RuleEvent]:
        if not self.p.enabled or ctx.camera_id not in self.cameras:
            return []
        ts = ctx.ts
        n = len(persons(ctx.detections, self.min_conf))
        self.samples.record(ctx.camera_id, ts, n)
        present, count, cam = self.samples.combined(ts)
        self.presence.feed(ts, bool(present))
        if not self.cfg.schedule.after_hours(ctx.local):
            self.active_since = None
            return [self._close(ts, "opening")] if self.finding is not None else []
        if self.active_since is None:
            self.active_since = ts
        if self.finding is None:
            if self.presence.is_present(ts) and self.presence.since is not None:
                start = max(self.presence.since, self.active_since)
                if secs(start, ts) >= self.p.min_s:
                    return [self._open(start, cam or ctx.camera_id, count)]
            return []
        self.max_persons = max(self.max_persons, count)
        last = self.presence.last_seen
        if last is not None and secs(last, ts) >= max(self.p.min_s, PRESENCE_GAP_S):
            return [self._close(last, "nobody_seen")]
        return []

    def _open(self, start: dt.datetime, camera_id: str, count: int) -> RuleEvent:
        self.finding, self.started, self.camera_id, self.max_persons = new_finding_id(), start, camera_id, count
        log.info("after_hours_presence opened at %s (camera %s)", start.isoformat(), camera_id)
        return RuleEvent("opened", self.rule_id, self.finding, start, severity="major", camera_id=camera_id,
                         details={"persons": count, "min_s": self.p.min_s})

    def _close(self, end: dt.datetime, reason: str) -> RuleEvent:
        assert self.finding is not None and self.started is not None
        end = max(end, self.started)
        ev = RuleEvent("closed", self.rule_id, self.finding, end, severity="major", camera_id=self.camera_id,
                       started_at=self.started, duration_s=secs(self.started, end),
                       details={"ended_by": reason, "max_persons": self.max_persons}, evidence=False)
        self.finding = self.started = self.camera_id = None
        return ev
