"""phone_use (玩手机): a clerk with a cell phone at the seat, sustained over a sliding window.

Per (camera, seat zone), only while ``schedule.duty_required`` for the zone's window
(thresholds ``rules.phone_use``):

- a sample is *positive* when a person is in the seat zone and a ``cell phone`` box (full-frame detections and
  the per-person crop pass ``FrameContext.small_objects``, confidence >= ``min_confidence``) overlaps the seat
  zone and overlaps that person's box padded by ``PERSON_PAD`` (a citizen's phone across the counter does not
  count), and its centre is below the top ``HEAD_BAND`` of that box (a phone held to the ear is a call, not
  phone play: measured on the shared clips, texting phones sit at 0.5-0.7 of the person box height, a phone
  at the ear at 0.2-0.3);
- samples of the last ``window_s`` seconds are kept; the finding opens when positives span >= ``min_s`` seconds
  (first to last positive) and are >= ``ratio`` of the samples (``at`` = first positive in the window);
- it closes when the positive share falls below ``ratio / 2`` (hysteresis) or duty ends; ``at`` = last positive;
- after a finding of a window closes, none opens for that window for ``cooldown_s`` seconds; one open finding
  per window even when several cameras see its seat.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from edge import geometry as geo
from edge.detections import Detections
from edge.rules.base import FrameContext, RuleEvent, new_finding_id
from edge.rules.common import ZoneIndex, in_zone_mask, person_min_confidence, persons, secs
from edge.site import SiteConfig

log = logging.getLogger(__name__)
PERSON_PAD = 0.25  # a phone counts when it overlaps the seated person's box grown by this fraction
HEAD_BAND = 0.3  # ... and its centre is below this top fraction of the person's box (not held to the ear)


@dataclass
class _Seat:
    samples: deque = field(default_factory=deque)  # (ts, positive, phone confidence)
    finding: uuid.UUID | None = None
    started: dt.datetime | None = None


class PhoneUseRule:
    rule_id = "phone_use"

    def __init__(self, cfg: SiteConfig):
        self.cfg = cfg
        self.p = cfg.rules.phone_use
        self.min_conf = person_min_confidence(cfg)
        self.zones = ZoneIndex.of_kind(cfg, "seat")
        self.seats: dict[tuple[str, str], _Seat] = {}
        self.open_by_window: dict[str, tuple[str, str]] = {}
        self.cooldown_until: dict[str, dt.datetime] = {}

    def _phones(self, ctx: FrameContext) -> Detections:
        parts = [ctx.detections] + ([ctx.small_objects] if ctx.small_objects is not None else [])
        return Detections.merge([p.of_class("cell phone").above(self.p.min_confidence) for p in parts])

    def positive(self, ctx: FrameContext, polygon: np.ndarray) -> tuple[bool, float]:
        """(positive, best phone confidence) for one seat zone polygon (pixels) in one frame."""
        people = persons(ctx.detections, self.min_conf)
        seated = people[in_zone_mask(people, polygon)]
        phones = self._phones(ctx)
        if len(seated) == 0 or len(phones) == 0:
            return False, 0.0
        near_zone = geo.box_fraction_in_polygon(phones.xyxy, polygon) > 0
        overlap = geo.boxes_intersect(phones.xyxy, geo.pad_boxes(seated.xyxy, PERSON_PAD, ctx.shape))  # (P, S)
        cy = (phones.xyxy[:, 1] + phones.xyxy[:, 3]) / 2
        head_line = seated.xyxy[:, 1] + HEAD_BAND * (seated.xyxy[:, 3] - seated.xyxy[:, 1])
        near_person = (overlap & (cy[:, None] >= head_line[None, :])).any(axis=1)
        ok = near_zone & near_person
        return bool(ok.any()), float(phones.confidence[ok].max()) if ok.any() else 0.0

    def update(self, ctx: FrameContext) -> list[RuleEvent]:
        if not self.p.enabled:
            return []
        out: list[RuleEvent] = []
        for z in self.zones.zones(ctx.camera_id):
            assert z.window is not None
            window = self.cfg.window(z.window)
            seat = self.seats.setdefault((ctx.camera_id, z.id), _Seat())
            if not self.cfg.schedule.duty_required(ctx.local, window):
                seat.samples.clear()
                if seat.finding is not None:
                    out.append(self._close(seat, ctx, z.id, window.id, ctx.ts, "duty_end"))
                continue
            pos, conf = self.positive(ctx, self.zones.pixels(z, ctx.shape))
            seat.samples.append((ctx.ts, pos, conf))
            while seat.samples and secs(seat.samples[0][0], ctx.ts) > self.p.window_s:
                seat.samples.popleft()
            hits = [s for s in seat.samples if s[1]]
            share = len(hits) / len(seat.samples)
            if seat.finding is None:
                if window.id in self.open_by_window or ctx.ts < self.cooldown_until.get(window.id, ctx.ts):
                    continue
                if hits and secs(hits[0][0], hits[-1][0]) >= self.p.min_s and share >= self.p.ratio:
                    out.append(self._open(seat, ctx, z.id, window, hits, share))
            elif share < self.p.ratio / 2:
                last = max((s[0] for s in hits), default=seat.started)
                out.append(self._close(seat, ctx, z.id, window.id, last or ctx.ts, "phone_gone"))
        return out

    def _open(self, seat: _Seat, ctx: FrameContext, zone_id: str, window, hits: list, share: float) -> RuleEvent:
        seat.finding, seat.started = new_finding_id(), hits[0][0]
        self.open_by_window[window.id] = (ctx.camera_id, zone_id)
        conf = float(np.mean([h[2] for h in hits]))
        log.info("phone_use opened: window %s camera %s", window.id, ctx.camera_id)
        return RuleEvent("opened", self.rule_id, seat.finding, seat.started, severity="warning", window_id=window.id,
                         camera_id=ctx.camera_id, zone_id=zone_id, staff_id=window.staff_a, confidence=round(conf, 3),
                         details={"positive_share": round(share, 3), "samples": len(seat.samples),
                                  "min_s": self.p.min_s, "window_s": self.p.window_s, "ratio": self.p.ratio,
                                  "max_phone_confidence": round(max(h[2] for h in hits), 3)})

    def _close(self, seat: _Seat, ctx: FrameContext, zone_id: str, window_id: str, end: dt.datetime,
               reason: str) -> RuleEvent:
        assert seat.finding is not None and seat.started is not None
        end = max(end, seat.started)
        ev = RuleEvent("closed", self.rule_id, seat.finding, end, severity="warning", window_id=window_id,
                       camera_id=ctx.camera_id, zone_id=zone_id, started_at=seat.started,
                       duration_s=secs(seat.started, end), details={"ended_by": reason}, evidence=False)
        self.cooldown_until[window_id] = end + dt.timedelta(seconds=self.p.cooldown_s)
        self.open_by_window.pop(window_id, None)
        seat.finding = seat.started = None
        return ev
