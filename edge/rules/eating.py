"""eating (吃东西/用餐): food or a drink in the clerk's hand, or brought to the mouth, at the seat in duty hours.

Per (camera, seat zone), only while ``schedule.duty_required`` for the zone's window and the window is not
paused (thresholds ``rules.eating``). Needs pose (``FrameContext.pose``, from the pipeline's pose and hand pass)
and the food/drink boxes (``rules.eating.items``: COCO cup, bowl, bottle, banana, sandwich, …) of the full-frame
detections and of the hand pass (``FrameContext.small_objects``). ``eating_evidence`` is the per-frame decision:

- the *clerk* is the most confident pose person of the seat zone (``phone_use.clerk_of``);
- an item belongs to the nearest hand of any pose person within ``HAND_REACH`` body scales (as for phones);
  an item in another person's hand (a citizen across the counter) is not the clerk's;
- an item in the clerk's hand is ``in_hand``, and ``to_mouth`` when that hand is within ``MOUTH_REACH`` body
  scales of the mouth (just below the nose) and nearer to it than to an ear; a hand at the mouth holding nothing the detector sees counts as ``to_mouth`` when the
  clerk held an item less than ``HELD_MEMORY_S`` seconds before (a cup at the lips hides behind the hand);
- an item in nobody's hand (a cup standing on the desk, a lunch box on the shelf) is never eating.

A finding opens when, over the last ``window_s`` seconds, at least ``min_frames`` samples are positive, they span
>= ``min_s`` seconds and make >= ``ratio`` of the samples (``at`` = first positive); it closes when the positive
share falls below ``ratio / 2``, when duty ends or the window is paused. One open finding per window;
``cooldown_s`` after a close. Without pose there is no evidence.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from edge.detect.hands import L_EAR, NOSE, R_EAR, body_scale, box_gap, hands_of, visible
from edge.detections import Detections
from edge.rules.base import FrameContext, RuleEvent, new_finding_id
from edge.rules.common import ZoneIndex, secs
from edge.rules.phone_use import HAND_REACH, clerk_of
from edge.site import SiteConfig, WindowConfig

log = logging.getLogger(__name__)
MOUTH_REACH = 0.45  # a hand this close (body scales) to the mouth, and nearer to it than to an ear, is at the mouth
MOUTH_BELOW_NOSE = 0.15  # the mouth is this many body scales below the nose
HELD_MEMORY_S = 10.0  # a hand at the mouth counts when the clerk held food or a drink this recently

EatState = Literal["in_hand", "to_mouth", "none"]


@dataclass(frozen=True)
class EatingEvidence:
    """The per-frame eating decision for one seat."""

    state: EatState
    item: str | None = None
    confidence: float = 0.0
    box: tuple[float, ...] | None = None
    how: str = ""  # hand | mouth | mouth, held before | other's hand | not in a hand | no clerk | no item


def mouth_point(kpts: np.ndarray, scale: float) -> np.ndarray | None:
    """The mouth: a little below the nose; None when the nose is not seen (face turned away or bent down)."""
    if not visible(kpts, NOSE):
        return None
    return kpts[NOSE, :2].astype(np.float64) + (0.0, MOUTH_BELOW_NOSE * scale)


def at_mouth(point: np.ndarray, kpts: np.ndarray, scale: float) -> bool:
    """A hand point at the mouth: within MOUTH_REACH body scales of it and nearer to it than to a seen ear (a hand
    at the ear is a call or a scratch, not a sip)."""
    mouth = mouth_point(kpts, scale)
    if mouth is None:
        return False
    d = float(np.hypot(*(point - mouth)))
    ears = [float(np.hypot(*(point - kpts[e, :2]))) for e in (L_EAR, R_EAR) if visible(kpts, e)]
    return d <= MOUTH_REACH * scale and all(d < e for e in ears)


def hand_at_mouth(pose: Detections, clerk: int) -> bool:
    """Whether a visible hand of the clerk is at the mouth (``at_mouth``)."""
    assert pose.keypoints is not None
    kpts = pose.keypoints[clerk]
    scale = body_scale(kpts, pose.xyxy[clerk])
    return any(at_mouth(h.point, kpts, scale) for h in hands_of(pose, [clerk], lap=False))


def eating_evidence(pose: Detections, items: Detections, clerk: int | None, held_recently: bool = False
                    ) -> EatingEvidence:
    """Is the clerk (index into ``pose``) eating or drinking in this frame? ``items`` are the food/drink boxes
    already filtered by class and confidence. See the module docstring."""
    if clerk is None or pose.keypoints is None:
        return EatingEvidence("none", how="no clerk")
    hands = hands_of(pose, lap=False)
    kpts = pose.keypoints[clerk]
    scale = body_scale(kpts, pose.xyxy[clerk])
    last = EatingEvidence("none", how="no item")
    for i in np.argsort(-items.confidence, kind="stable"):
        box, conf, label = items.xyxy[i].astype(np.float64), float(items.confidence[i]), items.labels[i]
        where = tuple(round(float(v), 1) for v in box)
        dists = [box_gap(h.point, box) / h.scale for h in hands]
        if not dists or min(dists) > HAND_REACH:
            last = EatingEvidence("none", label, conf, where, "not in a hand")
            continue
        hand = hands[int(np.argmin(dists))]
        if hand.person != clerk:
            last = EatingEvidence("none", label, conf, where, "other's hand")
            continue
        mouth = at_mouth(hand.point, kpts, scale)
        return EatingEvidence("to_mouth" if mouth else "in_hand", label, conf, where, "mouth" if mouth else "hand")
    if held_recently and hand_at_mouth(pose, clerk):
        return EatingEvidence("to_mouth", how="mouth, held before")
    return last


@dataclass
class _Seat:
    samples: deque = field(default_factory=deque)  # (ts, positive, confidence, state, item)
    last_held: dt.datetime | None = None
    finding: uuid.UUID | None = None
    started: dt.datetime | None = None


class EatingRule:
    rule_id = "eating"

    def __init__(self, cfg: SiteConfig):
        self.cfg = cfg
        self.p = cfg.rules.eating
        self.zones = ZoneIndex.of_kind(cfg, "seat")
        self.seats: dict[tuple[str, str], _Seat] = {}
        self.open_by_window: dict[str, tuple[str, str]] = {}
        self.cooldown_until: dict[str, dt.datetime] = {}
        self.closed_override: dict[str, bool] = {}

    def set_window_closed(self, window_id: str, closed: bool) -> None:
        """Mark a window paused (暂停服务) or closed at runtime: no eating finding while it is."""
        self.closed_override[window_id] = closed

    def _on_duty(self, w: WindowConfig, local: dt.datetime) -> bool:
        return not self.closed_override.get(w.id, w.closed) and self.cfg.schedule.duty_required(local, w)

    def items(self, ctx: FrameContext) -> Detections:
        parts = [ctx.detections] + ([ctx.small_objects] if ctx.small_objects is not None else [])
        return Detections.merge([p.of_class(*self.p.items).above(self.p.min_confidence) for p in parts])

    def evidence(self, ctx: FrameContext, polygon: np.ndarray, held_recently: bool = False) -> EatingEvidence:
        clerk = clerk_of(ctx.pose, polygon)
        if clerk is None or ctx.pose is None:
            return EatingEvidence("none", how="no clerk")
        return eating_evidence(ctx.pose, self.items(ctx), clerk, held_recently)

    def update(self, ctx: FrameContext) -> list[RuleEvent]:
        if not self.p.enabled:
            return []
        out: list[RuleEvent] = []
        for z in self.zones.zones(ctx.camera_id):
            assert z.window is not None
            window = self.cfg.window(z.window)
            seat = self.seats.setdefault((ctx.camera_id, z.id), _Seat())
            if not self._on_duty(window, ctx.local):
                seat.samples.clear()
                if seat.finding is not None:
                    reason = "paused" if self.closed_override.get(window.id, window.closed) else "duty_end"
                    out.append(self._close(seat, ctx, z.id, window.id, ctx.ts, reason))
                continue
            recent = seat.last_held is not None and secs(seat.last_held, ctx.ts) <= HELD_MEMORY_S
            ev = self.evidence(ctx, self.zones.pixels(z, ctx.shape), recent)
            if ev.item is not None and ev.state != "none":
                seat.last_held = ctx.ts
            seat.samples.append((ctx.ts, ev.state != "none", ev.confidence, ev.state, ev.item))
            while seat.samples and secs(seat.samples[0][0], ctx.ts) > self.p.window_s:
                seat.samples.popleft()
            hits = [s for s in seat.samples if s[1]]
            share = len(hits) / len(seat.samples)
            if seat.finding is None:
                if window.id in self.open_by_window or ctx.ts < self.cooldown_until.get(window.id, ctx.ts):
                    continue
                if (len(hits) >= self.p.min_frames and secs(hits[0][0], hits[-1][0]) >= self.p.min_s
                        and share >= self.p.ratio):
                    out.append(self._open(seat, ctx, z.id, window, hits, share))
            elif share < self.p.ratio / 2:
                last = max((s[0] for s in hits), default=seat.started)
                out.append(self._close(seat, ctx, z.id, window.id, last or ctx.ts, "no_food"))
        return out

    def _open(self, seat: _Seat, ctx: FrameContext, zone_id: str, window: WindowConfig, hits: list,
              share: float) -> RuleEvent:
        seat.finding, seat.started = new_finding_id(), hits[0][0]
        self.open_by_window[window.id] = (ctx.camera_id, zone_id)
        seen = sorted({h[4] for h in hits if h[4]})
        confs = [h[2] for h in hits if h[2] > 0]
        log.info("eating opened: window %s camera %s (%s)", window.id, ctx.camera_id, ", ".join(seen))
        return RuleEvent("opened", self.rule_id, seat.finding, seat.started, severity="warning", window_id=window.id,
                         camera_id=ctx.camera_id, zone_id=zone_id, staff_id=window.staff_a,
                         confidence=round(float(np.mean(confs)), 3) if confs else None,
                         details={"items": seen, "positive_share": round(share, 3), "samples": len(seat.samples),
                                  "to_mouth": sum(h[3] == "to_mouth" for h in hits),
                                  "in_hand": sum(h[3] == "in_hand" for h in hits),
                                  "min_s": self.p.min_s, "window_s": self.p.window_s, "ratio": self.p.ratio})

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
