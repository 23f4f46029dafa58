"""Turn a finding's moment into evidence files: annotated snapshot, raw frame, and a clip from the ring buffer.

Clips come from a camera's ``PacketRing`` by stream copy (the camera's own encoding, from the keyframe
before the pre-roll) or, for a ``FrameRing`` of decoded pictures, by encoding them. Snapshots use the
camera's high-resolution still of the moment (``stills``) when it is larger than the analysed picture,
with the detections scaled onto it.

Every snapshot and raw frame is masked first (``edge.evidence.privacy``): the people outside the camera's staff
and seat zones (and the zones of its ``mask_zones`` kinds, the waiting area by default, and, with a face
detector, every face no clerk's box holds) are pixelated or blurred by the camera's ``privacy`` settings
(``privacy``, by camera id; a camera not listed gets the defaults, masking on), so no unmasked picture of the
public is ever stored. Clips
are masked frame by frame before encoding, with the public boxes of the analysed frames around each frame
(``note_analysed`` feeds them; ``BoxHistory``); a stream-copied clip with anyone to mask is decoded, masked
and encoded again (scaled onto the record stream's size), one with nothing to mask stays the camera's own bytes.

Files go to a ``FileStore`` (the outbox: content-addressed by SHA-256, uploaded later). Clips need
``clip_post_s`` of video after the finding, so they are requested and finished later by ``poll``;
a camera that stops delivering frames still gets its clip with what was recorded, after a deadline. When the
record input started after a clip's window (a finding at the agent's first frames, the main stream connecting
seconds after the substream), the clip is the same length from the record input's first keyframe, if that came
within ``LATE_START_S`` of the window; the clip's own start time says so.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from edge.capture.buffer import FrameRing
from edge.capture.packets import PacketRing
from edge.contract import EvidenceKind, EvidenceRef
from edge.detections import Detections
from edge.evidence.annotate import annotate, jpeg
from edge.evidence.clip import encode_mp4_bytes
from edge.evidence.privacy import BoxHistory, mask_clip_frames, mask_public, public_boxes
from edge.site import PrivacyConfig, ZoneConfig

log = logging.getLogger(__name__)
LATE_START_S = 60.0  # a record input that began this long after a clip's window still gives that clip


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


StillSource = Callable[[dt.datetime], "tuple[dt.datetime, np.ndarray] | None"]
FaceFinder = Callable[[np.ndarray, float], np.ndarray]  # (BGR picture, threshold) -> (N, 5) face rows


def scale_detections(d: Detections | None, sx: float, sy: float) -> Detections | None:
    """The same detections in a picture ``sx`` times wider and ``sy`` times taller."""
    if d is None or (sx == 1 and sy == 1):
        return d
    xyxy = (d.xyxy * np.array([sx, sy, sx, sy], np.float32)).astype(np.float32)
    kp = None
    if d.keypoints is not None:
        kp = d.keypoints.copy()
        kp[..., 0] *= sx
        kp[..., 1] *= sy
    return Detections(xyxy, d.confidence, d.class_id, d.names, kp)


@dataclass
class EvidenceWriter:
    store: FileStore
    rings: dict[str, FrameRing | PacketRing]
    clip_pre_s: float = 5.0
    clip_post_s: float = 10.0
    tz: dt.tzinfo | None = None
    wait_slack_s: float = 20.0  # extra wall time to wait for post-roll frames before encoding what exists
    privacy: dict[str, PrivacyConfig] = field(default_factory=dict)  # by camera id; others get the defaults
    masked: int = 0  # person boxes masked in stored pictures so far
    _boxes: dict[str, BoxHistory] = field(default_factory=dict)
    _shapes: dict[str, tuple[int, int]] = field(default_factory=dict)  # analysed picture size, per camera
    _zones: dict[str, Sequence[ZoneConfig]] = field(default_factory=dict)  # per camera, for masking its clips
    stills: dict[str, StillSource] = field(default_factory=dict)  # camera id -> high-resolution picture at a time
    faces: FaceFinder | None = None  # the face detector for masking (``edge.detect.faces``), None: persons only
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
        camera_id: str | None = None,
        highlight: Sequence[str] = (),
        classes: Sequence[str] | None = None,
        still: np.ndarray | None = None,
    ) -> list[EvidenceRef]:
        """Annotated JPEG (kind snapshot) and, if ``raw``, the frame without drawings (kind frame); in both the
        public is masked by the camera's privacy settings. ``highlight`` and ``classes``: what the alert claims
        (see ``edge.evidence.annotate.focus``).

        With ``camera_id``, the camera's still of the moment replaces ``image`` when it is larger; ``still``: that
        picture when the caller already has it (``best_picture``), so it is not fetched again.
        """
        image, detections, extra = self._hires(camera_id, image, ts, detections, extra, still)
        privacy = self._privacy(camera_id)
        image, n = mask_public(image, detections, zones, privacy, self._faces(image, privacy))
        self.masked += n
        picture = annotate(image, detections, zones, caption, ts, self.tz, extra, highlight=highlight, classes=classes)
        refs = [self.store.put_file(jpeg(picture), "snapshot", "image/jpeg", ts)]
        if raw:
            refs.append(self.store.put_file(jpeg(image, 92), "frame", "image/jpeg", ts))
        return refs

    def _privacy(self, camera_id: str | None) -> PrivacyConfig:
        return self.privacy.get(camera_id or "", PrivacyConfig())

    def _faces(self, image: np.ndarray, privacy: PrivacyConfig) -> np.ndarray | None:
        """The face detector's rows for a picture about to be stored, when the camera masks faces."""
        if self.faces is None or not (privacy.mask_public and privacy.faces):
            return None
        try:
            return self.faces(image, privacy.face_min_confidence)
        except Exception:  # noqa: BLE001 - a failing face pass leaves the person and zone masks in place
            log.exception("privacy: the face pass failed; masking by person boxes and zones")
            return None

    def note_analysed(self, camera_id: str, ts: dt.datetime, shape: tuple[int, int], detections: Detections | None,
                      zones: Sequence[ZoneConfig]) -> None:
        """Remember the public boxes of an analysed frame, for masking the clips cut around it."""
        boxes = public_boxes(detections, zones, shape, self._privacy(camera_id))
        with self._lock:
            hist = self._boxes.setdefault(camera_id, BoxHistory(keep_s=self.clip_pre_s + self.clip_post_s + 30))
            hist.add(ts, boxes)
            self._shapes[camera_id] = (int(shape[0]), int(shape[1]))
            self._zones[camera_id] = zones

    def best_picture(self, camera_id: str | None, image: np.ndarray, ts: dt.datetime) -> np.ndarray:
        """The camera's high-resolution still of the moment when it is larger than ``image``, else ``image``
        (unmasked: for reading on the edge, never stored as it is)."""
        return self._hires(camera_id, image, ts, None, None)[0]

    def _hires(self, camera_id: str | None, image: np.ndarray, ts: dt.datetime, detections: Detections | None,
               extra: Detections | None, big: np.ndarray | None = None,
               ) -> tuple[np.ndarray, Detections | None, Detections | None]:
        if big is None:
            source = self.stills.get(camera_id) if camera_id is not None else None
            if source is None:
                return image, detections, extra
            try:
                got = source(ts)
            except Exception:
                log.exception("evidence: still of %s at %s failed; using the analysed picture", camera_id, ts)
                return image, detections, extra
            if got is None:
                return image, detections, extra
            big = got[1]
        if big.shape[1] <= image.shape[1]:
            return image, detections, extra
        sx, sy = big.shape[1] / image.shape[1], big.shape[0] / image.shape[0]
        return big, scale_detections(detections, sx, sy), scale_detections(extra, sx, sy)

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
                ring = self.rings[r.camera_id]
                newest, (_, end) = ring.newest_ts, self._window(r, ring)
                # nothing recorded yet at the deadline: the record input may still be starting
                late = newest is None and now < r.deadline_mono + LATE_START_S
                done = flush or (now >= r.deadline_mono and not late) or (newest is not None and newest >= end)
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
        ring = self.rings[r.camera_id]
        if isinstance(ring, PacketRing):
            return self._copy(r, ring)
        buffered = ring.between(r.start, r.end)
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
        with self._lock:
            hist = self._boxes.get(r.camera_id)
            frames = list(mask_clip_frames(frames, hist, self._privacy(r.camera_id),
                                           self._zones.get(r.camera_id, ())))
        data = encode_mp4_bytes(frames)
        ref = self.store.put_file(data, "clip", "video/mp4", frames[0][0])
        seconds = (frames[-1][0] - frames[0][0]).total_seconds()
        log.info("evidence: clip for %s %s: %d frames, %.1fs, %d bytes", r.rule, r.finding_id, len(frames),
                 seconds, len(data))
        return FinishedClip(r.finding_id, r.rule, r.camera_id, ref, len(frames), seconds)

    @staticmethod
    def _window(r: ClipRequest, ring: Any) -> tuple[dt.datetime, dt.datetime]:
        """The clip's span: as requested, or as long from the ring's first picture when the ring began after the
        requested span (within ``LATE_START_S``)."""
        first = getattr(ring, "oldest_ts", None)
        if first is not None and r.end < first <= r.end + dt.timedelta(seconds=LATE_START_S):
            return first, first + (r.end - r.start)
        return r.start, r.end

    def _copy(self, r: ClipRequest, ring: PacketRing) -> FinishedClip | None:
        start, end = self._window(r, ring)
        if start != r.start:
            log.warning("evidence: the record input of %s began %.1f s after the %s clip's window; the clip runs "
                        "from its first keyframe (%s)", r.camera_id, (start - r.end).total_seconds(), r.rule,
                        start.isoformat())
        clip = ring.cut(start, end)
        if clip is None:
            log.warning("evidence: no packets of %s between %s and %s for the %s clip", r.camera_id,
                        start.isoformat(), end.isoformat(), r.rule)
            return None
        privacy = self._privacy(r.camera_id)
        if privacy.mask_public:
            masked = self._masked_copy(r, clip.data, clip.start, privacy)
            if masked is not None:
                return masked
        ref = self.store.put_file(clip.data, "clip", "video/mp4", clip.start)
        log.info("evidence: clip for %s %s: %d frames, %.1fs, %dx%d %s, %d bytes (stream copy)", r.rule,
                 r.finding_id, clip.frames, clip.seconds, clip.width, clip.height, clip.codec, len(clip.data))
        return FinishedClip(r.finding_id, r.rule, r.camera_id, ref, clip.frames, clip.seconds)

    def _masked_copy(self, r: ClipRequest, data: bytes, start: dt.datetime,
                     privacy: PrivacyConfig) -> FinishedClip | None:
        """The stream-copied clip decoded, the public masked and encoded again frame by frame (a few frames held at
        a time, not the clip: 17 s of 1080p would be 2.5 GB); None when no frame shows anyone to mask (the stream
        copy is then stored as it is)."""
        frames = mp4_frames(data, start)
        first = next(frames, None)
        if first is None:
            return None
        h, w = first[1].shape[:2]
        with self._lock:
            hist = scaled_history(self._boxes.get(r.camera_id), self._shapes.get(r.camera_id), (h, w))
            zones = self._zones.get(r.camera_id, ())
        shown, fed = itertools.tee(itertools.chain([first], frames))  # tee holds the one frame being masked
        count, changed, last = 0, False, first[0]

        def masked() -> Iterator[tuple[dt.datetime, np.ndarray]]:
            nonlocal count, changed, last
            for (ts, image), (_, out) in zip(shown, mask_clip_frames(fed, hist, privacy, zones)):
                count, changed, last = count + 1, changed or out is not image, ts
                yield ts, out

        out = encode_mp4_bytes(masked())
        if not changed:
            return None
        ref = self.store.put_file(out, "clip", "video/mp4", first[0])
        seconds = (last - first[0]).total_seconds()
        log.info("evidence: clip for %s %s: %d frames, %.1fs, %dx%d, %d bytes (masked, re-encoded)", r.rule,
                 r.finding_id, count, seconds, w, h, len(out))
        return FinishedClip(r.finding_id, r.rule, r.camera_id, ref, count, seconds)


def mp4_frames(data: bytes, start: dt.datetime) -> Iterator[tuple[dt.datetime, np.ndarray]]:
    """The frames of an MP4 (BGR) one by one as they are decoded, each with its time: ``start`` plus the frame's
    offset from the first one."""
    import io

    import av

    with av.open(io.BytesIO(data)) as container:
        first = None
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            first = t if first is None else first
            yield start + dt.timedelta(seconds=t - first), frame.to_ndarray(format="bgr24")


def scaled_history(hist: BoxHistory | None, analysed: tuple[int, int] | None,
                   shape: tuple[int, int]) -> BoxHistory | None:
    """``hist`` (boxes in the analysed picture's pixels) scaled onto pictures of ``shape`` (h, w)."""
    if hist is None or analysed is None or tuple(analysed) == tuple(shape):
        return hist
    sy, sx = shape[0] / analysed[0], shape[1] / analysed[1]
    out = BoxHistory(keep_s=hist.keep_s, max_gap_s=hist.max_gap_s)
    for ts, boxes in hist._items:
        out._items.append((ts, np.asarray(boxes, np.float32) * np.array([sx, sy, sx, sy], np.float32)))
    return out
