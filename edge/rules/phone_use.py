"""phone_use (玩手机): the clerk at a seat with a phone in the hands, sustained over a sliding window.

Per (camera, seat zone), only while ``schedule.duty_required`` for the zone's window
(thresholds ``rules.phone_use``). Needs pose (``FrameContext.pose``: persons with 17 keypoints, frame pixels)
and the phones found in the hands (``FrameContext.small_objects``, ``edge.detect.hands.HandAnalyser``);
full-frame ``cell phone`` boxes count too. ``phone_evidence`` is the pure per-frame decision:

- the *clerk* is the most confident pose person whose box belongs to the seat zone;
- a phone (``cell phone`` >= ``min_confidence``) belongs to the nearest hand of any pose person in the
  frame when that hand is within ``HAND_REACH`` of the owner's body scale (shoulder width) of the phone
  box; a phone in another person's hand (a citizen across the counter, a colleague) is not the clerk's;
- a phone in no hand counts only in the clerk's lap with the head bent over it (hands hidden by the
  desk edge); a phone lying on the counter or the desk is not use;
- a phone in the clerk's hand at the face (centre within ``EAR_REACH`` body scales of the face, not below
  the shoulders) with the face up (nose seen) is a call, not phone play: the sample is negative and counted
  as a call. Bent over a phone, the face is hidden from a camera above (nose not seen): that is use.

A sample is *positive* when the decision is ``use``. Samples of the last ``window_s`` seconds are kept; the
finding opens when positives span >= ``min_s`` seconds (first to last positive) and are >= ``ratio`` of the
samples (``at`` = first positive in the window); it closes when the positive share falls below
``ratio / 2`` (hysteresis) or duty ends (``at`` = last positive). After a finding of a window closes, none
opens for that window for ``cooldown_s`` seconds; one open finding per window even when several cameras see
its seat. Without pose there is no evidence: a phone box alone cannot say whose hand it is in.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from edge import geometry as geo
from edge.detect.hands import NOSE, body_scale, box_gap, hands_of, head_point, lap_box, shoulder_line, visible
from edge.detections import Detections
from edge.rules.base import FrameContext, RuleEvent, new_finding_id
from edge.rules.common import ZoneIndex, in_zone_mask, secs
from edge.site import SiteConfig

log = logging.getLogger(__name__)
HAND_REACH = 0.5  # a phone belongs to a hand whose point is within this many body scales of the phone box
EAR_REACH = 1.0  # a phone in the clerk's hand this close (body scales) to the face, not below the shoulders: a call
POSE_MIN_CONFIDENCE = 0.4  # pose persons below this are not the clerk

PhoneState = Literal["use", "call", "none"]


@dataclass(frozen=True)
class PhoneEvidence:
    """The per-frame phone decision for one seat."""

    state: PhoneState
    confidence: float = 0.0
    box: tuple[float, ...] | None = None  # the phone (frame pixels)
    how: str = ""  # hand | lap | ear | other's hand | not in a hand | no clerk | no phone


def clerk_of(pose: Detections | None, polygon: np.ndarray, min_conf: float = POSE_MIN_CONFIDENCE) -> int | None:
    """Index of the most confident pose person belonging to the seat zone (``in_zone_mask``), or None."""
    if pose is None or pose.keypoints is None or not len(pose):
        return None
    ok = in_zone_mask(pose, polygon) & (pose.confidence >= min_conf)
    if not ok.any():
        return None
    return int(np.flatnonzero(ok)[np.argmax(pose.confidence[ok])])


def seat_clerks(pose: Detections | None, polygons: list[np.ndarray], min_conf: float = POSE_MIN_CONFIDENCE
                ) -> list[int]:
    """The clerk (``clerk_of``) of each seat polygon, each index once, in order: the only people whose hands the
    phone and eating rules judge (a phone or a cup in anybody else's hand only has to be seen as not the clerk's,
    which the pose alone tells)."""
    found = {clerk_of(pose, poly, min_conf) for poly in polygons}
    return sorted(i for i in found if i is not None)


def looking_down(kpts: np.ndarray) -> bool:
    """The head is bent down: shoulders seen, nose not (a camera above sees the top of the head)."""
    return not visible(kpts, NOSE) and shoulder_line(kpts) is not None


def phone_evidence(pose: Detections, phones: Detections, clerk: int | None, min_conf: float) -> PhoneEvidence:
    """Is the clerk (index into ``pose``) using a phone in this frame? See the module docstring."""
    if clerk is None or pose.keypoints is None:
        return PhoneEvidence("none", how="no clerk")
    phones = phones.of_class("cell phone").above(min_conf)
    if not len(phones):
        return PhoneEvidence("none", how="no phone")
    hands = hands_of(pose, lap=False)
    kpts, box = pose.keypoints[clerk], pose.xyxy[clerk]
    scale = body_scale(kpts, box)
    head, shoulders = head_point(kpts), shoulder_line(kpts)
    lap = lap_box(kpts, box)
    call: PhoneEvidence | None = None
    last = PhoneEvidence("none", how="not in a hand")
    for i in np.argsort(-phones.confidence, kind="stable"):
        pb, conf = phones.xyxy[i].astype(np.float64), float(phones.confidence[i])
        where = tuple(round(float(v), 1) for v in pb)
        dists = [box_gap(h.point, pb) / h.scale for h in hands]
        owner = hands[int(np.argmin(dists))].person if dists and min(dists) <= HAND_REACH else None
        if owner is not None and owner != clerk:
            last = PhoneEvidence("none", conf, where, "other's hand")
            continue
        if owner is None:
            in_lap = lap is not None and bool(geo.boxes_intersect(pb[None], lap[None])[0, 0])
            if in_lap and looking_down(kpts):
                return PhoneEvidence("use", conf, where, "lap")
            continue
        centre = (pb[:2] + pb[2:]) / 2
        near_face = head is not None and float(np.hypot(*(centre - head))) <= EAR_REACH * scale
        if near_face and visible(kpts, NOSE) and (shoulders is None or centre[1] <= shoulders):
            call = call or PhoneEvidence("call", conf, where, "ear")
            continue
        return PhoneEvidence("use", conf, where, "hand")
    return call or last


@dataclass
class _Seat:
    samples: deque = field(default_factory=deque)  # (ts, positive, phone confidence, how)
    calls: int = 0  # samples decided 'call' since the last finding
    finding: uuid.UUID | None = None
    started: dt.datetime | None = None


class PhoneUseRule:
    rule_id = "phone_use"

    def __init__(self, cfg: SiteConfig):
        self.cfg = cfg
        self.p = cfg.rules.phone_use
        self.zones = ZoneIndex.of_kind(cfg, "seat")
        self.seats: dict[tuple[str, str], _Seat] = {}
        self.open_by_window: dict[str, tuple[str, str]] = {}
        self.cooldown_until: dict[str, dt.datetime] = {}

    def _phones(self, ctx: FrameContext) -> Detections:
        parts = [ctx.detections] + ([ctx.small_objects] if ctx.small_objects is not None else [])
        return Detections.merge([p.of_class("cell phone") for p in parts])

    def evidence(self, ctx: FrameContext, polygon: np.ndarray) -> PhoneEvidence:
        """The per-frame decision for one seat zone polygon (pixels)."""
        clerk = clerk_of(ctx.pose, polygon)
        if clerk is None or ctx.pose is None:
            return PhoneEvidence("none", how="no clerk")
        return phone_evidence(ctx.pose, self._phones(ctx), clerk, self.p.min_confidence)

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
            ev = self.evidence(ctx, self.zones.pixels(z, ctx.shape))
            seat.calls += ev.state == "call"
            seat.samples.append((ctx.ts, ev.state == "use", ev.confidence, ev.how))
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
                                  "max_phone_confidence": round(max(h[2] for h in hits), 3),
                                  "in_lap": sum(h[3] == "lap" for h in hits), "calls_seen": seat.calls})

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
        seat.calls = 0
        return ev
