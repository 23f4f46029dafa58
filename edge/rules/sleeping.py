"""睡岗/打瞌睡 (sleeping on duty): from pose, in a seat zone, while the window must be staffed.

Per frame and seat zone, the clerk is the most confident pose person whose box centre is in the zone.
The sample is *asleep-like* when both hold:

* posture — the head has dropped: the face point (mean of visible nose/eyes/ears) is less than
  ``HEAD_ABOVE_SHOULDERS`` x body scale above the shoulder line (upright it is ~0.5-1 shoulder width
  above), or the face is not visible at all while both shoulders are (head resting on the desk / arms);
* stillness — the median displacement of keypoints visible in both this and the previous sample,
  divided by the person box height, is at most ``rules.sleeping.max_motion``, taken as the median over
  the last ``MOTION_WINDOW_S`` seconds (pose keypoints jitter frame to frame).

Only a pose measured on the frame itself is a sample (``FrameContext.pose_ts``): one that stands in from an earlier
frame (the pipeline's seat pose between passes) is skipped. A run of asleep-like samples (gaps of other samples
shorter than ``GAP_S`` tolerated) opens a finding after ``rules.sleeping.min_s`` seconds, only while
``schedule.duty_required(local, window)``. It closes when the clerk has been awake (or away) for ``WAKE_S`` seconds,
or duty ends; ``duration_s`` is the run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from edge import geometry as geo
from edge.detect.hands import KP_MIN_VIS, L_SHOULDER, R_SHOULDER, body_scale, head_point
from edge.rules.base import FrameContext, RuleEvent, new_finding_id
from edge.site import SiteConfig

log = logging.getLogger(__name__)

HEAD_ABOVE_SHOULDERS = 0.15
MOTION_WINDOW_S = 10.0
GAP_S = 10.0
WAKE_S = 10.0
POSE_MIN_CONFIDENCE = 0.4


def head_dropped(kpts: np.ndarray, box: np.ndarray) -> bool | None:
    """True if the head hangs at/below the shoulder line or is hidden with shoulders visible; None if unknown."""
    ls, rs = kpts[L_SHOULDER], kpts[R_SHOULDER]
    if min(ls[2], rs[2]) < KP_MIN_VIS:
        return None
    head = head_point(kpts)
    if head is None:
        return True  # face hidden, shoulders seen: head on the desk or arms
    shoulder_y = (ls[1] + rs[1]) / 2
    return bool(shoulder_y - head[1] < HEAD_ABOVE_SHOULDERS * body_scale(kpts, box))


def keypoint_motion(prev: np.ndarray, cur: np.ndarray, box: np.ndarray) -> float | None:
    """Median displacement of keypoints visible in both samples, over the box height; None if < 3 shared."""
    both = (prev[:, 2] >= KP_MIN_VIS) & (cur[:, 2] >= KP_MIN_VIS)
    if both.sum() < 3:
        return None
    d = np.hypot(*(cur[both, :2] - prev[both, :2]).T)
    return float(np.median(d) / max(float(box[3] - box[1]), 1.0))


@dataclass
class _Seat:
    window: str
    prev_kpts: np.ndarray | None = None
    prev_ts: dt.datetime | None = None  # time of prev_kpts
    prev_dropped: bool = False  # head was dropped in that previous sample
    run_from: dt.datetime | None = None  # where a run starting now begins (set by _observe)
    motion: deque = field(default_factory=deque)  # (ts, motion)
    run_start: dt.datetime | None = None
    last_asleep: dt.datetime | None = None
    finding: object | None = None
    samples: int = 0


class SleepingRule:
    """FrameRule for 睡岗; see the module docstring."""

    rule_id = "sleeping"

    def __init__(self, cfg: SiteConfig) -> None:
        self.cfg = cfg
        self.rc = cfg.rules.sleeping
        self._seats: dict[str, _Seat] = {}

    def _observe(self, ctx: FrameContext, seat: _Seat, polygon: np.ndarray) -> bool:
        """Is the clerk of this seat asleep-like in this frame? Updates the motion history."""
        pose = ctx.pose
        if pose is None or pose.keypoints is None or not len(pose):
            seat.prev_kpts = seat.prev_ts = None
            return False
        keep = pose.confidence >= POSE_MIN_CONFIDENCE
        centres = geo.box_anchors(pose.xyxy, "center")
        inside = geo.points_in_polygon(centres, polygon) & keep
        if not inside.any():
            seat.prev_kpts = seat.prev_ts = None
            return False
        i = int(np.flatnonzero(inside)[np.argmax(pose.confidence[inside])])
        kpts, box = pose.keypoints[i], pose.xyxy[i]
        if seat.prev_kpts is not None:
            m = keypoint_motion(seat.prev_kpts, kpts, box)
            if m is not None:
                seat.motion.append((ctx.ts, m))
        while seat.motion and (ctx.ts - seat.motion[0][0]).total_seconds() > MOTION_WINDOW_S:
            seat.motion.popleft()
        still = bool(seat.motion) and float(np.median([m for _, m in seat.motion])) <= self.rc.max_motion
        dropped = bool(head_dropped(kpts, box))
        # stillness needs two samples: a run starting now began at the previous sample if it was dropped too
        seat.run_from = seat.prev_ts if (seat.prev_dropped and seat.prev_ts is not None) else ctx.ts
        seat.prev_kpts, seat.prev_ts, seat.prev_dropped = kpts, ctx.ts, dropped
        return dropped and still

    def update(self, ctx: FrameContext) -> list[RuleEvent]:
        if not self.rc.enabled:
            return []
        try:
            cam = self.cfg.camera(ctx.camera_id)
        except StopIteration:
            log.error("sleeping: unknown camera %r", ctx.camera_id)
            return []
        events: list[RuleEvent] = []
        for zone in cam.zones:
            if zone.kind != "seat" or zone.window is None:
                continue
            seat = self._seats.setdefault(zone.id, _Seat(window=zone.window))
            window = self.cfg.window(zone.window)
            on_duty = self.cfg.schedule.duty_required(ctx.local, window)
            if on_duty and ctx.pose is not None and ctx.pose_ts is not None and ctx.pose_ts != ctx.ts:
                continue  # a pose that stands in from an earlier frame is no new sample (its motion would read 0)
            try:
                asleep = on_duty and self._observe(ctx, seat, geo.denormalize_polygon(zone.polygon, ctx.shape))
            except (ValueError, IndexError) as exc:
                log.error("sleeping: bad pose on %s at %s: %s", ctx.camera_id, ctx.ts, exc)
                continue
            if asleep:
                if seat.run_start is None or (ctx.ts - seat.last_asleep).total_seconds() > GAP_S:  # type: ignore[operator]
                    if seat.finding is not None:
                        events.append(self._close(ctx, zone.id, seat))
                    seat.run_start, seat.samples = seat.run_from or ctx.ts, 0
                seat.last_asleep = ctx.ts
                seat.samples += 1
                if seat.finding is None and (ctx.ts - seat.run_start).total_seconds() >= self.rc.min_s:
                    events.append(self._open(ctx, zone.id, seat))
            elif seat.run_start is not None:
                awake_for = (ctx.ts - seat.last_asleep).total_seconds()  # type: ignore[operator]
                if not on_duty or awake_for >= (WAKE_S if seat.finding else GAP_S):
                    if seat.finding is not None:
                        events.append(self._close(ctx, zone.id, seat))
                    seat.run_start = seat.last_asleep = None
        return events

    def _open(self, ctx: FrameContext, zone_id: str, seat: _Seat) -> RuleEvent:
        seat.finding = new_finding_id()
        motion = float(np.median([m for _, m in seat.motion])) if seat.motion else None
        return RuleEvent(
            kind="opened",
            rule=self.rule_id,
            finding_id=seat.finding,  # type: ignore[arg-type]
            at=seat.run_start,  # type: ignore[arg-type]
            severity="warning",
            window_id=seat.window,
            camera_id=ctx.camera_id,
            zone_id=zone_id,
            started_at=seat.run_start,
            details={
                "asleep_for_s": round((ctx.ts - seat.run_start).total_seconds(), 2),  # type: ignore[operator]
                "samples": seat.samples,
                "median_motion": None if motion is None else round(motion, 4),
            },
        )

    def _close(self, ctx: FrameContext, zone_id: str, seat: _Seat) -> RuleEvent:
        ev = RuleEvent(
            kind="closed",
            rule=self.rule_id,
            finding_id=seat.finding,  # type: ignore[arg-type]
            at=seat.last_asleep,  # type: ignore[arg-type]
            severity="warning",
            window_id=seat.window,
            camera_id=ctx.camera_id,
            zone_id=zone_id,
            started_at=seat.run_start,
            duration_s=round((seat.last_asleep - seat.run_start).total_seconds(), 3),  # type: ignore[operator]
            evidence=False,
        )
        seat.finding = None
        return ev
