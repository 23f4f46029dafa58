"""Timestamp sampling and the per-camera ring buffer of recent frames (for evidence clips)."""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np


class Sampler:
    """Keep frames at ``fps`` by their timestamps (not every Nth frame).

    A frame is kept when its timestamp reaches the next due time; the due time advances by one
    period from the previous due time (so a 25 fps source sampled at 2 fps gives frames ~0.5 s
    apart on average, without drifting), and jumps forward after a gap so a stall does not cause a
    burst of catch-up frames.

    ``phase`` (a fraction of the period, e.g. ``edge.agent.pipeline.camera_phases``): due times lie on a grid of
    Unix time shifted by ``phase`` periods, so cameras opened together are still sampled at different moments and
    their frames reach the analysis spread over the period instead of all at once. None: due times follow the
    first frame. Either way a frame that comes at least a period after the previous one (a source no faster than the
    sampling, or after a gap) is kept.
    """

    def __init__(self, fps: float, tolerance: float = 0.1, phase: float | None = None):
        if fps <= 0:
            raise ValueError("fps must be > 0")
        self.period = 1.0 / fps
        self.tolerance = tolerance * self.period  # accept frames slightly early (jittery PTS)
        self.offset = None if phase is None else (phase % 1.0) * self.period
        self._due: dt.datetime | None = None
        self._seen: dt.datetime | None = None  # the previous frame offered, kept or not

    def _due_after(self, ts: dt.datetime) -> dt.datetime:
        """The due time after a frame taken at ``ts``: one period later, or with a phase the first point of its grid
        at least half a period later."""
        if self.offset is None:
            return ts + dt.timedelta(seconds=self.period)
        k = math.ceil((ts.timestamp() + self.period / 2 - self.offset) / self.period)
        return dt.datetime.fromtimestamp(self.offset + k * self.period, tz=ts.tzinfo)

    def take(self, ts: dt.datetime) -> bool:
        prev, self._seen = self._seen, ts
        if self._due is None or (prev is not None and (ts - prev).total_seconds() >= self.period - self.tolerance):
            # the first frame, or one at least a period after the previous frame (a source no faster than the
            # sampling, or a gap): kept whatever the phase, which only places the samples of faster sources
            self._due = self._due_after(ts)
            return True
        if (self._due - ts).total_seconds() > self.tolerance:
            return False
        # this frame came less than a period after the previous one, so one period on is still ahead of it (a gap
        # restarts in the branch above)
        self._due += dt.timedelta(seconds=self.period)
        return True


@dataclass(frozen=True)
class BufferedFrame:
    ts: dt.datetime
    jpeg: bytes
    shape: tuple[int, int]  # (height, width) as stored

    def image(self) -> np.ndarray:
        img = cv2.imdecode(np.frombuffer(self.jpeg, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError("corrupt buffered frame")
        return img


class FrameRing:
    """The last ``seconds`` of one camera at ``fps``, kept as JPEG to bound memory.

    Pictures wider than ``max_width`` are downscaled first. Thread-safe: the reader appends, the
    evidence writer reads.
    """

    def __init__(self, seconds: float, fps: float = 5.0, max_width: int = 1280, quality: int = 85):
        self.seconds = seconds
        self.sampler = Sampler(fps)
        self.max_width = max_width
        self.quality = quality
        self._frames: deque[BufferedFrame] = deque()
        self._lock = threading.Lock()

    def wants(self, ts: dt.datetime) -> bool:
        return self.sampler.take(ts)

    def add(self, ts: dt.datetime, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        if w > self.max_width:
            scale = self.max_width / w
            image = cv2.resize(image, (self.max_width, int(round(h * scale)) // 2 * 2), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            return
        item = BufferedFrame(ts, buf.tobytes(), image.shape[:2])
        with self._lock:
            self._frames.append(item)
            cutoff = ts - dt.timedelta(seconds=self.seconds)
            while self._frames and self._frames[0].ts < cutoff:
                self._frames.popleft()

    def between(self, start: dt.datetime, end: dt.datetime) -> list[BufferedFrame]:
        with self._lock:
            return [f for f in self._frames if start <= f.ts <= end]

    @property
    def newest_ts(self) -> dt.datetime | None:
        with self._lock:
            return self._frames[-1].ts if self._frames else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)

    def nbytes(self) -> int:
        with self._lock:
            return sum(len(f.jpeg) for f in self._frames)
