"""Open a camera source with PyAV (FFmpeg) and yield decoded frames stamped with real time.

Sources: ``rtsp://`` (TCP transport, socket timeout), ``http(s)://`` (MJPEG/HLS/progressive files),
video files (optionally looped for demos), and local devices (``/dev/video*`` through v4l2).

Time: every frame gets an aware UTC ``ts``. Files map media time onto a start time (``start_at``,
default: when the file was opened); when a file loops, the next pass continues after the last
frame of the previous one, so timestamps stay monotonic. Live sources map the stream's
presentation timestamps onto the wall clock at the first frame and re-anchor if the two drift apart
by more than ``max_drift_s`` (camera clock jumps, PTS resets).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterator

import av
import cv2
import numpy as np

log = logging.getLogger(__name__)

SourceKind = str  # "rtsp" | "http" | "file" | "device"


def source_kind(url: str) -> SourceKind:
    low = url.lower()
    if low.startswith(("rtsp://", "rtsps://")):
        return "rtsp"
    if low.startswith(("http://", "https://")):
        return "http"
    if low.startswith("/dev/video") or low.startswith("v4l2:"):
        return "device"
    return "file"


def open_options(kind: SourceKind, timeout_s: float) -> dict[str, str]:
    """FFmpeg options per source kind (socket timeouts are in microseconds)."""
    us = str(int(timeout_s * 1_000_000))
    if kind == "rtsp":
        return {"rtsp_transport": "tcp", "timeout": us, "max_delay": "500000"}
    if kind == "http":
        return {"rw_timeout": us, "reconnect": "1", "reconnect_streamed": "1"}
    return {}


@dataclass(frozen=True)
class RawFrame:
    """A decoded frame before conversion: converting to a numpy picture costs, so samplers decide first."""

    ts: dt.datetime  # aware UTC
    media_s: float  # seconds since the source was opened, monotonic across loops
    frame: av.VideoFrame

    def image(self) -> np.ndarray:
        """BGR picture, upright: the display-matrix rotation phones record is applied (FFmpeg's autorotate)."""
        return upright(self.frame.to_ndarray(format="bgr24"), frame_rotation(self.frame))


def frame_rotation(frame: av.VideoFrame) -> int:
    """Counter-clockwise display rotation in degrees (0, 90, 180, 270) from the frame's side data."""
    try:
        rot = getattr(frame, "rotation", 0) or 0
    except Exception:  # side data absent or unreadable
        return 0
    return int(round(rot / 90.0)) * 90 % 360


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    if rotation == 90:
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    if rotation == 180:
        return cv2.rotate(image, cv2.ROTATE_180)
    if rotation == 270:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    return image


class SourceEnded(Exception):
    """A (non-looping) file reached its end."""


class VideoSource:
    """One open connection to a camera. Iterate ``frames()``; ``close()`` when done."""

    def __init__(
        self,
        url: str,
        *,
        loop: bool = False,
        realtime: bool | None = None,
        start_at: dt.datetime | None = None,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 10.0,
        max_drift_s: float = 5.0,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.url = url
        self.kind = source_kind(url)
        self.loop = loop and self.kind == "file"
        self.realtime = (self.kind == "file") if realtime is None else realtime  # pace files like a live camera
        self.max_drift_s = max_drift_s
        self._clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.start_at = start_at
        self._timeouts = (open_timeout_s, read_timeout_s)
        self.container: av.container.InputContainer | None = None
        self.width = self.height = 0
        self.nominal_fps: float | None = None

    def open(self) -> "VideoSource":
        url, fmt = self.url, None
        if self.kind == "device":
            url, fmt = self.url.removeprefix("v4l2:"), "v4l2"
        self.container = av.open(url, format=fmt, options=open_options(self.kind, self._timeouts[1]),
                                 timeout=self._timeouts)
        stream = self.container.streams.video[0]
        stream.thread_type = "AUTO"
        self.width, self.height = stream.codec_context.width, stream.codec_context.height
        rate = stream.average_rate or stream.base_rate
        self.nominal_fps = float(rate) if rate else None
        return self

    def close(self) -> None:
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # closing a broken stream must not raise
                log.debug("closing %s failed", self.url, exc_info=True)
            self.container = None

    def __enter__(self) -> "VideoSource":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ frames
    def frames(self) -> Iterator[RawFrame]:
        if self.container is None:
            self.open()
        if self.kind == "file":
            yield from self._file_frames()
        else:
            yield from self._live_frames()

    def _file_frames(self) -> Iterator[RawFrame]:
        assert self.container is not None
        start = self.start_at or self._clock()
        wall0 = time.monotonic()
        offset = 0.0  # media seconds of the passes already played
        frame_dur = 1.0 / self.nominal_fps if self.nominal_fps else 0.04
        while True:
            t0: float | None = None
            last = -1.0
            for frame in self.container.decode(video=0):
                t = _frame_time(frame)
                if t is None:
                    t = last + frame_dur if last >= 0 else 0.0
                if t0 is None:
                    t0 = t
                rel = t - t0
                if rel <= last:  # non-monotonic PTS inside a file: keep time moving forward
                    rel = last + frame_dur
                last = rel
                media_s = offset + rel
                if self.realtime:
                    delay = wall0 + media_s - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                yield RawFrame(start + dt.timedelta(seconds=media_s), media_s, frame)
            if not self.loop:
                return
            if t0 is None:
                raise SourceEnded(f"{self.url}: no decodable video frames")
            offset += last + frame_dur
            self.container.seek(0)

    def _live_frames(self) -> Iterator[RawFrame]:
        assert self.container is not None
        anchor_wall: dt.datetime | None = None
        anchor_t = 0.0
        opened = time.monotonic()
        last_ts: dt.datetime | None = None
        for frame in self.container.decode(video=0):
            now = self._clock()
            t = _frame_time(frame)
            if t is None:
                ts = now
            else:
                if anchor_wall is None:
                    anchor_wall, anchor_t = now, t
                ts = anchor_wall + dt.timedelta(seconds=t - anchor_t)
                if abs((ts - now).total_seconds()) > self.max_drift_s:
                    log.info("%s: stream clock drifted %.1fs from wall clock; re-anchoring", self.url,
                             (ts - now).total_seconds())
                    anchor_wall, anchor_t, ts = now, t, now
            if last_ts is not None and ts <= last_ts:
                ts = last_ts + dt.timedelta(microseconds=1)
            last_ts = ts
            yield RawFrame(ts, time.monotonic() - opened, frame)


def _frame_time(frame: av.VideoFrame) -> float | None:
    if frame.pts is None or frame.time_base is None:
        return None
    return float(frame.pts * Fraction(frame.time_base))
