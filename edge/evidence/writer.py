"""Turn a finding's moment into evidence files: annotated snapshot, raw frame, and a clip from the ring buffer.

Files go to a ``FileStore`` (the outbox: content-addressed by SHA-256, uploaded later). Clips need
``clip_post_s`` of video after the finding, so they are requested and finished later by ``poll``;
a camera that stops delivering frames still gets its clip with what was recorded, after a deadline.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Protocol, Sequence

import numpy as np

from edge.capture.buffer import FrameRing
from edge.contract import EvidenceKind, EvidenceRef
from edge.detections import Detections
from edge.evidence.annotate import annotate, jpeg
from edge.evidence.clip import encode_mp4_bytes
from edge.site import ZoneConfig

log = logging.getLogger(__name__)


class FileStore(Protocol):
    def put_file(self, data_or_path: bytes, kind: EvidenceKind, content_type: str,
                 captured_at: dt.datetime | None = None) -> EvidenceRef: ...


@dataclass
class ClipRequest:
    finding_id: uuid.UUID
    rule: str
    camera_id: str
    start: dt.datetime
    end: dt.datetime
    deadline_mono: float  # give up waiting for frames after this (monotonic clock)


@dataclass(frozen=True)
class FinishedClip:
    finding_id: uuid.UUID
    rule: str
    camera_id: str
    ref: EvidenceRef
    frames: int
    seconds: float


@dataclass
class EvidenceWriter:
    store: FileStore
    rings: dict[str, FrameRing]
    clip_pre_s: float = 5.0
    clip_post_s: float = 10.0
    tz: dt.tzinfo | None = None
    wait_slack_s: float = 20.0  # extra wall time to wait for post-roll frames before encoding what exists
    _pending: list[ClipRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(
        self,
        image: np.ndarray,
        ts: dt.datetime,
        detections: Detections | None = None,
        zones: Sequence[ZoneConfig] = (),
        caption: Sequence[str] = (),
        extra: Detections | None = None,
        raw: bool = True,
        highlight: Sequence[str] = (),
        classes: Sequence[str] | None = None,
    ) -> list[EvidenceRef]:
        """Annotated JPEG (kind snapshot) and, if ``raw``, the untouched frame (kind frame). ``highlight`` and
        ``classes``: what the alert claims (see ``edge.evidence.annotate.focus``)."""
        picture = annotate(image, detections, zones, caption, ts, self.tz, extra, highlight=highlight, classes=classes)
        refs = [self.store.put_file(jpeg(picture), "snapshot", "image/jpeg", ts)]
        if raw:
            refs.append(self.store.put_file(jpeg(image, 92), "frame", "image/jpeg", ts))
        return refs

    def request_clip(self, finding_id: uuid.UUID, rule: str, camera_id: str, at: dt.datetime) -> bool:
        if camera_id not in self.rings or self.clip_pre_s + self.clip_post_s <= 0:
            return False
        req = ClipRequest(finding_id, rule, camera_id, at - dt.timedelta(seconds=self.clip_pre_s),
                          at + dt.timedelta(seconds=self.clip_post_s),
                          time.monotonic() + self.clip_post_s + self.wait_slack_s)
        with self._lock:
            self._pending.append(req)
        return True

    @property
    def pending_clips(self) -> int:
        with self._lock:
            return len(self._pending)

    def poll(self, flush: bool = False) -> list[FinishedClip]:
        """Encode every clip whose post-roll is recorded (or whose deadline passed, or all if ``flush``)."""
        now = time.monotonic()
        with self._lock:
            ready, waiting = [], []
            for r in self._pending:
                newest = self.rings[r.camera_id].newest_ts
                done = flush or now >= r.deadline_mono or (newest is not None and newest >= r.end)
                (ready if done else waiting).append(r)
            self._pending = waiting
        finished = []
        for r in ready:
            try:
                clip = self._encode(r)
            except Exception:
                log.exception("evidence: clip for %s %s failed", r.rule, r.finding_id)
                continue
            if clip is not None:
                finished.append(clip)
        return finished

    def _encode(self, r: ClipRequest) -> FinishedClip | None:
        buffered = self.rings[r.camera_id].between(r.start, r.end)
        frames = []
        for b in buffered:
            try:
                frames.append((b.ts, b.image()))
            except ValueError:
                log.warning("evidence: skipping a corrupt buffered frame of %s", r.camera_id)
        if not frames:
            log.warning("evidence: no frames of %s between %s and %s for the %s clip", r.camera_id,
                        r.start.isoformat(), r.end.isoformat(), r.rule)
            return None
        data = encode_mp4_bytes(frames)
        ref = self.store.put_file(data, "clip", "video/mp4", frames[0][0])
        seconds = (frames[-1][0] - frames[0][0]).total_seconds()
        log.info("evidence: clip for %s %s: %d frames, %.1fs, %d bytes", r.rule, r.finding_id, len(frames),
                 seconds, len(data))
        return FinishedClip(r.finding_id, r.rule, r.camera_id, ref, len(frames), seconds)
