"""抽烟 (smoking): a cigarette at a person's head or hand, confirmed over time, with smoke-sensor fusion.

Input per frame (filled by ``edge.detect.smoking.SmokingAnalyser``): ``ctx.cigarettes`` — cigarette
detections on upscaled head/hand crops, frame pixels — and ``ctx.pose`` — persons with 17 keypoints.

Per place (a window's seat zone on this camera, else the hall as seen by this camera):

* a frame is *positive* when a cigarette of score >= ``rules.smoking.min_confidence`` passes the gates of
  ``cigarette_gate``: it belongs to the person whose hand or face is nearest (``owner_of``; no pose, no
  evidence), it is within ``NEAR_HAND`` body scales of one of that person's hands or ``NEAR_MOUTH`` of the
  face (a bright spot on a desk is nobody's cigarette), its long side is a cigarette's size against the body
  (``CIGARETTE_SIZE`` body scales: a pen, a phone edge or a finger seen whole is longer or shorter), and
  no COCO look-alike (``LOOKALIKES``: a phone, a remote, a toothbrush, scissors, cutlery; from the hand
  pass ``small_objects`` or the full-frame detections) of score >= ``LOOKALIKE_CONFIDENCE`` covers it. A
  person whose hand is at the mouth (pose cue) gets ``HAND_TO_MOUTH_BONUS`` added to the score;
* a candidate episode starts at the first positive frame and survives gaps shorter than ``GAP_S``;
* it opens a finding once it has lasted ``min_s`` seconds with at least ``RATIO`` of its frames positive
  and at least ``MIN_POSITIVE_FRAMES`` positive frames (one frame is never enough, however long the gap),
  unless a finding for the same place opened less than ``cooldown_s`` ago;
* an open finding closes ``CLEAR_S`` seconds after the last positive frame (``duration_s`` = first to last
  positive frame).

Smoke-sensor fusion (the seam): ``note_smoke(camera_id, ts, sensor_id)`` — call it when a smoke sensor
that guards this camera's area alarms. For ``SMOKE_FUSION_S`` seconds after ``ts`` the confirmation time
on that camera is halved, the score threshold lowered by ``SMOKE_CONF_RELIEF`` and the finding carries
``details.smoke_sensor`` and higher confidence. The agent is expected to also attach this camera's
evidence to the sensor's own smoke finding.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np

from edge import geometry as geo
from edge.detect.hands import WRISTS, body_scale, box_gap, hand_point, head_point
from edge.detect.smoking import hand_to_mouth
from edge.detections import Detections
from edge.rules.base import FrameContext, RuleEvent, new_finding_id
from edge.site import SiteConfig

log = logging.getLogger(__name__)

GAP_S = 5.0  # detector dropouts shorter than this do not break an episode
CLEAR_S = 30.0  # an open finding closes this long after the last positive frame
RATIO = 0.5  # share of positive frames an episode needs
HAND_TO_MOUTH_BONUS = 0.05  # small: a phone held to the ear raises the same cue
MIN_POSITIVE_FRAMES = 3
NEAR_HAND = 0.6  # body scales from a hand point to the cigarette box
NEAR_MOUTH = 0.6  # body scales from the face point to the cigarette box
CIGARETTE_SIZE = (0.04, 0.8)  # long side of a cigarette box in body scales (~0.2: 8.5 cm against ~40 cm shoulders)
LOOKALIKES = ("cell phone", "remote", "toothbrush", "scissors", "knife", "fork", "spoon")
LOOKALIKE_CONFIDENCE = 0.25
LOOKALIKE_COVER = 0.3  # share of the cigarette box a look-alike box must cover
SMOKE_FUSION_S = 120.0
SMOKE_CONF_RELIEF = 0.1

Place = tuple[str, str | None, str | None]  # (camera_id, window_id, zone_id)


def reach(cig: np.ndarray, kpts: np.ndarray, person_box: np.ndarray) -> float:
    """How far the cigarette box is from the person's nearest hand or face, as a fraction of the allowed
    distance (``NEAR_HAND`` / ``NEAR_MOUTH`` body scales): <= 1 is within reach; inf without hands or face."""
    scale = body_scale(kpts, person_box)
    gaps = [box_gap(p, cig) / (NEAR_HAND * scale) for p in (hand_point(kpts, w) for w in WRISTS) if p is not None]
    head = head_point(kpts)
    if head is not None:
        gaps.append(box_gap(head, cig) / (NEAR_MOUTH * scale))
    return min(gaps, default=float("inf"))


def owner_of(cig: np.ndarray, pose: Detections) -> int:
    """The person whose hand or face is nearest the cigarette box (relative to ``reach``), or -1 without pose."""
    if pose.keypoints is None or not len(pose):
        return -1
    return int(np.argmin([reach(cig, k, b) for k, b in zip(pose.keypoints, pose.xyxy)]))


def cigarette_gate(cig: np.ndarray, kpts: np.ndarray, person_box: np.ndarray, lookalikes: Detections) -> str:
    """Why a cigarette box (frame pixels) of a person is not smoking evidence, or '' when it passes every gate:
    'far from hand and mouth', 'size', or 'looks like <class>'. Pure: the rule and the evaluation use it."""
    scale = body_scale(kpts, person_box)
    if reach(cig, kpts, person_box) > 1.0:
        return "far from hand and mouth"
    long_side = float(max(cig[2] - cig[0], cig[3] - cig[1]))
    if not CIGARETTE_SIZE[0] * scale <= long_side <= CIGARETTE_SIZE[1] * scale:
        return "size"
    if len(lookalikes):
        tl = np.maximum(lookalikes.xyxy[:, :2], cig[:2])
        br = np.minimum(lookalikes.xyxy[:, 2:], cig[2:])
        inter = np.prod(np.clip(br - tl, 0, None), axis=1)
        area = max(float((cig[2] - cig[0]) * (cig[3] - cig[1])), 1e-6)
        hit = np.flatnonzero(inter / area >= LOOKALIKE_COVER)
        if len(hit):
            return f"looks like {lookalikes.labels[int(hit[np.argmax(lookalikes.confidence[hit])])]}"
    return ""


@dataclass
class _Episode:
    first: dt.datetime
    last_pos: dt.datetime
    frames: int = 0
    positives: int = 0
    best: float = 0.0
    finding: object | None = None  # uuid of the open finding
    opened_at: dt.datetime | None = None
    smoke_sensor: str | None = None
    box: list[float] | None = None  # best cigarette box (frame pixels)
    hand_to_mouth: bool = False


class SmokingRule:
    """FrameRule for 抽烟; see the module docstring for the state machine."""

    rule_id = "smoking"

    def __init__(self, cfg: SiteConfig) -> None:
        self.cfg = cfg
        self.rc = cfg.rules.smoking
        self._episodes: dict[Place, _Episode] = {}
        self._last_open: dict[Place, dt.datetime] = {}
        self._smoke: dict[str, tuple[dt.datetime, str | None]] = {}
        self.rejected: list[str] = []  # why the last frame's cigarettes did not count (for evaluation and logs)

    # ---------------------------------------------------------------- fusion seam
    def note_smoke(self, camera_id: str, ts: dt.datetime, sensor_id: str | None = None) -> None:
        """A smoke sensor near ``camera_id`` alarmed at ``ts`` (aware UTC): be quicker and surer there."""
        self._smoke[camera_id] = (ts, sensor_id)

    def _smoke_active(self, camera_id: str, ts: dt.datetime) -> str | None | bool:
        noted = self._smoke.get(camera_id)
        if noted is None or not (0 <= (ts - noted[0]).total_seconds() <= SMOKE_FUSION_S):
            return False
        return noted[1] or True

    # ---------------------------------------------------------------- places
    def _place_of(self, ctx: FrameContext, xyxy: np.ndarray) -> Place:
        try:
            cam = self.cfg.camera(ctx.camera_id)
        except (KeyError, StopIteration, ValueError):
            return (ctx.camera_id, None, None)
        centre = [(xyxy[0] + xyxy[2]) / 2, (xyxy[1] + xyxy[3]) / 2]
        for z in cam.zones:
            if z.kind == "seat" and geo.point_in_polygon(centre, geo.denormalize_polygon(z.polygon, ctx.shape)):
                return (ctx.camera_id, z.window, z.id)
        return (ctx.camera_id, None, None)

    def frame_evidence(self, ctx: FrameContext, threshold: float | None = None) -> dict[Place, tuple[float, list[float], bool]]:
        """Places with smoking evidence in this one frame: place -> (score, cigarette box, hand-to-mouth).

        Pure per-frame decision (no timing); ``models eval smoking`` scores it on labelled stills."""
        threshold = self.rc.min_confidence if threshold is None else threshold
        out: dict[Place, tuple[float, list[float], bool]] = {}
        cig = ctx.cigarettes
        if cig is None or not len(cig):
            return out
        pose = ctx.pose
        if pose is None or pose.keypoints is None or not len(pose):
            return out
        looks = [d.of_class(*LOOKALIKES).above(LOOKALIKE_CONFIDENCE)
                 for d in (ctx.small_objects, ctx.detections) if d is not None]
        lookalikes = Detections.merge(looks) if looks else Detections.empty()
        self.rejected = []
        for i in range(len(cig)):
            owner = owner_of(cig.xyxy[i].astype(np.float64), pose)
            kpts, person = pose.keypoints[owner], pose.xyxy[owner]
            why = cigarette_gate(cig.xyxy[i].astype(np.float64), kpts, person, lookalikes)
            if why:
                self.rejected.append(why)
                continue
            cue = hand_to_mouth(kpts, person)
            score = float(cig.confidence[i]) + (HAND_TO_MOUTH_BONUS if cue else 0.0)
            if score < threshold:
                continue
            place = self._place_of(ctx, person)
            if place not in out or score > out[place][0]:
                out[place] = (min(score, 1.0), [round(float(v), 1) for v in cig.xyxy[i]], cue)
        return out

    # ---------------------------------------------------------------- state machine
    def update(self, ctx: FrameContext) -> list[RuleEvent]:
        if not self.rc.enabled:
            return []
        smoke = self._smoke_active(ctx.camera_id, ctx.ts)
        threshold = self.rc.min_confidence - (SMOKE_CONF_RELIEF if smoke else 0.0)
        min_s = self.rc.min_s / 2 if smoke else self.rc.min_s
        try:
            positives = self.frame_evidence(ctx, threshold)
        except (ValueError, IndexError) as exc:  # malformed detections: skip the frame, keep state
            log.error("smoking: bad detections on %s at %s: %s", ctx.camera_id, ctx.ts, exc)
            return []
        events: list[RuleEvent] = []
        for place, (score, box, cue) in positives.items():
            ep = self._episodes.get(place)
            if ep is None or (ctx.ts - ep.last_pos).total_seconds() > (CLEAR_S if ep.finding else GAP_S):
                if ep is not None and ep.finding is not None:
                    events.append(self._close(place, ep))
                ep = self._episodes[place] = _Episode(first=ctx.ts, last_pos=ctx.ts)
            ep.last_pos = ctx.ts
            ep.positives += 1
            if score >= ep.best:
                ep.best, ep.box = score, box
            ep.hand_to_mouth |= cue
        for place, ep in list(self._episodes.items()):
            if place[0] != ctx.camera_id:
                continue
            ep.frames += 1
            since_pos = (ctx.ts - ep.last_pos).total_seconds()
            if ep.finding is None:
                if since_pos > GAP_S:
                    del self._episodes[place]
                    continue
                lasted = (ep.last_pos - ep.first).total_seconds()
                last_open = self._last_open.get(place)
                cooled = last_open is None or (ctx.ts - last_open).total_seconds() >= self.rc.cooldown_s
                enough = ep.positives >= max(RATIO * ep.frames, MIN_POSITIVE_FRAMES)
                if lasted >= min_s and enough and cooled:
                    events.append(self._open(ctx, place, ep, smoke))
            elif since_pos >= CLEAR_S:
                events.append(self._close(place, ep))
                del self._episodes[place]
        return events

    def _open(self, ctx: FrameContext, place: Place, ep: _Episode, smoke: str | None | bool) -> RuleEvent:
        ep.finding, ep.opened_at = new_finding_id(), ctx.ts
        ep.smoke_sensor = smoke if isinstance(smoke, str) else None
        self._last_open[place] = ctx.ts
        confidence = min(1.0, ep.best + (0.15 if smoke else 0.0))
        return RuleEvent(
            kind="opened",
            rule=self.rule_id,
            finding_id=ep.finding,  # type: ignore[arg-type]
            at=ep.first,
            severity="major",
            window_id=place[1],
            camera_id=place[0],
            zone_id=place[2],
            confidence=round(confidence, 3),
            started_at=ep.first,
            details={
                "cigarette_box": ep.box,
                "hand_to_mouth": ep.hand_to_mouth,
                "positive_frames": ep.positives,
                "frames": ep.frames,
                "confirmed_after_s": round((ctx.ts - ep.first).total_seconds(), 2),
                "smoke_sensor": bool(smoke),
                "smoke_sensor_id": ep.smoke_sensor,
            },
        )

    def _close(self, place: Place, ep: _Episode) -> RuleEvent:
        return RuleEvent(
            kind="closed",
            rule=self.rule_id,
            finding_id=ep.finding,  # type: ignore[arg-type]
            at=ep.last_pos,
            severity="major",
            window_id=place[1],
            camera_id=place[0],
            zone_id=place[2],
            confidence=round(ep.best, 3),
            started_at=ep.first,
            duration_s=round((ep.last_pos - ep.first).total_seconds(), 3),
            evidence=False,
            details={"positive_frames": ep.positives, "frames": ep.frames},
        )
