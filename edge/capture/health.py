"""Camera health findings: offline (no frames), frozen (identical pictures), covered or too dark.

Thresholds come from ``rules.camera_health`` (``CameraHealthRule``). All durations are measured
between frame timestamps, except ``offline`` which, having no frames, uses the clock of the caller
(``tick(now)``).

- ``camera_offline``: no frame for ``offline_s``; closes at the next frame.
- ``camera_frozen``: consecutive samples differ by less than ``FROZEN_DIFF`` grey levels (mean absolute
  difference on a 160x90 thumbnail) for ``frozen_s``; closes when the picture changes.
- ``camera_covered``: mean brightness below ``dark_level`` (dark) or almost no texture (standard
  deviation below ``FEATURELESS_STD``: a hand, tape or a cap over the lens) for ``covered_s``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import cv2
import numpy as np

from edge.rules.base import RuleEvent, new_finding_id
from edge.site import CameraHealthRule

FROZEN_DIFF = 0.15
FEATURELESS_STD = 6.0
THUMB = (160, 90)


@dataclass
class _Episode:
    finding_id: object
    started: dt.datetime
    details: dict


def picture_stats(image: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(grey thumbnail float32, mean brightness, standard deviation) of a BGR or grey picture."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    thumb = cv2.resize(grey, THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)
    return thumb, float(thumb.mean()), float(thumb.std())


class CameraHealthMonitor:
    """Per-camera health state machine. ``observe`` every sampled frame; ``tick`` periodically."""

    def __init__(self, camera_id: str, rule: CameraHealthRule, severity: str = "major"):
        self.camera_id = camera_id
        self.rule = rule
        self.severity = severity
        self._prev: np.ndarray | None = None
        self._prev_ts: dt.datetime | None = None
        self._still_since: dt.datetime | None = None
        self._dark_since: dt.datetime | None = None
        self._last_frame: dt.datetime | None = None
        self._born: dt.datetime | None = None
        self._open: dict[str, _Episode] = {}
        self.brightness = 0.0
        self.texture = 0.0

    @property
    def state(self) -> str:
        for rule, name in (("camera_offline", "offline"), ("camera_covered", "covered"), ("camera_frozen", "frozen")):
            if rule in self._open:
                if rule == "camera_covered" and self._open[rule].details.get("reason") == "dark":
                    return "dark"
                return name
        return "starting" if self._last_frame is None else "ok"

    def _opened(self, rule: str, started: dt.datetime, details: dict) -> RuleEvent:
        ep = _Episode(new_finding_id(), started, details)
        self._open[rule] = ep
        return RuleEvent("opened", rule, ep.finding_id, started, severity=self.severity,  # type: ignore[arg-type]
                         camera_id=self.camera_id, details=details, evidence=rule != "camera_offline")

    def _closed(self, rule: str, ended: dt.datetime) -> RuleEvent:
        ep = self._open.pop(rule)
        return RuleEvent("closed", rule, ep.finding_id, ended, severity=self.severity,  # type: ignore[arg-type]
                         camera_id=self.camera_id, started_at=ep.started,
                         duration_s=max(0.0, (ended - ep.started).total_seconds()), evidence=False)

    def observe(self, ts: dt.datetime, image: np.ndarray) -> list[RuleEvent]:
        if not self.rule.enabled:
            return []
        events: list[RuleEvent] = []
        self._last_frame = ts
        if "camera_offline" in self._open:
            events.append(self._closed("camera_offline", ts))
        thumb, mean, std = picture_stats(image)
        self.brightness, self.texture = mean, std
        # frozen
        if self._prev is not None and float(np.abs(thumb - self._prev).mean()) < FROZEN_DIFF:
            self._still_since = self._still_since or self._prev_ts  # the picture has not changed since then
        else:
            self._still_since = None
            if "camera_frozen" in self._open:
                events.append(self._closed("camera_frozen", ts))
        self._prev, self._prev_ts = thumb, ts
        if (self._still_since is not None and "camera_frozen" not in self._open
                and (ts - self._still_since).total_seconds() >= self.rule.frozen_s):
            events.append(self._opened("camera_frozen", self._still_since, {"still_s": self.rule.frozen_s}))
        # covered / dark
        bad = mean < self.rule.dark_level or std < FEATURELESS_STD
        if bad:
            self._dark_since = self._dark_since or ts
            if ("camera_covered" not in self._open
                    and (ts - self._dark_since).total_seconds() >= self.rule.covered_s):
                reason = "dark" if mean < self.rule.dark_level else "featureless"
                events.append(self._opened("camera_covered", self._dark_since,
                                           {"reason": reason, "brightness": round(mean, 1), "texture": round(std, 1)}))
        else:
            self._dark_since = None
            if "camera_covered" in self._open:
                events.append(self._closed("camera_covered", ts))
        return events

    def tick(self, now: dt.datetime) -> list[RuleEvent]:
        """Check for silence: no frame for offline_s (since start, or since the last frame)."""
        if not self.rule.enabled or "camera_offline" in self._open:
            return []
        since = self._last_frame or self._created(now)
        if (now - since).total_seconds() >= self.rule.offline_s:
            return [self._opened("camera_offline", since, {"silent_s": round((now - since).total_seconds(), 1)})]
        return []

    def _created(self, now: dt.datetime) -> dt.datetime:
        if self._born is None:
            self._born = now  # silence is counted from the first check when no frame ever came
        return self._born
