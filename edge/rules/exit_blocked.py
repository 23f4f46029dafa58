"""exit_blocked (安全出口堵塞, camera): an exit zone obstructed for >= ``rules.exit_blocked.min_s`` seconds.

Per (camera, exit zone), at all hours (a fire exit must be clear at any time). Each frame gives a sample:

- *objects*: non-person detections (conf >= ``OBJECT_MIN_CONFIDENCE``) whose union covers >= ``min_cover`` of
  the zone (``geometry.polygon_coverage``);
- *pixels*: the zone's bounding rectangle, grey, resized to ``PATCH`` x ``PATCH`` and blurred, is compared with the
  zone's clear reference (median of clear patches) after gain compensation (robust to lights dimming); the
  share of zone pixels differing by more than ``PIXEL_THRESHOLD`` grey levels, with padded person boxes masked
  out, must be >= ``min_cover``. People are never obstructions: a person walking through is masked; when
  persons hide more than 70 % of the zone the sample is *unknown* (neither blocked nor clear).
- The reference learns only from clear samples with nobody in the zone: the first ``REF_MIN`` frames (one per
  second) bootstrap it - it assumes the exit is clear when the agent starts; use ``set_reference`` with a known
  clear picture otherwise - then one patch per ``REF_INTERVAL_S`` keeps it in step with slow lighting changes.
- blocked samples for ``min_s`` (clear blips shorter than ``PRESENCE_GAP_S`` tolerated) -> ``opened`` at the
  first blocked sample; clear for ``min(30, min_s)`` s -> ``closed`` at the first clear sample. Severity major.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from edge import geometry as geo
from edge.detections import Detections
from edge.rules.base import FrameContext, RuleEvent, new_finding_id
from edge.rules.common import PRESENCE_GAP_S, ZoneIndex, secs
from edge.site import SiteConfig

log = logging.getLogger(__name__)
PATCH = 64
PIXEL_THRESHOLD = 30.0
OBJECT_MIN_CONFIDENCE = 0.3
PERSON_MIN_CONFIDENCE = 0.25  # lenient: masking a doubtful person is safer than calling them an obstruction
PERSON_PAD = 0.15
MIN_VISIBLE = 0.3
REF_MIN, REF_KEEP, REF_BOOT_INTERVAL_S, REF_INTERVAL_S = 5, 15, 1.0, 30.0


def object_cover(detections: Detections | None, polygon: np.ndarray,
                 min_confidence: float = OBJECT_MIN_CONFIDENCE) -> tuple[float, list[str]]:
    """(share of the zone ``polygon`` covered by the union of non-person boxes, their class names)."""
    if detections is None or not len(detections):
        return 0.0, []
    d = detections.above(min_confidence)
    objects = d[np.array([lbl != "person" for lbl in d.labels], bool)] if len(d) else d
    if not len(objects):
        return 0.0, []
    return geo.polygon_coverage(polygon, objects.xyxy), sorted(set(objects.labels))


def zone_patch(frame: np.ndarray, polygon: np.ndarray,
               mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(blurred grey PATCH x PATCH patch of the zone's bounding box, zone mask in patch coords, bbox).
    Pass the mask of a previous call for the same polygon and frame size to skip rasterising it again."""
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = geo.clip_boxes(geo.polygon_bbox(polygon)[None], (h, w))[0]
    x1, y1 = int(np.floor(x1)), int(np.floor(y1))
    x2, y2 = max(int(np.ceil(x2)), x1 + 1), max(int(np.ceil(y2)), y1 + 1)
    crop = frame[y1:y2, x1:x2]
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    patch = cv2.GaussianBlur(cv2.resize(grey, (PATCH, PATCH), interpolation=cv2.INTER_AREA), (5, 5), 0)
    scale = np.array([PATCH / (x2 - x1), PATCH / (y2 - y1)], np.float32)
    if mask is None:
        mask = geo.polygon_mask((polygon - np.array([x1, y1], np.float32)) * scale, (PATCH, PATCH))
    return patch.astype(np.float32), mask, np.array([x1, y1, x2, y2], np.float32)


def boxes_mask(xyxy: np.ndarray, bbox: np.ndarray) -> np.ndarray:
    """Patch-space mask of boxes given in frame pixels."""
    m = np.zeros((PATCH, PATCH), bool)
    sx, sy = PATCH / (bbox[2] - bbox[0]), PATCH / (bbox[3] - bbox[1])
    for b in xyxy:
        a = int(max(0, np.floor((b[0] - bbox[0]) * sx))), int(max(0, np.floor((b[1] - bbox[1]) * sy)))
        c = int(min(PATCH, np.ceil((b[2] - bbox[0]) * sx))), int(min(PATCH, np.ceil((b[3] - bbox[1]) * sy)))
        if c[0] > a[0] and c[1] > a[1]:
            m[a[1]:c[1], a[0]:c[0]] = True
    return m


@dataclass
class _Exit:
    refs: deque = field(default_factory=lambda: deque(maxlen=REF_KEEP))
    reference: np.ndarray | None = None
    last_ref_at: dt.datetime | None = None
    run_start: dt.datetime | None = None
    last_blocked: dt.datetime | None = None
    clear_start: dt.datetime | None = None
    finding: uuid.UUID | None = None
    started: dt.datetime | None = None
    masks: dict = field(default_factory=dict)  # frame shape -> zone mask in patch coordinates

    def learn(self, patch: np.ndarray, ts: dt.datetime | None) -> None:
        self.refs.append(patch)
        self.last_ref_at = ts
        self.reference = np.median(np.stack(self.refs), axis=0) if len(self.refs) >= REF_MIN else None


class ExitBlockedRule:
    rule_id = "exit_blocked"

    def __init__(self, cfg: SiteConfig) -> None:
        self.cfg = cfg
        self.p = cfg.rules.exit_blocked
        self.zones = ZoneIndex.of_kind(cfg, "exit")
        self.exits: dict[tuple[str, str], _Exit] = {}

    def set_reference(self, camera_id: str, zone_id: str, frame: np.ndarray) -> None:
        """Seed a zone's clear reference from a picture known to show the exit clear."""
        z = next(z for z in self.zones.zones(camera_id) if z.id == zone_id)
        patch, _, _ = zone_patch(frame, self.zones.pixels(z, frame.shape[:2]))
        ex = self.exits.setdefault((camera_id, zone_id), _Exit())
        ex.refs.clear()
        for _ in range(REF_MIN):
            ex.learn(patch, None)

    def measure(self, ex: _Exit, ctx: FrameContext, polygon: np.ndarray) -> tuple[bool | None, dict]:
        """(blocked? None = unknown, facts) for one frame, learning the reference from clear frames."""
        obj_cover, labels = object_cover(ctx.detections, polygon)
        facts: dict = {"object_cover": round(obj_cover, 3), "objects": labels}
        if obj_cover >= self.p.min_cover:
            return True, facts
        if ctx.frame is None:
            return None, facts
        shape = ctx.frame.shape[:2]
        patch, zmask, bbox = zone_patch(ctx.frame, polygon, ex.masks.get(shape))
        ex.masks[shape] = zmask
        people = ctx.detections.of_class("person").above(PERSON_MIN_CONFIDENCE)
        pmask = boxes_mask(geo.pad_boxes(people.xyxy, PERSON_PAD, ctx.shape), bbox) if len(people) else None
        valid = zmask & ~pmask if pmask is not None else zmask
        visible = valid.sum() / max(1, zmask.sum())
        facts["visible"] = round(float(visible), 3)
        if ex.reference is None:
            if visible >= 0.999 and self._due(ex, ctx.ts, REF_BOOT_INTERVAL_S):
                ex.learn(patch, ctx.ts)
            return None, facts
        if visible < MIN_VISIBLE:
            return None, facts
        ref = ex.reference
        gain = float(ref[valid].mean()) / max(1.0, float(patch[valid].mean()))
        diff = np.abs(patch * gain - ref) > PIXEL_THRESHOLD
        pix = float(diff[valid].mean())
        facts["pixel_change"] = round(pix, 3)
        if pix >= self.p.min_cover:
            return True, facts
        if pix < self.p.min_cover / 2 and visible >= 0.999 and self._due(ex, ctx.ts, REF_INTERVAL_S):
            ex.learn(patch, ctx.ts)
        return False, facts

    @staticmethod
    def _due(ex: _Exit, ts: dt.datetime, interval: float) -> bool:
        return ex.last_ref_at is None or secs(ex.last_ref_at, ts) >= interval

    def update(self, ctx: FrameContext) -> list[RuleEvent]:
        if not self.p.enabled:
            return []
        out = []
        for z in self.zones.zones(ctx.camera_id):
            ex = self.exits.setdefault((ctx.camera_id, z.id), _Exit())
            blocked, facts = self.measure(ex, ctx, self.zones.pixels(z, ctx.shape))
            ev = self._step(ex, ctx, z.id, blocked, facts)
            if ev is not None:
                out.append(ev)
        return out

    def _step(self, ex: _Exit, ctx: FrameContext, zone_id: str, blocked: bool | None, facts: dict) -> RuleEvent | None:
        ts = ctx.ts
        if blocked:
            ex.last_blocked, ex.clear_start = ts, None
            if ex.run_start is None:
                ex.run_start = ts
            if ex.finding is None and secs(ex.run_start, ts) >= self.p.min_s:
                ex.finding, ex.started = new_finding_id(), ex.run_start
                log.info("exit_blocked opened: %s/%s %s", ctx.camera_id, zone_id, facts)
                return RuleEvent("opened", self.rule_id, ex.finding, ex.started, severity="major",
                                 camera_id=ctx.camera_id, zone_id=zone_id,
                                 details={**facts, "min_s": self.p.min_s, "min_cover": self.p.min_cover})
            return None
        if blocked is None:
            return None
        if ex.run_start is not None and ex.last_blocked is not None and secs(ex.last_blocked, ts) > PRESENCE_GAP_S:
            ex.run_start = None
        if ex.finding is None:
            return None
        if ex.clear_start is None:
            ex.clear_start = ts
        if secs(ex.clear_start, ts) >= min(30.0, self.p.min_s):
            assert ex.started is not None
            ev = RuleEvent("closed", self.rule_id, ex.finding, ex.clear_start, severity="major",
                           camera_id=ctx.camera_id, zone_id=zone_id, started_at=ex.started,
                           duration_s=secs(ex.started, ex.clear_start), details={"ended_by": "clear"})
            ex.finding = ex.started = ex.run_start = ex.clear_start = None
            return ev
        return None
