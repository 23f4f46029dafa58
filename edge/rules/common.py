"""Shared pieces of the video rules: zones per camera, person filtering, debounced presence, duty spans.

Time is always the frame timestamp (aware UTC ``FrameContext.ts``); durations are seconds between timestamps.

Presence model (used by window_unstaffed, attendance and after_hours_presence)
------------------------------------------------------------------------------
Raw presence is "a person box of the place in this frame" (several cameras: any camera's freshest frame).
``PresenceRun`` debounces it:

- a presence run tolerates detector dropouts shorter than ``gap_s`` (``PRESENCE_GAP_S``);
- a (re)appearance counts only after it lasted ``confirm_s`` seconds (hysteresis; for seats this is
  ``rules.window_unstaffed.return_s``), so a one-frame false positive neither ends an absence nor starts a stay;
- absence is measured from the last confirmed presence, but never from before the observation began: after a
  gap of more than ``STALE_S`` without any frame (camera offline) the absence clock restarts, so an outage is
  never counted as an absence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from edge import geometry as geo
from edge.detections import Detections
from edge.site import SiteConfig, WindowConfig, ZoneConfig

UTC = dt.UTC
PERSON_MIN_CONFIDENCE = 0.4
"""Default person confidence (propose ``rules.window_unstaffed.person_min_confidence`` to make it configurable)."""
PRESENCE_GAP_S = 5.0
"""Detector dropouts shorter than this do not break a presence (or obstruction) run."""
STALE_S = 10.0
"""A camera's last frame older than this is no longer evidence of anything (feed stalled)."""
SEAT_OVERLAP = 0.5
"""A person belongs to a zone when the box centre is inside it or at least this fraction of the box is."""


def person_min_confidence(cfg: SiteConfig) -> float:
    return float(getattr(cfg.rules.window_unstaffed, "person_min_confidence", PERSON_MIN_CONFIDENCE))


def secs(a: dt.datetime, b: dt.datetime) -> float:
    """Seconds from a to b."""
    return (b - a).total_seconds()


def to_utc(cfg: SiteConfig, local: dt.datetime) -> dt.datetime:
    """Naive hall-local time -> aware UTC."""
    return local.replace(tzinfo=cfg.tz).astimezone(UTC)


def duty_span(cfg: SiteConfig, window: WindowConfig, local: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The contiguous stretch (local start, local end) of required duty containing ``local``, or None when the
    window need not be staffed then. Sessions and the midday duty desk merge (a midday-duty window is on duty
    08:30-17:30 in one stretch with sessions 08:30-12:00, 13:00-17:30 and midday 12:00-13:00)."""
    sch = cfg.schedule
    if not sch.duty_required(local, window):
        return None
    ranges = [(s.start, s.end) for s in sch.sessions]
    if window.midday_duty and sch.midday_duty is not None:
        ranges.append((sch.midday_duty.start, sch.midday_duty.end))
    ranges.sort()
    merged: list[list[dt.time]] = []
    for a, b in ranges:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    t = local.time()
    for a, b in merged:
        if a <= t < b:
            return dt.datetime.combine(local.date(), a), dt.datetime.combine(local.date(), b)
    return None  # pragma: no cover - duty_required implies one range contains t


@dataclass
class ZoneIndex:
    """Zones of one kind per camera, with pixel polygons cached per frame shape."""

    by_camera: dict[str, list[ZoneConfig]]
    _px: dict[tuple[str, tuple[int, int]], np.ndarray] = field(default_factory=dict)

    @classmethod
    def of_kind(cls, cfg: SiteConfig, kind: str) -> ZoneIndex:
        out: dict[str, list[ZoneConfig]] = {}
        for cam in cfg.cameras:
            zs = [z for z in cam.zones if z.kind == kind]
            if zs and cam.enabled:
                out[cam.id] = zs
        return cls(out)

    def zones(self, camera_id: str) -> list[ZoneConfig]:
        return self.by_camera.get(camera_id, [])

    def pixels(self, zone: ZoneConfig, shape: tuple[int, int]) -> np.ndarray:
        key = (zone.id, tuple(shape))
        if key not in self._px:
            self._px[key] = geo.denormalize_polygon(zone.polygon, shape)  # type: ignore[arg-type]
        return self._px[key]


def persons(dets: Detections, min_conf: float) -> Detections:
    return dets.of_class("person").above(min_conf)


def in_zone_mask(dets: Detections, polygon_px: np.ndarray) -> np.ndarray:
    """Which boxes belong to the zone: centre inside, or >= SEAT_OVERLAP of the box inside."""
    if len(dets) == 0:
        return np.zeros((0,), dtype=bool)
    centre = geo.points_in_polygon(geo.box_anchors(dets.xyxy, "center"), polygon_px)
    return centre | (geo.box_fraction_in_polygon(dets.xyxy, polygon_px) >= SEAT_OVERLAP)


@dataclass
class CameraSamples:
    """Latest per-camera observation of one place (seat of a window, or the whole hall)."""

    latest: dict[str, tuple[dt.datetime, int]] = field(default_factory=dict)

    def record(self, camera_id: str, ts: dt.datetime, count: int) -> None:
        self.latest[camera_id] = (ts, count)

    def fresh(self, now: dt.datetime) -> dict[str, int]:
        return {c: n for c, (t, n) in self.latest.items() if abs(secs(t, now)) <= STALE_S}

    def combined(self, now: dt.datetime) -> tuple[bool | None, int, str | None]:
        """(present, persons, camera) over fresh cameras: present if any camera sees someone; None if no camera
        is fresh. persons is the largest count of one camera (two cameras usually see the same person)."""
        fresh = self.fresh(now)
        if not fresh:
            return None, 0, None
        cam, n = max(fresh.items(), key=lambda kv: kv[1])
        return n > 0, n, cam


@dataclass
class PresenceRun:
    """Debounced presence of one place from raw samples (see module doc)."""

    confirm_s: float
    gap_s: float = PRESENCE_GAP_S
    last_seen: dt.datetime | None = None  # last sample of confirmed presence
    since: dt.datetime | None = None  # start of the current confirmed presence (arrival)
    observed_since: dt.datetime | None = None  # start of the current gap-free observation
    _cand_start: dt.datetime | None = None
    _cand_last: dt.datetime | None = None
    _last_sample: dt.datetime | None = None

    def feed(self, t: dt.datetime, present: bool) -> bool:
        """Feed one raw sample; True when a (re)appearance has just been confirmed (arrival at ``self.since``)."""
        if self._last_sample is None or secs(self._last_sample, t) > STALE_S:
            self.observed_since = t
            self._cand_start = None
        self._last_sample = t
        if not present:
            return False
        if self.last_seen is not None and secs(self.last_seen, t) <= self.gap_s:
            self.last_seen = t
            return False
        if self._cand_start is None or self._cand_last is None or secs(self._cand_last, t) > self.gap_s:
            self._cand_start = t
        self._cand_last = t
        if secs(self._cand_start, t) >= self.confirm_s:
            self.since, self.last_seen = self._cand_start, t
            self._cand_start = self._cand_last = None
            return True
        return False

    def is_present(self, t: dt.datetime) -> bool:
        return self.last_seen is not None and secs(self.last_seen, t) <= self.gap_s

    def returning(self, t: dt.datetime) -> bool:
        """Someone is (re)appearing but not yet confirmed."""
        return self._cand_last is not None and self._cand_start is not None and secs(self._cand_last, t) <= self.gap_s

    def absence_start(self, floor: dt.datetime | None = None) -> dt.datetime | None:
        """When the current absence began: the last confirmed presence, not before the observation began nor
        before ``floor`` (e.g. the start of duty)."""
        cands = [x for x in (self.last_seen, self.observed_since, floor) if x is not None]
        return max(cands) if cands else None
